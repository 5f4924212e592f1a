"""Graph-side image handling shared by the folder, CIFAR-10 folder and paired loaders:
listing image files, decoding in parallel with errors that name the file, channel
conversion, cropping, resizing and random jitter.

Decoding inside ``tf.data`` fails lazily, and TensorFlow's own decode errors do not say
which file failed. Every file is therefore decoded in a one-element inner dataset with
``ignore_errors()`` followed by a sentinel, so a failure becomes a ``False`` flag next to the
file's path; the outer pipeline then raises an error naming the file (or, with
``skip_corrupt=True``, drops it with a :class:`CorruptImageWarning`). Everything stays
TensorFlow ops; Python runs only to emit the warning for a skipped file.
"""

from __future__ import annotations

import dataclasses
import warnings

import tensorflow as tf

from ascendgan.data import _files
from ascendgan.data._pipeline import AUTOTUNE, Batching, graph_fn
from ascendgan.data.errors import CorruptImageWarning, DataFormatError, DatasetNotFoundError
from ascendgan.validation import check_bool, check_int

#: File extensions read as images (compared case-insensitively).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")

INTERPOLATIONS = (
    "bilinear",
    "nearest",
    "bicubic",
    "area",
    "lanczos3",
    "lanczos5",
    "gaussian",
    "mitchellcubic",
)


# ----------------------------------------------------------------------------- listing


def is_image_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def walk_images(folder: str) -> list[str]:
    """Image files under ``folder`` (recursively, hidden entries skipped), sorted."""
    found = []
    for root, dirs, names in tf.io.gfile.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.rstrip("/").startswith("."))
        found.extend(_files.join(root, n) for n in names if is_image_name(n))
    return sorted(found)


def subfolders(folder: str) -> list[str]:
    """Names of the non-hidden sub-folders of ``folder``, sorted."""
    names = []
    for name in tf.io.gfile.listdir(folder):
        name = name.rstrip("/")
        if not name.startswith(".") and tf.io.gfile.isdir(_files.join(folder, name)):
            names.append(name)
    return sorted(names)


def require_folder(path: str, what: str):
    if not tf.io.gfile.exists(path):
        raise DatasetNotFoundError(f"{what}: {path!r} does not exist.")
    if not tf.io.gfile.isdir(path):
        raise NotADirectoryError(f"{what}: {path!r} is a file; expected a folder of images.")


def no_images_error(path: str, recursive: bool) -> DataFormatError:
    where = "in it or its sub-folders" if recursive else "in it"
    others = []
    for _root, _dirs, names in tf.io.gfile.walk(path):
        others.extend(n for n in names if not n.startswith("."))
        if len(others) >= 3:
            break
    seen = f" It holds other files, e.g. {others[:3]}." if others else " It is empty."
    return DataFormatError(
        f"No images found in {path!r}: looked for files ending in {IMAGE_EXTENSIONS} "
        f"(any case) {where}.{seen}"
    )


# ----------------------------------------------------------------------------- messages


def _text(part):
    return part if isinstance(part, tf.Tensor) else tf.constant(str(part))


def assert_that(condition, *parts):
    """An Assert op whose message is the concatenation of ``parts`` (strings / tensors)."""
    message = tf.strings.join([_text(p) for p in parts])
    return tf.debugging.Assert(condition, [message], summarize=1)


def after(value, *ops):
    with tf.control_dependencies(list(ops)):
        return tf.identity(value)


def number(tensor):
    return tf.strings.as_string(tensor)


# ----------------------------------------------------------------------------- decoding


def decode_file(path):
    """Reads and decodes one image file: ``(uint8 image with its own channels, True)``."""
    data = tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=0, dtype=tf.uint8, expand_animations=False)
    return image, tf.constant(True)


def _decode_one(dataset, path_key: str, image_key: str, ok_key: str, deterministic: bool):
    """Adds the decoded image (uint8, any channels) and an ok flag to dict elements."""

    def one(element):
        decoded = (
            tf.data.Dataset.from_tensors(element[path_key]).map(graph_fn(decode_file)).ignore_errors()
        )
        failed = tf.data.Dataset.from_tensors((tf.zeros([1, 1, 1], tf.uint8), tf.constant(False)))
        flagged = decoded.concatenate(failed).take(1)

        def attach(image, ok):
            out = dict(element)
            out[image_key] = image
            out[ok_key] = ok
            return out

        return flagged.map(graph_fn(attach))

    return dataset.interleave(
        graph_fn(one), num_parallel_calls=AUTOTUNE, deterministic=deterministic
    )


