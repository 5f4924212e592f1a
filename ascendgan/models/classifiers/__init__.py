"""Image classifiers: the Wide-ResNet of the AutoAugment experiments, and its presets.

>>> from ascendgan.models.classifiers import wide_resnet
>>> model = wide_resnet("wrn_28_10")           # 36.5M parameters  # doctest: +SKIP
"""

from ascendgan.models.classifiers import classifier_presets
from ascendgan.models.classifiers.wide_resnet import WideResidualBlock, WideResNet, wide_resnet

__all__ = ["WideResNet", "WideResidualBlock", "classifier_presets", "wide_resnet"]
