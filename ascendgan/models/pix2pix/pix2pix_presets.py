"""Pix2Pix presets: one row per dataset, holding the networks' sizes and the training setup.

Each preset is an :class:`~ascendgan.models.presets.Preset`. :func:`generator_kwargs` and
:func:`discriminator_kwargs` pick the constructor arguments of
:class:`~ascendgan.models.pix2pix.UNetGenerator` and
:class:`~ascendgan.models.pix2pix.PatchGANDiscriminator` from its ``network`` section; the
``data`` section describes the pipeline (random jitter: resize to ``load_size``, random crop
to ``crop_size``, random mirroring) and the ``gan`` section the loss (GAN loss +
``l1_weight`` x L1).

``direction`` says which half of the paired images is the source: ``"AtoB"`` maps the
left half to the right one, ``"BtoA"`` the right to the left (the facades archive holds
photo | label, and the model maps labels to photos).

Example:

>>> from ascendgan.models.pix2pix.pix2pix_presets import PIX2PIX_PRESETS, generator_kwargs
>>> preset = PIX2PIX_PRESETS["facades"]
>>> preset.schedule.batch_size, preset.gan["l1_weight"], preset.schedule.epochs
(1, 100.0, 200)
>>> preset.data.load_size, preset.data.crop_size, generator_kwargs(preset)["num_downsamplings"]
(286, 256, 8)

Reference:
    Isola, Zhu, Zhou, Efros, arXiv:1611.07004 (appendix 6.1-6.2: networks, training
    details per dataset).
"""

from __future__ import annotations

from ascendgan.models.presets import DataSpec, Preset, Schedule
from ascendgan.optimizers import AdamSettings

#: Network-section keys -> UNetGenerator constructor arguments.
GENERATOR_KEYS = {
    "image_size": "image_size",
    "input_channels": "input_channels",
    "output_channels": "output_channels",
    "base_filters": "base_filters",
    "num_downsamplings": "num_downsamplings",
    "dropout": "dropout",
    "dropout_layers": "dropout_layers",
    "synchronized_batch_norm": "synchronized_batch_norm",
    "batch_norm": "batch_norm",
}
#: Network-section keys -> PatchGANDiscriminator constructor arguments.
DISCRIMINATOR_KEYS = {
    "discriminator_layers": "num_layers",
    "discriminator_base_filters": "base_filters",
    "input_channels": "input_channels",
    "output_channels": "target_channels",
    "synchronized_batch_norm": "synchronized_batch_norm",
    "batch_norm": "batch_norm",
}


def _preset(name, dataset, direction, batch_size, epochs, image_size=256, num_downsamplings=8,
            load_size=286):
    network = {
        "image_size": image_size,
        "input_channels": 3,
        "output_channels": 3,
        "base_filters": 64,
        "num_downsamplings": num_downsamplings,
        "dropout": 0.5,
        "dropout_layers": 3,
        "discriminator_layers": 3,  # 70x70 PatchGAN
        "discriminator_base_filters": 64,
        # Batch statistics over all replicas under tf.distribute (the runs turn it on when
        # training on more than one device unless it is set explicitly).
        "synchronized_batch_norm": False,
        # "fused" (FusedBatchNorm kernels) or "keras" (Keras's own BatchNormalization).
        "batch_norm": "fused",
    }
    gan = {
        "l1_weight": 100.0,
        "loss": "non_saturating",
        # One generator pass per iteration, its fakes used by the D step and then (through
        # the updated D) by the G step, as the reference PyTorch scripts do; see GAN.
        "reuse_fakes": True,
    }
    return Preset(
        family="pix2pix", title="Pix2Pix", name=name, network=network, gan=gan,
        optimizer=AdamSettings(2e-4, 2e-4, beta_1=0.5, beta_2=0.999),
        data=DataSpec(dataset=dataset, kind="paired", image_size=image_size, channels=3,
                      crop_size=image_size, load_size=load_size, flip=True, direction=direction),
        schedule=Schedule(batch_size=batch_size, epochs=epochs),
        smoke={"base_filters": 4, "discriminator_base_filters": 4, "image_size": 64,
               "num_downsamplings": 6, "load_size": 72, "crop_size": 64},
    )


PIX2PIX_PRESETS = {
    # CMP Facades, labels -> photos: 400 training images, batch 1, 200 epochs. The archive
    # holds photo | label, and the model maps labels to photos.
    "facades": _preset("facades", "facades", "BtoA", batch_size=1, epochs=200),
    # Edges -> shoes (UT Zappos50K): batch 4, 15 epochs.
    "edges2shoes": _preset("edges2shoes", "edges2shoes", "AtoB", batch_size=4, epochs=15),
    # A scaled-down facades run at 128x128 (U-Net-128, 7 downsamplings), with the jitter
    # scaled by the same 286/256 ratio. Not a configuration from the paper.
    "facades_128": _preset("facades_128", "facades", "BtoA", batch_size=1, epochs=200,
                           image_size=128, num_downsamplings=7, load_size=143),
}


def generator_kwargs(preset):
    """The UNetGenerator constructor arguments of a preset."""
    return {argument: preset.network[key] for key, argument in GENERATOR_KEYS.items()}


def discriminator_kwargs(preset):
    """The PatchGANDiscriminator constructor arguments of a preset."""
    return {argument: preset.network[key] for key, argument in DISCRIMINATOR_KEYS.items()}


__all__ = [
    "DISCRIMINATOR_KEYS",
    "GENERATOR_KEYS",
    "PIX2PIX_PRESETS",
    "discriminator_kwargs",
    "generator_kwargs",
]