def decode_stage(dataset, keys, deterministic: bool, skip_corrupt: bool):
    """Decodes the files of dict elements in parallel.

    ``keys`` lists ``(path_key, image_key, ok_key)`` triples: each adds the decoded image
    (uint8, any channels) and an ok flag. With ``skip_corrupt``, elements holding a file
    that does not decode are dropped with a :class:`CorruptImageWarning` naming it;
    otherwise :func:`decoded` raises on them. Without skipping, every element yields
    exactly one output, so the input's cardinality is restored (``interleave`` forgets
    it, and Keras warns about datasets of unknown size).
    """
    cardinality = dataset.cardinality()
    for path_key, image_key, ok_key in keys:
        dataset = _decode_one(dataset, path_key, image_key, ok_key, deterministic)
    if skip_corrupt:
        return _skip_undecoded(dataset, [(path_key, ok_key) for path_key, _, ok_key in keys])
    if int(cardinality) == tf.data.UNKNOWN_CARDINALITY:
        return dataset
    return dataset.apply(tf.data.experimental.assert_cardinality(cardinality))


def _warn_skipped(path):
    name = path.numpy().decode("utf-8", errors="replace")
    warnings.warn(
        f"ascendgan.data: skipped the image file {name!r}: it could not be read or decoded "
        "(corrupt, truncated or not an image).",
        CorruptImageWarning,
        stacklevel=1,
    )
    return False


def _skip_undecoded(dataset, pairs):
    """Drops elements whose image failed to decode, with a CorruptImageWarning naming it.
    ``pairs`` lists ``(path_key, ok_key)``."""

    def keep(element):
        result = tf.constant(True)
        for path_key, ok_key in pairs:
            ok = element[ok_key]
            flag = tf.cond(
                ok,
                lambda: tf.constant(True),
                lambda p=element[path_key]: tf.reshape(
                    tf.py_function(_warn_skipped, [p], tf.bool), []
                ),
            )
            result = tf.logical_and(result, flag)
        return result

    return dataset.filter(graph_fn(keep))


def decoded(element, path_key: str, image_key: str, ok_key: str, skip_corrupt: bool):
    """The decoded image of a :func:`decode_stage` element; without ``skip_corrupt``, once
    its decode flag is checked (InvalidArgumentError naming the file)."""
    image = element[image_key]
    if skip_corrupt:  # undecodable files were dropped already
        return image
    check = assert_that(
        element[ok_key],
        "ascendgan.data: could not read or decode the image file ",
        element[path_key],
        " (corrupt, truncated or not a JPEG/PNG/BMP image). Remove or replace it, or pass "
        "skip_corrupt=True to skip unreadable files with a warning.",
    )
    return after(image, check)


def fix_channels(image, path, channels: int):
    """Checks (and, for greyscale -> RGB, converts) the channels of a decoded image.

    channels=3 accepts 1 channel (replicated to RGB) and 3 channels; channels=1 accepts
    1 channel only. Anything else (grey + alpha, RGBA, RGB for channels=1) raises
    InvalidArgumentError naming the file.
    """
    found = tf.shape(image)[2]
    if channels == 3:
        check = assert_that(
            tf.logical_or(tf.equal(found, 1), tf.equal(found, 3)),
            "ascendgan.data: the image file ",
            path,
            " has ",
            number(found),
            " channels; channels=3 accepts RGB (3 channels) or greyscale (1 channel, "
            "replicated to RGB) images. Save it as RGB without an alpha channel.",
        )
        image = after(image, check)
        image = tf.cond(tf.equal(found, 1), lambda: tf.tile(image, [1, 1, 3]), lambda: image)
    else:
        check = assert_that(
            tf.equal(found, 1),
            "ascendgan.data: the image file ",
            path,
            " has ",
            number(found),
            " channels; channels=1 expects greyscale (1-channel) images. Pass channels=3 for "
            "colour images.",
        )
        image = after(image, check)
    return tf.ensure_shape(image, [None, None, channels])


def check_shape(image, path, size, reason: str):
    """InvalidArgumentError naming the file when ``image`` is not ``size`` (h, w)."""
    shape = tf.shape(image)
    check = assert_that(
        tf.logical_and(tf.equal(shape[0], size[0]), tf.equal(shape[1], size[1])),
        "ascendgan.data: the image file ",
        path,
        " is ",
        number(shape[0]),
        "x",
        number(shape[1]),
        f" (height x width); expected {size[0]}x{size[1]} {reason}.",
    )
    image = after(image, check)
    return tf.ensure_shape(image, [size[0], size[1], image.shape[-1]])


