"""Random crop of zero-padded images and random horizontal flips: the standard CIFAR
augmentation that the AutoAugment policies are applied on top of.

Normalization (per-channel mean / standard deviation) is not an augmentation here: it is
part of the classifier (``WideResNet(input_mean=..., input_std=...)``), so a checkpoint
evaluates exactly as it trained.
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan.augment.random_ops import as_stateless_seed, image_batch
from ascendgan.validation import check_bool, check_int


@tf.autograph.experimental.do_not_convert
def random_crop_and_flip(images, padding=4, flip=True, seed=None):
    """Per-image random crop of the zero-padded images, and random horizontal flips.

    Each image is padded with ``padding`` zeros on every side and a window of the original
    size is cut at a uniformly random offset (each of the ``(2·padding + 1)²`` offsets
    equally likely); with ``flip`` it is mirrored left-right with probability ½. Zero is
    mid-grey for images in [-1, 1].

    Args:
        images: a batch ``(batch, height, width, channels)`` or one image
            ``(height, width, channels)``, any dtype.
        padding: pixels of zero padding on each side (0 disables the crop).
        flip: mirror half of the images left-right.
        seed: ``None`` (fresh draws on every call, reproducible under
            ``tf.random.set_seed``), an int, or a shape-``[2]`` integer tensor for
            TensorFlow's stateless random ops (the same seed gives the same crops).

    Returns:
        images of the input's shape and dtype.

    Example:

    >>> import numpy as np
    >>> from ascendgan.augment import random_crop_and_flip
    >>> images = np.ones((8, 32, 32, 3), "float32")
    >>> random_crop_and_flip(images, padding=4, seed=0).shape
    TensorShape([8, 32, 32, 3])

    Reference:
        Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016 (arXiv:1605.07146);
        Cubuk et al., "AutoAugment", CVPR 2019 (arXiv:1805.09501).
    """
    padding = check_int("padding", padding, minimum=0)
    flip = check_bool("flip", flip)
    batch_images, single = image_batch(images, "images")
    seeds = tf.random.experimental.stateless_split(as_stateless_seed(seed), 3)
    shape = tf.shape(batch_images)
    batch, height, width = shape[0], shape[1], shape[2]
    padded = tf.pad(batch_images, [[0, 0], [padding, padding], [padding, padding], [0, 0]])
    offsets = 2 * padding + 1
    rows = tf.range(height)[None] + tf.random.stateless_uniform([batch, 1], seeds[0], 0, offsets, tf.int32)
    cols = tf.range(width)[None] + tf.random.stateless_uniform([batch, 1], seeds[1], 0, offsets, tf.int32)
    if flip:
        mirrored = tf.random.stateless_uniform([batch, 1], seeds[2], 0, 2, tf.int32)
        cols = tf.where(mirrored > 0, tf.reverse(cols, axis=[1]), cols)
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    out = tf.gather(out, cols, axis=2, batch_dims=1)
    return out[0] if single else out


__all__ = ["random_crop_and_flip"]
