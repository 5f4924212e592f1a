"""ImageNet (ILSVRC-2012) for classifiers: an image folder or TFRecord files, with the
standard training crop and evaluation resize.

Two layouts are read:

* ``folder``: ``<path>/train/<class>/*.JPEG`` and ``<path>/val/<class>/*.JPEG`` (``val`` may
  be called ``validation``); a class is a sub-folder (a WordNet synset such as
  ``n01440764``). Labels number the classes in sorted order of their names, or in the
  order of a synset mapping file (:func:`read_synsets`).
* ``tfrecord``: ``<path>/train-*`` and ``<path>/validation-*`` (or ``val-*``) files of
  ``tf.train.Example`` records with the standard features ``image/encoded`` (JPEG / PNG
  bytes) and ``image/class/label`` (int64). The files written by TensorFlow's
  ``build_imagenet_data.py`` number the classes 1 ... 1000 (0 was a background class), so
  ``label_offset=-1`` (the default) makes them 0 ... 999.

:func:`imagenet` yields ``(images, labels)`` batches, float32 images in [-1, 1] and int32
labels. Training images get a random resized crop (a window of 8 % to 100 % of the image's
area with an aspect ratio in [3/4, 4/3], resized to ``image_size``); evaluation images are
resized so that their shorter side is ``eval_resize`` (aspect ratio kept) and the centred
``image_size`` square is cut. Flips and AutoAugment are batch operations
(``ascendgan.augment``) applied by the trainer after this.

Example:

>>> from ascendgan.data import imagenet
>>> train = imagenet("/data/imagenet", "train", batch_size=128, seed=0)   # doctest: +SKIP
>>> images, labels = next(iter(train))                                   # doctest: +SKIP
>>> images.shape                                                          # doctest: +SKIP
TensorShape([128, 224, 224, 3])
"""

from __future__ import annotations

import random

import tensorflow as tf

from ascendgan.data import _files, _images
from ascendgan.data._pipeline import AUTOTUNE, Batching, graph_fn, to_signed_unit
from ascendgan.data.errors import DataFormatError, DatasetNotFoundError
from ascendgan.data.image_folder import check_class_folders, list_image_files
from ascendgan.validation import check_bool, check_choice, check_int

__all__ = [
    "IMAGENET_FORMATS",
    "epoch_order",
    "IMAGENET_SPLITS",
    "imagenet",
    "imagenet_files",
    "random_resized_crop",
    "read_synsets",
    "resize_and_center_crop",
]

#: Layouts :func:`imagenet` reads (``"auto"`` picks the one present).
IMAGENET_FORMATS = ("auto", "folder", "tfrecord")
#: Splits, and the folder / file-name prefixes that hold them.
IMAGENET_SPLITS = {"train": ("train",), "val": ("val", "validation")}


# ----------------------------------------------------------------------------- listing


