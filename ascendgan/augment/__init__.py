"""Data augmentation: AutoAugment policies, Cutout and DiffAugment, in TensorFlow ops.

* :class:`AutoAugment` / :func:`auto_augment`: the paper's learned CIFAR-10, SVHN and
  ImageNet policies for classifier training (operations :func:`apply_operation`,
  magnitudes :func:`magnitude_to_value`, tables :data:`POLICIES`).
* :class:`Cutout` / :func:`cutout`: fill a random square of each image.
* :func:`random_crop_and_flip`: random crop of the zero-padded images and horizontal
  flips, the standard CIFAR augmentation under the AutoAugment policies.
* :class:`DiffAugment` / :func:`diff_augment`: differentiable color, translation and
  cutout augmentation of real and fake images before a GAN discriminator.

All layers are registered as ``"ascendgan>Name"``, have no weights, and augment only in
training (or when called directly, e.g. in ``tf.data``). The pieces they share are public:
:mod:`~ascendgan.augment.random_ops` (stateless seeds, the layers' generators and training
switch) and :mod:`~ascendgan.augment.masks` (rectangle masks).
"""

from ascendgan.augment.autoaugment import (
    CIFAR10_POLICY,
    IMAGENET_POLICY,
    MAGNITUDE_LEVELS,
    OPERATIONS,
    POLICIES,
    SVHN_POLICY,
    AutoAugment,
    apply_operation,
    auto_augment,
    magnitude_to_value,
)
from ascendgan.augment.crop_flip import random_crop_and_flip
from ascendgan.augment.cutout import Cutout, cutout
from ascendgan.augment.diffaugment import DIFF_AUGMENT_OPERATIONS, DiffAugment, diff_augment

__all__ = [
    "AutoAugment",
    "CIFAR10_POLICY",
    "Cutout",
    "DIFF_AUGMENT_OPERATIONS",
    "DiffAugment",
    "IMAGENET_POLICY",
    "MAGNITUDE_LEVELS",
    "OPERATIONS",
    "POLICIES",
    "SVHN_POLICY",
    "apply_operation",
    "auto_augment",
    "cutout",
    "diff_augment",
    "magnitude_to_value",
    "random_crop_and_flip",
]
