"""The Pix2Pix factory and family entry."""

from __future__ import annotations

from ascendgan.models.pix2pix import pix2pix_presets
from ascendgan.models.pix2pix.patchgan_discriminator import PatchGANDiscriminator
from ascendgan.models.pix2pix.pix2pix import Pix2Pix
from ascendgan.models.pix2pix.unet_generator import UNetGenerator
from ascendgan.models.registry import Family


def from_preset(preset, seed=None, test_mode="train"):
    """An uncompiled, built :class:`Pix2Pix` for a resolved :class:`~ascendgan.models.presets.Preset`."""
    generator = UNetGenerator(**pix2pix_presets.generator_kwargs(preset))
    discriminator = PatchGANDiscriminator(**pix2pix_presets.discriminator_kwargs(preset))
    gan = Pix2Pix(
        generator,
        discriminator,
        l1_weight=preset.gan["l1_weight"],
        test_mode=test_mode,
        reuse_fakes=preset.gan["reuse_fakes"],
        seed=seed,
        default_loss=preset.gan["loss"],
        default_optimizers=preset.optimizer,
        name=f"pix2pix_{preset.name}",
    )
    size = preset.network["image_size"]
    gan.build_models((size, size, preset.network["output_channels"]))
    return gan


FAMILY = Family(
    name="pix2pix",
    presets=pix2pix_presets.PIX2PIX_PRESETS,
    default_preset="facades",
    build=from_preset,
    description="Pix2Pix (Isola et al. 2016): U-Net + PatchGAN image-to-image translation",
)


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
    return from_preset(FAMILY.preset(preset, overrides), seed=seed, test_mode=test_mode)
