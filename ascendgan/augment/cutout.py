"""Cutout (DeVries & Taylor, 2017): fill a square at a random position of each image.

Also home of the small random-number helpers the other ``ascendgan.augment`` modules
share: every random draw in the package goes through TensorFlow's *stateless* random
ops, fed by a shape-``[2]`` integer seed, so that a given seed gives the same result in
eager mode, inside ``tf.function`` and inside ``tf.data``.
"""

from __future__ import annotations

import numbers

import tensorflow as tf

from ascendgan import compat

_INT32_MAX = 2**31 - 1


# ----------------------------------------------------------------------------- shared helpers


def _as_stateless_seed(seed, name="seed"):
    """A shape-``[2]`` int64 seed tensor for TensorFlow's stateless random ops.

    ``None`` draws a fresh seed with TensorFlow's (stateful) global random ops, so each
    call differs but ``tf.random.set_seed`` / ``keras.utils.set_random_seed`` make a
    program reproducible; an ``int`` gives ``[seed, 0]``; a shape-``[2]`` integer
    tensor or pair is used as it is.
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


def _check_layer_seed(seed, name="seed"):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"`{name}` must be None or an int. Received: {name}={seed!r}")
    return None if seed is None else int(seed)


def _layer_generator(seed):
    """The per-layer random-number generator (a ``tf.random.Generator``, no Keras weights)."""
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


def _image_batch(images, name):
    """``(batch_images, was_single)``: rank-3 images get a batch axis of 1."""
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


@tf.autograph.experimental.do_not_convert
def _random_training_call(layer, inputs, training, augment):
    """Runs ``augment(inputs, seed)`` with a seed from ``layer``'s generator, or passes
    ``inputs`` through at inference; the result is in the layer's compute dtype."""
    dtype = layer.compute_dtype

    def run():
        seed = layer._generator.make_seeds(1)[:, 0]
        return tf.cast(augment(inputs, seed), dtype)

    def identity():
        return tf.cast(inputs, dtype)

    inactive = _is_inactive(training)
    if inactive is None:
        return tf.cond(tf.cast(training, tf.bool), run, identity)
    return identity() if inactive else run()


# ----------------------------------------------------------------------------- cutout


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1. Received: {name}={value!r}")
    return int(value)


def _check_number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    return float(value)


def _square_mask(height, width, center_y, center_x, size_y, size_x):
    """Boolean ``(batch, height, width, 1)`` mask of the squares ``[c - s//2, c - s//2 + s)``."""
    top = center_y - size_y // 2
    left = center_x - size_x // 2
    rows = tf.range(height, dtype=center_y.dtype)[tf.newaxis, :]
    cols = tf.range(width, dtype=center_x.dtype)[tf.newaxis, :]
    in_rows = (rows >= top[:, tf.newaxis]) & (rows < (top + size_y)[:, tf.newaxis])
    in_cols = (cols >= left[:, tf.newaxis]) & (cols < (left + size_x)[:, tf.newaxis])
    return (in_rows[:, :, tf.newaxis] & in_cols[:, tf.newaxis, :])[..., tf.newaxis]


def _cutout_mask(shape, size, seed):
    """Boolean ``(batch, height, width, 1)`` masks of the squares :func:`cutout` fills."""
    size = _check_positive_int(size, "size")
    seed = _as_stateless_seed(seed)
    shape = tf.cast(tf.convert_to_tensor(shape), tf.int32)
    batch, height, width = shape[0], shape[1], shape[2]
    seeds = tf.random.experimental.stateless_split(seed, 2)
    center_y = tf.random.stateless_uniform([batch], seeds[0], 0, height, dtype=tf.int32)
    center_x = tf.random.stateless_uniform([batch], seeds[1], 0, width, dtype=tf.int32)
    return _square_mask(height, width, center_y, center_x, size, size)


