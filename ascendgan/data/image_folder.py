"""Any folder of JPEG / PNG / BMP images: flat, nested, or one sub-folder per class."""

from __future__ import annotations

import tensorflow as tf

from ascendgan.data import _files, _images, _pipeline
from ascendgan.data._image_pipeline import ImageSpec, image_file_dataset, read_uint8
from ascendgan.data._images import IMAGE_EXTENSIONS
from ascendgan.data.errors import DataFormatError
from ascendgan.validation import check_bool

__all__ = ["IMAGE_EXTENSIONS", "image_folder", "image_folder_arrays", "list_image_files"]


def check_class_folders(path, class_names, files, labels, num_classes):
    """DataFormatError naming the folder, the class sub-folders whose labels are
    ``>= num_classes``, how many images they hold and one of them (labels of class
    folders are never negative). Nothing to check when ``num_classes`` is None."""
    if num_classes is None or class_names is None or len(class_names) <= num_classes:
        return
    outside = [(f, label) for f, label in zip(files, labels) if label >= num_classes]
    extra = list(class_names[num_classes:])
    raise DataFormatError(
        f"{path!r} has {len(class_names)} class sub-folders (labels 0..{len(class_names) - 1}) "
        f"but num_classes={num_classes}: {len(outside)} images have labels outside "
        f"[0, {num_classes}) (label values {num_classes}..{len(class_names) - 1}: sub-folders "
        f"{extra[:5]}{' ...' if len(extra) > 5 else ''}, e.g. {outside[0][0]!r}). Remove "
        f"those sub-folders, pass `class_names`, or use a model with num_classes="
        f"{len(class_names)}."
    )


def list_image_files(path, with_labels=False, class_names=None):
    """Lists the images of a folder, sorted, with class labels from sub-folder names.

    Files ending in ``.jpg``, ``.jpeg``, ``.png`` or ``.bmp`` (any case) count as images;
    hidden files and folders (names starting with ``.``) are skipped.

    - ``with_labels=False``: every image under ``path``, in any sub-folder depth.
    - ``with_labels=True``: one sub-folder of ``path`` per class; the images of a class are
      those anywhere under its sub-folder; images directly in ``path`` are ignored.
      Labels number the classes in sorted order of their names (as Keras's
      ``image_dataset_from_directory`` does), or in the order of ``class_names``.

    Args:
        path: the folder (local or any ``tf.io.gfile`` file system).
        with_labels: derive labels from class sub-folders.
        class_names: with ``with_labels``, the class sub-folders to use, in label order
            (None: all sub-folders, sorted).

    Returns:
        ``(files, labels, class_names)``: a list of paths; a list of int labels (None
        without labels); a tuple of class names (None without labels).

    Raises:
        DatasetNotFoundError: ``path`` does not exist.
        DataFormatError: no images, no class sub-folders, an empty class sub-folder, or a
            ``class_names`` entry with no sub-folder; the message names the folder.

    Example:

    >>> import os, tempfile
    >>> import numpy as np
    >>> import tensorflow as tf
    >>> from ascendgan.data import list_image_files
    >>> root = tempfile.mkdtemp()
    >>> for name in ("dog/1.png", "cat/2.png", "cat/3.png"):
    ...     os.makedirs(os.path.join(root, os.path.dirname(name)), exist_ok=True)
    ...     tf.io.write_file(os.path.join(root, name),
    ...                      tf.io.encode_png(np.zeros((4, 4, 3), np.uint8)))
    >>> files, labels, names = list_image_files(root, with_labels=True)
    >>> [os.path.basename(f) for f in files], labels, names
    (['2.png', '3.png', '1.png'], [0, 0, 1], ('cat', 'dog'))
    """
    path = _files.as_path(path)
    with_labels = check_bool("with_labels", with_labels)
    _images.require_folder(path, "image folder")
    if not with_labels:
        if class_names is not None:
            raise ValueError(
                "`class_names` needs with_labels=True (it names the class sub-folders). "
                f"Received: class_names={class_names!r} with with_labels=False"
            )
        files = _images.walk_images(path)
        if not files:
            raise _images.no_images_error(path, recursive=True)
        return files, None, None

    present = _images.subfolders(path)
    if class_names is None:
        if not present:
            loose = [n for n in tf.io.gfile.listdir(path) if _images.is_image_name(n)]
            hint = (
                f" It holds {len(loose)} images directly; pass with_labels=False to read them "
                "without labels."
                if loose
                else ""
            )
            raise DataFormatError(
                f"with_labels=True expects one sub-folder per class in {path!r}, found no "
                f"sub-folders.{hint}"
            )
        class_names = tuple(present)
    else:
        if isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names):
            raise TypeError(
                "`class_names` must be a list of sub-folder names. Received: "
                f"class_names={class_names!r}"
            )
        class_names = tuple(class_names)
        if len(set(class_names)) != len(class_names) or not class_names:
            raise ValueError(
                "`class_names` must be a non-empty list of distinct names. Received: "
                f"class_names={class_names!r}"
            )
        missing = [c for c in class_names if c not in present]
        if missing:
            raise DataFormatError(
                f"class_names {missing} have no sub-folder in {path!r}; its sub-folders are "
                f"{present}."
            )
    files, labels = [], []
    for label, name in enumerate(class_names):
        found = _images.walk_images(_files.join(path, name))
        if not found:
            raise DataFormatError(
                f"The class sub-folder {_files.join(path, name)!r} (class {label}, {name!r}) "
                f"holds no images (files ending in {IMAGE_EXTENSIONS}). Remove it or pass "
                "`class_names` without it."
            )
        files.extend(found)
        labels.extend([label] * len(found))
    return files, labels, class_names


