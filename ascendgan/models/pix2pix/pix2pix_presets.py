"""Pix2Pix presets: one row per dataset, holding the networks' sizes and the training setup.

Each row is a plain dict. :func:`generator_kwargs` and :func:`discriminator_kwargs`
pick the constructor arguments of :class:`~ascendgan.models.pix2pix.UNetGenerator` and
:class:`~ascendgan.models.pix2pix.PatchGANDiscriminator`; the other keys describe the
data pipeline (random jitter: resize to ``load_size``, random crop to ``crop_size``,
random mirroring) and the training run (loss = GAN loss + ``l1_weight`` x L1).

``direction`` says which half of the paired images is the source: ``"AtoB"`` maps the
left half to the right one, ``"BtoA"`` the right to the left (the facades archive holds
photo | label, and the model maps labels to photos).

Example:

>>> from ascendgan.models.pix2pix.pix2pix_presets import get_preset, generator_kwargs
>>> row = get_preset("facades")
>>> row["batch_size"], row["l1_weight"], row["epochs"], row["load_size"], row["crop_size"]
(1, 100.0, 200, 286, 256)
>>> generator_kwargs(row)["num_downsamplings"]
8

Reference:
    Isola, Zhu, Zhou, Efros, arXiv:1611.07004 (appendix 6.1-6.2: networks, training
    details per dataset).
"""

from __future__ import annotations

import copy

#: Row keys -> UNetGenerator constructor arguments.
GENERATOR_KEYS = {
    "image_size": "image_size",
    "input_channels": "input_channels",
    "output_channels": "output_channels",
    "base_filters": "base_filters",
    "num_downsamplings": "num_downsamplings",
    "dropout": "dropout",
    "dropout_layers": "dropout_layers",
    "synchronized_batch_norm": "synchronized_batch_norm",
}
#: Row keys -> PatchGANDiscriminator constructor arguments.
DISCRIMINATOR_KEYS = {
    "discriminator_layers": "num_layers",
    "discriminator_base_filters": "base_filters",
    "input_channels": "input_channels",
    "output_channels": "target_channels",
    "synchronized_batch_norm": "synchronized_batch_norm",
}

_NETWORKS_256 = {
    "image_size": 256,
    "input_channels": 3,
    "output_channels": 3,
    "base_filters": 64,
    "num_downsamplings": 8,
    "dropout": 0.5,
    "dropout_layers": 3,
    "discriminator_layers": 3,  # 70x70 PatchGAN
    "discriminator_base_filters": 64,
}

_OPTIMIZER = {
    "learning_rate": 2e-4,
    "beta_1": 0.5,
    "beta_2": 0.999,
    "l1_weight": 100.0,
    # Batch statistics over all replicas under tf.distribute (train_gan turns it on when
    # training on more than one device unless it is set explicitly).
    "synchronized_batch_norm": False,
    # One generator pass per iteration, its fakes used by the D step and then (through
    # the updated D) by the G step, as the reference PyTorch scripts do; see GAN.
    "reuse_fakes": True,
}

PIX2PIX_PRESETS = {
    # CMP Facades, labels -> photos: 400 training images, batch 1, 200 epochs.
    "facades": {
        "dataset": "facades",
        "direction": "BtoA",
        **_NETWORKS_256,
        **_OPTIMIZER,
        "batch_size": 1,
        "epochs": 200,
        "load_size": 286,
        "crop_size": 256,
        "flip": True,
    },
    # Edges -> shoes (UT Zappos50K): batch 4, 15 epochs.
    "edges2shoes": {
        "dataset": "edges2shoes",
        "direction": "AtoB",
        **_NETWORKS_256,
        **_OPTIMIZER,
        "batch_size": 4,
        "epochs": 15,
        "load_size": 286,
        "crop_size": 256,
        "flip": True,
    },
    # A scaled-down facades run at 128x128 (U-Net-128, 7 downsamplings), with the
    # jitter scaled by the same 286/256 ratio. Not a configuration from the paper.
    "facades_128": {
        "dataset": "facades",
        "direction": "BtoA",
        **_NETWORKS_256,
        "image_size": 128,
        "num_downsamplings": 7,
        **_OPTIMIZER,
        "batch_size": 1,
        "epochs": 200,
        "load_size": 143,
        "crop_size": 128,
        "flip": True,
    },
}


def get_preset(name):
    """A copy of the preset row ``name``.

    Raises:
        ValueError: naming the valid presets when ``name`` is not one of them.
    """
    if name not in PIX2PIX_PRESETS:
        raise ValueError(
            f"Unknown Pix2Pix preset. Expected one of {sorted(PIX2PIX_PRESETS)}. "
            f"Received: name={name!r}"
        )
    return copy.deepcopy(PIX2PIX_PRESETS[name])


def generator_kwargs(row):
    """The UNetGenerator constructor arguments of a preset row."""
    return {argument: row[key] for key, argument in GENERATOR_KEYS.items()}


def discriminator_kwargs(row):
    """The PatchGANDiscriminator constructor arguments of a preset row."""
    return {argument: row[key] for key, argument in DISCRIMINATOR_KEYS.items()}


__all__ = [
    "DISCRIMINATOR_KEYS",
    "GENERATOR_KEYS",
    "PIX2PIX_PRESETS",
    "discriminator_kwargs",
    "generator_kwargs",
    "get_preset",
]