def read_synsets(path):
    """The class names of a synset mapping file, in label order.

    Each non-empty line starts with a synset (a class sub-folder name). A line whose
    second (last) token is an integer gives that label (``n01440764 0``); otherwise the
    line order gives the labels (``LOC_synset_mapping.txt``: ``n01440764 tench, Tinca
    tinca``, or one synset per line).

    Args:
        path: the mapping file (any ``tf.io.gfile`` path).

    Raises:
        DatasetNotFoundError: the file does not exist.
        DataFormatError: a synset appears twice, or explicit labels are not 0 ... n-1
            once each; the message names the file and the line.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "synsets.txt")
    >>> _ = open(path, "w").write("n01440764 tench, Tinca tinca\nn01443537 goldfish\n")
    >>> read_synsets(path)
    ['n01440764', 'n01443537']
    """
    path = _files.as_path(path, "synsets")
    text = _files.read_bytes(path).decode("utf-8")
    rows = [(number, line.split()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    explicit = [len(tokens) == 2 and tokens[1].lstrip("-").isdigit() for _, tokens in rows]
    if any(explicit) and not all(explicit):
        raise DataFormatError(f"The synset file {path!r} mixes lines with and without a label; "
                              "give every line `<synset> <label>` or none.")
    names = {}
    for index, (number, tokens) in enumerate(rows):
        label = int(tokens[1]) if explicit[index] else index
        if tokens[0] in names.values() or label in names:
            raise DataFormatError(f"The synset file {path!r}, line {number}: synset {tokens[0]!r} "
                                  f"or label {label} appears twice.")
        names[label] = tokens[0]
    if sorted(names) != list(range(len(names))):
        raise DataFormatError(f"The synset file {path!r}: the labels must be 0 ... {len(names) - 1}, "
                              f"each once. Found: {sorted(names)[:8]}...")
    return tuple(names[label] for label in range(len(names)))


def _split_folder(path, split):
    for name in IMAGENET_SPLITS[split]:
        candidate = _files.join(path, name)
        if _files.isdir(candidate):
            return candidate
    return None


def _record_files(path, split):
    if not _files.isdir(path):
        return sorted(tf.io.gfile.glob(path))  # a pattern or a single file
    for prefix in IMAGENET_SPLITS[split]:
        found = sorted(tf.io.gfile.glob(_files.join(path, f"{prefix}-*")))
        if found:
            return found
    return []


def imagenet_files(path, split="train", format="auto", synsets=None):  # noqa: A002
    """The files of a split and how to read them.

    Args:
        path: the data folder (or, for TFRecords, a file pattern).
        split: ``"train"`` or ``"val"``.
        format: ``"auto"``, ``"folder"`` or ``"tfrecord"`` (see the module documentation).
        synsets: folder layout only: a synset mapping file or a list of class names in
            label order (default: the sorted sub-folders of the split).

    Returns:
        ``(format, files, labels, class_names)``: the layout found; image files or TFRecord
        files; one label per image (``None`` for TFRecords); the class names (``None`` for
        TFRecords).

    Raises:
        DatasetNotFoundError: the split is not there; the message lists where it looked.
        DataFormatError: a class of ``synsets`` has no sub-folder, or a class folder is empty.

    Example:

    >>> kind, files = imagenet_files("/data/imagenet", split="validation")  # doctest: +SKIP
    """
    path = _files.as_path(path)
    check_choice("split", split, tuple(IMAGENET_SPLITS))
    check_choice("format", format, IMAGENET_FORMATS)
    folder = _split_folder(path, split) if format in ("auto", "folder") and _files.isdir(path) else None
    if folder is not None:
        names = read_synsets(synsets) if isinstance(synsets, (str, bytes)) or hasattr(synsets, "__fspath__") \
            else synsets
        files, labels, class_names = list_image_files(folder, with_labels=True, class_names=names)
        return "folder", files, labels, class_names
    records = _record_files(path, split) if format in ("auto", "tfrecord") else []
    if records:
        return "tfrecord", records, None, None
    looked = [f"{path}/{name}/<class>/" for name in IMAGENET_SPLITS[split]] if format != "tfrecord" else []
    if format != "folder":
        looked += [f"{path}/{prefix}-*" for prefix in IMAGENET_SPLITS[split]]
    raise DatasetNotFoundError(
        f"ImageNet split {split!r} was not found (format={format!r}); looked for {looked}. Give the "
        "folder holding train/ and val/ class sub-folders, or the TFRecord files train-* / "
        "validation-* written by TensorFlow's build_imagenet_data.py.")


# ----------------------------------------------------------------------------- geometry


def random_resized_crop(image, size, seed, area_range=(0.08, 1.0), aspect_ratio_range=(0.75, 4 / 3)):
    """A random window of ``image`` resized to ``size`` x ``size``: the window covers a
    fraction in ``area_range`` of the image's area with a width / height ratio in
    ``aspect_ratio_range`` (the whole image when 10 draws fail), drawn from the stateless
    ``seed`` (int [2]).

    Args:
        image: ``(height, width, channels)``, any dtype on the 0..255 scale.

    Returns:
        float32 ``(size, size, channels)`` on the 0..255 scale.
    """
    begin, window, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=seed,
        min_object_covered=0.0, aspect_ratio_range=aspect_ratio_range, area_range=area_range,
        max_attempts=10, use_image_if_no_bounding_boxes=True)
    cropped = tf.slice(image, begin, window)
    return tf.ensure_shape(_images.resize(cropped, (size, size), "bilinear"), [size, size, None])


def resize_and_center_crop(image, size, resize):
    """Resizes ``image`` so that its shorter side is ``resize`` (aspect ratio kept, the
    other side rounded), then cuts the centred ``size`` x ``size`` square (offsets rounded
    down).

    Returns:
        float32 ``(size, size, channels)`` on the 0..255 scale.
    """
    shape = tf.cast(tf.shape(image)[:2], tf.float64)
    scale = resize / tf.reduce_min(shape)
    new = tf.cast(tf.maximum(tf.round(shape * scale), float(size)), tf.int32)
    resized = _images.resize(image, new, "bilinear")
    top, left = (new[0] - size) // 2, (new[1] - size) // 2
    return tf.ensure_shape(tf.slice(resized, [top, left, 0], [size, size, -1]), [size, size, None])


# ----------------------------------------------------------------------------- the pipeline


def epoch_order(indices, shuffle=True, seed=None, repeat=False):
    """A dataset of ``indices`` (ints), one pass per epoch, shuffled when ``shuffle``.

    With ``repeat`` the epochs follow each other forever, epoch ``e`` in the order of a
    stateless permutation keyed by ``(seed, e)``: a pure function of the seed, so every
    iterator of the dataset, including the copy ``tf.distribute`` makes of a pipeline
    (which re-seeds ``Dataset.shuffle``), sees the same sequence, and one device and
    several replicas train on the same batches. Without ``repeat``: one epoch, in a new
    order every time the dataset is iterated (``Dataset.random`` draws).

    Args:
        indices: the indices of one epoch.
        shuffle: permute them (False: their order).
        seed: the seed (None: a random one, drawn now).
        repeat: an endless sequence of epochs.

    Example:

    >>> order = epoch_order(range(4), seed=0, repeat=True)
    >>> epochs = [int(i) for i in order.take(8)]
    >>> sorted(epochs[:4]), sorted(epochs[4:])
    ([0, 1, 2, 3], [0, 1, 2, 3])
    """
    indices = tf.constant(list(indices), tf.int64)
    count = int(indices.shape[0])
    dataset = tf.data.Dataset.from_tensor_slices(indices)
    if not shuffle:
        return dataset.repeat() if repeat else dataset
    if repeat:
        base = tf.constant(random.SystemRandom().randrange(2**62) if seed is None else seed, tf.int64)
        epochs = tf.data.Dataset.range(2**62)
    else:
        base = tf.constant(0, tf.int64)
        epochs = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)

    def permute(epoch):
        key = tf.stack([base, epoch])
        return tf.data.Dataset.from_tensor_slices(tf.random.experimental.stateless_shuffle(indices, key))

    dataset = epochs.flat_map(graph_fn(permute))
    return dataset.apply(tf.data.experimental.assert_cardinality(
        tf.data.INFINITE_CARDINALITY if repeat else count))


