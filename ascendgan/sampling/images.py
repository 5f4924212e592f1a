"""Pictures from images in [-1, 1]: uint8 conversion, grids, PNG and GIF files.

Images are channels-last in [-1, 1] everywhere in ascendgan; the functions here convert to
8-bit pixels at their own boundary. Files are written atomically (a temporary name, then a
rename; see :func:`ascendgan.files.atomic_write`) on any file system ``tf.io.gfile``
supports.
"""

from __future__ import annotations

import io
import math
import struct
import zlib

import numpy as np
import tensorflow as tf

from ascendgan.files import atomic_write
from ascendgan.validation import check_int


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
    columns = check_int("columns", columns, minimum=1)
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


def _png_text_chunks(text):
    """PNG ``tEXt`` chunks (keyword, Latin-1 value) for ``{keyword: value}``."""
    chunks = b""
    for keyword, value in (text or {}).items():
        keyword, value = str(keyword), str(value)
        if not 1 <= len(keyword) <= 79 or "\0" in keyword + value:
            raise ValueError(f"`text` keywords must be 1-79 characters without NUL. Received: {keyword!r}")
        data = keyword.encode("latin-1") + b"\0" + value.encode("latin-1", "replace")
        chunks += struct.pack(">I", len(data)) + b"tEXt" + data
        chunks += struct.pack(">I", zlib.crc32(b"tEXt" + data) & 0xFFFFFFFF)
    return chunks


def save_png(picture, path, text=None):
    """Writes a uint8 ``(height, width, channels)`` picture (1, 3 or 4 channels) to a PNG file.

    ``path`` may be on any file system ``tf.io.gfile`` supports; the file is written to a
    temporary name and renamed, so a reader never sees a half-written picture. Returns the
    path (a string).

    Args:
        picture: the uint8 picture.
        path: the ``.png`` file.
        text: ``{keyword: value}`` stored as PNG text chunks (e.g. how the picture was
            sampled: ``{"truncation": "2.0"}``); Pillow reads them back as ``image.text``.
    """
    picture = np.asarray(picture)
    if picture.dtype != np.uint8 or picture.ndim != 3 or picture.shape[-1] not in (1, 3, 4):
        raise ValueError(
            "`picture` must be a uint8 array (height, width, 1|3|4). "
            f"Received dtype {picture.dtype}, shape {picture.shape}."
        )
    data = tf.io.encode_png(picture).numpy()
    if text:
        header_end = 8 + 8 + 13 + 4  # signature, then the IHDR chunk (length, type, 13 bytes, CRC)
        data = data[:header_end] + _png_text_chunks(text) + data[header_end:]
    return atomic_write(path, data)


def save_image_grid(images, path, columns=None, padding=2, text=None):
    """Tiles ``images`` (in [-1, 1]) with :func:`image_grid` and writes the PNG (with
    :func:`save_png`'s ``text`` chunks); returns the path.

    Example:

    >>> import os, tempfile
    >>> path = save_image_grid(np.zeros((4, 8, 8, 1)), os.path.join(tempfile.mkdtemp(), "grid.png"))
    >>> os.path.exists(path)
    True
    """
    return save_png(image_grid(images, columns=columns, padding=padding), path, text=text)


def _pillow():
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            "Writing GIFs needs the `pillow` package, which is not installed. Install it with "
            "`pip install pillow` (or `pip install \"ascendgan[images]\"`)."
        ) from error
    return Image


def save_gif(frames, path, duration_ms=100, loop=0, comment=None):
    """Writes frames as an animated GIF (needs Pillow: ``pip install pillow``).

    Each frame gets its own 256-colour palette (median cut, no dithering): frames with at
    most 256 distinct colours (every grayscale frame) are stored exactly; richer colour
    frames are quantized, as GIF requires. Like :func:`save_png`, the file is written to a
    temporary name and renamed, on any file system ``tf.io.gfile`` supports.

    Args:
        frames: a batch ``(n, height, width, channels)`` of images in [-1, 1] (float) or
            uint8, or a sequence of uint8 pictures of one shape (e.g. grids); 1 or 3
            channels.
        path: the ``.gif`` file to write.
        duration_ms: display time of each frame in milliseconds.
        loop: times to repeat the animation; 0 repeats forever.
        comment: a text stored in the GIF's comment extension (e.g. how the frames were
            sampled); Pillow reads it back as ``image.info["comment"]``.

    Returns:
        ``path`` (a string).

    Example:

    >>> import os, tempfile
    >>> frames = np.linspace(-1, 1, 4).reshape(4, 1, 1, 1) * np.ones((4, 8, 8, 1))
    >>> path = save_gif(frames, os.path.join(tempfile.mkdtemp(), "fade.gif"))
    >>> os.path.exists(path)
    True
    """
    image_module = _pillow()
    if isinstance(frames, (list, tuple)):
        frames = np.stack([np.asarray(frame) for frame in frames]) if frames else np.zeros((0,))
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[0] == 0 or frames.shape[-1] not in (1, 3):
        raise ValueError(
            "`frames` must be a non-empty batch (n, height, width, 1|3) or a list of such "
            f"pictures. Received shape {frames.shape}."
        )
    if frames.dtype != np.uint8:
        frames = to_uint8(frames)
    duration_ms = check_int("duration_ms", duration_ms, minimum=1)
    loop = check_int("loop", loop, minimum=0)
    if frames.shape[-1] == 1:
        pictures = [image_module.fromarray(frame[..., 0], "L") for frame in frames]
    else:
        pictures = [
            image_module.fromarray(frame, "RGB").quantize(
                colors=256, method=image_module.Quantize.MEDIANCUT, dither=image_module.Dither.NONE
            )
            for frame in frames
        ]
    buffer = io.BytesIO()
    extra = {} if comment is None else {"comment": str(comment).encode("latin-1", "replace")}
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=duration_ms, loop=loop, **extra)
    return atomic_write(path, buffer.getvalue())


__all__ = ["image_grid", "save_gif", "save_image_grid", "save_png", "to_uint8"]
