"""BigGAN presets: one row per resolution / data set (data, not subclasses).

Each row is a plain dict: network sizes (constructor arguments of
:class:`~ascendgan.models.biggan.BigGANGenerator` and
:class:`~ascendgan.models.biggan.BigGANDiscriminator`) and the documented training run.

``cifar10`` is the documented BigGAN CIFAR-10 configuration: batch 64, G lr 1e-4, D lr 4e-4,
Adam β = (0, 0.9), 2 D steps per G step, hinge loss, spectral norm in G and D,
self-attention, conditional BN on a shared class embedding (128) concatenated with a
hierarchical latent (z = 120), projection discriminator, 96 base channels, orthogonal
regularization 1e-4, truncation 2.0, 100k iterations.  Channel multipliers per resolution
follow the BigGAN paper's architecture tables (arXiv:1809.11096, appendix B).

Example:

>>> from ascendgan.models.biggan.biggan_presets import get_preset
>>> get_preset("cifar10")["base_channels"]
96
"""

from __future__ import annotations

import copy

from ascendgan.models._factory import apply_overrides

#: Keys of a row that are BigGANGenerator constructor arguments.
GENERATOR_KEYS = (
    "image_size", "base_channels", "latent_dim", "num_classes", "shared_embedding_dim",
    "generator_multipliers", "attention_resolutions", "hierarchical_latent", "channels",
    "synchronized_batch_norm",
)
#: Keys of a row that are BigGANDiscriminator constructor arguments.
DISCRIMINATOR_KEYS = (
    "image_size", "base_channels", "num_classes", "discriminator_multipliers",
    "discriminator_downsample", "attention_resolutions", "channels",
)

_TRAINING = {
    "batch_size": 64,
    "generator_learning_rate": 1e-4,
    "discriminator_learning_rate": 4e-4,
    "beta_1": 0.0,
    "beta_2": 0.9,
    "discriminator_steps": 2,
    "loss": "hinge",
    "orthogonal_regularization": 1e-4,
    "truncation": 2.0,
    "ema_decay": 0.9999,
    "ema_start": 1000,
    "latent_distribution": "normal",
    "steps": 100_000,
    # Batch statistics over all replicas under tf.distribute (train_gan turns it on when
    # training on more than one device unless it is set explicitly).
    "synchronized_batch_norm": False,
}

_ARCHITECTURES = {
    # image_size: generator multipliers (first = the 4x4 map of the linear layer, then one
    # per up block), discriminator multipliers (one per down block) and its downsampling.
    32: {
        "generator_multipliers": (4, 4, 4, 4),
        "discriminator_multipliers": (4, 4, 4, 4),
        "discriminator_downsample": (True, True, False, False),
    },
    64: {
        "generator_multipliers": (16, 16, 8, 4, 2),
        "discriminator_multipliers": (1, 2, 4, 8, 16),
        "discriminator_downsample": (True, True, True, True, False),
    },
    128: {
        "generator_multipliers": (16, 16, 8, 4, 2, 1),
        "discriminator_multipliers": (1, 2, 4, 8, 16, 16),
        "discriminator_downsample": (True, True, True, True, True, False),
    },
}


def architecture(image_size):
    """The paper's channel multipliers and downsampling pattern for a resolution."""
    if image_size not in _ARCHITECTURES:
        raise ValueError(
            f"`image_size` must be one of {tuple(_ARCHITECTURES)}. Received: image_size={image_size!r}"
        )
    return copy.deepcopy(_ARCHITECTURES[image_size])


def _row(image_size, **values):
    row = {"image_size": image_size, **architecture(image_size), **_TRAINING}
    row.update(values)
    return row


BIGGAN_PRESETS = {
    "cifar10": _row(
        32, dataset="cifar10", base_channels=96, latent_dim=120, num_classes=10,
        shared_embedding_dim=128, attention_resolutions=(16,), hierarchical_latent=True, channels=3,
    ),
    "imagenet64": _row(
        64, dataset="imagenet", base_channels=64, latent_dim=120, num_classes=1000,
        shared_embedding_dim=128, attention_resolutions=(32,), hierarchical_latent=True, channels=3,
        batch_size=256,
    ),
    "imagenet128": _row(
        128, dataset="imagenet", base_channels=96, latent_dim=120, num_classes=1000,
        shared_embedding_dim=128, attention_resolutions=(64,), hierarchical_latent=True, channels=3,
        batch_size=256,
    ),
    # The documented image-folder run: the 64x64 network on unlabelled photos (cats).
    "cats64": _row(
        64, dataset="image_folder", base_channels=32, latent_dim=120, num_classes=None,
        shared_embedding_dim=128, attention_resolutions=(32,), hierarchical_latent=True, channels=3,
        batch_size=32, sample_every=500, epochs=10,
    ),
}


def get_preset(name, **overrides):
    """A copy of a preset row with ``overrides`` applied.

    Raises:
        ValueError: for an unknown preset or override key, listing the valid ones.
    """
    row = apply_overrides("BigGAN", BIGGAN_PRESETS, name, overrides)
    if "image_size" in overrides and overrides["image_size"] != BIGGAN_PRESETS[name]["image_size"]:
        # a new resolution brings the paper's multipliers unless they are overridden too
        for key, value in architecture(overrides["image_size"]).items():
            row[key] = overrides.get(key, value)
    return row


def generator_kwargs(row):
    """The row's BigGANGenerator arguments."""
    return {key: row[key] for key in GENERATOR_KEYS}


def discriminator_kwargs(row):
    """The row's BigGANDiscriminator arguments."""
    return {key: row[key] for key in DISCRIMINATOR_KEYS}
