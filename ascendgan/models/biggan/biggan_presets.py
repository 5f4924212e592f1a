"""BigGAN presets: one row per resolution / data set (data, not subclasses).

Each preset is an :class:`~ascendgan.models.presets.Preset`: network sizes (constructor
arguments of :class:`~ascendgan.models.biggan.BigGANGenerator` and
:class:`~ascendgan.models.biggan.BigGANDiscriminator`) and the documented training run in
separate sections.

``cifar10`` is the documented BigGAN CIFAR-10 configuration: batch 64, G lr 1e-4, D lr 4e-4,
Adam β = (0, 0.9), 2 D steps per G step, hinge loss, spectral norm in G and D,
self-attention, conditional BN on a shared class embedding (128) concatenated with a
hierarchical latent (z = 120), projection discriminator, 96 base channels, orthogonal
regularization 1e-4, truncation 2.0, 100k iterations.  Channel multipliers per resolution
follow the BigGAN paper's architecture tables (arXiv:1809.11096, appendix B).

Example:

>>> from ascendgan.models.biggan.biggan_presets import BIGGAN_PRESETS
>>> BIGGAN_PRESETS["cifar10"].network["base_channels"]
96
"""

from __future__ import annotations

import copy

from ascendgan.models.presets import DataSpec, Preset, Schedule
from ascendgan.optimizers import AdamSettings

#: Keys of the network section that are BigGANGenerator constructor arguments.
GENERATOR_KEYS = (
    "image_size", "base_channels", "latent_dim", "num_classes", "shared_embedding_dim",
    "generator_multipliers", "attention_resolutions", "hierarchical_latent", "channels",
    "synchronized_batch_norm",
)
#: Keys of the network section that are BigGANDiscriminator constructor arguments.
DISCRIMINATOR_KEYS = (
    "image_size", "base_channels", "num_classes", "discriminator_multipliers",
    "discriminator_downsample", "attention_resolutions", "channels",
)

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


def _preset(name, image_size, dataset, kind, base_channels, num_classes, attention, batch_size=64,
            epochs=None, steps=100_000, sample_every=500):
    network = {
        "image_size": image_size,
        **architecture(image_size),
        "base_channels": base_channels,
        "latent_dim": 120,
        "num_classes": num_classes,
        "shared_embedding_dim": 128,
        "attention_resolutions": attention,
        "hierarchical_latent": True,
        "channels": 3,
        # Batch statistics over all replicas under tf.distribute (the runs turn it on when
        # training on more than one device unless it is set explicitly).
        "synchronized_batch_norm": False,
    }
    gan = {
        "latent_dim": 120,
        "num_classes": num_classes,
        "latent_distribution": "normal",
        "discriminator_steps": 2,
        "ema_decay": 0.9999,
        "ema_start": 1000,
        "orthogonal_regularization": 1e-4,
        "loss": "hinge",
    }
    return Preset(
        family="biggan", title="BigGAN", name=name, network=network, gan=gan,
        optimizer=AdamSettings(1e-4, 4e-4, beta_1=0.0, beta_2=0.9),
        data=DataSpec(dataset=dataset, kind=kind, image_size=image_size, channels=3),
        schedule=Schedule(batch_size=batch_size, epochs=epochs, steps=None if epochs else steps,
                          sample_every=sample_every, truncation=2.0),
        smoke={"base_channels": 8, "shared_embedding_dim": 8, "latent_dim": 20},
    )


BIGGAN_PRESETS = {
    "cifar10": _preset("cifar10", 32, "cifar10", "cifar10", 96, 10, (16,)),
    "imagenet64": _preset("imagenet64", 64, "imagenet", "image_folder", 64, 1000, (32,),
                          batch_size=256),
    "imagenet128": _preset("imagenet128", 128, "imagenet", "image_folder", 96, 1000, (64,),
                           batch_size=256),
    # The documented image-folder run: the 64x64 network on unlabelled photos (cats).
    "cats64": _preset("cats64", 64, "image_folder", "image_folder", 32, None, (32,),
                      batch_size=32, epochs=10),
}


def resolve(preset, overrides):
    """``preset`` with flat ``overrides``; a new ``image_size`` brings the paper's channel
    multipliers for that resolution unless they are overridden too."""
    overrides = dict(overrides)
    if "image_size" in overrides and overrides["image_size"] != preset.network["image_size"]:
        for key, value in architecture(overrides["image_size"]).items():
            overrides.setdefault(key, value)
    return preset.with_overrides(overrides)


def generator_kwargs(preset):
    """The preset's BigGANGenerator arguments."""
    return {key: preset.network[key] for key in GENERATOR_KEYS}


def discriminator_kwargs(preset):
    """The preset's BigGANDiscriminator arguments."""
    return {key: preset.network[key] for key in DISCRIMINATOR_KEYS}


__all__ = [
    "BIGGAN_PRESETS",
    "DISCRIMINATOR_KEYS",
    "GENERATOR_KEYS",
    "architecture",
    "discriminator_kwargs",
    "generator_kwargs",
    "resolve",
]
