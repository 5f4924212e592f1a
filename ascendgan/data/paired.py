"""Paired images for Pix2Pix: ``(source, target)`` batches in [-1, 1].

- :func:`paired_images` reads the pix2pix data sets: side-by-side ``A|B`` files (the
  facades layout), or two folders ``A/`` and ``B/`` of same-named files.
- :func:`edge_pairs` makes ``(edges, photo)`` pairs from any folder of photos, the way
  pix2pix's edges2cats / edges2shoes sets were made, with the edge detector
  :func:`edge_map` (dark lines on white).

Both apply the pix2pix random jitter to source and target together: resize to
``load_size``, random crop to ``crop_size``, random horizontal flip.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from ascendgan.data import _files, _images, _pipeline
from ascendgan.data.errors import DataFormatError
from ascendgan.data.image_folder import list_image_files

__all__ = ["DIRECTIONS", "edge_map", "edge_pairs", "paired_images"]

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


# ----------------------------------------------------------------------------- edges


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(math.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


def _check_edge_args(threshold, blur_sigma, threshold_name):
    try:
        threshold, blur_sigma = float(threshold), float(blur_sigma)
    except (TypeError, ValueError):
        threshold = blur_sigma = float("nan")
    if not threshold > 0:
        raise ValueError(
            f"`{threshold_name}` must be a number > 0. Received: {threshold_name}={threshold!r}"
        )
    if not blur_sigma >= 0:
        raise ValueError(f"`blur_sigma` must be a number >= 0. Received: blur_sigma={blur_sigma!r}")
    return threshold, blur_sigma


def edge_map(images, threshold=0.1, blur_sigma=1.0):
    """Binary edge drawings of images: dark lines (-1) on white (+1).

    The images are converted to grey (ITU-R 601 luma) on a 0..1 scale, smoothed with a
    Gaussian of standard deviation ``blur_sigma`` pixels (normalized at borders), and their
    Sobel gradient magnitude divided by 4 is compared with ``threshold``; with that scale
    a step between grey levels ``a`` and ``b`` has magnitude ``|a - b|`` at the step, so
    ``threshold`` is the smallest contrast (on 0..1) drawn as a line. Pixels at or above it
    are lines. The result looks like the line drawings of pix2pix's edges2* sets, from
    TensorFlow ops only (the originals used the HED network).

    Args:
        images: ``(batch, height, width, channels)`` or ``(height, width, channels)`` in
            [-1, 1], with 1 or 3 channels.
        threshold: the contrast (0..1) above which a pixel is drawn as a line.
        blur_sigma: Gaussian smoothing before the Sobel filter, in pixels (0: none).

    Returns:
        float32 of the input's shape with 1 channel: -1 on lines, +1 elsewhere.

    Example:

    >>> import numpy as np
    >>> from ascendgan.data import edge_map
    >>> step = np.ones((1, 8, 8, 1)) * np.where(np.arange(8) < 4, -1.0, 1.0)[:, None]
    >>> edge_map(step, threshold=0.5, blur_sigma=0)[0, 0, :, 0].numpy()
    array([ 1.,  1.,  1., -1., -1.,  1.,  1.,  1.], dtype=float32)

    Reference:
        I. Sobel, G. Feldman, "A 3x3 isotropic gradient operator for image processing"
        (1968); pix2pix edges2* data: Isola et al., arXiv:1611.07004, section 4.
    """
    threshold, blur_sigma = _check_edge_args(threshold, blur_sigma, "threshold")
    images = tf.convert_to_tensor(images)
    images = tf.cast(images, tf.float32)
    single = images.shape.rank == 3
    if single:
        images = images[tf.newaxis]
    if images.shape.rank != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "`images` must be (batch, height, width, 1 or 3) or (height, width, 1 or 3). "
            f"Received: shape {images.shape}"
        )
    grey = (images + 1.0) / 2.0
    if grey.shape[-1] == 3:
        grey = tf.image.rgb_to_grayscale(grey)
    if blur_sigma > 0:
        # Normalized convolution: blur(x) / blur(1) with zero padding, so borders keep
        # their level and images of any size work.
        kernel = _gaussian_kernel(float(blur_sigma))
        rows, cols = kernel.reshape(-1, 1, 1, 1), kernel.reshape(1, -1, 1, 1)

        def blur(x):
            x = tf.nn.conv2d(x, rows, 1, "SAME")
            return tf.nn.conv2d(x, cols, 1, "SAME")

        grey = blur(grey) / blur(tf.ones_like(grey))
    gradients = tf.image.sobel_edges(grey)  # (..., 1, 2): d/dy, d/dx
    magnitude = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=-1)) / 4.0
    edges = tf.where(magnitude >= threshold, -1.0, 1.0)
    return edges[0] if single else edges


# ----------------------------------------------------------------------------- common


def _check_sizes(load_size, crop_size):
    load_size = _pipeline.check_int("load_size", load_size)
    crop_size = _pipeline.check_int("crop_size", crop_size)
    if load_size < crop_size:
        raise ValueError(
            "`load_size` must be >= `crop_size` (images are resized to load_size, then "
            f"randomly cropped to crop_size). Received: load_size={load_size}, "
            f"crop_size={crop_size}"
        )
    return load_size, crop_size


def _jitter_stack(stack, *, load_size, crop_size, jitter, flip, seed):
    """Resize (to load_size with jitter, else crop_size), random crop, random flip, all
    applied identically to the images of ``stack`` (k, h, w, c) (float 0..255)."""
    size = load_size if jitter else crop_size
    stack = tf.image.resize(stack, [size, size], method="bilinear", antialias=True)
    stack = tf.clip_by_value(stack, 0.0, 255.0)
    crop = (crop_size, crop_size) if jitter and load_size != crop_size else None
    stack = _images.random_crop_flip(stack, crop, seed, flip)
    return tf.ensure_shape(stack, [None, crop_size, crop_size, stack.shape[-1]])


def _start(elements, count, *, batch_size, shuffle, seed, drop_remainder, repeat, what):
    _pipeline.check_enough(count, batch_size, drop_remainder, what)
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    dataset = _pipeline.shuffle_repeat(dataset, count, shuffle, seed, repeat)
    return _images.with_random_seeds(dataset, _pipeline.derived_seed(seed, 1))


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
      A in its left half and B in its right half. The width must be even; an odd width
      is an error naming the file.
    - two folders ``path/A/`` and ``path/B/`` of files with the same names (extensions may
      differ), as before pix2pix's ``combine_A_and_B``; both images of a pair must have
      the same size, otherwise an error names both files.

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
    _pipeline.check_choice("direction", direction, DIRECTIONS)
    load_size, crop_size = _check_sizes(load_size, crop_size)
    jitter = _pipeline.check_bool("jitter", jitter)
    flip = _pipeline.check_bool("flip", flip)
    channels = _pipeline.check_channels(channels)
    batch_size, shuffle, seed, drop_remainder, repeat = _pipeline.check_common(
        batch_size, shuffle, seed, drop_remainder, repeat
    )
    skip_corrupt = _pipeline.check_bool("skip_corrupt", skip_corrupt)
    limit = _pipeline.check_limit(limit)
    ordered = _pipeline.deterministic(shuffle, seed)
    layout, found = _list_pairs(path)
    if layout == "side_by_side":
        found = _pipeline.apply_limit(found, limit)
    else:
        found = tuple(_pipeline.apply_limit(f, limit) for f in found)
    common = dict(
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        repeat=repeat,
        what=f"the paired image folder {path!r}",
    )
    if layout == "side_by_side":
        dataset = _start({"path": tf.constant(found)}, len(found), **common)
        dataset = _images.decode_stage(dataset, "path", "image", "ok", ordered)
        if skip_corrupt:
            dataset = _images.skip_stage(dataset, [("path", "ok")])

        def halves(element):
            path_t, image = element["path"], element["image"]
            if not skip_corrupt:
                image = _images.require_decoded(image, element["ok"], path_t)
            width = tf.shape(image)[1]
            check = _images.assert_that(
                tf.equal(width % 2, 0),
                "ascendgan.data: the paired image file ",
                path_t,
                " is ",
                _images.number(width),
                " pixels wide; a side-by-side A|B pair needs an even width (two halves of "
                "equal width).",
            )
            image = _images.after(image, check)
            half = width // 2
            a = _images.fix_channels(image[:, :half], path_t, channels)
            b = _images.fix_channels(image[:, half:], path_t, channels)
            return a, b, element["seed"]

        dataset = dataset.map(
            _pipeline.graph_fn(halves), num_parallel_calls=_pipeline.AUTOTUNE, deterministic=ordered
        )
    else:
        a_files, b_files = found
        elements = {"path_a": tf.constant(a_files), "path_b": tf.constant(b_files)}
        dataset = _start(elements, len(a_files), **common)
        dataset = _images.decode_stage(dataset, "path_a", "image_a", "ok_a", ordered)
        dataset = _images.decode_stage(dataset, "path_b", "image_b", "ok_b", ordered)
        if skip_corrupt:
            dataset = _images.skip_stage(dataset, [("path_a", "ok_a"), ("path_b", "ok_b")])

        def both(element):
            a, b = element["image_a"], element["image_b"]
            if not skip_corrupt:
                a = _images.require_decoded(a, element["ok_a"], element["path_a"])
                b = _images.require_decoded(b, element["ok_b"], element["path_b"])
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
            a = _images.after(a, check)
            a = _images.fix_channels(a, element["path_a"], channels)
            b = _images.fix_channels(b, element["path_b"], channels)
            return a, b, element["seed"]

        dataset = dataset.map(
            _pipeline.graph_fn(both), num_parallel_calls=_pipeline.AUTOTUNE, deterministic=ordered
        )

    def jitter_pair(a, b, seed_pair):
        source, target = (a, b) if direction == "AtoB" else (b, a)
        stack = tf.stack([tf.cast(source, tf.float32), tf.cast(target, tf.float32)])
        stack = _jitter_stack(
            stack,
            load_size=load_size,
            crop_size=crop_size,
            jitter=jitter,
            flip=flip,
            seed=seed_pair,
        )
        stack = _pipeline.to_signed_unit(stack)
        return stack[0], stack[1]

    dataset = dataset.map(
        _pipeline.graph_fn(jitter_pair),
        num_parallel_calls=_pipeline.AUTOTUNE,
        deterministic=ordered,
    )
    return _pipeline.batch_prefetch(dataset, batch_size, drop_remainder)


def edge_pairs(
    path,
    load_size=286,
    crop_size=256,
    jitter=True,
    flip=True,
    crop_to_aspect_ratio=True,
    edge_threshold=0.1,
    blur_sigma=1.0,
    edge_channels=3,
    channels=3,
    batch_size=1,
    shuffle=True,
    seed=None,
    drop_remainder=True,
    repeat=False,
    skip_corrupt=False,
    limit=None,
):
    """``(edges, photo)`` pairs made from any folder of photos, for Pix2Pix.

    Each photo is read (any folder layout, see :func:`list_image_files`), cropped to a
    centred square (``crop_to_aspect_ratio``), jittered as in :func:`paired_images`
    (resize to ``load_size``, random crop to ``crop_size``, random flip; or a plain resize
    to ``crop_size`` without ``jitter``), and its edges are drawn by :func:`edge_map`
    *after* the jitter, so they line up with the photo exactly. This gives a real paired
    task (edges -> photo, like pix2pix's edges2cats) when no paired set exists.

    Args:
        path: the folder of photos.
        load_size: size to resize to before the random crop (286 as in pix2pix).
        crop_size: output size, square (256).
        jitter: random crop from ``load_size`` (else a plain resize to ``crop_size``).
        flip: random horizontal mirroring.
        crop_to_aspect_ratio: crop the centred square first (else stretch).
        edge_threshold: :func:`edge_map` ``threshold`` (contrast 0..1 drawn as a line).
        blur_sigma: :func:`edge_map` ``blur_sigma``.
        edge_channels: 3 (grey lines replicated to RGB, as the edges2* files) or 1.
        channels: channels of the photos: 3, or 1 for greyscale.
        batch_size: pairs per batch.
        shuffle: shuffle the files every pass.
        seed: seed of the shuffle and the jitter.
        drop_remainder: drop the last, smaller batch.
        repeat: repeat forever.
        skip_corrupt: drop undecodable files with a warning instead of raising.
        limit: use only the first ``limit`` files (sorted order, before shuffling). None: all.

    Returns:
        A ``tf.data.Dataset`` of ``(edges, photos)``: float32
        ``(batch, crop_size, crop_size, edge_channels)`` in {-1, 1} and
        ``(batch, crop_size, crop_size, channels)`` in [-1, 1].

    Example:

    >>> import ascendgan
    >>> pairs = ascendgan.data.edge_pairs("cats", crop_size=256)          # doctest: +SKIP
    >>> gan = ascendgan.models.pix2pix("facades"); gan.compile()           # doctest: +SKIP
    >>> gan.fit(pairs, epochs=10)                                          # doctest: +SKIP
    """
    path = _files.as_path(path)
    load_size, crop_size = _check_sizes(load_size, crop_size)
    jitter = _pipeline.check_bool("jitter", jitter)
    flip = _pipeline.check_bool("flip", flip)
    crop_to_aspect_ratio = _pipeline.check_bool("crop_to_aspect_ratio", crop_to_aspect_ratio)
    if edge_channels not in (1, 3) or isinstance(edge_channels, bool):
        raise ValueError(
            f"`edge_channels` must be 1 or 3. Received: edge_channels={edge_channels!r}"
        )
    channels = _pipeline.check_channels(channels)
    batch_size, shuffle, seed, drop_remainder, repeat = _pipeline.check_common(
        batch_size, shuffle, seed, drop_remainder, repeat
    )
    skip_corrupt = _pipeline.check_bool("skip_corrupt", skip_corrupt)
    edge_threshold, blur_sigma = _check_edge_args(edge_threshold, blur_sigma, "edge_threshold")
    limit = _pipeline.check_limit(limit)
    ordered = _pipeline.deterministic(shuffle, seed)
    files = _pipeline.apply_limit(list_image_files(path)[0], limit)
    dataset = _start(
        {"path": tf.constant(files)},
        len(files),
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        repeat=repeat,
        what=f"the image folder {path!r}",
    )
    dataset = _images.decode_stage(dataset, "path", "image", "ok", ordered)
    if skip_corrupt:
        dataset = _images.skip_stage(dataset, [("path", "ok")])

    def make_pair(element):
        path_t, image = element["path"], element["image"]
        if not skip_corrupt:
            image = _images.require_decoded(image, element["ok"], path_t)
        image = _images.fix_channels(image, path_t, channels)
        if crop_to_aspect_ratio:
            image = _images.crop_to_aspect(image, (1, 1))
        stack = _jitter_stack(
            tf.cast(image, tf.float32)[tf.newaxis],
            load_size=load_size,
            crop_size=crop_size,
            jitter=jitter,
            flip=flip,
            seed=element["seed"],
        )
        photo = _pipeline.to_signed_unit(stack)
        edges = edge_map(photo, edge_threshold, blur_sigma)
        if edge_channels == 3:
            edges = tf.tile(edges, [1, 1, 1, 3])
        return edges[0], photo[0]

    dataset = dataset.map(
        _pipeline.graph_fn(make_pair), num_parallel_calls=_pipeline.AUTOTUNE, deterministic=ordered
    )
    return _pipeline.batch_prefetch(dataset, batch_size, drop_remainder)
