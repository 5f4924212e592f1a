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

:data:`AUTOAUGMENT_CIFAR10` is the documented training run of the AutoAugment classifier, a
:class:`ClassifierPreset` in sections (``network``, ``optimizer``, ``data``, ``schedule``,
and its ``smoke`` size): the defaults of ``examples/autoaugment_cifar.py`` and of
:func:`ascendgan.recipes.classifier.train_classifier`. :data:`AUTOAUGMENT_IMAGENET` is its
ImageNet run (1000 classes, 224 crops, evaluation resize 256 -> centre 224).

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

import dataclasses
import re
import types
from collections.abc import Mapping

from ascendgan.models._factory import apply_overrides
from ascendgan.validation import check_bool, check_choice, check_int, check_number

#: Keys of a row (all are WideResNet constructor arguments).
WIDE_RESNET_KEYS = (
    "depth", "width", "num_classes", "dropout_rate", "input_mean", "input_std", "sync_batch_norm",
)


def _row(depth, width):
    return {
        "depth": depth,
        "width": width,
        "num_classes": 10,
        "dropout_rate": 0.0,
        "input_mean": None,
        "input_std": None,
        "sync_batch_norm": False,
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

#: The usual ImageNet statistics (means 0.485, 0.456, 0.406, standard deviations 0.229,
#: 0.224, 0.225 on [0, 1]) in [-1, 1]. The documented run's own values were not found, so
#: these are assumed (see docs/classifier.md).
IMAGENET_MEAN = tuple(2 * m - 1 for m in (0.485, 0.456, 0.406))
IMAGENET_STD = tuple(2 * s for s in (0.229, 0.224, 0.225))

#: The statistics of the Ascend ModelZoo TensorFlow image-classification scripts (means 121,
#: 115, 100, standard deviations 70, 68, 71 on 0..255) in [-1, 1].
ASCEND_IMAGENET_MEAN = tuple(m / 127.5 - 1 for m in (121.0, 115.0, 100.0))
ASCEND_IMAGENET_STD = tuple(s / 127.5 for s in (70.0, 68.0, 71.0))

#: The input normalizations a :class:`ClassifierNetwork` can name: ``(input_mean, input_std)``.
NORMALIZATIONS = {
    "cifar10": (CIFAR10_MEAN, CIFAR10_STD),
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
    "imagenet_ascend": (ASCEND_IMAGENET_MEAN, ASCEND_IMAGENET_STD),
    "none": (None, None),
}

#: The data sets a :class:`ClassifierData` can name.
DATASETS = ("cifar10", "imagenet")

#: Augmentation policies a :class:`ClassifierData` can name (``"none"``: no AutoAugment).
POLICY_NAMES = ("cifar10", "svhn", "imagenet", "none")

_NAME = re.compile(r"wrn_(\d+)_(\d+)")


def model_size(name):
    """``(depth, width)`` of a model name ``wrn_<depth>_<width>``.

    Raises:
        ValueError: for another name, or a depth that is not ``6n + 4 >= 10``.

    Example:

    >>> model_size("wrn_28_10")
    (28, 10)
    """
    match = _NAME.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise ValueError(f"expected a name wrn_<depth>_<width> such as wrn_28_10, got {name!r}")
    depth, width = int(match.group(1)), int(match.group(2))
    if depth < 10 or (depth - 4) % 6 or width < 1:
        raise ValueError(f"{name!r}: the depth must be 6n + 4 >= 10 (10, 16, 22, 28, 40, ...) "
                         "and the width >= 1")
    return depth, width


# ----------------------------------------------------------------------------- training presets


@dataclasses.dataclass(frozen=True)
class ClassifierNetwork:
    """The ``network`` section: which Wide-ResNet, for how many classes.

    Args:
        model: a :data:`WIDE_RESNET_PRESETS` name or any ``wrn_<depth>_<width>``.
        num_classes: output logits.
        dropout_rate: dropout inside the blocks, in [0, 1).
        normalize: the per-channel input normalization inside the model, a key of
            :data:`NORMALIZATIONS` (``"cifar10"``, ``"imagenet"``, ``"imagenet_ascend"`` or
            ``"none"``).
        sync_batch_norm: batch statistics over the global batch of all replicas (one
            all-reduce per batch normalization); False (the documented runs): each replica
            normalizes with its own batch.
    """

    model: str = "wrn_28_10"
    num_classes: int = 10
    dropout_rate: float = 0.0
    normalize: str = "cifar10"
    sync_batch_norm: bool = False

    def __post_init__(self):
        model_size(self.model)
        check_int("num_classes", self.num_classes, minimum=1)
        check_number("dropout_rate", self.dropout_rate, minimum=0, maximum=1, max_inclusive=False)
        check_choice("normalize", self.normalize, tuple(NORMALIZATIONS))
        check_bool("sync_batch_norm", self.sync_batch_norm)

    def kwargs(self):
        """The overrides of :func:`~ascendgan.models.classifiers.wide_resnet` for
        :attr:`model`: ``num_classes``, ``dropout_rate``, ``input_mean``, ``input_std``,
        ``sync_batch_norm``."""
        mean, std = NORMALIZATIONS[self.normalize]
        return {"num_classes": self.num_classes, "dropout_rate": self.dropout_rate,
                "input_mean": mean, "input_std": std, "sync_batch_norm": self.sync_batch_norm}


@dataclasses.dataclass(frozen=True)
class SGDSettings:
    """The ``optimizer`` section: SGD with momentum and the loss's regularizers.

    Args:
        learning_rate: the initial learning rate of the cosine schedule (> 0).
        momentum: SGD momentum in [0, 1].
        nesterov: Nesterov momentum (the AutoAugment code's; the documented run uses plain
            momentum).
        weight_decay: rate of the coupled L2 term in the loss (>= 0); see
            :func:`ascendgan.metrics.classification.l2_penalty`.
        label_smoothing: ``ε`` of the label-smoothed cross-entropy, in [0, 1].
    """

    learning_rate: float = 0.06
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1

    def __post_init__(self):
        check_number("learning_rate", self.learning_rate, minimum=0, min_inclusive=False)
        check_number("momentum", self.momentum, minimum=0.0, maximum=1.0)
        check_bool("nesterov", self.nesterov)
        check_number("weight_decay", self.weight_decay, minimum=0)
        check_number("label_smoothing", self.label_smoothing, minimum=0.0, maximum=1.0)


@dataclasses.dataclass(frozen=True)
class ClassifierData:
    """The ``data`` section: the data set, its image size and the training augmentation
    (random crop + flip, an AutoAugment policy, then Cutout).

    Args:
        dataset: the data set, one of :data:`DATASETS` (``"cifar10"``: 32x32 images in
            memory; ``"imagenet"``: image files or TFRecords read by
            :func:`ascendgan.data.imagenet`, random resized crops to ``image_size``).
        image_size: side of the square images (the training crop of ImageNet).
        channels: image channels.
        crop_padding: zero padding of the random crop of a batch (0 disables it).
        flip: random horizontal flips.
        policy: AutoAugment policy, one of :data:`POLICY_NAMES` (``"none"`` disables it).
        cutout: side of the Cutout square in pixels (0 disables it).
        eval_resize: ImageNet: the shorter side evaluation images are resized to before
            the centre ``image_size`` crop (>= ``image_size``); None for in-memory data.
    """

    dataset: str = "cifar10"
    image_size: int = 32
    channels: int = 3
    crop_padding: int = 4
    flip: bool = True
    policy: str = "cifar10"
    cutout: int = 16
    eval_resize: int | None = None

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        check_int("image_size", self.image_size, minimum=1)
        check_int("eval_resize", self.eval_resize, minimum=self.image_size, allow_none=True)
        check_int("channels", self.channels, minimum=1)
        check_int("crop_padding", self.crop_padding, minimum=0)
        check_bool("flip", self.flip)
        check_choice("policy", self.policy, POLICY_NAMES)
        check_int("cutout", self.cutout, minimum=0)

    @property
    def input_shape(self):
        """``(image_size, image_size, channels)``."""
        return (self.image_size, self.image_size, self.channels)


@dataclasses.dataclass(frozen=True)
class ClassifierSchedule:
    """The ``schedule`` section: batch size, length, and how often to validate, checkpoint
    and log.

    Args:
        batch_size: training batch size **per device** (replica); a step of ``n`` replicas
            trains on ``n · batch_size`` images (the documented run: 128 on each of 8 NPUs).
        epochs: epochs of the run; the cosine learning rate reaches 0 at the end.
        warmup_epochs: epochs of linear learning-rate warm-up (< ``epochs``; the documented
            run: 5).
        steps_per_epoch: steps per epoch (``None``: one pass over the training set).
        validate_every: epochs between test-set validations (0: only at the end).
        eval_batch_size: batch size of evaluation.
        checkpoint_every: steps between checkpoints (``None``: every epoch; the documented
            run: 5000, its ``save_checkpoints_steps``), and at the end.
        max_checkpoints: checkpoints kept (the documented ``keep_checkpoint_max``: 5).
        log_every: steps between log lines (step, loss, top-1, learning rate, batch time,
            FPS) and TensorBoard writes (100).
    """

    batch_size: int = 128
    epochs: int = 150
    warmup_epochs: int = 5
    steps_per_epoch: int | None = None
    validate_every: int = 10
    eval_batch_size: int = 500
    checkpoint_every: int | None = 5000
    max_checkpoints: int = 5
    log_every: int = 100

    def __post_init__(self):
        check_int("batch_size", self.batch_size, minimum=1)
        check_int("epochs", self.epochs, minimum=1)
        check_int("warmup_epochs", self.warmup_epochs, minimum=0)
        if self.warmup_epochs >= self.epochs:
            raise ValueError(f"`warmup_epochs` must be smaller than `epochs` ({self.epochs}); pass "
                             f"warmup_epochs=0 ... {self.epochs - 1} with a short run. Received: "
                             f"warmup_epochs={self.warmup_epochs!r}")
        check_int("steps_per_epoch", self.steps_per_epoch, minimum=1, allow_none=True)
        check_int("validate_every", self.validate_every, minimum=0)
        check_int("eval_batch_size", self.eval_batch_size, minimum=1)
        check_int("checkpoint_every", self.checkpoint_every, minimum=1, allow_none=True)
        check_int("max_checkpoints", self.max_checkpoints, minimum=1)
        check_int("log_every", self.log_every, minimum=1)


_SECTIONS = (("network", ClassifierNetwork), ("optimizer", SGDSettings),
             ("data", ClassifierData), ("schedule", ClassifierSchedule))


@dataclasses.dataclass(frozen=True)
class ClassifierPreset:
    """A documented classifier training run, in sections: :class:`ClassifierNetwork`,
    :class:`SGDSettings`, :class:`ClassifierData`, :class:`ClassifierSchedule`, and the
    flat overrides of its ``--smoke`` size.

    Override keys are flat, as users write them (``epochs=10``, ``model="wrn_16_4"``,
    ``policy="none"``): :meth:`with_overrides` routes each to its section.
    """

    name: str
    network: ClassifierNetwork = ClassifierNetwork()
    optimizer: SGDSettings = SGDSettings()
    data: ClassifierData = ClassifierData()
    schedule: ClassifierSchedule = ClassifierSchedule()
    smoke: Mapping = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "smoke", types.MappingProxyType(dict(self.smoke)))

    @staticmethod
    def keys():
        """Every override key, sorted."""
        return sorted(field.name for _, cls in _SECTIONS for field in dataclasses.fields(cls))

    def value(self, key):
        """The value of the flat key ``key`` in its section."""
        for section, cls in _SECTIONS:
            if key in {field.name for field in dataclasses.fields(cls)}:
                return getattr(getattr(self, section), key)
        raise ValueError(f"Unknown classifier preset key {key!r}. Valid keys: {self.keys()}")

    def with_overrides(self, overrides=None):
        """A copy with the flat ``overrides`` applied to their sections.

        Raises:
            ValueError: for an unknown key (listing the valid ones) or an invalid value.
        """
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.keys()))
        if unknown:
            raise ValueError(f"Unknown classifier override key(s) {unknown} for preset "
                             f"{self.name!r}. Valid keys: {self.keys()}")
        changes = {}
        for section, cls in _SECTIONS:
            names = {field.name for field in dataclasses.fields(cls)}
            values = {key: value for key, value in overrides.items() if key in names}
            if values:
                changes[section] = dataclasses.replace(getattr(self, section), **values)
        return dataclasses.replace(self, **changes) if changes else self


