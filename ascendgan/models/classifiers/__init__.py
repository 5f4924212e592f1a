"""Image classifiers: the Wide-ResNet of the AutoAugment experiments, its network presets,
and the documented training run as a structured preset (network / optimizer / data /
schedule sections).

>>> from ascendgan.models.classifiers import classifier_preset, wide_resnet
>>> model = wide_resnet("wrn_28_10")           # 36.5M parameters  # doctest: +SKIP
>>> classifier_preset("autoaugment_cifar10").optimizer.learning_rate
0.06
"""

from ascendgan.models.classifiers import classifier_presets
from ascendgan.models.classifiers.classifier_presets import ClassifierPreset, classifier_preset
from ascendgan.models.classifiers.wide_resnet import WideResidualBlock, WideResNet, wide_resnet

__all__ = [
    "ClassifierPreset",
    "WideResNet",
    "WideResidualBlock",
    "classifier_preset",
    "classifier_presets",
    "wide_resnet",
]
