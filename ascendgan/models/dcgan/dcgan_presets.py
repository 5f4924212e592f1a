"""DCGAN presets: one row per dataset, holding the networks' sizes and the training setup.

Each row is a plain dict. The network keys (:data:`GENERATOR_KEYS`,
:data:`DISCRIMINATOR_KEYS`) are constructor arguments of
:class:`~ascendgan.models.dcgan.DCGANGenerator` and
:class:`~ascendgan.models.dcgan.DCGANDiscriminator`; the rest describe the data and the
documented training run of the DCGAN reference code: batch 64, Adam with learning rate
2e-4 and beta_1 0.5, 25 epochs, latents drawn uniformly from [-1, 1], a sample grid and
a checkpoint every 200 steps, one checkpoint kept.

``latent_distribution`` is one of :data:`LATENT_DISTRIBUTIONS`:
``"uniform_signed"`` (U[-1, 1], the paper's), ``"uniform_unsigned"`` (U[0, 1]) or
``"normal01"`` (N(0, 1)).

Example:

>>> from ascendgan.models.dcgan.dcgan_presets import get_preset, generator_kwargs
>>> row = get_preset("mnist")
>>> row["image_size"], row["channels"], row["latent_distribution"]
(28, 1, 'uniform_signed')
>>> generator_kwargs(row)["latent_dim"]
100

Reference:
    Radford, Metz, Chintala, arXiv:1511.06434 (training details, section 4).
"""

from __future__ import annotations

import copy

LATENT_DISTRIBUTIONS = ("uniform_signed", "uniform_unsigned", "normal01")

#: Keys of a row that are DCGANGenerator constructor arguments.
GENERATOR_KEYS = ("image_size", "channels", "base_filters", "latent_dim", "num_classes", "kernel_size",
                  "synchronized_batch_norm")
#: Keys of a row that are DCGANDiscriminator constructor arguments.
DISCRIMINATOR_KEYS = ("image_size", "channels", "base_filters", "num_classes", "kernel_size",
                      "synchronized_batch_norm")

_TRAINING = {
    "batch_size": 64,
    "learning_rate": 2e-4,
    "beta_1": 0.5,
    "beta_2": 0.999,
    "epochs": 25,
    "latent_distribution": "uniform_signed",
    "sample_every": 200,  # steps between sample grids
    "checkpoint_every": 200,  # steps between checkpoints
    "max_checkpoints": 1,  # checkpoints kept
    # Batch statistics over all replicas under tf.distribute (train_gan turns it on when
    # training on more than one device unless it is set explicitly).
    "synchronized_batch_norm": False,
    # One generator pass per iteration, its fakes used by the D step and then (through
    # the updated D) by the G step, as the reference PyTorch scripts do; see GAN.
    "reuse_fakes": True,
}

DCGAN_PRESETS = {
    # MNIST digits 28x28x1: 7x7 start, two upsamplings. Unconditional as in the paper;
    # set num_classes=10 for the class-conditional variant.
    "mnist": {
        "dataset": "mnist",
        "image_size": 28,
        "channels": 1,
        "base_filters": 64,
        "latent_dim": 100,
        "num_classes": None,
        "kernel_size": 4,
        "crop_size": None,
        **_TRAINING,
    },
    # CelebA faces: center crop 108x108, resized to 64x64.
    "celeba": {
        "dataset": "celeba",
        "image_size": 64,
        "channels": 3,
        "base_filters": 64,
        "latent_dim": 100,
        "num_classes": None,
        "kernel_size": 4,
        "crop_size": 108,
        **_TRAINING,
    },
    # CIFAR-10 32x32x3: 4x4 start, three upsamplings.
    "cifar10": {
        "dataset": "cifar10",
        "image_size": 32,
        "channels": 3,
        "base_filters": 64,
        "latent_dim": 100,
        "num_classes": None,
        "kernel_size": 4,
        "crop_size": None,
        **_TRAINING,
    },
}


def get_preset(name):
    """A copy of the preset row ``name``.

    Raises:
        ValueError: naming the valid presets when ``name`` is not one of them.
    """
    if name not in DCGAN_PRESETS:
        raise ValueError(
            f"Unknown DCGAN preset. Expected one of {sorted(DCGAN_PRESETS)}. Received: name={name!r}"
        )
    return copy.deepcopy(DCGAN_PRESETS[name])


def generator_kwargs(row):
    """The DCGANGenerator constructor arguments of a preset row."""
    return {key: row[key] for key in GENERATOR_KEYS}


def discriminator_kwargs(row):
    """The DCGANDiscriminator constructor arguments of a preset row."""
    return {key: row[key] for key in DISCRIMINATOR_KEYS}


__all__ = [
    "DCGAN_PRESETS",
    "DISCRIMINATOR_KEYS",
    "GENERATOR_KEYS",
    "LATENT_DISTRIBUTIONS",
    "discriminator_kwargs",
    "generator_kwargs",
    "get_preset",
]
