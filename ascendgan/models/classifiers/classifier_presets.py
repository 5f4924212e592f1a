"""Wide-ResNet presets and the documented AutoAugment training configuration.

Each network row is a plain dict of :class:`~ascendgan.models.classifiers.WideResNet`
constructor arguments; ``wrn_<depth>_<width>`` is the usual WRN-d-k name of Zagoruyko &
Komodakis. Trainable parameter counts for 10 classes (the standard pre-activation layout,
asserted in the tests):

=============  =====  =====  ==============  ========================================
preset         depth  width  parameters      use
=============  =====  =====  ==============  ========================================
``wrn_28_10``  28     10     36,479,194      the AutoAugment paper's CIFAR model (default)
``wrn_40_2``   40     2      2,243,546       the AutoAugment paper's small CIFAR model
``wrn_28_2``   28     2      1,467,610       a small model for CPU runs
``wrn_16_4``   16     4      2,748,890       a shallow model for CPU runs
``wrn_10_1``   10     1      77,850          tiny: tests and ``--smoke`` runs
=============  =====  =====  ==============  ========================================

:data:`AUTOAUGMENT_CIFAR10` is the documented training run of the AutoAugment classifier
(the defaults of ``examples/autoaugment_cifar.py`` and of
:func:`ascendgan.training.classifier.train_classifier`).

Example:

>>> from ascendgan.models.classifiers.classifier_presets import get_preset
>>> row = get_preset("wrn_28_10")
>>> row["depth"], row["width"], row["num_classes"]
(28, 10, 10)

Reference:
    Zagoruyko, Komodakis, "Wide Residual Networks", BMVC 2016 (arXiv:1605.07146);
    Cubuk et al., "AutoAugment: Learning Augmentation Policies from Data", CVPR 2019
    (arXiv:1805.09501).
"""

from __future__ import annotations

from ascendgan.models._factory import apply_overrides

#: Keys of a row (all are WideResNet constructor arguments).
WIDE_RESNET_KEYS = (
    "depth", "width", "num_classes", "dropout_rate", "input_mean", "input_std",
)


def _row(depth, width):
    return {
        "depth": depth,
        "width": width,
        "num_classes": 10,
        "dropout_rate": 0.0,
        "input_mean": None,
        "input_std": None,
    }


WIDE_RESNET_PRESETS = {
    "wrn_28_10": _row(28, 10),
    "wrn_40_2": _row(40, 2),
    "wrn_28_2": _row(28, 2),
    "wrn_16_4": _row(16, 4),
    "wrn_10_1": _row(10, 1),
}

#: Per-channel mean and standard deviation of the CIFAR-10 training images, expressed in
#: ascendgan's [-1, 1] image range (``2 * m - 1`` and ``2 * s`` of the usual values on
#: [0, 1]: means 0.4914, 0.4822, 0.4465, standard deviations 0.2470, 0.2435, 0.2616).
CIFAR10_MEAN = (-0.0172, -0.0356, -0.1070)
CIFAR10_STD = (0.4940, 0.4870, 0.5232)

#: The documented AutoAugment classifier run (DESIGN.md reference configurations).
#: ``weight_decay`` is an L2 term in the loss (see ``train_classifier``); the AutoAugment
#: paper used 5e-4 for Wide-ResNets on CIFAR, the documented run 1e-4.
AUTOAUGMENT_CIFAR10 = {
    "model": "wrn_28_10",
    "batch_size": 128,
    "epochs": 150,
    "learning_rate": 0.06,
    "schedule": "cosine",
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "label_smoothing": 0.1,
    "policy": "cifar10",
    "crop_padding": 4,
    "flip": True,
    "cutout": 16,
    "normalize": "cifar10",
}


def get_preset(name, **overrides):
    """A copy of the preset row ``name`` with ``overrides`` applied.

    Args:
        name: preset name, a key of :data:`WIDE_RESNET_PRESETS`.
        **overrides: row keys to change (``num_classes=100``, ``dropout_rate=0.3``, ...).

    Returns:
        the row, a new dict.

    Raises:
        ValueError: for an unknown preset or override key, listing the valid ones.
    """
    return apply_overrides("WideResNet", WIDE_RESNET_PRESETS, name, overrides)


__all__ = [
    "AUTOAUGMENT_CIFAR10",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "WIDE_RESNET_KEYS",
    "WIDE_RESNET_PRESETS",
    "get_preset",
]
