"""ResBlockUp: BigGAN's residual generator block (batch norm, ReLU, upsampling, 3x3 convs)."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers._batch_norm import check_batch_norm_arguments
from ascendgan.layers._spectral import check_spectral_norm_initializer
from ascendgan.layers.batch_normalization import FusedBatchNormalization
from ascendgan.layers.conditional_batch_normalization import ConditionalBatchNormalization
from ascendgan.layers.sn_conv2d import SNConv2D
from ascendgan.layers.sublayers import (
    build_sublayer,
    check_image_rank,
    describe_inputs,
    fresh_initializer,
    is_list_of_inputs,
)
from ascendgan.validation import check_choice, check_int

_CONDITIONS = ("class", "vector", None)


def upsample_nearest(x):
    """Doubles height and width of an NHWC tensor by repeating every pixel 2x2."""
    shape = tf.shape(x)
    channels = x.shape[-1] if x.shape[-1] is not None else shape[3]
    tiled = tf.broadcast_to(
        x[:, :, None, :, None, :], tf.stack([shape[0], shape[1], 2, shape[2], 2, channels])
    )
    return tf.reshape(tiled, tf.stack([shape[0], shape[1] * 2, shape[2] * 2, channels]))


def make_conv(filters, kernel_size, use_spectral_norm, power_iterations, kernel_initializer,
              dtype, name):
    """A same-padded convolution, spectrally normalized or plain."""
    common = dict(
        padding="same",
        kernel_initializer=fresh_initializer(kernel_initializer),
        dtype=dtype,
        name=name,
    )
    if use_spectral_norm:
        return SNConv2D(filters, kernel_size, power_iterations=power_iterations, **common)
    return compat.layers.Conv2D(filters, kernel_size, **common)


def _spatial(shape, factor):
    return None if shape is None else int(shape * factor)


@compat.register
class ResBlockUp(compat.layers.Layer):
    """BigGAN's residual generator block.

    With ``x`` of shape ``(n, h, w, c_in)`` and a condition ``c``:

        h = relu(BN1(x, c)); h = upsample(h); h = conv3x3(h)
        h = relu(BN2(h, c)); h = conv3x3(h)
        shortcut = conv1x1(upsample(x))     # identity when c_in == filters and no upsampling
        out = h + shortcut

    Upsampling is nearest-neighbour by 2.  Both 3x3 convolutions have ``filters`` output
    channels (BigGAN's non-deep generator).  The shortcut is learnable (a 1x1 convolution
    with bias) when the block upsamples or changes the channel count, as in BigGAN.
    Convolutions are :class:`SNConv2D` when ``use_spectral_norm=True``, else
    ``keras.layers.Conv2D``; all have biases and ``"same"`` padding.

    The batch norms depend on ``condition``:

    * ``"vector"`` (default, BigGAN): :class:`ConditionalBatchNormalization` with gain and
      bias projected from a float vector ``c`` ``(n, d)`` (BigGAN's concatenation of the
      shared class embedding and a latent chunk); the projections are spectrally
      normalized when ``use_spectral_norm=True``.  Call on ``[x, c]``.
    * ``"class"``: :class:`ConditionalBatchNormalization` with per-class gain and bias
      tables (``num_classes`` required; the tables are never spectrally normalized).
      Call on ``[x, labels]`` with integer labels ``(n,)`` or ``(n, 1)``.
    * ``None``: plain batch normalization with a learned per-channel scale and offset.
      Call on ``x``.

    Batch norms use float32 statistics, an unbiased moving variance, and Keras's
    momentum convention (``0.9`` is PyTorch/BigGAN's ``0.1``).

    Args:
        filters: output channels (and hidden channels).
        condition: ``"vector"``, ``"class"`` or None, see above. Defaults to ``"vector"``.
        num_classes: number of classes; required with ``condition="class"`` and refused
            otherwise.
        upsample: double the resolution. Defaults to True.
        use_spectral_norm: spectrally normalize the convolutions (and the projections of
            vector conditions). Defaults to True.
        power_iterations: power-iteration steps of the spectral norms. Defaults to 1.
        momentum: batch-norm moving-average momentum in [0, 1). Defaults to 0.9.
        epsilon: batch-norm epsilon. Defaults to 1e-5.
        synchronized: under a ``tf.distribute`` strategy, batch statistics over the
            global batch (all replicas), as BigGAN's cross-replica batch norm. Default False.
        kernel_initializer: initializer of the convolution (and projection) kernels.
            Defaults to ``"orthogonal"`` (BigGAN).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``).

    Call arguments:
        inputs: ``[x, condition]`` or, with ``condition=None``, ``x``; ``x`` is
            ``(n, h, w, c_in)``.
        training: Python bool or boolean tensor: batch statistics and spectral-norm
            updates when True.

    Returns:
        ``(n, 2h, 2w, filters)`` (``(n, h, w, filters)`` without upsampling), in the
        compute dtype.

    Example:

    >>> import numpy as np
    >>> from ascendgan.layers import ResBlockUp
    >>> block = ResBlockUp(8)
    >>> x = np.random.normal(size=(2, 4, 4, 16)).astype("float32")
    >>> c = np.random.normal(size=(2, 20)).astype("float32")
    >>> tuple(block([x, c], training=True).shape)
    (2, 8, 8, 8)

    Reference:
        Brock et al., "Large Scale GAN Training for High Fidelity Natural Image
        Synthesis", ICLR 2019 (arXiv:1809.11096), Figure 15(b).
    """

    def __init__(
        self,
        filters,
        condition="vector",
        num_classes=None,
        upsample=True,
        use_spectral_norm=True,
        power_iterations=1,
        momentum=0.9,
        epsilon=1e-5,
        synchronized=False,
        kernel_initializer="orthogonal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_int("filters", filters, minimum=1)
        self.power_iterations = check_int("power_iterations", power_iterations, minimum=1)
        check_spectral_norm_initializer(use_spectral_norm, kernel_initializer)
        check_choice("condition", condition, _CONDITIONS)
        if condition == "class" and num_classes is None:
            raise ValueError(
                "`condition='class'` needs `num_classes`. Received: num_classes=None"
            )
        if condition != "class" and num_classes is not None:
            raise ValueError(
                f"`num_classes` is used with condition='class' only. Received: "
                f"condition={condition!r}, num_classes={num_classes!r}"
            )
        self.momentum, self.epsilon, self.synchronized = check_batch_norm_arguments(
            momentum, epsilon, synchronized
        )
        self.condition = condition
        self.num_classes = num_classes
        self.upsample = bool(upsample)
        self.use_spectral_norm = bool(use_spectral_norm)
        self.kernel_initializer = compat.initializers.get(kernel_initializer)

        self.bn1 = self._make_norm("bn1")
        self.conv1 = self._make_conv(filters, 3, "conv1")
        self.bn2 = self._make_norm("bn2")
        self.conv2 = self._make_conv(filters, 3, "conv2")
        self.shortcut = None  # created in build when the block resamples or changes channels

    def _make_conv(self, filters, kernel_size, name):
        return make_conv(
            filters, kernel_size, self.use_spectral_norm, self.power_iterations,
            self.kernel_initializer, self.dtype_policy, name,
        )

    def _make_norm(self, name):
        if self.condition is None:
            return FusedBatchNormalization(
                momentum=self.momentum, epsilon=self.epsilon, synchronized=self.synchronized,
                dtype=self.dtype_policy, name=name,
            )
        return ConditionalBatchNormalization(
            num_classes=self.num_classes,
            momentum=self.momentum,
            epsilon=self.epsilon,
            synchronized=self.synchronized,
            use_spectral_norm=self.use_spectral_norm and self.condition == "vector",
            power_iterations=self.power_iterations,
            kernel_initializer=fresh_initializer(self.kernel_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def _split(self, inputs, shapes=False):
        """``(x, condition)`` from the call inputs, or from build shapes when ``shapes``."""
        name = type(self).__name__
        listed = is_list_of_inputs(inputs, shapes)
        if self.condition is None:
            if listed:
                raise ValueError(
                    f"{name} with condition=None is called on `x` alone. Received: "
                    f"inputs={describe_inputs(inputs, shapes)}"
                )
            return inputs, None
        if not listed or len(inputs) != 2:
            raise ValueError(
                f"{name} with condition={self.condition!r} is called on `[x, condition]`. "
                f"Received: inputs={describe_inputs(inputs, shapes)}"
            )
        return inputs[0], inputs[1]

    def _norm_input(self, x, c):
        return x if self.condition is None else [x, c]

    def build(self, input_shape):
        x_shape, c_shape = self._split(input_shape, shapes=True)
        x_shape = tf.TensorShape(x_shape)
        if x_shape.rank != 4 or x_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} expects `x` of rank 4 (n, h, w, channels) with known "
                f"channels. Received: x.shape={x_shape}"
            )
        n, height, width, channels = x_shape.as_list()
        factor = 2 if self.upsample else 1
        resized = (n, _spatial(height, factor), _spatial(width, factor), channels)
        hidden = resized[:3] + (self.filters,)
        c_shape = None if c_shape is None else tuple(tf.TensorShape(c_shape).as_list())
        build_sublayer(self.bn1, self._norm_input(tuple(x_shape.as_list()), c_shape))
        build_sublayer(self.conv1, resized)
        build_sublayer(self.bn2, self._norm_input(hidden, c_shape))
        build_sublayer(self.conv2, hidden)
        if self.upsample or channels != self.filters:
            self.shortcut = self._make_conv(self.filters, 1, "shortcut")
            build_sublayer(self.shortcut, resized)
        self.built = True

    def call(self, inputs, training=None):
        x, c = self._split(inputs)
        check_image_rank(x, type(self).__name__, "x")
        h = tf.nn.relu(self.bn1(self._norm_input(x, c), training=training))
        if self.upsample:
            h = upsample_nearest(h)
            x = upsample_nearest(x)
        h = self.conv1(h, training=training)
        h = tf.nn.relu(self.bn2(self._norm_input(h, c), training=training))
        h = self.conv2(h, training=training)
        if self.shortcut is not None:
            x = self.shortcut(x, training=training)
        return h + tf.cast(x, h.dtype)

    def compute_output_shape(self, input_shape):
        x_shape, _ = self._split(input_shape, shapes=True)
        n, height, width, _ = tuple(tf.TensorShape(x_shape).as_list())
        factor = 2 if self.upsample else 1
        return (n, _spatial(height, factor), _spatial(width, factor), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "condition": self.condition,
                "num_classes": self.num_classes,
                "upsample": self.upsample,
                "use_spectral_norm": self.use_spectral_norm,
                "power_iterations": self.power_iterations,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "synchronized": self.synchronized,
                "kernel_initializer": compat.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
