"""WideResNet: the pre-activation wide residual network (Zagoruyko & Komodakis, 2016)."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers.batch_normalization import FusedBatchNormalization
from ascendgan.layers.sublayers import build_sublayer
from ascendgan.models.classifiers import classifier_presets
from ascendgan.models.classifiers.classifier_model import ClassifierModel
from ascendgan.validation import check_bool, check_int, check_number

keras = compat.keras
layers = compat.layers

#: Batch normalization of the reference implementations: Keras momentum 0.9 (PyTorch's
#: 0.1, the AutoAugment code's decay 0.9) and epsilon 1e-5.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def _conv_initializer():
    """N(0, 2 / (k·k·out_channels)): He initialization over the fan-out, as the WRN and
    AutoAugment reference codes initialize their convolutions."""
    return compat.initializers.VarianceScaling(
        scale=2.0, mode="fan_out", distribution="untruncated_normal"
    )


def _shape_tuple(shape):
    return tuple(tf.TensorShape(shape).as_list())


def _build(layer, shape):
    """Builds ``layer`` for inputs of ``shape``; returns its output shape."""
    if not layer.built:
        build_sublayer(layer, tf.TensorShape(shape) if not compat.KERAS_3 else shape)
    return _shape_tuple(layer.compute_output_shape(shape))


def _check_statistics(name, value, channels=None):
    if value is None:
        return None
    try:
        values = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be None or a sequence of one float per input channel. "
            f"Received: {name}={value!r}"
        ) from None
    if not values or (channels is not None and len(values) != channels):
        raise ValueError(
            f"`{name}` must have one value per input channel ({channels}). Received: {name}={value!r}"
        )
    return values


@compat.register
class WideResidualBlock(layers.Layer):
    """One pre-activation residual block of a Wide-ResNet.

    ``BN -> ReLU -> conv3x3(stride) -> BN -> ReLU -> [dropout] -> conv3x3`` plus a shortcut:
    the identity when input and output shapes agree, otherwise a 1x1 convolution with the
    block's stride applied to the pre-activated input (``BN -> ReLU`` output), as in the
    reference implementation. No convolution has a bias (batch normalization follows).

    Args:
        filters: output channels.
        strides: stride of the first 3x3 convolution and of the shortcut (1 or 2).
        dropout_rate: dropout between the two convolutions (0 disables it).
        sync_batch_norm: batch statistics over all replicas of a ``tf.distribute``
            strategy (``FusedBatchNormalization(synchronized=True)``).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``).

    Call arguments:
        inputs: ``(batch, height, width, channels)``.
        training: Python bool or boolean tensor; batch statistics and dropout when True.

    Returns:
        ``(batch, ceil(height / strides), ceil(width / strides), filters)``.

    Example:

    >>> import numpy as np
    >>> block = WideResidualBlock(8, strides=2)
    >>> tuple(block(np.zeros((2, 16, 16, 4), "float32")).shape)
    (2, 8, 8, 8)

    Reference:
        Zagoruyko, Komodakis, "Wide Residual Networks", BMVC 2016 (arXiv:1605.07146);
        He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016 (arXiv:1603.05027).
    """

    def __init__(self, filters, strides=1, dropout_rate=0.0, sync_batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        filters = check_int("filters", filters, minimum=1)
        if isinstance(strides, bool) or strides not in (1, 2):
            raise ValueError(f"`strides` must be 1 or 2. Received: strides={strides!r}")
        check_number("dropout_rate", dropout_rate, minimum=0, maximum=1, max_inclusive=False)
        self.filters = filters
        self.strides = strides
        self.dropout_rate = float(dropout_rate)
        self.sync_batch_norm = check_bool("sync_batch_norm", sync_batch_norm)
        self.bn1 = FusedBatchNormalization(BN_MOMENTUM, BN_EPSILON, synchronized=self.sync_batch_norm,
                                           name="bn1")
        self.conv1 = layers.Conv2D(
            filters, 3, strides=strides, padding="same", use_bias=False,
            kernel_initializer=_conv_initializer(), name="conv1",
        )
        self.bn2 = FusedBatchNormalization(BN_MOMENTUM, BN_EPSILON, synchronized=self.sync_batch_norm,
                                           name="bn2")
        self.dropout = layers.Dropout(self.dropout_rate) if self.dropout_rate > 0 else None
        self.conv2 = layers.Conv2D(
            filters, 3, padding="same", use_bias=False,
            kernel_initializer=_conv_initializer(), name="conv2",
        )
        self.shortcut = None  # created in build when the shape changes

    def build(self, input_shape):
        shape = _shape_tuple(input_shape)
        if len(shape) != 4 or shape[-1] is None:
            raise ValueError(
                "WideResidualBlock expects `inputs` of shape (batch, height, width, channels) "
                f"with known channels. Received: inputs.shape={shape}"
            )
        if shape[-1] != self.filters or self.strides != 1:
            self.shortcut = layers.Conv2D(
                self.filters, 1, strides=self.strides, padding="same", use_bias=False,
                kernel_initializer=_conv_initializer(), name="shortcut",
            )
            _build(self.shortcut, shape)
        _build(self.bn1, shape)
        out = _build(self.conv1, shape)
        _build(self.bn2, out)
        _build(self.conv2, out)
        self.built = True

    def call(self, inputs, training=None):
        activated = tf.nn.relu(self.bn1(inputs, training=training))
        residual = self.shortcut(activated) if self.shortcut is not None else inputs
        x = self.conv1(activated)
        x = tf.nn.relu(self.bn2(x, training=training))
        if self.dropout is not None:
            x = self.dropout(x, training=training)
        x = self.conv2(x)
        return x + tf.cast(residual, x.dtype)

    def compute_output_shape(self, input_shape):
        shape = _shape_tuple(input_shape)
        spatial = [None if s is None else -(-s // self.strides) for s in shape[1:3]]
        return (shape[0], *spatial, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, strides=self.strides, dropout_rate=self.dropout_rate,
                      sync_batch_norm=self.sync_batch_norm)
        return config


@compat.register
class WideResNet(ClassifierModel):
    """The pre-activation Wide-ResNet WRN-``depth``-``width`` image classifier.

    Architecture (``k = width``, ``n = (depth - 4) / 6`` blocks per group)::

        images (b, h, w, c) -> [(x - input_mean) / input_std]
        -> conv3x3 16                                           # stem, no bias
        -> n x WideResidualBlock(16k),  first with stride 1     # h x w
        -> n x WideResidualBlock(32k),  first with stride 2     # h/2
        -> n x WideResidualBlock(64k),  first with stride 2     # h/4
        -> BN -> ReLU -> global average pool -> dense num_classes (with bias)

    Each block is ``BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3`` with a 1x1 convolution on
    the shortcut when the shape changes (:class:`WideResidualBlock`). Only the final dense
    layer has a bias. WRN-28-10 has 36,479,194 trainable parameters and WRN-40-2 has
    2,243,546 for 10 classes, the counts of the reference implementation. Convolutions
    are initialized from N(0, 2 / (9·out_channels)) (He, fan-out); batch normalization uses
    momentum 0.9 and epsilon 1e-5 (a fused kernel; statistics in float32). Under mixed
    precision the pooling and the dense head compute in float32.

    Weight decay is not part of the model: :func:`ascendgan.recipes.classifier.compile_classifier`
    adds it to the loss. Training goes through :class:`ClassifierModel`'s step (the
    strategy's wrapped optimizer; ``loss``, ``top1``, ``top5`` in the logs).

    Args:
        depth: total depth ``6n + 4`` (10, 16, 22, 28, 40, ...). Defaults to 28.
        width: widening factor ``k``. Defaults to 10.
        num_classes: number of output logits. Defaults to 10.
        dropout_rate: dropout between the convolutions of each block (the WRN paper's
            option; 0 disables it). Defaults to 0.
        input_mean: optional per-channel mean subtracted from the inputs (in the inputs'
            own range, e.g. :data:`~ascendgan.models.classifiers.classifier_presets.CIFAR10_MEAN`
            for CIFAR-10 images in [-1, 1]). Defaults to None (no normalization).
        input_std: optional per-channel standard deviation the inputs are divided by;
            given together with ``input_mean``.
        sync_batch_norm: under a ``tf.distribute`` strategy with several replicas, batch
            statistics over the global batch (one all-reduce per normalization), so the
            replicas train exactly as one device on the whole batch. Defaults to False
            (each replica normalizes its own batch, as the documented runs do).
        **kwargs: ``name``, ``trainable`` of ``keras.Model``.

    Call arguments:
        inputs: images ``(batch, height, width, channels)``, in [-1, 1] by convention.
        training: Python bool; batch statistics and dropout when True.

    Returns:
        float32 logits ``(batch, num_classes)`` (also under mixed precision).

    Example:

    >>> import numpy as np
    >>> model = WideResNet(depth=10, width=1, num_classes=10)
    >>> tuple(model(np.zeros((2, 32, 32, 3), "float32")).shape)
    (2, 10)

    Reference:
        Zagoruyko, Komodakis, "Wide Residual Networks", BMVC 2016 (arXiv:1605.07146).
    """

    def __init__(
        self,
        depth=28,
        width=10,
        num_classes=10,
        dropout_rate=0.0,
        input_mean=None,
        input_std=None,
        sync_batch_norm=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        depth = check_int("depth", depth, minimum=10)
        if (depth - 4) % 6:
            raise ValueError(
                "`depth` must be 6n + 4 (10, 16, 22, 28, 34, 40, ...): 4 plus 3 groups of n "
                f"two-convolution blocks. Received: depth={depth!r}"
            )
        width = check_int("width", width, minimum=1)
        num_classes = check_int("num_classes", num_classes, minimum=1)
        check_number("dropout_rate", dropout_rate, minimum=0, maximum=1, max_inclusive=False)
        mean = _check_statistics("input_mean", input_mean)
        std = _check_statistics("input_std", input_std)
        if (mean is None) != (std is None):
            raise ValueError(
                "`input_mean` and `input_std` must be given together. Received: "
                f"input_mean={input_mean!r}, input_std={input_std!r}"
            )
        if std is not None:
            if len(std) != len(mean):
                raise ValueError(
                    "`input_mean` and `input_std` must have the same length. Received: "
                    f"input_mean={input_mean!r}, input_std={input_std!r}"
                )
            if min(std) <= 0:
                raise ValueError(f"`input_std` values must be > 0. Received: input_std={input_std!r}")
        self.depth = depth
        self.width = width
        self.num_classes = num_classes
        self.dropout_rate = float(dropout_rate)
        self.input_mean = None if mean is None else list(mean)
        self.input_std = None if std is None else list(std)
        self.sync_batch_norm = check_bool("sync_batch_norm", sync_batch_norm)

        blocks_per_group = (depth - 4) // 6
        self.stem = layers.Conv2D(
            16, 3, padding="same", use_bias=False, kernel_initializer=_conv_initializer(),
            name="stem",
        )
        # Each block is its own attribute (not an element of a list attribute): Keras 3 does
        # not expose layers held in lists to tf.train.Checkpoint, so they would be missing
        # from checkpoints.
        names = []
        for group, (filters, strides) in enumerate(
            ((16 * width, 1), (32 * width, 2), (64 * width, 2)), start=1
        ):
            for index in range(blocks_per_group):
                name = f"group{group}_block{index + 1}"
                block = WideResidualBlock(
                    filters, strides=strides if index == 0 else 1,
                    dropout_rate=self.dropout_rate, sync_batch_norm=self.sync_batch_norm, name=name,
                )
                setattr(self, name, block)
                names.append(name)
        self._block_names = tuple(names)
        self.final_bn = FusedBatchNormalization(BN_MOMENTUM, BN_EPSILON,
                                                synchronized=self.sync_batch_norm, name="final_bn")
        # The head computes in float32 under mixed precision: bfloat16 logits (8 bits of
        # mantissa) tie often enough to change top-1 counts.
        self.classifier = layers.Dense(num_classes, dtype="float32", name="logits")

    @property
    def blocks(self):
        """The residual blocks in order (attributes ``group<g>_block<b>``)."""
        return [getattr(self, name) for name in self._block_names]

    def build(self, input_shape):
        shape = _shape_tuple(input_shape)
        if len(shape) != 4 or shape[-1] is None:
            raise ValueError(
                "WideResNet expects images of shape (batch, height, width, channels) with "
                f"known channels. Received: shape={shape}"
            )
        if self.input_mean is not None and len(self.input_mean) not in (1, shape[-1]):
            raise ValueError(
                f"`input_mean` has {len(self.input_mean)} values but the images have "
                f"{shape[-1]} channels. Received: input_mean={self.input_mean}"
            )
        shape = _build(self.stem, shape)
        for block in self.blocks:
            shape = _build(block, shape)
        _build(self.final_bn, shape)
        _build(self.classifier, (shape[0], shape[-1]))
        keras.layers.Layer.build(self, input_shape)

    def call(self, inputs, training=None):
        x = inputs
        if self.input_mean is not None:
            mean = tf.constant(self.input_mean, x.dtype)
            std = tf.constant(self.input_std, x.dtype)
            x = (x - mean) / std
        x = self.stem(x)
        for block in self.blocks:
            x = block(x, training=training)
        x = tf.nn.relu(self.final_bn(x, training=training))
        x = tf.reduce_mean(tf.cast(x, tf.float32), axis=[1, 2])
        return self.classifier(x)

    def compute_output_shape(self, input_shape):
        return (_shape_tuple(input_shape)[0], self.num_classes)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "depth": self.depth,
            "width": self.width,
            "num_classes": self.num_classes,
            "dropout_rate": self.dropout_rate,
            "input_mean": self.input_mean,
            "input_std": self.input_std,
            "sync_batch_norm": self.sync_batch_norm,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def wide_resnet(preset="wrn_28_10", *, input_shape=(None, None, 3), **overrides):
    """A built :class:`WideResNet` for a preset.

    Args:
        preset: preset name: ``wrn_28_10`` (the AutoAugment paper's CIFAR model, default),
            ``wrn_40_2``, ``wrn_28_2``, ``wrn_16_4`` or ``wrn_10_1`` (tiny); see
            :data:`~ascendgan.models.classifiers.classifier_presets.WIDE_RESNET_PRESETS`.
            Any other valid ``wrn_<depth>_<width>`` (depth ``6n + 4``) builds that network.
        input_shape: ``(height, width, channels)`` the model is built for (height and
            width may be None: the network is fully convolutional up to the pooling).
        **overrides: preset keys to change (``num_classes=100``, ``dropout_rate=0.3``,
            ``input_mean=..., input_std=...``).

    Returns:
        an uncompiled, built ``WideResNet`` named after the preset.

    Raises:
        ValueError: for an unknown preset or override key, listing the valid ones.

    Example:

    >>> import numpy as np
    >>> model = wide_resnet("wrn_10_1", input_shape=(32, 32, 3))
    >>> sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    77850
    """
    row = classifier_presets.get_preset(preset, **overrides)
    model = WideResNet(**{key: row[key] for key in classifier_presets.WIDE_RESNET_KEYS}, name=preset)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, channels). Received: input_shape={input_shape!r}"
        )
    model.build((None, *input_shape))
    return model


__all__ = ["WideResNet", "WideResidualBlock", "wide_resnet"]
