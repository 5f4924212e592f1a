"""DCGAN networks (Radford et al., arXiv:1511.06434) and their presets."""

from ascendgan.models.dcgan.dcgan_discriminator import DCGANDiscriminator
from ascendgan.models.dcgan.dcgan_generator import DCGANGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator"]
