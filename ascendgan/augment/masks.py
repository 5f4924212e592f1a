"""Boolean masks of rectangles, shared by Cutout and DiffAugment's cutout."""

from __future__ import annotations

import tensorflow as tf


def square_mask(height, width, center_y, center_x, size_y, size_x):
    """Boolean ``(batch, height, width, 1)`` masks of one rectangle per image.

    The rectangle of image ``i`` covers rows ``[cy - sy // 2, cy - sy // 2 + sy)`` and
    columns ``[cx - sx // 2, cx - sx // 2 + sx)``; the parts outside the image are dropped.

    Args:
        height, width: the image size (ints or scalar tensors).
        center_y, center_x: ``(batch,)`` integer centers.
        size_y, size_x: the rectangle's sides (of the centers' dtype).

    Returns:
        a bool tensor ``(batch, height, width, 1)``, True inside the rectangles.

    Example:

    >>> mask = square_mask(4, 4, tf.constant([1]), tf.constant([1]), 2, 2)
    >>> mask[0, ..., 0].numpy().astype(int).tolist()
    [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    """
    top = center_y - size_y // 2
    left = center_x - size_x // 2
    rows = tf.range(height, dtype=center_y.dtype)[tf.newaxis, :]
    cols = tf.range(width, dtype=center_x.dtype)[tf.newaxis, :]
    in_rows = (rows >= top[:, tf.newaxis]) & (rows < (top + size_y)[:, tf.newaxis])
    in_cols = (cols >= left[:, tf.newaxis]) & (cols < (left + size_x)[:, tf.newaxis])
    return (in_rows[:, :, tf.newaxis] & in_cols[:, tf.newaxis, :])[..., tf.newaxis]


__all__ = ["square_mask"]
