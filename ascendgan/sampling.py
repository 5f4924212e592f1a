"""Sampling and image grids: turning generator outputs in [-1, 1] into pictures.

Images are channels-last in [-1, 1] everywhere in ascendgan; the functions here convert to
8-bit pixels at their own boundary.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


def to_uint8(images):
    """Maps images in [-1, 1] to uint8 pixels in [0, 255] (values outside are clipped).

    Args:
        images: array-like of any shape, float in [-1, 1].

    Returns:
        A numpy uint8 array of the same shape.

    Example:

    >>> to_uint8(np.array([-1.0, 0.0, 1.0])).tolist()
    [0, 128, 255]
    """
    images = np.asarray(tf.cast(images, tf.float32))
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images, columns=None, padding=2, pad_value=255):
    """Tiles a batch of images into one picture, row by row.

    Args:
        images: ``(n, height, width, channels)`` in [-1, 1] (float) or uint8.
        columns: images per row; default ``ceil(sqrt(n))``.
        padding: pixels between images and around the border.
        pad_value: the uint8 value of the padding.

    Returns:
        A uint8 array ``(rows*(h+p)+p, columns*(w+p)+p, channels)``.

    Example:

    >>> grid = image_grid(np.zeros((6, 4, 4, 3)), columns=3, padding=1)
    >>> grid.shape
    (11, 16, 3)
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"`images` must be a batch of shape (n, height, width, channels). Received shape {images.shape}."
        )
    if images.dtype != np.uint8:
        images = to_uint8(images)
    n, height, width, channels = images.shape
    if n == 0:
        raise ValueError("`images` must hold at least one image. Received an empty batch.")
    if columns is None:
        columns = int(math.ceil(math.sqrt(n)))
    if not isinstance(columns, (int, np.integer)) or columns < 1:
        raise ValueError(f"`columns` must be a positive integer. Received: columns={columns!r}")
    rows = int(math.ceil(n / columns))
    grid = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        pad_value,
        np.uint8,
    )
    for index in range(n):
        row, column = divmod(index, columns)
        top = padding + row * (height + padding)
        left = padding + column * (width + padding)
        grid[top:top + height, left:left + width] = images[index]
    return grid


def save_png(picture, path):
    """Writes a uint8 ``(height, width, channels)`` picture (1, 3 or 4 channels) to a PNG file.

    ``path`` may be on any file system ``tf.io.gfile`` supports; the file is written to a
    temporary name and renamed, so a reader never sees a half-written picture.
    """
    picture = np.asarray(picture)
    if picture.dtype != np.uint8 or picture.ndim != 3 or picture.shape[-1] not in (1, 3, 4):
        raise ValueError(
            "`picture` must be a uint8 array (height, width, 1|3|4). "
            f"Received dtype {picture.dtype}, shape {picture.shape}."
        )
    path = str(path)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        tf.io.gfile.makedirs(parent)
    temporary = f"{path}.tmp"
    with tf.io.gfile.GFile(temporary, "wb") as handle:
        handle.write(tf.io.encode_png(picture).numpy())
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return path


def save_image_grid(images, path, columns=None, padding=2):
    """Tiles ``images`` (in [-1, 1]) with :func:`image_grid` and writes the PNG; returns the path.

    Example:

    >>> import os, tempfile
    >>> path = save_image_grid(np.zeros((4, 8, 8, 1)), os.path.join(tempfile.mkdtemp(), "grid.png"))
    >>> os.path.exists(path)
    True
    """
    return save_png(image_grid(images, columns=columns, padding=padding), path)


__all__ = ["image_grid", "save_image_grid", "save_png", "to_uint8"]