def center_crop(image, path, size):
    """The centred ``size`` window (offsets rounded down); error naming the file when the
    image is smaller."""
    shape = tf.shape(image)
    check = assert_that(
        tf.logical_and(shape[0] >= size[0], shape[1] >= size[1]),
        "ascendgan.data: the image file ",
        path,
        " is ",
        number(shape[0]),
        "x",
        number(shape[1]),
        f" (height x width), smaller than center_crop={size[0]}x{size[1]}.",
    )
    image = after(image, check)
    top = (shape[0] - size[0]) // 2
    left = (shape[1] - size[1]) // 2
    cropped = tf.slice(image, [top, left, 0], [size[0], size[1], -1])
    return tf.ensure_shape(cropped, [size[0], size[1], image.shape[-1]])


def crop_to_aspect(image, size):
    """The largest centred window with the aspect ratio of ``size`` (h, w)."""
    shape = tf.shape(image)
    height = tf.cast(shape[0], tf.float64)
    width = tf.cast(shape[1], tf.float64)
    ratio = size[1] / size[0]
    crop_h = tf.cast(tf.minimum(height, tf.round(width / ratio)), tf.int32)
    crop_w = tf.cast(tf.minimum(width, tf.round(height * ratio)), tf.int32)
    crop_h = tf.maximum(crop_h, 1)
    crop_w = tf.maximum(crop_w, 1)
    top = (shape[0] - crop_h) // 2
    left = (shape[1] - crop_w) // 2
    cropped = tf.slice(image, [top, left, 0], [crop_h, crop_w, -1])
    return tf.ensure_shape(cropped, [None, None, image.shape[-1]])


def resize(image, size, interpolation: str):
    """Float32 resize (antialiased when shrinking), clipped to the 0..255 range."""
    image = tf.image.resize(tf.cast(image, tf.float32), size, method=interpolation, antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)


@dataclasses.dataclass(frozen=True)
class Jitter:
    """The pix2pix random jitter, applied identically to the images of one example:
    resize to ``load_size``, random crop to ``crop_size``, random horizontal flip
    (appendix 6.2 of pix2pix). Constructing it checks the sizes (ValueError naming them).

    Args:
        load_size: size to resize to before the random crop, >= ``crop_size``.
        crop_size: output size (square).
        jitter: random crop from ``load_size``; False: a plain resize to ``crop_size``.
        flip: random horizontal mirroring.

    Example:

    >>> Jitter(load_size=286, crop_size=256).crop_size
    256
    """

    load_size: int = 286
    crop_size: int = 256
    jitter: bool = True
    flip: bool = True

    def __post_init__(self):
        load_size = check_int("load_size", self.load_size, minimum=1)
        crop_size = check_int("crop_size", self.crop_size, minimum=1)
        if load_size < crop_size:
            raise ValueError(
                "`load_size` must be >= `crop_size` (images are resized to load_size, then "
                f"randomly cropped to crop_size). Received: load_size={load_size}, "
                f"crop_size={crop_size}"
            )
        object.__setattr__(self, "load_size", load_size)
        object.__setattr__(self, "crop_size", crop_size)
        check_bool("jitter", self.jitter)
        check_bool("flip", self.flip)

    def apply(self, stack, seed):
        """``stack`` (k, h, w, c), float on the 0..255 scale -> (k, crop_size, crop_size, c),
        every image with the same crop and flip, drawn from the stateless ``seed`` ([2])."""
        size = self.load_size if self.jitter else self.crop_size
        stack = tf.image.resize(stack, [size, size], method="bilinear", antialias=True)
        stack = tf.clip_by_value(stack, 0.0, 255.0)
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        if self.jitter and self.load_size != self.crop_size:
            shape = tf.shape(stack)
            stack = tf.image.stateless_random_crop(
                stack, size=tf.stack([shape[0], self.crop_size, self.crop_size, shape[3]]),
                seed=crop_seed,
            )
        if self.flip:
            mirror = tf.random.stateless_uniform([], seed=flip_seed) < 0.5
            stack = tf.cond(mirror, lambda: tf.reverse(stack, axis=[2]), lambda: stack)
        return tf.ensure_shape(stack, [None, self.crop_size, self.crop_size, stack.shape[-1]])


def seeded_elements(elements, count: int, batching: Batching, description: str):
    """Dict ``elements`` of ``count`` files -> a shuffled (and repeated) dataset whose
    elements carry a ``seed`` entry (int64 [2]) for stateless random ops: a fixed sequence
    for a given ``batching.seed`` (different every pass), random when None."""
    batching.check_enough(count, description)
    dataset = batching.shuffle_repeat(tf.data.Dataset.from_tensor_slices(elements), count)
    seeds = tf.data.Dataset.random(
        seed=batching.derived_seed(1), rerandomize_each_iteration=True
    ).batch(2)
    return tf.data.Dataset.zip((dataset, seeds)).map(graph_fn(lambda e, s: {**e, "seed": s}))
