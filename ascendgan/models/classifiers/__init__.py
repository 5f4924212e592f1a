"""Image classifiers: the Wide-ResNet of the AutoAugment experiments on a
:class:`ClassifierModel` (its training step goes through a strategy's wrapped optimizer),
its network presets, fine-tuning from another run (:func:`restore_weights`), and the
documented training runs (CIFAR-10, ImageNet) as structured presets (network / optimizer /
data / schedule sections).

>>> from ascendgan.models.classifiers import classifier_preset, wide_resnet
>>> model = wide_resnet("wrn_28_10")           # 36.5M parameters  # doctest: +SKIP
>>> classifier_preset("autoaugment_cifar10").optimizer.learning_rate
0.06
"""

from ascendgan.models.classifiers import classifier_presets
from ascendgan.models.classifiers.classifier_model import ClassifierModel
from ascendgan.models.classifiers.classifier_presets import ClassifierPreset, classifier_preset
from ascendgan.models.classifiers.finetune import restore_weights
from ascendgan.models.classifiers.wide_resnet import WideResidualBlock, WideResNet, wide_resnet

__all__ = [
    "ClassifierModel",
    "ClassifierPreset",
    "WideResNet",
    "WideResidualBlock",
    "classifier_preset",
    "classifier_presets",
    "restore_weights",
    "wide_resnet",
]
