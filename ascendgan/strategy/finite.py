"""Whether gradients are finite: the overflow test of loss scaling.

A loss-scaled step whose gradients hold an inf or a NaN is skipped (see
:class:`~ascendgan.strategy.WrappedOptimizer`); these functions make that decision on
CPUs and GPUs (on an NPU the float-status check of ``ascendgan.strategy.npu`` is added).
"""

from __future__ import annotations

import sys

import tensorflow as tf


def _values(gradient):
    return gradient.values if isinstance(gradient, tf.IndexedSlices) else gradient


def gradient_finiteness(gradients):
    """One boolean per gradient: whether all its values are finite (``None`` counts as finite).

    Args:
        gradients: a list of tensors, ``tf.IndexedSlices`` or ``None``.

    Returns:
        a boolean tensor of shape ``(len(gradients),)``.

    Example:

    >>> gradient_finiteness([tf.constant([1.0]), tf.constant([float("inf")])]).numpy()
    array([ True, False])
    """
    flags = [
        tf.constant(True) if g is None else tf.reduce_all(tf.math.is_finite(_values(g)))
        for g in gradients
    ]
    if not flags:
        return tf.zeros((0,), tf.bool)
    return tf.stack(flags)


def all_finite(gradients):
    """True (a boolean tensor) when every gradient is free of inf and NaN.

    Example:

    >>> bool(all_finite([tf.constant([1.0, 2.0]), None]))
    True
    """
    return tf.reduce_all(gradient_finiteness(gradients))


def _path(variable):
    path = getattr(variable, "path", None)  # Keras 3 variables
    return path if isinstance(path, str) else variable.name.split(":")[0]


def report_non_finite(finite, flags, variables, message):
    """``finite``, after printing (to stderr) which gradients are not finite when it is False.

    Args:
        finite: the step's verdict (a boolean scalar tensor).
        flags: :func:`gradient_finiteness` of the step's gradients.
        variables: the gradients' variables, named by their paths (``"gradient i"``
            when they do not match the gradients one to one).
        message: ``() -> tuple`` of values printed first (called only on an overflow).

    Returns:
        ``finite`` (a tensor that depends on the print).
    """
    count = int(flags.shape[0])
    names = ([_path(v) for v in variables] if len(variables) == count
             else [f"gradient {i}" for i in range(count)])
    names = tf.constant(names)

    def report():
        bad = tf.boolean_mask(names, tf.logical_not(flags))
        tf.print(*message(), "; non-finite gradients of", bad, output_stream=sys.stderr)
        return tf.identity(finite)

    return tf.cond(finite, lambda: tf.identity(finite), report)


__all__ = ["all_finite", "gradient_finiteness", "report_non_finite"]
