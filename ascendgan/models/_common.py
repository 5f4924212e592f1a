"""Building helpers shared by the DCGAN and Pix2Pix networks (not public API)."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers.batch_normalization import BatchNormalization
from ascendgan.validation import check_choice

layers = compat.layers


#: Values of the networks' ``batch_norm`` argument: which batch-normalization layer they use.
BATCH_NORM_IMPLEMENTATIONS = ("fused", "keras")


def conditional_inputs(inputs, num_classes, owner, first_name):
    """``(x, labels)`` from ``x`` or ``[x, labels]``, checked against ``num_classes``.

    The one label check of the conditional networks: ``labels`` (shape ``(batch,)`` or
    ``(batch, 1)``) must be integers (float labels such as 1.7 are refused, not truncated)
    in ``[0, num_classes)``, one per example of ``x``. They come back as int32
    ``(batch,)`` ids. A ValueError names the values in eager mode; in a graph a cheap
    assertion checks the range and the batch sizes.
    """
    if isinstance(inputs, (list, tuple)):
        if len(inputs) != 2:
            raise ValueError(
                f"{owner} takes `{first_name}` or [{first_name}, labels]. "
                f"Received a list of {len(inputs)} inputs."
            )
        if num_classes is None:
            raise ValueError(
                f"{owner} was created with num_classes=None (unconditional), so it takes "
                f"`{first_name}` alone. Received: [{first_name}, labels]."
            )
        x, labels = inputs
        labels = labels if tf.is_tensor(labels) else tf.convert_to_tensor(labels)
        dtype = tf.as_dtype(labels.dtype)
        if not dtype.is_integer:
            raise ValueError(
                f"{owner}: `labels` must be integer class ids in [0, {num_classes}). "
                f"Received: labels of dtype {dtype.name}"
            )
        labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
        return x, _checked_labels(x, labels, num_classes, owner, first_name)
    if num_classes is not None:
        raise ValueError(
            f"{owner} was created with num_classes={num_classes}, so it takes "
            f"[{first_name}, labels]. Received: a single tensor."
        )
    return inputs, None


def _checked_labels(x, labels, num_classes, owner, first_name):
    """``labels`` after the range and batch-size checks (eager: ValueError; graph: asserts)."""
    batch = tf.shape(x)[0]
    static = (tf.convert_to_tensor(x).shape[:1].as_list() or [None])[0], labels.shape[0]
    if None not in static and static[0] != static[1]:
        raise ValueError(
            f"{owner}: `{first_name}` and `labels` must have the same batch size. "
            f"Received: {first_name} batch size {static[0]}, labels batch size {static[1]}"
        )
    if tf.executing_eagerly() and hasattr(labels, "numpy"):
        values = labels.numpy()
        bad = values[(values < 0) | (values >= num_classes)]
        if bad.size:
            raise ValueError(
                f"{owner}: `labels` must be class ids in [0, {num_classes}) (num_classes="
                f"{num_classes}). Received: {bad.size} labels outside it, values "
                f"{sorted(set(bad.tolist()))[:8]}"
            )
        return labels
    checks = [
        tf.debugging.assert_equal(
            tf.shape(labels)[0], batch,
            message=f"{owner}: `{first_name}` and `labels` must have the same batch size"),
        tf.debugging.assert_non_negative(labels, message=f"{owner}: `labels` must be >= 0"),
        tf.debugging.assert_less(
            labels, num_classes, message=f"{owner}: `labels` must be < num_classes={num_classes}"),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(labels)


def check_batch_norm(value):
    """Validates a network's ``batch_norm`` argument (one of :data:`BATCH_NORM_IMPLEMENTATIONS`)."""
    return check_choice("batch_norm", value, BATCH_NORM_IMPLEMENTATIONS)


def weight_initializer():
    """N(0, 0.02), the DCGAN / pix2pix papers' initialization (a fresh instance per layer)."""
    return compat.initializers.RandomNormal(mean=0.0, stddev=0.02)


def batch_norm_layer(synchronized=False, implementation="fused"):
    """Batch normalization as in the reference implementations: momentum 0.9 (PyTorch's
    0.1), epsilon 1e-5, gamma ~ N(1, 0.02).

    Args:
        synchronized: compute the statistics over the global batch under a
            ``tf.distribute`` strategy (Keras's own cross-replica path).
        implementation: ``"fused"`` (default): Keras's layer computed by one fused kernel
            (``ascendgan``'s ``BatchNormalization`` subclass); ``"keras"``: Keras's own
            ``BatchNormalization`` (under Keras 3 unfused: separate moments,
            normalization and casts). Both have the same variables, names and maths.
    """
    check_batch_norm(implementation)
    layer = BatchNormalization if implementation == "fused" else layers.BatchNormalization
    return layer(
        momentum=0.9,
        epsilon=1e-5,
        gamma_initializer=compat.initializers.RandomNormal(mean=1.0, stddev=0.02),
        synchronized=synchronized,
    )


def is_shape_list(shape):
    """True when ``shape`` is a list of shapes (several inputs), not one shape."""
    if isinstance(shape, tf.TensorShape) or not isinstance(shape, (list, tuple)) or not shape:
        return False
    return isinstance(shape[0], (list, tuple, tf.TensorShape))


def shape_tuple(shape):
    return tuple(tf.TensorShape(shape).as_list())


def build_layer(layer, shape):
    """Builds ``layer`` for inputs of ``shape`` and returns its output shape."""
    if not layer.built:
        if compat.KERAS_3:
            layer.build(shape)
        else:
            with tf.name_scope(layer.name):
                layer.build(tf.TensorShape(shape))
    return shape_tuple(layer.compute_output_shape(shape))


def apply_layer(layer, x, training):
    """Calls ``layer``, passing ``training`` to the layers that use it."""
    if isinstance(layer, (layers.BatchNormalization, layers.Dropout)):
        return layer(x, training=training)
    return layer(x)
