"""What every random augmentation of :mod:`ascendgan.augment` shares: seeds, generators,
the training switch of the random layers, and the image-batch check.

Every random draw in the package goes through TensorFlow's *stateless* random ops, fed by
a shape-``[2]`` integer seed (:func:`as_stateless_seed`), so that a given seed gives the
same result in eager mode, inside ``tf.function`` and inside ``tf.data``. A random layer
owns a ``tf.random.Generator`` (:func:`layer_generator`) and draws one stateless seed per
call through :func:`apply_in_training`, which also implements Keras's convention for
random preprocessing layers (augment in training or when called directly, pass through
with ``training=False``).

Example:

>>> import tensorflow as tf
>>> from ascendgan.augment.random_ops import as_stateless_seed
>>> as_stateless_seed(3).numpy().tolist()
[3, 0]
"""

from __future__ import annotations

import numbers

import tensorflow as tf

_INT32_MAX = 2**31 - 1


def as_stateless_seed(seed, name="seed"):
    """A shape-``[2]`` int64 seed tensor for TensorFlow's stateless random ops.

    Args:
        seed: ``None`` draws a fresh seed with TensorFlow's (stateful) global random ops,
            so each call differs but ``tf.random.set_seed`` /
            ``keras.utils.set_random_seed`` make a program reproducible; an ``int`` gives
            ``[seed, 0]``; a shape-``[2]`` integer tensor or pair is used as it is.
        name: the argument's name in error messages.

    Returns:
        an int64 tensor of shape ``[2]``.

    Raises:
        ValueError: for a bool, a float, or a tensor of another shape or dtype.
    """
    if seed is None:
        return tf.random.uniform([2], 0, _INT32_MAX, dtype=tf.int64)
    if isinstance(seed, bool):
        raise ValueError(f"`{name}` must be None, an int or a shape-[2] integer tensor. Received: {name}={seed!r}")
    if isinstance(seed, numbers.Integral):
        return tf.constant([int(seed), 0], tf.int64)
    seed = tf.convert_to_tensor(seed)
    if not seed.dtype.is_integer:
        raise ValueError(
            f"`{name}` must be None, an int or a shape-[2] integer tensor. "
            f"Received: {name} of dtype {seed.dtype.name}"
        )
    if seed.shape.rank is not None and seed.shape != tf.TensorShape([2]):
        raise ValueError(
            f"`{name}` must be None, an int or a shape-[2] integer tensor. "
            f"Received: {name} of shape {tuple(seed.shape)}"
        )
    return tf.cast(seed, tf.int64)


def layer_generator(seed):
    """The random-number generator of a random layer (a ``tf.random.Generator``, not a
    Keras weight): seeded from ``seed``, or non-deterministic when ``seed`` is None."""
    if seed is None:
        return tf.random.Generator.from_non_deterministic_state()
    return tf.random.Generator.from_seed(seed)


def _is_inactive(training):
    """True when ``training`` says the random layer must pass its inputs through.

    ``None`` counts as training, following Keras's own random preprocessing layers (which
    augment when called directly, e.g. in ``tf.data``, and pass through under
    ``model.predict`` / ``evaluate``, where Keras calls them with ``training=False``).
    """
    if training is None:
        return False
    if isinstance(training, (bool, int)):
        return not training
    return None  # a tensor: decided in the graph


@tf.autograph.experimental.do_not_convert
def apply_in_training(inputs, training, augment, generator, dtype):
    """The ``call`` of a random augmentation layer.

    Runs ``augment(inputs, seed)`` with a fresh stateless seed drawn from ``generator``
    when ``training`` is True or None, and passes ``inputs`` through when it is False (a
    boolean tensor is decided in the graph). The result is cast to ``dtype``.

    Args:
        inputs: the layer's inputs.
        training: Python bool, None (counts as training) or a boolean tensor.
        augment: ``augment(inputs, seed) -> outputs`` with a shape-``[2]`` seed.
        generator: the layer's ``tf.random.Generator`` (:func:`layer_generator`).
        dtype: the layer's compute dtype.

    Example:

    >>> import numpy as np
    >>> flip = lambda x, seed: tf.reverse(x, axis=[2])
    >>> x = np.arange(4, dtype="float32").reshape(1, 1, 4, 1)
    >>> apply_in_training(x, False, flip, layer_generator(0), "float32").numpy().ravel().tolist()
    [0.0, 1.0, 2.0, 3.0]
    """

    def run():
        seed = generator.make_seeds(1)[:, 0]
        return tf.cast(augment(inputs, seed), dtype)

    def identity():
        return tf.cast(inputs, dtype)

    inactive = _is_inactive(training)
    if inactive is None:
        return tf.cond(tf.cast(training, tf.bool), run, identity)
    return identity() if inactive else run()


def image_batch(images, name="images"):
    """``(batch, was_single)``: a batch of images, and whether ``images`` was one image.

    Args:
        images: an image ``(height, width, channels)`` (given a batch axis of 1) or a batch
            ``(batch, height, width, channels)``.
        name: the argument's name in error messages.

    Raises:
        ValueError: for another rank.
    """
    images = tf.convert_to_tensor(images)
    rank = images.shape.rank
    if rank not in (3, 4):
        raise ValueError(
            f"`{name}` must be an image (height, width, channels) or a batch of images "
            f"(batch, height, width, channels). Received: {name}.shape={tuple(images.shape)}"
        )
    if rank == 3:
        return images[tf.newaxis], True
    return images, False


__all__ = ["apply_in_training", "as_stateless_seed", "image_batch", "layer_generator"]
