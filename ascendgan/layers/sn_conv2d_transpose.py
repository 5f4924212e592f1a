"""SNConv2DTranspose: a transposed 2D convolution with spectral normalization."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers._spectral import (
    SpectralNormMixin,
    check_channels_last,
    check_input,
)


def _deconv_length(length, kernel, stride, padding, output_padding, dilation):
    kernel = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(kernel - stride, 0)
        return length * stride
    pad = kernel // 2 if padding == "same" else 0
    return (length - 1) * stride + kernel - 2 * pad + output_padding


@compat.register
class SNConv2DTranspose(SpectralNormMixin, compat.layers.Conv2DTranspose):
    """Transposed 2D convolution whose kernel is divided by its largest singular value.

    The kernel has Keras's transposed layout ``(kh, kw, out, in)``; it is normalized
    over its **output** channels, i.e. viewed as the matrix ``(kh·kw·in, out)``, and ``u``
    has shape ``(1, filters)``.  Otherwise the semantics are those of :class:`SNConv2D`.

    Args:
        filters: number of output channels.
        kernel_size: int or pair of ints.
        strides: int or pair of ints. Defaults to 1.
        padding: ``"valid"`` or ``"same"``. Defaults to ``"valid"``.
        power_iterations: power-iteration steps per training call, >= 1. Defaults to 1.
        epsilon: floor of vector norms in the power iteration. Defaults to 1e-12.
        **kwargs: the other arguments of ``keras.layers.Conv2DTranspose``
            (``output_padding``, ``use_bias``, ...); channels-last only.

    Call arguments:
        inputs: 4D tensor ``(batch, height, width, channels)``.
        training: Python bool or boolean tensor; ``True`` advances ``u``.

    Returns:
        4D tensor ``(batch, new_height, new_width, filters)``.

    Example:

    >>> import numpy as np
    >>> from ascendgan.layers import SNConv2DTranspose
    >>> layer = SNConv2DTranspose(4, 4, strides=2, padding="same")
    >>> tuple(layer(np.zeros((1, 8, 8, 3), "float32")).shape)
    (1, 16, 16, 4)

    Reference:
        Miyato et al., "Spectral Normalization for Generative Adversarial Networks",
        ICLR 2018 (arXiv:1802.05957).
    """

    def __init__(self, filters, kernel_size, power_iterations=1, epsilon=1e-12, **kwargs):
        check_channels_last(kwargs.get("data_format"), type(self).__name__)
        super().__init__(filters, kernel_size, **kwargs)
        self._sn_validate(power_iterations, epsilon)

    def build(self, input_shape):
        check_input(input_shape, type(self).__name__, rank=4)
        super().build(input_shape)
        self._sn_build(self.filters)

    def _sn_matrix(self, weight):
        # (kh, kw, out, in) -> (kh, kw, in, out) -> (kh*kw*in, out)
        return tf.reshape(tf.transpose(weight, (0, 1, 3, 2)), (-1, self.filters))

    def call(self, inputs, training=None):
        check_input(inputs, type(self).__name__, rank=4, channels=self.kernel.shape[-1])
        kernel = tf.cast(self._sn_weight(training), inputs.dtype)
        shape = tf.shape(inputs)
        output_padding = self.output_padding or (None, None)
        height, width = (
            _deconv_length(
                shape[axis],
                self.kernel_size[i],
                self.strides[i],
                self.padding,
                output_padding[i],
                self.dilation_rate[i],
            )
            for i, axis in enumerate((1, 2))
        )
        outputs = tf.nn.conv2d_transpose(
            inputs,
            kernel,
            output_shape=tf.stack([shape[0], height, width, self.filters]),
            strides=list(self.strides),
            padding=self.padding.upper(),
            dilations=list(self.dilation_rate),
        )
        static = [inputs.shape[0]] + [
            None if inputs.shape[axis] is None else _deconv_length(
                inputs.shape[axis], self.kernel_size[i], self.strides[i], self.padding,
                output_padding[i], self.dilation_rate[i],
            )
            for i, axis in enumerate((1, 2))
        ] + [self.filters]
        outputs.set_shape(static)
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, tf.cast(self.bias, outputs.dtype))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(self._sn_config())
        return config
