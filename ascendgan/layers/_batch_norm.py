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

The layers built on it live in :mod:`ascendgan.layers.batch_normalization`
(``FusedBatchNormalization``, ``BatchNormalization``) and
:mod:`ascendgan.layers.conditional_batch_normalization`.
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.validation import check_bool, check_number

#: Input dtypes the fused kernel ``FusedBatchNormV3`` reads directly.
FUSED_DTYPES = (tf.float16, tf.bfloat16, tf.float32)


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


def fused_batch_norm(x, training, moving_mean, moving_variance, momentum, epsilon, scale,
                     offset, biased_moving_variance=False):
    """:func:`batch_norm` by one ``FusedBatchNormV3`` kernel, for ``FUSED_DTYPES`` inputs of
    rank 2 or 4; ``biased_moving_variance`` updates the moving variance with the biased
    batch variance (Keras 3's convention) instead of the unbiased one."""
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
    if not synchronized and tf.as_dtype(x.dtype) in FUSED_DTYPES:
        return fused_batch_norm(
            x, training, moving_mean, moving_variance, momentum, epsilon, scale, offset
        )
    return _unfused(
        x, training, moving_mean, moving_variance, momentum, epsilon, scale, offset, synchronized
    )


def check_batch_norm_arguments(momentum, epsilon, synchronized):
    """The batch-norm hyper-parameters, checked (ValueError naming the argument) and
    converted: ``(momentum in [0, 1) as float, epsilon > 0 as float, synchronized)``."""
    return (
        check_number("momentum", momentum, minimum=0, maximum=1, max_inclusive=False),
        check_number("epsilon", epsilon, minimum=0, min_inclusive=False),
        check_bool("synchronized", synchronized),
    )


def add_moving_statistics(layer, channels):
    """Creates the float32, non-trainable ``moving_mean`` / ``moving_variance`` of ``layer``."""
    layer.moving_mean = compat.add_state_weight(
        layer, "moving_mean", (channels,), compat.initializers.Zeros(), aggregation="mean"
    )
    layer.moving_variance = compat.add_state_weight(
        layer, "moving_variance", (channels,), compat.initializers.Ones(), aggregation="mean"
    )