_SMOKE = {"model": "wrn_10_1", "epochs": 1, "warmup_epochs": 0, "steps_per_epoch": 2,
          "batch_size": 8, "eval_batch_size": 8, "validate_every": 0, "log_every": 1}

#: The documented AutoAugment classifier run (DESIGN.md reference configurations):
#: Wide-ResNet-28-10; crop + flip + the CIFAR-10 policy + Cutout 16; SGD momentum 0.9,
#: weight decay 1e-4 (an L2 term in the loss; the AutoAugment paper used 5e-4 for
#: Wide-ResNets on CIFAR), cosine learning rate from 0.06 after 5 warm-up epochs, label
#: smoothing 0.1; batch 128 per device, 150 epochs; a checkpoint every 5000 steps, 5 kept;
#: a log line every 100 steps. ``smoke``: WRN-10-1, 2 steps of 8 images.
AUTOAUGMENT_CIFAR10 = ClassifierPreset(name="autoaugment_cifar10", smoke=_SMOKE)

#: The ImageNet run of the documented classifier, next to CIFAR-10: 1000 classes; random
#: resized crops to 224 + flip + the ImageNet AutoAugment policy (no Cutout); evaluation
#: images resized to 256 (shorter side) and centre-cropped to 224; ImageNet mean / std
#: inside the model; optimizer and schedule as :data:`AUTOAUGMENT_CIFAR10`. ``smoke``:
#: WRN-10-1 on 32x32 crops (evaluation resize 36), 2 steps of 8 images.
AUTOAUGMENT_IMAGENET = ClassifierPreset(
    name="autoaugment_imagenet",
    network=ClassifierNetwork(num_classes=1000, normalize="imagenet"),
    data=ClassifierData(dataset="imagenet", image_size=224, crop_padding=0, policy="imagenet",
                        cutout=0, eval_resize=256),
    smoke={**_SMOKE, "image_size": 32, "eval_resize": 36},
)

