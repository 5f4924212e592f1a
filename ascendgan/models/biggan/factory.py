"""The BigGAN factory and family entry."""

from __future__ import annotations

from ascendgan.models.biggan import biggan_presets
from ascendgan.models.biggan.biggan_discriminator import BigGANDiscriminator
from ascendgan.models.biggan.biggan_generator import BigGANGenerator
from ascendgan.models.registry import Family
from ascendgan.training.gan import GAN


def from_preset(preset, seed=None):
    """An uncompiled, built BigGAN ``GAN`` for a resolved :class:`~ascendgan.models.presets.Preset`.

    The GAN gets the preset's discriminator steps, EMA, orthogonal regularization (on the
    generator, as BigGAN) and latent prior.
    """
    generator = BigGANGenerator(**biggan_presets.generator_kwargs(preset))
    discriminator = BigGANDiscriminator(**biggan_presets.discriminator_kwargs(preset))
    generator.build()
    discriminator.build()
    return GAN(
        generator,
        discriminator,
        latent_dim=preset.gan["latent_dim"],
        num_classes=preset.gan["num_classes"],
        latent_distribution=preset.gan["latent_distribution"],
        discriminator_steps=preset.gan["discriminator_steps"],
        ema_decay=preset.gan["ema_decay"],
        ema_start=preset.gan["ema_start"],
        generator_orthogonal=preset.gan["orthogonal_regularization"],
        seed=seed,
        default_loss=preset.gan["loss"],
        default_optimizers=preset.optimizer,
        name=f"biggan_{preset.name}",
    )


FAMILY = Family(
    name="biggan",
    presets=biggan_presets.BIGGAN_PRESETS,
    default_preset="cifar10",
    build=from_preset,
    resolve=biggan_presets.resolve,
    description="BigGAN (Brock et al. 2018): CIFAR-10 32x32, ImageNet 64/128, image folders",
)


def biggan(preset="cifar10", *, seed=None, **overrides):
    """BigGAN for a preset (``cifar10``, ``imagenet64``, ``imagenet128``, ``cats64``).

    ``compile()`` defaults to the preset's Adam learning rates and betas and the hinge loss.

    Args:
        preset: preset name; see ``ascendgan.models.biggan.biggan_presets.BIGGAN_PRESETS``.
        seed: seed of the GAN's latent random-number generator.
        **overrides: preset keys to change (``base_channels=8``, ``image_size=64``, ...).
    """
    return FAMILY.create(preset, seed=seed, **overrides)
