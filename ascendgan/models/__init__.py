"""Model factories and networks: BigGAN, DCGAN, Pix2Pix, and the Wide-ResNet classifier of
the AutoAugment recipe (``wide_resnet("wrn_28_10")``).

Each factory takes a preset name and keyword overrides of the preset's keys and returns an
uncompiled :class:`~ascendgan.training.GAN` (``compile()`` then defaults to the preset's
optimizers and loss):

>>> gan = ascendgan.models.biggan("cifar10")                    # doctest: +SKIP
>>> gan = ascendgan.models.dcgan("celeba")                      # doctest: +SKIP
>>> gan = ascendgan.models.pix2pix("facades")                   # doctest: +SKIP
>>> gan = ascendgan.models.dcgan("mnist", base_filters=16)      # a smaller network  # doctest: +SKIP

Unknown preset names or override keys raise a ValueError that lists the valid ones.
"""

from __future__ import annotations

from ascendgan.models._factory import apply_overrides
from ascendgan.models.biggan import BigGANDiscriminator, BigGANGenerator, biggan_presets
from ascendgan.models.classifiers import (
    WideResidualBlock,
    WideResNet,
    wide_resnet,
)
from ascendgan.models.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_presets
from ascendgan.models.pix2pix import PatchGANDiscriminator, Pix2Pix, UNetGenerator, pix2pix_presets
from ascendgan.optimizers import AdamSettings
from ascendgan.training.gan import GAN


def biggan(preset="cifar10", *, seed=None, **overrides):
    """BigGAN for a preset (``cifar10``, ``imagenet64``, ``imagenet128``, ``cats64``).

    The GAN gets the preset's discriminator steps, EMA, orthogonal regularization (on the
    generator, as BigGAN) and latent prior; ``compile()`` defaults to its Adam learning rates
    and betas and the hinge loss.

    Args:
        preset: preset name; see ``ascendgan.models.biggan.biggan_presets.BIGGAN_PRESETS``.
        seed: seed of the GAN's latent random-number generator.
        **overrides: preset keys to change (``base_channels=8``, ``image_size=64``, ...).
    """
    row = biggan_presets.get_preset(preset, **overrides)
    generator = BigGANGenerator(**biggan_presets.generator_kwargs(row))
    discriminator = BigGANDiscriminator(**biggan_presets.discriminator_kwargs(row))
    generator.build()
    discriminator.build()
    return GAN(
        generator,
        discriminator,
        latent_dim=row["latent_dim"],
        num_classes=row["num_classes"],
        latent_distribution=row["latent_distribution"],
        discriminator_steps=row["discriminator_steps"],
        ema_decay=row["ema_decay"],
        ema_start=row["ema_start"],
        generator_orthogonal=row["orthogonal_regularization"],
        seed=seed,
        default_loss=row["loss"],
        default_optimizers=AdamSettings(row["generator_learning_rate"], row["discriminator_learning_rate"],
                                        row["beta_1"], row["beta_2"]),
        name=f"biggan_{preset}",
    )


def dcgan(preset="mnist", *, seed=None, **overrides):
    """DCGAN for a preset (``mnist`` 28x28x1, ``cifar10`` 32x32x3, ``celeba`` 64x64x3).

    ``compile()`` defaults to Adam 2e-4, β1 0.5 and the non-saturating loss.

    Args:
        preset: preset name; see ``ascendgan.models.dcgan.dcgan_presets.DCGAN_PRESETS``.
        seed: seed of the GAN's latent random-number generator.
        **overrides: preset keys to change (``base_filters=16``, ``num_classes=10``, ...).
    """
    row = apply_overrides("DCGAN", dcgan_presets.DCGAN_PRESETS, preset, overrides)
    row.setdefault("loss", "non_saturating")
    generator = DCGANGenerator(**dcgan_presets.generator_kwargs(row))
    discriminator = DCGANDiscriminator(**dcgan_presets.discriminator_kwargs(row))
    gan = GAN(
        generator,
        discriminator,
        latent_dim=row["latent_dim"],
        num_classes=row["num_classes"],
        latent_distribution=row["latent_distribution"],
        reuse_fakes=row["reuse_fakes"],
        seed=seed,
        default_loss=row["loss"],
        default_optimizers=AdamSettings(row["learning_rate"], row["learning_rate"], row["beta_1"], row["beta_2"]),
        name=f"dcgan_{preset}",
    )
    gan.build_models((row["image_size"], row["image_size"], row["channels"]))
    return gan


def pix2pix(preset="facades", *, seed=None, test_mode="train", **overrides):
    """Pix2Pix for a preset (``facades``, ``facades_128``, ...).

    ``compile()`` defaults to Adam 2e-4, β1 0.5 and the non-saturating (BCE) loss; the
    generator loss adds ``l1_weight`` (100) times L1.

    Args:
        preset: preset name; see ``ascendgan.models.pix2pix.pix2pix_presets.PIX2PIX_PRESETS``.
        seed: seed of the GAN's random-number generator.
        test_mode: ``"train"`` (the paper: batch statistics and dropout at test time) or
            ``"inference"``; see :class:`Pix2Pix`.
        **overrides: preset keys to change (``base_filters=8``, ``image_size=128``, ...).
    """
    row = apply_overrides("Pix2Pix", pix2pix_presets.PIX2PIX_PRESETS, preset, overrides)
    row.setdefault("loss", "non_saturating")
    generator = UNetGenerator(**pix2pix_presets.generator_kwargs(row))
    discriminator = PatchGANDiscriminator(**pix2pix_presets.discriminator_kwargs(row))
    gan = Pix2Pix(
        generator,
        discriminator,
        l1_weight=row["l1_weight"],
        test_mode=test_mode,
        reuse_fakes=row["reuse_fakes"],
        seed=seed,
        default_loss=row["loss"],
        default_optimizers=AdamSettings(row["learning_rate"], row["learning_rate"], row["beta_1"], row["beta_2"]),
        name=f"pix2pix_{preset}",
    )
    gan.build_models((row["image_size"], row["image_size"], row["output_channels"]))
    return gan


__all__ = [
    "GAN",
    "BigGANDiscriminator",
    "BigGANGenerator",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "PatchGANDiscriminator",
    "Pix2Pix",
    "UNetGenerator",
    "WideResNet",
    "WideResidualBlock",
    "biggan",
    "dcgan",
    "pix2pix",
    "wide_resnet",
]
