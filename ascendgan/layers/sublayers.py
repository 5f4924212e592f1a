"""Helpers for layers that hold sublayers or take several inputs: a fresh initializer per
sublayer, building a sublayer in its name scope, and input descriptions for error messages.

Public so model networks (``ascendgan.models``) build their sublayers the same way.

Example:

>>> from ascendgan import compat
>>> from ascendgan.layers.sublayers import build_sublayer, describe_inputs
>>> dense = compat.layers.Dense(3, name="projection")
>>> build_sublayer(dense, (None, 4))
>>> describe_inputs([1, 2])
'a list of 2 inputs'
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat

__all__ = [
    "build_sublayer",
    "check_image_rank",
    "describe_inputs",
    "fresh_initializer",
    "is_list_of_inputs",
]


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
