"""SNConv2D: a 2D convolution with spectral normalization."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers._spectral import (
    SpectralNormMixin,
    check_channels_last,
    check_input,
)


@compat.register
class SNConv2D(SpectralNormMixin, compat.layers.Conv2D):
    """2D convolution whose kernel is divided by its largest singular value.

    The kernel ``W`` of shape ``(kh, kw, in, out)`` is viewed as a matrix of shape
    ``(kh·kw·in, out)``; its spectral norm σ is estimated by power iteration with a
    persistent, non-trainable vector ``u`` of shape ``(1, out)``, and the convolution
    uses ``W / σ``.  As in SN-GAN and BigGAN:

    * σ is computed in the forward pass; the gradient flows through σ, while ``u``
      and the auxiliary vector ``v`` are held out of it;
    * ``u`` advances by ``power_iterations`` steps only on calls with
      ``training=True``; at inference σ is read off the stored ``u``;
    * the stored kernel is never overwritten (unlike Keras's
      ``SpectralNormalization`` wrapper), so optimizers and checkpoints see the raw
      weights;
    * σ and ``W / σ`` are computed in float32 under mixed precision; the convolution
      runs in the layer's compute dtype;
    * under ``tf.distribute`` every replica computes the same ``u`` (power
      iteration does not depend on the data), so the first replica's is kept.

    Args:
        filters: number of output channels.
        kernel_size: int or pair of ints.
        strides: int or pair of ints. Defaults to 1.
        padding: ``"valid"`` or ``"same"``. Defaults to ``"valid"``.
        power_iterations: power-iteration steps per training call, >= 1.
            Defaults to 1.
        epsilon: floor of vector norms in the power iteration. Defaults to 1e-12.
        **kwargs: the other arguments of ``keras.layers.Conv2D`` (``use_bias``,
            ``activation``, ``kernel_initializer``, ``dilation_rate``, ...).
            Only ``data_format="channels_last"`` and ``groups=1`` are supported.

    Call arguments:
        inputs: 4D tensor ``(batch, height, width, channels)``.
        training: Python bool or boolean tensor; ``True`` advances ``u``.

    Returns:
        4D tensor ``(batch, new_height, new_width, filters)``.

    Example:

    >>> import numpy as np
    >>> from ascendgan.layers import SNConv2D
    >>> layer = SNConv2D(8, 3, padding="same")
    >>> y = layer(np.zeros((2, 16, 16, 3), "float32"), training=True)
    >>> tuple(y.shape)
    (2, 16, 16, 8)

    Reference:
        Miyato et al., "Spectral Normalization for Generative Adversarial Networks",
        ICLR 2018 (arXiv:1802.05957).
    """

    def __init__(self, filters, kernel_size, power_iterations=1, epsilon=1e-12, **kwargs):
        check_channels_last(kwargs.get("data_format"), type(self).__name__)
        if kwargs.get("groups", 1) != 1:
            raise ValueError(f"SNConv2D supports groups=1 only. Received: groups={kwargs['groups']!r}")
        super().__init__(filters, kernel_size, **kwargs)
        self._sn_validate(power_iterations, epsilon)

    def build(self, input_shape):
        check_input(input_shape, type(self).__name__, rank=4)
        super().build(input_shape)
        self._sn_build(self.filters)

    def call(self, inputs, training=None):
        check_input(inputs, type(self).__name__, rank=4, channels=self.kernel.shape[-2])
        kernel = self._sn_weight(training)
        outputs = tf.nn.conv2d(
            inputs,
            tf.cast(kernel, inputs.dtype),
            strides=list(self.strides),
            padding=self.padding.upper(),
            dilations=list(self.dilation_rate),
        )
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, tf.cast(self.bias, outputs.dtype))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(self._sn_config())
        return config