def _listed(path, with_labels, class_names, limit, num_classes=None):
    """:func:`list_image_files` keeping the first ``limit`` files; with ``num_classes``,
    every class (before the limit) must have a label below it."""
    limit = _pipeline.check_limit(limit)
    num_classes = _pipeline.check_num_classes(num_classes)
    files, labels, names = list_image_files(path, with_labels=with_labels, class_names=class_names)
    check_class_folders(path, names, files, labels, num_classes)
    return _pipeline.apply_limit(files, limit), _pipeline.apply_limit(labels, limit), names


def image_folder(
    path,
    image_size=None,
    center_crop=None,
    channels=3,
    with_labels=False,
    skip_corrupt=False,
    batch_size=64,
    shuffle=True,
    seed=None,
    drop_remainder=True,
    repeat=False,
    class_names=None,
    crop_to_aspect_ratio=False,
    interpolation="bilinear",
    cache=False,
    limit=None,
    num_classes=None,
):
    """A folder of images as a ``tf.data.Dataset`` of batches in [-1, 1].

    Files are listed by :func:`list_image_files` (flat or nested folders; with
    ``with_labels``, one sub-folder per class). Each image is decoded in parallel, then:

    1. channels: ``channels=3`` keeps RGB images and **converts greyscale images to RGB**
       by replicating the grey channel (a deliberate, documented conversion);
       ``channels=1`` accepts greyscale only. Any other channel count (grey + alpha, RGBA,
       RGB when ``channels=1``) is an error naming the file: alpha is never dropped
       silently.
    2. ``center_crop``: the centred window of that size (offsets rounded down), as the
       DCGAN CelebA setup crops 108x108 faces before resizing to 64x64.
    3. ``crop_to_aspect_ratio``: the largest centred window with the aspect ratio of
       ``image_size`` (so the resize does not distort).
    4. ``image_size``: resize with ``interpolation`` (antialiased when shrinking).
       Without ``image_size`` every image must have the same size (the size of the first
       file, or ``center_crop``); a file of another size is an error naming it.

    Errors found while the pipeline runs (a file that does not decode, wrong channels,
    wrong size) raise ``tf.errors.InvalidArgumentError`` whose message names the file.
    With ``skip_corrupt=True`` files that cannot be read or decoded are dropped instead,
    each with a :class:`CorruptImageWarning`; wrong channels or sizes still raise.

    The returned dataset has the attributes ``class_names`` (a tuple, or None) and
    ``file_paths`` (the sorted list of files), as Keras's ``image_dataset_from_directory``.

    Args:
        path: the folder (local or any ``tf.io.gfile`` file system).
        image_size: None, an int (square) or ``(height, width)`` to resize to.
        center_crop: None, an int (square) or ``(height, width)`` to crop the centre to.
        channels: 3 (RGB) or 1 (greyscale).
        with_labels: yield ``(images, labels)`` with labels from class sub-folders.
        skip_corrupt: drop undecodable files with a warning instead of raising.
        batch_size: images per batch.
        shuffle: shuffle the files every pass.
        seed: seed of the shuffle (None: a different order every run).
        drop_remainder: drop the last, smaller batch.
        repeat: repeat forever.
        class_names: with ``with_labels``, the class sub-folders to use, in label order.
        crop_to_aspect_ratio: crop to the aspect ratio of ``image_size`` before resizing.
        interpolation: resize method: ``"bilinear"``, ``"nearest"``, ``"bicubic"``,
            ``"area"``, ``"lanczos3"``, ``"lanczos5"``, ``"gaussian"``, ``"mitchellcubic"``.
        cache: keep the decoded, resized images in memory after the first pass (for
            folders that fit in memory; the shuffle then works on decoded images).
        limit: use only the first ``limit`` files (sorted order, before shuffling; with
            class sub-folders these are the first classes). None: all.
        num_classes: with ``with_labels``, the classes of the model the labels are for:
            more class sub-folders than ``num_classes`` (labels outside
            ``[0, num_classes)``) is a :class:`DataFormatError` naming the folder and the
            extra sub-folders. None: any number of classes.

    Returns:
        A ``tf.data.Dataset`` of float32 images ``(batch, height, width, channels)`` in
        [-1, 1], or ``(images, labels)`` with int32 labels.

    Raises:
        DatasetNotFoundError / DataFormatError: eagerly, for a missing or empty folder,
            class sub-folders beyond ``num_classes``, or a first file that cannot be
            decoded when its size is needed.

    Example:

    >>> import ascendgan
    >>> ds = ascendgan.data.image_folder("celeba/img_align_celeba", center_crop=108,
    ...                                  image_size=64)          # doctest: +SKIP
    """
    path = _files.as_path(path)
    spec = ImageSpec(channels=channels, image_size=image_size, center_crop=center_crop,
                     crop_to_aspect_ratio=crop_to_aspect_ratio, interpolation=interpolation,
                     skip_corrupt=skip_corrupt)
    batching = _pipeline.Batching(batch_size, shuffle, seed, drop_remainder, repeat)
    cache = check_bool("cache", cache)
    files, labels, names = _listed(path, with_labels, class_names, limit, num_classes)
    dataset = image_file_dataset(
        files, labels, spec, batching, description=f"the image folder {path!r}", cache=cache
    )
    dataset.class_names = names
    dataset.file_paths = files
    return dataset


