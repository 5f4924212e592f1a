"""Batch-normalization maths shared by ascendgan's normalization layers (not public API).

:func:`batch_norm` normalizes a batch with batch statistics (training) or with
moving statistics (inference) and keeps the moving statistics up to date.  Its
conventions, which every ascendgan normalization layer follows:

* statistics are computed and stored in float32 (float64 for float64 inputs),
  whatever the dtype of ``x``; the output has the dtype of ``x``;
* the batch is normalized with the *biased* batch variance (divided by ``n``),
  while the moving variance is updated with the *unbiased* one (divided by
  ``n - 1``), as PyTorch and cuDNN do, so ``moving_variance`` estimates the
  population variance; ``n`` is the number of values per channel (batch x height
  x width), and with ``n == 1`` the batch variance is used as it is;
* the update is ``moving = moving * momentum + batch * (1 - momentum)``: Keras's
  convention, so ``momentum=0.9`` here is PyTorch's ``momentum=0.1``;
* for float16, bfloat16 and float32 inputs the work is done by one fused kernel
  (``FusedBatchNormV3``, which reads bfloat16 ``x`` with float32 statistics on CPU and
  accumulates in float32); other dtypes, and the cross-replica mode, go through
  :func:`batch_moments`.

:class:`FusedBatchNormalization` is the plain (unconditional) batch normalization with a
learned per-channel affine built on :func:`batch_norm`; :class:`ResBlockUp` uses it
when no condition is given. :class:`BatchNormalization` is different: a drop-in subclass
of Keras's own layer (Keras's variables, config and moving-variance convention) that only
swaps Keras 3's unfused computation for ``FusedBatchNormV3``; the DCGAN and Pix2Pix
networks use it.  The small helpers at the end (fresh initializers, sublayer
building, input checks) are shared by ConditionalBatchNormalization, ResBlockUp and
ResBlockDown.
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat

_FUSED_DTYPES = (tf.float16, tf.bfloat16, tf.float32)


def statistics_dtype(dtype) -> tf.DType:
    """The dtype batch statistics are computed in: float64 for float64 data, else float32."""
    return tf.float64 if tf.as_dtype(dtype) == tf.float64 else tf.float32


def batch_moments(x, synchronized: bool = False):
    """Per-channel mean and biased variance of ``x`` over every axis but the last.

    The one place batch statistics are computed outside the fused kernel, so a
    cross-replica ("synchronized") batch norm only changes this function.

    Args:
        x: float tensor of rank >= 2, channels last, already in the statistics dtype.
        synchronized: when True and called in a replica context of a ``tf.distribute``
            strategy, the statistics are those of the global batch: per-replica sums of
            ``x`` and ``x²`` and counts are all-reduced (one all-reduce per call).

    Returns:
        ``(mean, variance, count)``: per-channel mean and biased variance, and the number
        of values per channel they were computed from (a scalar of ``x``'s dtype).
    """
    axes = list(range(x.shape.rank - 1))
    count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), x.dtype)
    context = tf.distribute.get_replica_context()
    if synchronized and context is not None and tf.distribute.has_strategy():
        total, squares = tf.reduce_sum(x, axes), tf.reduce_sum(tf.square(x), axes)
        total, squares, count = context.all_reduce(
            tf.distribute.ReduceOp.SUM, [total, squares, count]
        )
        mean = total / count
        variance = tf.maximum(squares / count - tf.square(mean), 0.0)
        return mean, variance, count
    mean, variance = tf.nn.moments(x, axes)
    return mean, variance, count


def _unbiased(variance, count):
    return variance * (count / tf.maximum(count - 1.0, 1.0))


def _update_moving(moving_mean, moving_variance, mean, unbiased_variance, momentum):
    old_mean = tf.cast(compat.full_precision(moving_mean), tf.float32)
    old_variance = tf.cast(compat.full_precision(moving_variance), tf.float32)
    mean = tf.cast(mean, tf.float32)
    unbiased_variance = tf.cast(unbiased_variance, tf.float32)
    return [
        moving_mean.assign(old_mean * momentum + mean * (1.0 - momentum)),
        moving_variance.assign(old_variance * momentum + unbiased_variance * (1.0 - momentum)),
    ]


def _fused(x, training, moving_mean, moving_variance, momentum, epsilon, scale, offset,
           biased_moving_variance=False):
    shape = tf.shape(x)
    channels = shape[-1]
    if x.shape.rank != 4:  # (n, c): normalize as (n, 1, 1, c)
        x = tf.reshape(x, tf.stack([-1, 1, 1, channels]))
    scale = tf.ones(tf.reshape(channels, [1]), tf.float32) if scale is None else scale
    offset = tf.zeros(tf.reshape(channels, [1]), tf.float32) if offset is None else offset

    def train():
        # In training mode the kernel's third output is the unbiased (n - 1) batch variance;
        # it normalizes with the biased one.
        y, mean, unbiased_variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=scale, offset=offset,
            mean=tf.zeros([0], tf.float32), variance=tf.zeros([0], tf.float32),
            epsilon=epsilon, exponential_avg_factor=1.0, data_format="NHWC", is_training=True,
        )
        variance = unbiased_variance
        if biased_moving_variance:  # Keras 3's convention (n instead of n - 1)
            count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
            variance = unbiased_variance * (tf.maximum(count - 1.0, 0.0) / tf.maximum(count, 1.0))
        updates = _update_moving(moving_mean, moving_variance, mean, variance, momentum)
        with tf.control_dependencies(updates):
            return tf.identity(y)

    def infer():
        return tf.raw_ops.FusedBatchNormV3(
            x=x, scale=scale, offset=offset,
            mean=tf.cast(compat.full_precision(moving_mean), tf.float32),
            variance=tf.cast(compat.full_precision(moving_variance), tf.float32),
            epsilon=epsilon, exponential_avg_factor=1.0, data_format="NHWC", is_training=False,
        )[0]

    y = _branch(training, train, infer)
    return tf.reshape(y, shape)


def _unfused(x, training, moving_mean, moving_variance, momentum, epsilon, scale, offset,
             synchronized):
    dtype = statistics_dtype(x.dtype)
    x_stats = tf.cast(x, dtype)

    def normalize(mean, variance):
        inverse = tf.math.rsqrt(variance + epsilon)
        if scale is not None:
            inverse = inverse * tf.cast(scale, dtype)
        y = (x_stats - mean) * inverse
        if offset is not None:
            y = y + tf.cast(offset, dtype)
        return tf.cast(y, x.dtype)

    def train():
        mean, variance, count = batch_moments(x_stats, synchronized)
        updates = _update_moving(
            moving_mean, moving_variance, mean, _unbiased(variance, count), momentum
        )
        with tf.control_dependencies(updates):
            return tf.identity(normalize(mean, variance))

    def infer():
        return normalize(
            tf.cast(compat.full_precision(moving_mean), dtype),
            tf.cast(compat.full_precision(moving_variance), dtype),
        )

    return _branch(training, train, infer)


def _branch(training, train, infer):
    if training is None:  # Keras's "not specified": inference
        training = False
    if isinstance(training, bool):
        return train() if training else infer()
    return tf.cond(tf.cast(training, tf.bool), train, infer)


def batch_norm(x, training, moving_mean, moving_variance, momentum, epsilon, scale=None,
               offset=None, synchronized=False):
    """Batch-normalizes ``x`` and, when training, updates the moving statistics.

    Args:
        x: float tensor ``(n, c)`` or ``(n, h, w, c)``, any float dtype.
        training: Python bool, boolean tensor, or None (inference).  True normalizes
            with the batch statistics and updates the moving statistics; False uses the
            moving statistics and changes nothing.
        moving_mean: float32 variable ``(c,)``.
        moving_variance: float32 variable ``(c,)``.
        momentum: float in [0, 1); ``moving = moving * momentum + batch * (1 - momentum)``.
        epsilon: small float added to the variance.
        scale: optional float32 ``(c,)`` multiplied in after normalization (γ).
        offset: optional float32 ``(c,)`` added after normalization (β).
        synchronized: use cross-replica statistics under ``tf.distribute`` (see
            :func:`batch_moments`).  Takes the unfused path.

    Returns:
        ``(x - mean) / sqrt(variance + epsilon) * scale + offset`` in ``x``'s dtype, with
        the biased batch variance in training and the moving variance at inference.
    """
    if x.shape.rank not in (2, 4):
        raise ValueError(
            f"batch_norm expects `x` of rank 2 or 4. Received: x.shape={tuple(x.shape)}"
        )
    momentum = float(momentum)
    epsilon = float(epsilon)
    if not synchronized and tf.as_dtype(x.dtype) in _FUSED_DTYPES:
        return _fused(x, training, moving_mean, moving_variance, momentum, epsilon, scale, offset)
    return _unfused(
        x, training, moving_mean, moving_variance, momentum, epsilon, scale, offset, synchronized
    )


def fresh_initializer(initializer):
    """A new instance of ``initializer`` (same class and config).

    Both Keras versions give identical values on every call of one unseeded initializer
    instance, so each sublayer gets its own; seeded initializers stay reproducible.
    """
    return compat.initializers.get(compat.initializers.serialize(initializer))


def build_sublayer(layer, input_shape):
    """Builds a sublayer inside its name scope (scoped variable names in legacy Keras)."""
    if compat.KERAS_3:
        layer.build(input_shape)
    else:
        with tf.name_scope(layer.name):
            layer.build(input_shape)


def is_list_of_inputs(inputs, shapes=False):
    """Whether ``inputs`` is a list of several inputs (or, with ``shapes``, of shapes)."""
    if isinstance(inputs, tf.TensorShape):
        return False
    if not isinstance(inputs, (list, tuple)):
        return False
    if not shapes:
        return True
    return all(
        item is None or isinstance(item, (list, tuple, tf.TensorShape)) for item in inputs
    ) and any(item is not None for item in inputs)


def describe_inputs(inputs, shapes=False):
    """Short description of a layer's inputs (or of their shapes) for error messages."""
    if is_list_of_inputs(inputs, shapes):
        return f"a list of {len(inputs)} inputs"
    shape = inputs if shapes else getattr(inputs, "shape", None)
    if shape is None:
        return f"a single {type(inputs).__name__}"
    return f"a single tensor of shape {tuple(tf.TensorShape(shape).as_list())}"


def check_image_rank(inputs, layer_name, argument="inputs"):
    """Raises a ValueError naming ``argument`` unless ``inputs`` is a 4D (NHWC) tensor."""
    rank = inputs.shape.rank
    if rank is not None and rank != 4:
        raise ValueError(
            f"{layer_name} expects `{argument}` of rank 4 (n, h, w, channels). Received: "
            f"{argument}.shape={tuple(inputs.shape)}"
        )


def check_momentum_epsilon(momentum, epsilon):
    """Validates the batch-norm hyper-parameters; raises ValueError naming the argument."""
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not (
        0.0 <= momentum < 1.0
    ):
        raise ValueError(f"`momentum` must be a float in [0, 1). Received: momentum={momentum!r}")
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
        raise ValueError(f"`epsilon` must be a float > 0. Received: epsilon={epsilon!r}")


def add_moving_statistics(layer, channels):
    """Creates the float32, non-trainable ``moving_mean`` / ``moving_variance`` of ``layer``."""
    layer.moving_mean = compat.add_state_weight(
        layer, "moving_mean", (channels,), compat.initializers.Zeros(), aggregation="mean"
    )
    layer.moving_variance = compat.add_state_weight(
        layer, "moving_variance", (channels,), compat.initializers.Ones(), aggregation="mean"
    )


class FusedBatchNormalization(compat.layers.Layer):
    """Batch normalization with a learned per-channel scale and offset, on :func:`batch_norm`.

    Private building block (unconditional :class:`ResBlockUp`); same conventions as
    :class:`ConditionalBatchNormalization`: float32 statistics, unbiased moving
    variance, ``momentum=0.9`` meaning PyTorch's 0.1.

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
    """

    def __init__(self, momentum=0.9, epsilon=1e-5, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        check_momentum_epsilon(momentum, epsilon)
        if not isinstance(synchronized, bool):
            raise TypeError(f"`synchronized` must be True or False. Received: synchronized={synchronized!r}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.synchronized = synchronized

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
        return tf.as_dtype(inputs.dtype) in _FUSED_DTYPES

    def call(self, inputs, training=None, mask=None):
        if not self._can_fuse(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        x = inputs
        if tf.as_dtype(x.dtype) != tf.as_dtype(self.compute_dtype) and tf.as_dtype(
            self.compute_dtype
        ) in _FUSED_DTYPES:
            x = tf.cast(x, self.compute_dtype)
        channels = x.shape[-1]
        scale = (tf.cast(compat.full_precision(self.gamma), tf.float32) if self.scale
                 else tf.ones([channels], tf.float32))
        offset = (tf.cast(compat.full_precision(self.beta), tf.float32) if self.center
                  else tf.zeros([channels], tf.float32))
        if not self.trainable:  # Keras: a frozen batch norm runs in inference mode
            training = False
        return _fused(x, training, self.moving_mean, self.moving_variance, float(self.momentum),
                      float(self.epsilon), scale, offset, biased_moving_variance=True)
