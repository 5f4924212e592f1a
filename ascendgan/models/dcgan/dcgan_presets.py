"""DCGAN presets: one row per dataset, holding the networks' sizes and the training setup.

Each preset is an :class:`~ascendgan.models.presets.Preset`: its ``network`` section holds
constructor arguments of :class:`~ascendgan.models.dcgan.DCGANGenerator` and
:class:`~ascendgan.models.dcgan.DCGANDiscriminator` (:data:`GENERATOR_KEYS`,
:data:`DISCRIMINATOR_KEYS`); the other sections describe the documented training run of the
DCGAN reference code: batch 64, Adam with learning rate 2e-4 and beta_1 0.5, 25 epochs,
latents drawn uniformly from [-1, 1], a sample grid and a checkpoint every 200 steps, one
checkpoint kept.

``latent_distribution`` is one of :data:`LATENT_DISTRIBUTIONS`:
``"uniform_signed"`` (U[-1, 1], the paper's), ``"uniform_unsigned"`` (U[0, 1]) or
``"normal01"`` (N(0, 1)).

Example:

>>> from ascendgan.models.dcgan.dcgan_presets import DCGAN_PRESETS, generator_kwargs
>>> preset = DCGAN_PRESETS["mnist"]
>>> preset.data.image_size, preset.data.channels, preset.gan["latent_distribution"]
(28, 1, 'uniform_signed')
>>> generator_kwargs(preset)["latent_dim"]
100

Reference:
    Radford, Metz, Chintala, arXiv:1511.06434 (training details, section 4).
"""

from __future__ import annotations

from ascendgan.models.presets import DataSpec, Preset, Schedule
from ascendgan.optimizers import AdamSettings

LATENT_DISTRIBUTIONS = ("uniform_signed", "uniform_unsigned", "normal01")

#: Keys of the network section that are DCGANGenerator constructor arguments.
GENERATOR_KEYS = ("image_size", "channels", "base_filters", "latent_dim", "num_classes", "kernel_size",
                  "synchronized_batch_norm", "batch_norm")
#: Keys of the network section that are DCGANDiscriminator constructor arguments.
DISCRIMINATOR_KEYS = ("image_size", "channels", "base_filters", "num_classes", "kernel_size",
                      "synchronized_batch_norm", "batch_norm")


def _preset(name, dataset, kind, image_size, channels, crop_size=None):
    network = {
        "image_size": image_size,
        "channels": channels,
        "base_filters": 64,
        "latent_dim": 100,
        # Unconditional as in the paper; num_classes=10 gives the class-conditional variant.
        "num_classes": None,
        "kernel_size": 4,
        # Batch statistics over all replicas under tf.distribute (the runs turn it on when
        # training on more than one device unless it is set explicitly).
        "synchronized_batch_norm": False,
        # "fused" (FusedBatchNorm kernels) or "keras" (Keras's own BatchNormalization).
        "batch_norm": "fused",
    }
    gan = {
        "latent_dim": 100,
        "num_classes": None,
        "latent_distribution": "uniform_signed",
        "loss": "non_saturating",
        # One generator pass per iteration, its fakes used by the D step and then (through
        # the updated D) by the G step, as the reference PyTorch scripts do; see GAN.
        "reuse_fakes": True,
        # Off in the paper; ema_decay=0.999 makes generate() / the samples use an exponential
        # moving average of the generator's weights (see docs/metrics.md, fidelity benchmark).
        "ema_decay": None,
        "ema_start": 0,
    }
    return Preset(
        family="dcgan", title="DCGAN", name=name, network=network, gan=gan,
        optimizer=AdamSettings(2e-4, 2e-4, beta_1=0.5, beta_2=0.999),
        data=DataSpec(dataset=dataset, kind=kind, image_size=image_size, channels=channels,
                      crop_size=crop_size),
        schedule=Schedule(batch_size=64, epochs=25, sample_every=200, checkpoint_every=200,
                          max_checkpoints=1),
        smoke={"base_filters": 4},
    )


DCGAN_PRESETS = {
    # MNIST digits 28x28x1: 7x7 start, two upsamplings.
    "mnist": _preset("mnist", "mnist", "mnist", 28, 1),
    # CelebA faces: center crop 108x108, resized to 64x64.
    "celeba": _preset("celeba", "celeba", "image_folder", 64, 3, crop_size=108),
    # CIFAR-10 32x32x3: 4x4 start, three upsamplings.
    "cifar10": _preset("cifar10", "cifar10", "cifar10", 32, 3),
}


def generator_kwargs(preset):
    """The DCGANGenerator constructor arguments of a preset."""
    return {key: preset.network[key] for key in GENERATOR_KEYS}


def discriminator_kwargs(preset):
    """The DCGANDiscriminator constructor arguments of a preset."""
    return {key: preset.network[key] for key in DISCRIMINATOR_KEYS}


__all__ = [
    "DCGAN_PRESETS",
    "DISCRIMINATOR_KEYS",
    "GENERATOR_KEYS",
    "LATENT_DISTRIBUTIONS",
    "discriminator_kwargs",
    "generator_kwargs",
]
