"""SNEmbedding: an embedding table with spectral normalization."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers._spectral import SpectralNormMixin


@compat.register
class SNEmbedding(SpectralNormMixin, compat.layers.Embedding):
    """Embedding whose table ``(input_dim, output_dim)`` is divided by its largest singular value.

    Used for the class embedding of projection discriminators (SN-GAN, BigGAN).  Same
    semantics as :class:`SNConv2D`; ``u`` has shape ``(1, output_dim)``.

    Args:
        input_dim: number of ids (classes).
        output_dim: embedding dimension.
        power_iterations: power-iteration steps per training call, >= 1. Defaults to 1.
        epsilon: floor of vector norms in the power iteration. Defaults to 1e-12.
        **kwargs: the other arguments of ``keras.layers.Embedding`` (masking is not
            supported).

    Call arguments:
        inputs: integer tensor of ids in ``[0, input_dim)``.
        training: Python bool or boolean tensor; ``True`` advances ``u``.

    Returns:
        float tensor of shape ``inputs.shape + (output_dim,)``.

    Example:

    >>> import numpy as np
    >>> from ascendgan.layers import SNEmbedding
    >>> tuple(SNEmbedding(10, 4)(np.array([1, 2])).shape)
    (2, 4)

    Reference:
        Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018
        (arXiv:1802.05637).
    """

    def __init__(self, input_dim, output_dim, power_iterations=1, epsilon=1e-12, **kwargs):
        if kwargs.get("mask_zero"):
            raise ValueError("SNEmbedding does not support mask_zero=True. Received: mask_zero=True")
        super().__init__(input_dim, output_dim, **kwargs)
        self._sn_validate(power_iterations, epsilon)

    def build(self, input_shape=None):
        super().build(input_shape)
        self._sn_build(self.output_dim)

    def _sn_variable(self):
        return self.embeddings

    def call(self, inputs, training=None):
        if not inputs.dtype.is_integer:
            inputs = tf.cast(inputs, "int32")
        table = self._sn_weight(training)
        return tf.cast(tf.gather(table, inputs), self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update(self._sn_config())
        return config
