"""Cutout (DeVries & Taylor, 2017): fill a square at a random position of each image."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.augment.masks import square_mask
from ascendgan.augment.random_ops import (
    apply_in_training,
    as_stateless_seed,
    image_batch,
    layer_generator,
)
from ascendgan.validation import check_int, check_number


def _cutout_mask(shape, size, seed):
    """Boolean ``(batch, height, width, 1)`` masks of the squares :func:`cutout` fills."""
    size = check_int("size", size, minimum=1)
    seed = as_stateless_seed(seed)
    shape = tf.cast(tf.convert_to_tensor(shape), tf.int32)
    batch, height, width = shape[0], shape[1], shape[2]
    seeds = tf.random.experimental.stateless_split(seed, 2)
    center_y = tf.random.stateless_uniform([batch], seeds[0], 0, height, dtype=tf.int32)
    center_x = tf.random.stateless_uniform([batch], seeds[1], 0, width, dtype=tf.int32)
    return square_mask(height, width, center_y, center_x, size, size)


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
    fill_value = check_number("fill_value", fill_value)
    batch, single = image_batch(images, "images")
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
        self.size = check_int("size", size, minimum=1)
        self.fill_value = check_number("fill_value", fill_value)
        self.seed = check_int("seed", seed, allow_none=True)
        self._generator = layer_generator(self.seed)

    def call(self, inputs, training=True):
        return apply_in_training(
            inputs, training,
            lambda images, seed: cutout(images, self.size, self.fill_value, seed=seed),
            self._generator, self.compute_dtype,
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, fill_value=self.fill_value, seed=self.seed)
        return config