#: The classifier training presets by name.
CLASSIFIER_PRESETS = {preset.name: preset for preset in (AUTOAUGMENT_CIFAR10, AUTOAUGMENT_IMAGENET)}


def classifier_preset(name="autoaugment_cifar10", overrides=None, smoke=False):
    """The training preset ``name``, at its smoke size when ``smoke``, with ``overrides``.

    Raises:
        ValueError: for an unknown preset or override key, listing the valid ones.

    Example:

    >>> preset = classifier_preset(overrides={"epochs": 10})
    >>> preset.network.model, preset.schedule.epochs, preset.optimizer.learning_rate
    ('wrn_28_10', 10, 0.06)
    """
    if name not in CLASSIFIER_PRESETS:
        raise ValueError(f"Unknown classifier preset {name!r}. Valid presets: {sorted(CLASSIFIER_PRESETS)}")
    preset = CLASSIFIER_PRESETS[name]
    if smoke:
        preset = preset.with_overrides(preset.smoke)
    return preset.with_overrides(overrides)


def get_preset(name, **overrides):
    """A copy of the preset row ``name`` with ``overrides`` applied.

    Args:
        name: preset name, a key of :data:`WIDE_RESNET_PRESETS`, or any valid
            ``wrn_<depth>_<width>`` (depth ``6n + 4``), which gets a row of its own.
        **overrides: row keys to change (``num_classes=100``, ``dropout_rate=0.3``, ...).

    Returns:
        the row, a new dict.

    Raises:
        ValueError: for an unknown preset or override key, listing the valid ones.
    """
    presets = WIDE_RESNET_PRESETS
    if name not in presets and isinstance(name, str) and _NAME.fullmatch(name):
        try:
            presets = {name: _row(*model_size(name))}
        except ValueError:
            pass  # an invalid depth: the error below lists the presets
    return apply_overrides("WideResNet", presets, name, overrides)


__all__ = [
    "ASCEND_IMAGENET_MEAN",
    "ASCEND_IMAGENET_STD",
    "AUTOAUGMENT_CIFAR10",
    "AUTOAUGMENT_IMAGENET",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "CLASSIFIER_PRESETS",
    "DATASETS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NORMALIZATIONS",
    "POLICY_NAMES",
    "WIDE_RESNET_KEYS",
    "WIDE_RESNET_PRESETS",
    "ClassifierData",
    "ClassifierNetwork",
    "ClassifierPreset",
    "ClassifierSchedule",
    "SGDSettings",
    "classifier_preset",
    "get_preset",
    "model_size",
]
