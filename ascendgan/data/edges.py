"""Edge drawings of photos, and ``(edges, photo)`` pairs for Pix2Pix.

- :func:`edge_map` draws the edges of images as dark lines on white, from TensorFlow ops;
- :func:`edge_pairs` makes ``(edges, photo)`` pairs from any folder of photos, the way
  pix2pix's edges2cats / edges2shoes sets were made, with the random jitter of
  :func:`~ascendgan.data.paired_images`.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from ascendgan.data import _files, _images, _pipeline
from ascendgan.data.image_folder import list_image_files
from ascendgan.validation import check_bool, check_number

__all__ = ["edge_map", "edge_pairs"]


# ----------------------------------------------------------------------------- edge maps


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(math.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


def _check_edge_arguments(threshold, blur_sigma, threshold_name):
    return (
        check_number(threshold_name, threshold, minimum=0, min_inclusive=False),
        check_number("blur_sigma", blur_sigma, minimum=0),
    )


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
    threshold, blur_sigma = _check_edge_arguments(threshold, blur_sigma, "threshold")
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


# ----------------------------------------------------------------------------- pairs


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
    jittering = _images.Jitter(load_size, crop_size, jitter, flip)
    crop_to_aspect_ratio = check_bool("crop_to_aspect_ratio", crop_to_aspect_ratio)
    edge_channels = _pipeline.check_channels(edge_channels, "edge_channels")
    channels = _pipeline.check_channels(channels)
    batching = _pipeline.Batching(batch_size, shuffle, seed, drop_remainder, repeat)
    skip_corrupt = check_bool("skip_corrupt", skip_corrupt)
    edge_threshold, blur_sigma = _check_edge_arguments(edge_threshold, blur_sigma, "edge_threshold")
    limit = _pipeline.check_limit(limit)
    files = _pipeline.apply_limit(list_image_files(path)[0], limit)
    dataset = _images.seeded_elements(
        {"path": tf.constant(files)}, len(files), batching, f"the image folder {path!r}"
    )
    dataset = _images.decode_stage(dataset, [("path", "image", "ok")], batching.deterministic,
                                   skip_corrupt)

    def make_pair(element):
        image = _images.decoded(element, "path", "image", "ok", skip_corrupt)
        image = _images.fix_channels(image, element["path"], channels)
        if crop_to_aspect_ratio:
            image = _images.crop_to_aspect(image, (1, 1))
        stack = jittering.apply(tf.cast(image, tf.float32)[tf.newaxis], element["seed"])
        photo = _pipeline.to_signed_unit(stack)
        edges = edge_map(photo, edge_threshold, blur_sigma)
        if edge_channels == 3:
            edges = tf.tile(edges, [1, 1, 1, 3])
        return edges[0], photo[0]

    dataset = dataset.map(_pipeline.graph_fn(make_pair), num_parallel_calls=_pipeline.AUTOTUNE,
                          deterministic=batching.deterministic)
    return batching.batch_prefetch(dataset)
