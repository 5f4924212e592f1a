"""The DCGAN factory and family entry."""

from __future__ import annotations

from ascendgan.models.dcgan import dcgan_presets
from ascendgan.models.dcgan.dcgan_discriminator import DCGANDiscriminator
from ascendgan.models.dcgan.dcgan_generator import DCGANGenerator
from ascendgan.models.registry import Family
from ascendgan.training.gan import GAN


def from_preset(preset, seed=None):
    """An uncompiled, built DCGAN ``GAN`` for a resolved :class:`~ascendgan.models.presets.Preset`."""
    generator = DCGANGenerator(**dcgan_presets.generator_kwargs(preset))
    discriminator = DCGANDiscriminator(**dcgan_presets.discriminator_kwargs(preset))
    gan = GAN(
        generator,
        discriminator,
        latent_dim=preset.gan["latent_dim"],
        num_classes=preset.gan["num_classes"],
        latent_distribution=preset.gan["latent_distribution"],
        reuse_fakes=preset.gan["reuse_fakes"],
        ema_decay=preset.gan["ema_decay"],
        ema_start=preset.gan["ema_start"],
        seed=seed,
        default_loss=preset.gan["loss"],
        default_optimizers=preset.optimizer,
        name=f"dcgan_{preset.name}",
    )
    gan.build_models((preset.data.image_size, preset.data.image_size, preset.data.channels))
    return gan


FAMILY = Family(
    name="dcgan",
    presets=dcgan_presets.DCGAN_PRESETS,
    default_preset="mnist",
    build=from_preset,
    description="DCGAN (Radford et al. 2015): MNIST, CIFAR-10, CelebA",
)


def dcgan(preset="mnist", *, seed=None, **overrides):
    """DCGAN for a preset (``mnist`` 28x28x1, ``cifar10`` 32x32x3, ``celeba`` 64x64x3).

    ``compile()`` defaults to Adam 2e-4, β1 0.5 and the non-saturating loss.

    Args:
        preset: preset name; see ``ascendgan.models.dcgan.dcgan_presets.DCGAN_PRESETS``.
        seed: seed of the GAN's latent random-number generator.
        **overrides: preset keys to change (``base_filters=16``, ``num_classes=10``, ...).
    """
    return FAMILY.create(preset, seed=seed, **overrides)
