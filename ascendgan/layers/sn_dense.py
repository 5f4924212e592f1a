"""SNDense: a densely-connected layer with spectral normalization."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers._spectral import SpectralNormMixin, check_input


@compat.register
class SNDense(SpectralNormMixin, compat.layers.Dense):
    """Dense layer whose kernel ``(in, units)`` is divided by its largest singular value.

    Same semantics as :class:`SNConv2D`: σ is estimated in the forward pass by power
    iteration with a persistent, non-trainable ``u`` of shape ``(1, units)`` that advances
    only when ``training=True``; the gradient flows through σ but not through ``u``/``v``;
    the stored kernel is never overwritten; σ is computed in float32.

    Args:
        units: output dimension.
        power_iterations: power-iteration steps per training call, >= 1. Defaults to 1.
        epsilon: floor of vector norms in the power iteration. Defaults to 1e-12.
        **kwargs: the other arguments of ``keras.layers.Dense``.

    Call arguments:
        inputs: tensor of rank >= 2 whose last axis is the input dimension.
        training: Python bool or boolean tensor; ``True`` advances ``u``.

    Returns:
        tensor with the last axis replaced by ``units``.

    Example:

    >>> import numpy as np
    >>> from ascendgan.layers import SNDense
    >>> tuple(SNDense(4)(np.ones((3, 5), "float32")).shape)
    (3, 4)

    Reference:
        Miyato et al., "Spectral Normalization for Generative Adversarial Networks",
        ICLR 2018 (arXiv:1802.05957).
    """

    def __init__(self, units, power_iterations=1, epsilon=1e-12, **kwargs):
        super().__init__(units, **kwargs)
        self._sn_validate(power_iterations, epsilon)

    def build(self, input_shape):
        check_input(input_shape, type(self).__name__, min_rank=2)
        super().build(input_shape)
        self._sn_build(self.units)

    def call(self, inputs, training=None):
        check_input(inputs, type(self).__name__, min_rank=2, channels=self.kernel.shape[0])
        kernel = tf.cast(self._sn_weight(training), inputs.dtype)
        if inputs.shape.rank == 2:
            outputs = tf.matmul(inputs, kernel)
        else:
            outputs = tf.tensordot(inputs, kernel, [[inputs.shape.rank - 1], [0]])
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, tf.cast(self.bias, outputs.dtype))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(self._sn_config())
        return config
