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

The factories read the family table (:func:`get_family`, :func:`family_names`,
:func:`register_family`): each family's structured presets (:class:`Preset`) and the function
that builds its GAN.
"""

from __future__ import annotations

from ascendgan.models.biggan import BigGANDiscriminator, BigGANGenerator
from ascendgan.models.biggan.factory import FAMILY as _BIGGAN
from ascendgan.models.biggan.factory import biggan
from ascendgan.models.classifiers import (
    WideResidualBlock,
    WideResNet,
    wide_resnet,
)
from ascendgan.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ascendgan.models.dcgan.factory import FAMILY as _DCGAN
from ascendgan.models.dcgan.factory import dcgan
from ascendgan.models.pix2pix import PatchGANDiscriminator, Pix2Pix, UNetGenerator
from ascendgan.models.pix2pix.factory import FAMILY as _PIX2PIX
from ascendgan.models.pix2pix.factory import pix2pix
from ascendgan.models.presets import DataSpec, Preset, Schedule
from ascendgan.models.registry import Family, family_names, get_family, register_family
from ascendgan.training.gan import GAN

# The family table: one entry per family folder.
for _family in (_DCGAN, _BIGGAN, _PIX2PIX):
    register_family(_family)


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
    "DataSpec",
    "Family",
    "Preset",
    "Schedule",
    "biggan",
    "dcgan",
    "family_names",
    "get_family",
    "pix2pix",
    "register_family",
    "wide_resnet",
]