@tf.autograph.experimental.do_not_convert
def cutout(images, size, fill_value=0.0, seed=None):
    """Fills a ``size x size`` square at a random position of each image with ``fill_value``.

    The square's center is drawn uniformly over the pixels of each image (independently
    for each image of a batch); the square covers rows ``[cy - size // 2,
    cy - size // 2 + size)`` and the same columns around ``cx``, and may extend beyond
    the image, in which case only its part inside the image is filled (so on average
    less than ``size²`` pixels are). All channels are filled.

    Args:
        images: an image ``(height, width, channels)`` or a batch ``(batch, height,
            width, channels)``, of any real or integer dtype, in any value range.
        size: side of the square in pixels, an integer >= 1 (CIFAR-10: 16).
        fill_value: the value written into the square, in the units of ``images``
            (0 is mid-gray for images in [-1, 1] and the mean for normalized images,
            which is what the paper fills). Defaults to 0.
        seed: ``None`` (fresh random draws on every call, reproducible under
            ``tf.random.set_seed``), an int, or a shape-``[2]`` integer tensor used with
            TensorFlow's stateless random ops (the same seed gives the same squares).

    Returns:
        A tensor of the shape and dtype of ``images``. Gradients flow to the pixels
        outside the squares.

    Example:

    >>> import numpy as np
    >>> from ascendgan.augment import cutout
    >>> images = np.ones((4, 32, 32, 3), "float32")
    >>> out = cutout(images, size=16, seed=0)
    >>> out.shape, bool(np.all(np.isin(out.numpy(), [0.0, 1.0])))
    (TensorShape([4, 32, 32, 3]), True)

    Reference:
        DeVries & Taylor, "Improved Regularization of Convolutional Neural Networks
        with Cutout", 2017 (arXiv:1708.04552).
    """
    fill_value = _check_number(fill_value, "fill_value")
    batch, single = _image_batch(images, "images")
    mask = _cutout_mask(tf.shape(batch), size, seed)
    out = tf.where(mask, tf.cast(fill_value, batch.dtype), batch)
    return out[0] if single else out


@compat.register
class Cutout(compat.layers.Layer):
    """Keras preprocessing layer applying :func:`cutout` to each image.

    A random layer without weights, following Keras's random preprocessing layers:
    it augments when called with ``training=True`` or without a ``training`` argument
    (e.g. in ``dataset.map(layer)``), and passes images through when Keras calls it with
    ``training=False`` (``model.predict`` / ``evaluate``). Each call draws fresh squares
    from the layer's own random-number generator.

    Args:
        size: side of the square in pixels, an integer >= 1. Defaults to 16 (the
            paper's CIFAR-10 setting).
        fill_value: value written into the square, in the units of the inputs.
            Defaults to 0.
        seed: int seed of the layer's random-number generator; two layers built with
            the same seed produce the same sequence of squares. Defaults to None
            (non-deterministic).
        **kwargs: base layer arguments (``name``, ``dtype``).

    Call arguments:
        inputs: an image ``(height, width, channels)`` or a batch of images.
        training: Python bool or boolean tensor. Defaults to True.

    Returns:
        The images with their squares filled, in the layer's compute dtype.

    Example:

    >>> import numpy as np
    >>> from ascendgan.augment import Cutout
    >>> layer = Cutout(size=8, seed=0)
    >>> out = layer(np.ones((2, 16, 16, 3), "float32"))
    >>> bool((out.numpy() == 0).any()), bool(np.all(layer(np.ones((2, 16, 16, 3)), training=False) == 1))
    (True, True)

    Reference:
        DeVries & Taylor, "Improved Regularization of Convolutional Neural Networks
        with Cutout", 2017 (arXiv:1708.04552).
    """

    def __init__(self, size=16, fill_value=0.0, seed=None, **kwargs):
        super().__init__(autocast=False, **kwargs)
        self.size = _check_positive_int(size, "size")
        self.fill_value = _check_number(fill_value, "fill_value")
        self.seed = _check_layer_seed(seed)
        self._generator = _layer_generator(self.seed)

    def call(self, inputs, training=True):
        return _random_training_call(
            self, inputs, training,
            lambda images, seed: cutout(images, self.size, self.fill_value, seed=seed),
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, fill_value=self.fill_value, seed=self.seed)
        return config
