"""Batch normalization layers computed by one fused kernel.

- :class:`FusedBatchNormalization`: batch normalization with a learned per-channel scale
  and offset on ascendgan's :func:`~ascendgan.layers._batch_norm.batch_norm` conventions
  (float32 statistics, unbiased moving variance); BigGAN's unconditional blocks and output
  and the WideResNet classifier use it.
- :class:`BatchNormalization`: a drop-in subclass of Keras's own layer (Keras's variables,
  config and moving-variance convention) that only swaps Keras 3's unfused computation for
  ``FusedBatchNormV3``; the DCGAN and Pix2Pix networks use it.
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers._batch_norm import (
    FUSED_DTYPES,
    add_moving_statistics,
    batch_norm,
    check_batch_norm_arguments,
    fused_batch_norm,
)

__all__ = ["BatchNormalization", "FusedBatchNormalization"]


class FusedBatchNormalization(compat.layers.Layer):
    """Batch normalization with a learned per-channel scale and offset, on :func:`batch_norm`.

    The normalization of the unconditional :class:`~ascendgan.layers.ResBlockUp`, BigGAN's
    output block and the WideResNet classifier; same conventions as
    :class:`~ascendgan.layers.ConditionalBatchNormalization`: float32 statistics, unbiased
    moving variance, ``momentum=0.9`` meaning PyTorch's 0.1.

    Args:
        momentum: moving-average momentum in [0, 1). Defaults to 0.9.
        epsilon: added to the variance. Defaults to 1e-5.
        synchronized: under a ``tf.distribute`` strategy, batch statistics over the
            global batch (all replicas; one all-reduce per call). Defaults to False.
        **kwargs: base layer arguments (``name``, ``dtype``).

    Call arguments:
        inputs: tensor ``(n, c)`` or ``(n, h, w, c)``.
        training: Python bool or boolean tensor.

    Returns:
        the normalized tensor, same shape, in the compute dtype.

    Example:

    >>> import numpy as np
    >>> layer = FusedBatchNormalization(momentum=0.9, epsilon=1e-5)
    >>> y = layer(np.ones((2, 4, 4, 3), "float32"), training=True)
    >>> tuple(y.shape), [w.name.split("/")[-1].split(":")[0] for w in layer.weights][:2]
    ((2, 4, 4, 3), ['gamma', 'beta'])
    """

    def __init__(self, momentum=0.9, epsilon=1e-5, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.momentum, self.epsilon, self.synchronized = check_batch_norm_arguments(
            momentum, epsilon, synchronized
        )

    def build(self, input_shape):
        input_shape = tuple(tf.TensorShape(input_shape).as_list())
        if len(input_shape) not in (2, 4) or input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} expects `inputs` of rank 2 or 4 with a known channel "
                f"count. Received: inputs.shape={input_shape}"
            )
        channels = input_shape[-1]
        self.gamma = self.add_weight(
            name="gamma", shape=(channels,), initializer=compat.initializers.Ones(),
            trainable=True, dtype="float32",
        )
        self.beta = self.add_weight(
            name="beta", shape=(channels,), initializer=compat.initializers.Zeros(),
            trainable=True, dtype="float32",
        )
        add_moving_statistics(self, channels)
        self.built = True

    def call(self, inputs, training=None):
        return batch_norm(
            inputs, training, self.moving_mean, self.moving_variance, self.momentum,
            self.epsilon,
            scale=tf.cast(compat.full_precision(self.gamma), tf.float32),
            offset=tf.cast(compat.full_precision(self.beta), tf.float32),
            synchronized=self.synchronized,
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "epsilon": self.epsilon,
                       "synchronized": self.synchronized})
        return config


@compat.register
class BatchNormalization(compat.layers.BatchNormalization):
    """Keras's ``BatchNormalization`` computed by one fused kernel (drop-in subclass).

    Same constructor, variables (``gamma``, ``beta``, ``moving_mean``,
    ``moving_variance``), configuration and maths as ``keras.layers.BatchNormalization``:
    the batch is normalized with its biased variance and the moving statistics follow
    ``moving = moving * momentum + batch * (1 - momentum)`` with the biased variance, as
    Keras 3 does. Only the computation differs: under Keras 3, 4D channels-last inputs
    of float16 / bfloat16 / float32 go through ``FusedBatchNormV3`` (one kernel forward,
    one backward, reading bfloat16 directly with float32 statistics) instead of Keras 3's
    separate moments, normalization and casts, which made a DCGAN training step about
    25% faster in mixed bfloat16 on CPU. Other inputs (other ranks or axes, masks,
    ``synchronized=True``, ``renorm=True``) and legacy Keras 2 (whose own layer already
    uses the fused kernel) take the parent's code.

    Used by the DCGAN and Pix2Pix networks; the class keeps the name
    ``BatchNormalization`` so models built with it look like Keras's in summaries.

    Args:
        **kwargs: the arguments of ``keras.layers.BatchNormalization``.

    Call arguments:
        inputs: tensor of any rank (fused for rank 4 with ``axis=-1`` / ``3``).
        training: Python bool or boolean tensor; True normalizes with batch statistics
            and updates the moving statistics (when the layer is trainable).
        mask: optional mask (parent's code path).

    Returns:
        the normalized tensor, in the layer's compute dtype.

    Example:

    >>> import numpy as np
    >>> layer = BatchNormalization(momentum=0.9, epsilon=1e-5)
    >>> y = layer(np.ones((2, 4, 4, 3), "float32"), training=True)
    >>> tuple(y.shape)
    (2, 4, 4, 3)
    """

    def _can_fuse(self, inputs, mask):
        if not compat.KERAS_3 or mask is not None:
            return False
        if getattr(self, "synchronized", False) or getattr(self, "renorm", False):
            return False
        rank = inputs.shape.rank
        if rank != 4 or self.axis not in (-1, 3):
            return False
        return tf.as_dtype(inputs.dtype) in FUSED_DTYPES

    def call(self, inputs, training=None, mask=None):
        if not self._can_fuse(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        x = inputs
        if tf.as_dtype(x.dtype) != tf.as_dtype(self.compute_dtype) and tf.as_dtype(
            self.compute_dtype
        ) in FUSED_DTYPES:
            x = tf.cast(x, self.compute_dtype)
        channels = x.shape[-1]
        scale = (tf.cast(compat.full_precision(self.gamma), tf.float32) if self.scale
                 else tf.ones([channels], tf.float32))
        offset = (tf.cast(compat.full_precision(self.beta), tf.float32) if self.center
                  else tf.zeros([channels], tf.float32))
        if not self.trainable:  # Keras: a frozen batch norm runs in inference mode
            training = False
        return fused_batch_norm(x, training, self.moving_mean, self.moving_variance, float(self.momentum),
                      float(self.epsilon), scale, offset, biased_moving_variance=True)
