"""Pix2Pix networks (Isola et al., arXiv:1611.07004) and their presets."""

from ascendgan.models.pix2pix.patchgan_discriminator import (
    PatchGANDiscriminator,
    patchgan_receptive_field,
)
from ascendgan.models.pix2pix.pix2pix import Pix2Pix
from ascendgan.models.pix2pix.unet_generator import UNetGenerator

__all__ = ["PatchGANDiscriminator", "Pix2Pix", "UNetGenerator", "patchgan_receptive_field"]
