"""BigGAN networks (Brock et al., arXiv:1809.11096) and their presets."""

from ascendgan.models.biggan.biggan_discriminator import BigGANDiscriminator
from ascendgan.models.biggan.biggan_generator import BigGANGenerator

__all__ = ["BigGANDiscriminator", "BigGANGenerator"]
