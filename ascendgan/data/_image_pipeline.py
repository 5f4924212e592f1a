"""The image-file pipeline shared by :func:`image_folder`, :func:`image_folder_arrays` and
the CIFAR-10 image-folder format: what each file becomes (:class:`ImageSpec`) and the
``tf.data`` pipeline that applies it (:func:`image_file_dataset`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from ascendgan.data import _images
from ascendgan.data._images import INTERPOLATIONS
from ascendgan.data._pipeline import (
    AUTOTUNE,
    Batching,
    check_channels,
    check_size,
    graph_fn,
    to_signed_unit,
)
from ascendgan.data.errors import DataFormatError
from ascendgan.validation import check_bool, check_choice


def probe(path: str, channels: int, undecodable_ok: bool = False):
    """Decodes one file eagerly: its (height, width) after the channel check, with a
    DataFormatError naming the file when it cannot be used (None instead when it does not
    decode and ``undecodable_ok``)."""
    try:
        image, _ = _images.decode_file(tf.constant(path))
    except tf.errors.OpError as error:
        if undecodable_ok:
            return None
        raise DataFormatError(
            f"Could not read or decode the image file {path!r} (corrupt, truncated or not a "
            f"JPEG/PNG/BMP image): {error.message.splitlines()[0] if error.message else error}"
        ) from error
    found = int(image.shape[2])
    if not (found == channels or (channels == 3 and found == 1)):
        raise DataFormatError(
            f"The image file {path!r} has {found} channels; channels={channels} accepts "
            f"{'RGB (3) or greyscale (1, replicated)' if channels == 3 else 'greyscale (1)'}"
            " images."
        )
    return int(image.shape[0]), int(image.shape[1])


def as_uint8(batches) -> np.ndarray:
    """Concatenates float batches on the 0..255 scale into a rounded uint8 array."""
    arrays = [np.asarray(b) for b in batches]
    if not arrays:
        return np.zeros((0,), np.uint8)
    return np.clip(np.rint(np.concatenate(arrays)), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- the pipeline


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """How each image file becomes a tensor: channels, crop, resize and scale.

    The steps run in this order: channel check (greyscale replicated to RGB for
    ``channels=3``), size check, ``center_crop``, ``crop_to_aspect_ratio``, resize to
    ``image_size``, scale. Sizes are given as an int (square) or ``(height, width)``
    and stored as ``(height, width)``. Constructing a spec checks every field (ValueError
    naming the argument).

    Args:
        channels: 3 (RGB) or 1 (greyscale).
        image_size: resize to this size (None: keep the size).
        center_crop: crop the centred window of this size first (None: no crop).
        crop_to_aspect_ratio: crop the largest centred window with the aspect ratio of
            ``image_size`` before resizing (needs ``image_size``).
        interpolation: resize method, one of ``INTERPOLATIONS``.
        expected_size: every file must be this size (an error names a file that is not).
            None: with neither ``image_size`` nor ``center_crop``, every file must have
            the size of the first one; otherwise any size.
        skip_corrupt: drop undecodable files with a :class:`CorruptImageWarning` instead
            of raising.
        scale: float32 in [-1, 1] (``x / 127.5 - 1``); False keeps float32 on the 0..255
            scale (what the ``*_arrays`` readers round to uint8).

    Example:

    >>> ImageSpec(image_size=64, center_crop=108).image_size
    (64, 64)
    """

    channels: int = 3
    image_size: tuple[int, int] | None = None
    center_crop: tuple[int, int] | None = None
    crop_to_aspect_ratio: bool = False
    interpolation: str = "bilinear"
    expected_size: tuple[int, int] | None = None
    skip_corrupt: bool = False
    scale: bool = True

    def __post_init__(self):
        normalize = object.__setattr__
        normalize(self, "image_size", check_size("image_size", self.image_size))
        normalize(self, "center_crop", check_size("center_crop", self.center_crop))
        normalize(self, "channels", check_channels(self.channels))
        check_choice("interpolation", self.interpolation, INTERPOLATIONS)
        check_bool("crop_to_aspect_ratio", self.crop_to_aspect_ratio)
        if self.crop_to_aspect_ratio and self.image_size is None:
            raise ValueError(
                "`crop_to_aspect_ratio=True` needs `image_size` (the aspect ratio to crop to). "
                "Received: image_size=None"
            )
        normalize(self, "expected_size", check_size("expected_size", self.expected_size))
        check_bool("skip_corrupt", self.skip_corrupt)
        check_bool("scale", self.scale)

    def transform(self, image, path, expected_size, reason):
        """A decoded uint8 image -> float32 after the channel, size, crop, resize and scale
        steps; graph errors name ``path``."""
        image = _images.fix_channels(image, path, self.channels)
        if expected_size is not None:
            image = _images.check_shape(image, path, expected_size, reason)
        if self.center_crop is not None:
            image = _images.center_crop(image, path, self.center_crop)
        if self.image_size is not None:
            if self.crop_to_aspect_ratio:
                image = _images.crop_to_aspect(image, self.image_size)
            image = _images.resize(image, self.image_size, self.interpolation)
            image = tf.ensure_shape(image, [*self.image_size, self.channels])
        return to_signed_unit(image) if self.scale else tf.cast(image, tf.float32)


def _common_size(files, spec: ImageSpec, description: str):
    """``(size, reason)``: the size every file must have, and why, for error messages."""
    if spec.expected_size is not None:
        return spec.expected_size, "(the size this data set needs)"
    if spec.image_size is not None or spec.center_crop is not None:
        return None, ""
    for first in files:  # with skip_corrupt, the first file that decodes
        size = probe(first, spec.channels, undecodable_ok=spec.skip_corrupt)
        if size is not None:
            return size, (
                f"(the size of the first file, {first}); pass image_size= to resize images "
                "of different sizes"
            )
    raise DataFormatError(f"None of the {len(files)} image files of {description} can be decoded.")


def image_file_dataset(files, labels, spec: ImageSpec, batching: Batching, *, description: str,
                       cache: bool = False):
    """Image files -> a ``tf.data.Dataset`` of batches: list -> shuffle -> decode
    (parallel) -> :meth:`ImageSpec.transform` -> batch -> prefetch.

    Args:
        files: the image paths (local or any ``tf.io.gfile`` file system), in order.
        labels: one int label per file, or None to yield images only.
        spec: what each file becomes.
        batching: batch size, shuffle, seed, ``drop_remainder``, repeat.
        description: names the data in error messages, e.g. ``"the image folder 'cats'"``.
        cache: keep the transformed images in memory after the first pass (the shuffle
            then works on decoded images).

    Returns:
        Batches of float32 ``images``, or ``(images, labels)`` with int32 labels.

    Raises:
        ValueError: fewer files than a batch with ``drop_remainder``.
        DataFormatError: eagerly, when the size of the first file is needed and no file
            decodes (or the first one cannot be used).
    """
    count = len(files)
    batching.check_enough(count, description)
    ordered = batching.deterministic
    expected_size, reason = _common_size(files, spec, description)
    with_labels = labels is not None
    elements = {
        "path": tf.constant(files),
        "label": tf.constant(labels if with_labels else [0] * count, tf.int32),
    }
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if not cache:
        dataset = batching.shuffle_repeat(dataset, count)
    dataset = _images.decode_stage(dataset, [("path", "image", "ok")], ordered, spec.skip_corrupt)

    def transform(element):
        image = _images.decoded(element, "path", "image", "ok", spec.skip_corrupt)
        image = spec.transform(image, element["path"], expected_size, reason)
        return (image, element["label"]) if with_labels else image

    dataset = dataset.map(graph_fn(transform), num_parallel_calls=AUTOTUNE, deterministic=ordered)
    if cache:
        dataset = batching.shuffle_repeat(dataset.cache(), count)
    return batching.batch_prefetch(dataset)


def read_uint8(files, labels, spec: ImageSpec, description: str):
    """Image files -> uint8 numpy images (and int32 labels when ``labels`` is not None),
    in file order: ``spec`` without scaling, resized pixels rounded."""
    unscaled = dataclasses.replace(spec, scale=False)
    dataset = image_file_dataset(files, labels, unscaled, Batching.in_order(256),
                                 description=description)
    batches = list(dataset)
    if labels is None:
        return as_uint8(batches)
    images = as_uint8([b[0] for b in batches])
    found = (np.concatenate([b[1].numpy() for b in batches]) if batches
             else np.zeros((0,), np.int32))
    return images, found.astype(np.int32)
