"""Paired images for Pix2Pix: ``(source, target)`` batches in [-1, 1].

- :func:`paired_images` reads the pix2pix data sets: side-by-side ``A|B`` files (the
  facades layout), or two folders ``A/`` and ``B/`` of same-named files.

It applies the pix2pix random jitter to source and target together: resize to
``load_size``, random crop to ``crop_size``, random horizontal flip. :mod:`edges` makes
``(edges, photo)`` pairs from a folder of photos with the same jitter.
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan.data import _files, _images, _pipeline
from ascendgan.data._image_pipeline import probe
from ascendgan.data.errors import DataFormatError
from ascendgan.data.image_folder import list_image_files
from ascendgan.validation import check_bool, check_choice

__all__ = ["DIRECTIONS", "paired_images"]

DIRECTIONS = ("AtoB", "BtoA")


# ----------------------------------------------------------------------------- listing


def _stem(relative: str) -> str:
    return relative.rsplit(".", 1)[0]


def _relative(files, folder):
    prefix = folder.rstrip("/") + "/"
    return {_stem(f[len(prefix) :] if f.startswith(prefix) else f): f for f in files}


def _list_pairs(path: str):
    """-> ("side_by_side", files) or ("folders", (a_files, b_files))."""
    _images.require_folder(path, "paired image folder")
    subs = _images.subfolders(path)
    loose = [n for n in tf.io.gfile.listdir(path) if _images.is_image_name(n)]
    if "A" in subs and "B" in subs and not loose:
        a_dir, b_dir = _files.join(path, "A"), _files.join(path, "B")
        a_files = _relative(list_image_files(a_dir)[0], a_dir)
        b_files = _relative(list_image_files(b_dir)[0], b_dir)
        only_a = sorted(set(a_files) - set(b_files))
        only_b = sorted(set(b_files) - set(a_files))
        if only_a or only_b:
            raise DataFormatError(
                f"The paired folders {a_dir!r} and {b_dir!r} must hold the same file names "
                f"(extensions may differ). Only in A: {only_a[:5]}"
                f"{' ...' if len(only_a) > 5 else ''}; only in B: {only_b[:5]}"
                f"{' ...' if len(only_b) > 5 else ''}."
            )
        keys = sorted(a_files)
        return "folders", ([a_files[k] for k in keys], [b_files[k] for k in keys])
    return "side_by_side", list_image_files(path)[0]


# ----------------------------------------------------------------------------- shapes
#
# The pix2pix jitter resizes both images of a pair to load_size x load_size, so a pair is
# two square images of one size: an A|B file is twice as wide as high, A/ and B/ files are
# square and equal. The first file (pair) is checked eagerly (DataFormatError); every file
# is checked again in the pipeline (InvalidArgumentError naming it).


def _side_by_side_error(path, height, width):
    return (
        f"The paired image file {path!r} is {height}x{width} (height x width); a side-by-side "
        f"A|B file must be twice as wide as high (two square halves, width = 2 x height = "
        f"{2 * height}), since both halves are resized to load_size x load_size."
    )


def _folders_error(path_a, size_a, path_b, size_b):
    if size_a != size_b:
        return (
            f"The paired images {path_a!r} ({size_a[0]}x{size_a[1]}) and {path_b!r} "
            f"({size_b[0]}x{size_b[1]}) differ in size; the A and B images of a pair must "
            "have the same height and width."
        )
    return (
        f"The paired images {path_a!r} and {path_b!r} are {size_a[0]}x{size_a[1]} (height x "
        "width); A/B pairs must be square, since both are resized to load_size x load_size. "
        "Crop them to squares first."
    )


def _first_size(paths, channels, skip_corrupt):
    """Sizes of the first file(s) that decode (all of ``paths`` for a pair); None if none."""
    for group in paths:
        sizes = [probe(p, channels, undecodable_ok=skip_corrupt) for p in group]
        if all(size is not None for size in sizes):
            return group, sizes
    return None, None


def _check_first(layout, found, channels, skip_corrupt):
    """DataFormatError naming the file(s) when the first pair is not two equal squares."""
    if layout == "side_by_side":
        group, sizes = _first_size([[f] for f in found], channels, skip_corrupt)
        if group and sizes[0][1] != 2 * sizes[0][0]:
            raise DataFormatError(_side_by_side_error(group[0], *sizes[0]))
        return
    group, sizes = _first_size(list(zip(*found)), channels, skip_corrupt)
    if group and (sizes[0] != sizes[1] or sizes[0][0] != sizes[0][1]):
        raise DataFormatError(_folders_error(group[0], sizes[0], group[1], sizes[1]))


# ----------------------------------------------------------------------------- layouts


def _side_by_side(files, channels, batching, skip_corrupt, description):
    """A|B files -> elements ``(a, b, seed)``: the two halves of each file (uint8)."""
    dataset = _images.seeded_elements({"path": tf.constant(files)}, len(files), batching,
                                      description)
    dataset = _images.decode_stage(dataset, [("path", "image", "ok")], batching.deterministic,
                                   skip_corrupt)

    def halves(element):
        path = element["path"]
        image = _images.decoded(element, "path", "image", "ok", skip_corrupt)
        height, width = tf.shape(image)[0], tf.shape(image)[1]
        check = _images.assert_that(
            tf.equal(width, 2 * height),
            "ascendgan.data: the paired image file ",
            path,
            " is ",
            _images.number(height),
            "x",
            _images.number(width),
            " (height x width); a side-by-side A|B file must be twice as wide as high (two "
            "square halves, width = 2 x height).",
        )
        image = _images.after(image, check)
        half = width // 2
        a = _images.fix_channels(image[:, :half], path, channels)
        b = _images.fix_channels(image[:, half:], path, channels)
        return a, b, element["seed"]

    return dataset.map(_pipeline.graph_fn(halves), num_parallel_calls=_pipeline.AUTOTUNE,
                       deterministic=batching.deterministic)


def _two_folders(a_files, b_files, channels, batching, skip_corrupt, description):
    """Same-named files of ``A/`` and ``B/`` -> elements ``(a, b, seed)`` (uint8)."""
    elements = {"path_a": tf.constant(a_files), "path_b": tf.constant(b_files)}
    dataset = _images.seeded_elements(elements, len(a_files), batching, description)
    keys = [("path_a", "image_a", "ok_a"), ("path_b", "image_b", "ok_b")]
    dataset = _images.decode_stage(dataset, keys, batching.deterministic, skip_corrupt)

    def both(element):
        a = _images.decoded(element, *keys[0], skip_corrupt)
        b = _images.decoded(element, *keys[1], skip_corrupt)
        shape_a, shape_b = tf.shape(a), tf.shape(b)
        check = _images.assert_that(
            tf.reduce_all(tf.equal(shape_a[:2], shape_b[:2])),
            "ascendgan.data: the paired images ",
            element["path_a"],
            " (",
            _images.number(shape_a[0]),
            "x",
            _images.number(shape_a[1]),
            ") and ",
            element["path_b"],
            " (",
            _images.number(shape_b[0]),
            "x",
            _images.number(shape_b[1]),
            ") differ in size; the A and B images of a pair must have the same height "
            "and width.",
        )
        square = _images.assert_that(
            tf.equal(shape_a[0], shape_a[1]),
            "ascendgan.data: the paired images ",
            element["path_a"],
            " and ",
            element["path_b"],
            " are ",
            _images.number(shape_a[0]),
            "x",
            _images.number(shape_a[1]),
            " (height x width); A/B pairs must be square, since both are resized to "
            "load_size x load_size.",
        )
        a = _images.after(a, check, square)
        a = _images.fix_channels(a, element["path_a"], channels)
        b = _images.fix_channels(b, element["path_b"], channels)
        return a, b, element["seed"]

    return dataset.map(_pipeline.graph_fn(both), num_parallel_calls=_pipeline.AUTOTUNE,
                       deterministic=batching.deterministic)


# ----------------------------------------------------------------------------- public API


def paired_images(
    path,
    direction="AtoB",
    load_size=286,
    crop_size=256,
    jitter=True,
    flip=True,
    channels=3,
    batch_size=1,
    shuffle=True,
    seed=None,
    drop_remainder=True,
    repeat=False,
    skip_corrupt=False,
    limit=None,
):
    """Paired images as a ``tf.data.Dataset`` of ``(source, target)`` batches in [-1, 1].

    Two layouts are read:

    - side by side (the pix2pix data sets, e.g. ``facades/train/*.jpg``): each file holds
      A in its left half and B in its right half, two squares: the width must be twice
      the height (512x256 for facades), otherwise an error names the file.
    - two folders ``path/A/`` and ``path/B/`` of files with the same names (extensions may
      differ), as before pix2pix's ``combine_A_and_B``; both images of a pair must be
      square and of the same size, otherwise an error names both files.

    Pairs must be squares because the jitter resizes them to ``load_size`` x
    ``load_size``: anything else would be distorted silently. The first file (or pair) is
    checked when the dataset is made (:class:`DataFormatError`); every file is checked
    again while iterating (``tf.errors.InvalidArgumentError`` naming it).

    ``direction="AtoB"`` yields ``(A, B)``, ``"BtoA"`` yields ``(B, A)`` (facades is
    photo | labels, and the pix2pix facades model maps labels to photos: ``"BtoA"``).

    Each pair is resized (both images to ``load_size`` x ``load_size`` with ``jitter``,
    else to ``crop_size`` x ``crop_size``), randomly cropped to ``crop_size`` with
    ``jitter``, and mirrored with probability 1/2 with ``flip``: source and target always
    get the same crop and the same flip (the paper's random jitter, appendix 6.2). For
    testing, pass ``jitter=False, flip=False, shuffle=False``.

    Args:
        path: the folder of A|B files, or holding ``A/`` and ``B/``.
        direction: ``"AtoB"`` or ``"BtoA"``.
        load_size: size to resize to before the random crop (286 in the paper).
        crop_size: output size (256).
        jitter: random crop from ``load_size`` (else a plain resize to ``crop_size``).
        flip: random horizontal mirroring of each pair.
        channels: 3 (greyscale files are replicated to RGB) or 1.
        batch_size: pairs per batch (1 in the paper).
        shuffle: shuffle the files every pass.
        seed: seed of the shuffle and the jitter (None: different every run).
        drop_remainder: drop the last, smaller batch.
        repeat: repeat forever.
        skip_corrupt: drop undecodable files with a warning instead of raising.
        limit: use only the first ``limit`` files (sorted order, before shuffling). None: all.

    Returns:
        A ``tf.data.Dataset`` of ``(source, target)``, each float32
        ``(batch, crop_size, crop_size, channels)`` in [-1, 1].

    Raises:
        DataFormatError: at the call, when the first A|B file is not twice as wide as high
            or the first A/B pair is not two equal squares (naming the file or files), or
            the A/ and B/ file names differ.

    Example:

    >>> import ascendgan
    >>> pairs = ascendgan.data.paired_images("facades/train", direction="BtoA")  # doctest: +SKIP
    >>> gan = ascendgan.models.pix2pix("facades"); gan.compile()                 # doctest: +SKIP
    >>> gan.fit(pairs, epochs=200)                                               # doctest: +SKIP

    Reference:
        Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional Adversarial
        Networks", arXiv:1611.07004 (appendix 6.2: random jitter).
    """
    path = _files.as_path(path)
    check_choice("direction", direction, DIRECTIONS)
    jittering = _images.Jitter(load_size, crop_size, jitter, flip)
    channels = _pipeline.check_channels(channels)
    batching = _pipeline.Batching(batch_size, shuffle, seed, drop_remainder, repeat)
    skip_corrupt = check_bool("skip_corrupt", skip_corrupt)
    limit = _pipeline.check_limit(limit)
    description = f"the paired image folder {path!r}"
    layout, found = _list_pairs(path)
    _check_first(layout, found, channels, skip_corrupt)
    if layout == "side_by_side":
        files = _pipeline.apply_limit(found, limit)
        dataset = _side_by_side(files, channels, batching, skip_corrupt, description)
    else:
        a_files, b_files = (_pipeline.apply_limit(f, limit) for f in found)
        dataset = _two_folders(a_files, b_files, channels, batching, skip_corrupt, description)

    def jitter_pair(a, b, seed_pair):
        source, target = (a, b) if direction == "AtoB" else (b, a)
        stack = tf.stack([tf.cast(source, tf.float32), tf.cast(target, tf.float32)])
        stack = _pipeline.to_signed_unit(jittering.apply(stack, seed_pair))
        return stack[0], stack[1]

    dataset = dataset.map(_pipeline.graph_fn(jitter_pair), num_parallel_calls=_pipeline.AUTOTUNE,
                          deterministic=batching.deterministic)
    return batching.batch_prefetch(dataset)
