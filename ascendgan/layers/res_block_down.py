"""ResBlockDown: BigGAN's residual discriminator block (ReLU, 3x3 convs, average pooling)."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers._spectral import check_spectral_norm_initializer
from ascendgan.layers.res_block_up import make_conv
from ascendgan.layers.sublayers import (
    build_sublayer,
    check_image_rank,
    describe_inputs,
    is_list_of_inputs,
)
from ascendgan.validation import check_int


def average_pool(x):
    """2x2 average pooling with stride 2 (an odd last row/column is dropped)."""
    return tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="VALID")


def _halved(size):
    return None if size is None else size // 2


@compat.register
class ResBlockDown(compat.layers.Layer):
    """BigGAN's residual discriminator block.

    With ``x`` of shape ``(n, h, w, c_in)``:

        h = relu(x)                    # only when preactivation=True
        h = conv3x3(h); h = relu(h); h = conv3x3(h)
        h = avg_pool2x2(h)             # only when downsample=True
        shortcut = conv1x1(avg_pool2x2(x))
        out = h + shortcut

    The 1x1 shortcut convolution (with bias) exists when the block downsamples or
    changes the channel count; otherwise the shortcut is the identity.  BigGAN's
    discriminator convolves before pooling in pre-activation blocks and pools first in
    the first block; a 1x1 convolution commutes with 2x2 average pooling, so the two
    orders compute the same function and this layer always pools first (4x fewer
    operations).  Both 3x3 convolutions have ``filters`` output channels
    (BigGAN's hidden width equals the output width in D).  There is no normalization.
    Convolutions are :class:`SNConv2D` when ``use_spectral_norm=True``, else
    ``keras.layers.Conv2D``; all use ``"same"`` padding.

    Args:
        filters: output channels (and hidden channels).
        downsample: halve the resolution with 2x2 average pooling. Defaults to True.
        preactivation: apply ReLU to the input first (every BigGAN D block but the
            first). Defaults to True.
        use_spectral_norm: spectrally normalize the convolutions. Defaults to True.
        power_iterations: power-iteration steps of the spectral norms. Defaults to 1.
        kernel_initializer: initializer of the convolution kernels. Defaults to
            ``"orthogonal"`` (BigGAN).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``).

    Call arguments:
        inputs: ``(n, h, w, c_in)`` tensor.
        training: Python bool or boolean tensor; True advances the spectral norms'
            power iteration.

    Returns:
        ``(n, h // 2, w // 2, filters)`` (``(n, h, w, filters)`` without downsampling), in
        the compute dtype.

    Example:

    >>> import numpy as np
    >>> from ascendgan.layers import ResBlockDown
    >>> block = ResBlockDown(16, preactivation=False)
    >>> x = np.random.normal(size=(2, 8, 8, 3)).astype("float32")
    >>> tuple(block(x, training=True).shape)
    (2, 4, 4, 16)

    Reference:
        Brock et al., "Large Scale GAN Training for High Fidelity Natural Image
        Synthesis", ICLR 2019 (arXiv:1809.11096), Figure 15(c).
    """

    def __init__(
        self,
        filters,
        downsample=True,
        preactivation=True,
        use_spectral_norm=True,
        power_iterations=1,
        kernel_initializer="orthogonal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_int("filters", filters, minimum=1)
        self.power_iterations = check_int("power_iterations", power_iterations, minimum=1)
        check_spectral_norm_initializer(use_spectral_norm, kernel_initializer)
        self.downsample = bool(downsample)
        self.preactivation = bool(preactivation)
        self.use_spectral_norm = bool(use_spectral_norm)
        self.kernel_initializer = compat.initializers.get(kernel_initializer)
        self.conv1 = self._make_conv(filters, 3, "conv1")
        self.conv2 = self._make_conv(filters, 3, "conv2")
        self.shortcut = None  # created in build when the block resamples or changes channels

    def _make_conv(self, filters, kernel_size, name):
        return make_conv(
            filters, kernel_size, self.use_spectral_norm, self.power_iterations,
            self.kernel_initializer, self.dtype_policy, name,
        )

    def _reject_lists(self, inputs, shapes=False):
        if is_list_of_inputs(inputs, shapes):
            raise ValueError(
                f"{type(self).__name__} is called on a single tensor `inputs`. "
                f"Received: inputs={describe_inputs(inputs, shapes)}"
            )

    def _check_shape(self, shape):
        self._reject_lists(shape, shapes=True)
        shape = tf.TensorShape(shape)
        if shape.rank != 4 or shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} expects `inputs` of rank 4 (n, h, w, channels) with "
                f"known channels. Received: inputs.shape={shape}"
            )
        return tuple(shape.as_list())

    def build(self, input_shape):
        n, height, width, channels = self._check_shape(input_shape)
        hidden = (n, height, width, self.filters)
        build_sublayer(self.conv1, (n, height, width, channels))
        build_sublayer(self.conv2, hidden)
        if self.downsample or channels != self.filters:
            self.shortcut = self._make_conv(self.filters, 1, "shortcut")
            if self.downsample:
                build_sublayer(self.shortcut, (n, _halved(height), _halved(width), channels))
            else:
                build_sublayer(self.shortcut, (n, height, width, channels))
        self.built = True

    def _shortcut(self, x, training):
        if self.downsample:
            x = average_pool(x)
        if self.shortcut is None:
            return x
        return self.shortcut(x, training=training)

    def call(self, inputs, training=None):
        self._reject_lists(inputs)
        check_image_rank(inputs, type(self).__name__)
        h = tf.nn.relu(inputs) if self.preactivation else inputs
        h = self.conv1(h, training=training)
        h = self.conv2(tf.nn.relu(h), training=training)
        if self.downsample:
            h = average_pool(h)
        return h + tf.cast(self._shortcut(inputs, training), h.dtype)

    def compute_output_shape(self, input_shape):
        n, height, width, _ = self._check_shape(input_shape)
        if self.downsample:
            height, width = _halved(height), _halved(width)
        return (n, height, width, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "downsample": self.downsample,
                "preactivation": self.preactivation,
                "use_spectral_norm": self.use_spectral_norm,
                "power_iterations": self.power_iterations,
                "kernel_initializer": compat.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