def image_folder_arrays(
    path,
    image_size=None,
    center_crop=None,
    channels=3,
    with_labels=False,
    skip_corrupt=False,
    class_names=None,
    crop_to_aspect_ratio=False,
    interpolation="bilinear",
    limit=None,
):
    """A folder of images as numpy arrays, in file order (sorted, class by class).

    Same listing, channel rules, cropping and resizing as :func:`image_folder`, but the
    images stay on the 0..255 scale: resized pixels are rounded to uint8.

    Args:
        path: the folder.
        image_size: None, an int or ``(height, width)`` to resize to.
        center_crop: None, an int or ``(height, width)`` to crop the centre to.
        channels: 3 or 1.
        with_labels: also return labels from class sub-folders.
        skip_corrupt: drop undecodable files with a warning instead of raising.
        class_names: with ``with_labels``, the class sub-folders, in label order.
        crop_to_aspect_ratio: crop to the aspect ratio of ``image_size`` before resizing.
        interpolation: resize method (see :func:`image_folder`).
        limit: use only the first ``limit`` files (sorted order, before shuffling; with
            class sub-folders these are the first classes). None: all.

    Returns:
        uint8 images ``(count, height, width, channels)``, or ``(images, labels)`` with
        int32 labels when ``with_labels``.

    Example:

    >>> from ascendgan.data import image_folder_arrays
    >>> images = image_folder_arrays("cats", image_size=64,
    ...                              crop_to_aspect_ratio=True)    # doctest: +SKIP
    """
    path = _files.as_path(path)
    spec = ImageSpec(channels=channels, image_size=image_size, center_crop=center_crop,
                     crop_to_aspect_ratio=crop_to_aspect_ratio, interpolation=interpolation,
                     skip_corrupt=skip_corrupt)
    files, labels, _ = _listed(path, with_labels, class_names, limit)
    return read_uint8(files, labels, spec, f"the image folder {path!r}")