def _label_check(label, num_classes, source):
    check = _images.assert_that(
        tf.logical_and(label >= 0, label < num_classes),
        f"ascendgan.data: ImageNet {source} has the label ",
        _images.number(label),
        f", outside [0, {num_classes}) (num_classes={num_classes}; for TFRecords with labels "
        "1 ... 1000 keep label_offset=-1, for 0-based ones pass label_offset=0).",
    )
    return _images.after(label, check)


def _record_elements(files, shard, buffer, batching):
    dataset = tf.data.TFRecordDataset(files, num_parallel_reads=AUTOTUNE)
    if shard is not None:
        dataset = dataset.shard(*shard)
    features = {"image/encoded": tf.io.FixedLenFeature([], tf.string),
                "image/class/label": tf.io.FixedLenFeature([], tf.int64)}

    def parse(record):
        example = tf.io.parse_single_example(record, features)
        return {"data": example["image/encoded"], "label": example["image/class/label"]}

    dataset = batching.shuffle_repeat(dataset.map(graph_fn(parse), num_parallel_calls=AUTOTUNE), buffer)
    return dataset


def imagenet(path, split="train", *, format="auto", training=None, batch_size=128,  # noqa: A002
             image_size=224, eval_resize=256, shuffle=None, seed=None, drop_remainder=None,
             repeat=False, synsets=None, label_offset=-1, num_classes=1000, shard=None,
             shuffle_buffer=10000, listing=None):
    """ImageNet batches ``(images in [-1, 1], int32 labels)`` with the standard crops.

    Args:
        path: the data folder (``train/``, ``val/`` class sub-folders, or ``train-*`` /
            ``validation-*`` TFRecords), or a TFRecord file pattern.
        split: ``"train"`` or ``"val"``.
        format: ``"auto"``, ``"folder"`` or ``"tfrecord"``.
        training: the random resized crop (True) or the evaluation resize and centre crop
            (False); default: ``split == "train"``.
        batch_size: examples per batch (on one process: the batch of this process).
        image_size: side of the square output images (224).
        eval_resize: shorter side before the centre crop in evaluation (256; >= image_size).
        shuffle: shuffle (default: ``training``): folders fully, every epoch in a new order
            (:func:`epoch_order`), TFRecords through a buffer of ``shuffle_buffer`` records.
        seed: seed of the shuffle and of the crops (None: different every run).
        drop_remainder: drop the last, smaller batch (default: ``training``).
        repeat: repeat forever (folders: epochs in the seed's fixed sequence of orders, the
            same under ``tf.distribute``).
        synsets: folder layout: a synset mapping file or class names in label order.
        label_offset: added to TFRecord labels (-1: ``build_imagenet_data.py``'s 1 ... 1000).
        num_classes: labels must be in ``[0, num_classes)`` (an error names the file or
            record source otherwise).
        shard: ``(count, index)``: keep every ``count``-th example from ``index`` on (one
            process of a data-parallel job).
        shuffle_buffer: TFRecord shuffle buffer.
        listing: the result of :func:`imagenet_files` for this ``path`` and ``split``, to
            not list a large folder twice.

    Returns:
        a ``tf.data.Dataset`` of ``(float32 (b, image_size, image_size, 3), int32 (b,))``.

    Example:

    >>> train = imagenet("/data/imagenet", "train", batch_size=128, seed=0)  # doctest: +SKIP
    >>> images, labels = next(iter(train))  # (128, 224, 224, 3) in [-1, 1], (128,)  # doctest: +SKIP
    """
    check_choice("split", split, tuple(IMAGENET_SPLITS))
    training = split == "train" if training is None else check_bool("training", training)
    image_size = check_int("image_size", image_size, minimum=1)
    eval_resize = check_int("eval_resize", eval_resize, minimum=image_size)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    label_offset = check_int("label_offset", label_offset)
    shuffle_buffer = check_int("shuffle_buffer", shuffle_buffer, minimum=1)
    if shard is not None:
        if not (isinstance(shard, (tuple, list)) and len(shard) == 2):
            raise ValueError(f"`shard` must be None or (count, index). Received: shard={shard!r}")
        count = check_int("shard count", shard[0], minimum=1)
        shard = (count, check_int("shard index", shard[1], minimum=0, maximum=count - 1))
    batching = Batching(batch_size=batch_size, shuffle=training if shuffle is None else shuffle,
                        seed=seed, drop_remainder=training if drop_remainder is None else drop_remainder,
                        repeat=repeat)
    layout, files, labels, class_names = listing or imagenet_files(path, split, format, synsets)
    if layout == "folder":
        description = f"the ImageNet {split} folder {path!r}"
        check_class_folders(path, class_names, files, labels, num_classes)
        kept = range(len(files)) if shard is None else range(shard[1], len(files), shard[0])
        batching.check_enough(len(kept), description)
        paths, classes = tf.constant(files), tf.constant(labels, tf.int64)
        dataset = epoch_order(kept, batching.shuffle, batching.seed, batching.repeat).map(
            graph_fn(lambda i: {"path": tf.gather(paths, i), "label": tf.gather(classes, i)}))
        dataset = _images.decode_stage(dataset, [("path", "image", "ok")], batching.deterministic, False)
        source = "the folder"
    else:
        dataset = _record_elements(files, shard, shuffle_buffer, batching)
        source = f"TFRecord files {files[0]!r}{' ...' if len(files) > 1 else ''}"
    # the crop of the n-th example of a pass is keyed by (seed, n): a pure function of the
    # seed, the same in every copy of the pipeline
    base = batching.derived_seed(1)
    base = tf.constant(random.SystemRandom().randrange(2**62) if base is None else base, tf.int64)
    dataset = tf.data.Dataset.zip((dataset, tf.data.Dataset.counter()))

    def example(element, position):
        seed = tf.stack([base, position])
        if layout == "folder":
            image = _images.fix_channels(_images.decoded(element, "path", "image", "ok", False),
                                         element["path"], 3)
            label = element["label"]
        else:
            image = tf.io.decode_image(element["data"], channels=3, expand_animations=False)
            label = element["label"] + label_offset
        label = _label_check(label, num_classes, source)
        if training:
            image = random_resized_crop(image, image_size, seed)
        else:
            image = resize_and_center_crop(image, image_size, eval_resize)
        return to_signed_unit(tf.ensure_shape(image, [image_size, image_size, 3])), tf.cast(label, tf.int32)

    dataset = dataset.map(graph_fn(example), num_parallel_calls=AUTOTUNE, deterministic=batching.deterministic)
    return batching.batch_prefetch(dataset)
