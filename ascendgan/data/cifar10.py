"""CIFAR-10 from the official python, binary or MATLAB batches, or from an image folder.

The three official archives (https://www.cs.toronto.edu/~kriz/cifar.html) hold five
training batches and one test batch of 10,000 images each:

- python (``cifar-10-batches-py``): pickled dicts ``data_batch_1`` .. ``data_batch_5``,
  ``test_batch`` with ``data`` (10000 x 3072 uint8) and ``labels`` (10000 ints), and
  ``batches.meta`` with the class names;
- binary (``cifar-10-batches-bin``): ``data_batch_N.bin``, ``test_batch.bin``, records of
  1 label byte followed by 3072 pixel bytes;
- MATLAB (``cifar-10-batches-mat``): ``data_batch_N.mat``, ``test_batch.mat`` with
  ``data`` (10000 x 3072 uint8) and ``labels`` (10000 x 1).

Each row of 3072 bytes is the red plane, then green, then blue, each 32 x 32 row-major
(channels first); the loaders return channels-last images.
"""

from __future__ import annotations

import io
import os
import pickle

import numpy as np

from ascendgan import compat
from ascendgan.data import _files, _images, _pipeline
from ascendgan.data._image_pipeline import ImageSpec, image_file_dataset, read_uint8
from ascendgan.data.errors import DataFormatError, DatasetNotFoundError
from ascendgan.data.image_folder import check_class_folders, list_image_files
from ascendgan.validation import check_bool, check_choice

__all__ = ["CIFAR10_CLASSES", "CIFAR10_FORMATS", "cifar10", "cifar10_arrays"]

#: The class names in label order (label 0 is "airplane").
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
CIFAR10_FORMATS = ("auto", "python", "binary", "mat", "folder")
CIFAR10_SPLITS = ("train", "test")

_RECORD = 3072  # 3 x 32 x 32 pixel bytes
#: The image-folder format: RGB files of exactly 32x32 pixels.
_FOLDER_IMAGES = ImageSpec(channels=3, expected_size=(32, 32))
_BATCHES = {
    "python": ("cifar-10-batches-py", "data_batch_{}", "test_batch"),
    "binary": ("cifar-10-batches-bin", "data_batch_{}.bin", "test_batch.bin"),
    "mat": ("cifar-10-batches-mat", "data_batch_{}.mat", "test_batch.mat"),
}

_HOW_TO_GET = (
    "Get CIFAR-10 by one of:\n"
    "  - passing download=True with path=None (downloads the python batches through "
    "keras.datasets.cifar10 into ~/.keras/datasets);\n"
    "  - downloading and extracting one of cifar-10-python.tar.gz, cifar-10-binary.tar.gz or "
    "cifar-10-matlab.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and passing the "
    "extracted folder as `path`;\n"
    "  - an image folder <path>/train/<class>/*.png and <path>/test/<class>/*.png with the "
    f'class sub-folders named {list(CIFAR10_CLASSES)} (format="folder").'
)


# ----------------------------------------------------------------------------- batch readers


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts of numpy arrays, lists and strings only: the CIFAR batches need no
    other class, and refusing the rest keeps a malicious pickle from running code."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR batch holds only numpy arrays, "
                "lists and strings"
            )
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = "numpy._core." + module[len("numpy.core.") :]
        return super().find_class(module, name)


def _read_python(path: str):
    data = _files.read_bytes(path)
    try:
        batch = _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as error:  # noqa: BLE001 - any failure means a bad file
        raise DataFormatError(
            f"{path!r} is not a readable CIFAR-10 python batch (a pickled dict with 'data' "
            f"and 'labels'); it may be truncated or corrupt: {type(error).__name__}: {error}"
        ) from error
    if not isinstance(batch, dict):
        raise DataFormatError(
            f"{path!r} must hold a pickled dict with 'data' and 'labels'. Found "
            f"{type(batch).__name__}."
        )

    def field(name):
        for key in (name.encode(), name):
            if key in batch:
                return batch[key]
        raise DataFormatError(
            f"{path!r} has no {name!r} entry; found keys {sorted(map(repr, batch))}."
        )

    return field("data"), field("labels")


def _read_binary(path: str):
    data = _files.read_bytes(path)
    record = _RECORD + 1
    if not data or len(data) % record:
        raise DataFormatError(
            f"{path!r} is truncated or not a CIFAR-10 binary batch: its size, {len(data)} "
            f"bytes, is not a positive multiple of {record} (1 label byte + {_RECORD} pixel "
            "bytes per image)."
        )
    rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    return rows[:, 1:], rows[:, 0]


def _read_mat(path: str):
    from scipy import io as scipy_io

    data = _files.read_bytes(path)
    try:
        batch = scipy_io.loadmat(io.BytesIO(data))
    except Exception as error:  # noqa: BLE001 - scipy raises several types for bad files
        raise DataFormatError(
            f"{path!r} is not a readable MATLAB .mat file (truncated or corrupt): "
            f"{type(error).__name__}: {error}"
        ) from error
    missing = [k for k in ("data", "labels") if k not in batch]
    if missing:
        found = sorted(k for k in batch if not k.startswith("__"))
        raise DataFormatError(f"{path!r} has no {missing} fields; found fields {found}.")
    return batch["data"], batch["labels"]


_READERS = {"python": _read_python, "binary": _read_binary, "mat": _read_mat}


def _to_images(path: str, data, labels, num_classes=None):
    data = np.asarray(data)
    labels = np.asarray(labels)
    if data.ndim != 2 or data.shape[1] != _RECORD or data.dtype != np.uint8:
        raise DataFormatError(
            f"{path!r}: 'data' must be uint8 of shape (count, {_RECORD}). Found "
            f"{data.dtype.name} of shape {data.shape}."
        )
    labels = labels.reshape(-1) if labels.ndim == 2 and 1 in labels.shape else labels
    if labels.ndim != 1 or len(labels) != len(data):
        raise DataFormatError(
            f"{path!r}: expected one label per image ({len(data)} labels). Found labels of "
            f"shape {labels.shape}."
        )
    labels = _pipeline.check_label_range(labels, len(CIFAR10_CLASSES), repr(path),
                                         "CIFAR-10's num_classes=10: classes 0..9")
    if num_classes is not None:
        _pipeline.check_label_range(labels, num_classes, repr(path), f"num_classes={num_classes}")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int32)


# ----------------------------------------------------------------------------- locating


def _batch_names(fmt: str, split: str):
    _, train, test = _BATCHES[fmt]
    return [train.format(i) for i in range(1, 6)] if split == "train" else [test]


def _locate_batches(path: str, fmt: str, split: str):
    """The batch files of ``split`` in ``path`` or its standard sub-folder; None when the
    first one is absent; DatasetNotFoundError when only some are there."""
    names = _batch_names(fmt, split)
    for folder in (path, _files.join(path, _BATCHES[fmt][0])):
        files = [_files.join(folder, n) for n in names]
        if _files.exists(files[0]):
            missing = [f for f in files if not _files.exists(f)]
            if missing:
                raise DatasetNotFoundError(
                    f"CIFAR-10 ({fmt} format) in {folder!r} is incomplete: missing {missing}. "
                    f"The {split} split needs {names}."
                )
            return files
    return None


def _locate_folder(path: str, split: str):
    for folder in (_files.join(path, split), _files.join(path, "cifar10", split)):
        if _files.isdir(folder):
            return folder
    return None


def _looked_for(path: str, fmt: str, split: str) -> str:
    if fmt == "folder":
        return f"{_files.join(path, split)}/<class>/ (or {_files.join(path, 'cifar10', split)}/<class>/)"
    names = _batch_names(fmt, split)
    return f"{names[0]}{' .. ' + names[-1] if len(names) > 1 else ''} in {path!r} or {_files.join(path, _BATCHES[fmt][0])!r}"


def _folder_classes(folder: str):
    present = _images.subfolders(folder)
    if set(present) == set(CIFAR10_CLASSES):
        return CIFAR10_CLASSES
    digits = tuple(str(i) for i in range(10))
    if set(present) == set(digits):
        return digits
    raise DataFormatError(
        f"The CIFAR-10 image folder {folder!r} must have one sub-folder per class, named "
        f"{list(CIFAR10_CLASSES)} (or 0..9). Found sub-folders {present}."
    )


def _resolve(path, split, fmt, download, num_classes=None):
    """-> ("arrays", (images, labels)) or ("folder", (files, labels)); labels checked to be
    in [0, 10) and, when given, [0, num_classes) (DataFormatError naming the file)."""
    check_choice("split", split, CIFAR10_SPLITS)
    check_choice("format", fmt, CIFAR10_FORMATS)
    download = check_bool("download", download)
    if path is None:
        if fmt not in ("auto", "python"):
            raise ValueError(
                f"path=None reads Keras's cached python batches; format={fmt!r} needs a `path`."
            )
        cache = _files.keras_datasets_dir()
        candidates = [
            os.path.join(cache, "cifar-10-batches-py"),
            os.path.join(cache, "cifar-10-batches-py-target", "cifar-10-batches-py"),
        ]
        for candidate in candidates:
            files = (
                _locate_batches(candidate, "python", split) if os.path.isdir(candidate) else None
            )
            if files:
                return "arrays", _read_all(files, "python", num_classes)
        if download:
            images, labels = _download(split)
            if num_classes is not None:
                _pipeline.check_label_range(labels, num_classes, "keras.datasets.cifar10",
                                            f"num_classes={num_classes}")
            return "arrays", (images, labels)
        raise DatasetNotFoundError(
            f"CIFAR-10 was not found: path=None and Keras's cache holds no python batches "
            f"(looked in {candidates}).\n{_HOW_TO_GET}"
        )
    path = _files.as_path(path)
    if not _files.isdir(path):
        raise DatasetNotFoundError(
            f"CIFAR-10 was not found: {path!r} is not an existing folder.\n{_HOW_TO_GET}"
        )
    formats = ("python", "binary", "mat", "folder") if fmt == "auto" else (fmt,)
    for candidate in formats:
        if candidate == "folder":
            folder = _locate_folder(path, split)
            if folder is not None:
                classes = _folder_classes(folder)
                files, labels, _ = list_image_files(folder, with_labels=True, class_names=classes)
                check_class_folders(folder, classes, files, labels, num_classes)
                return "folder", (files, labels)
        else:
            files = _locate_batches(path, candidate, split)
            if files:
                return "arrays", _read_all(files, candidate, num_classes)
    looked = "\n".join(f"  - {c}: {_looked_for(path, c, split)}" for c in formats)
    raise DatasetNotFoundError(
        f'CIFAR-10 split "{split}" was not found in {path!r}. Looked for:\n{looked}\n{_HOW_TO_GET}'
    )


def _read_all(files, fmt, num_classes=None):
    parts = [_to_images(f, *_READERS[fmt](f), num_classes=num_classes) for f in files]
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
    )


def _download(split):
    (x_train, y_train), (x_test, y_test) = compat.keras.datasets.cifar10.load_data()
    images, labels = (x_train, y_train) if split == "train" else (x_test, y_test)
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim == 4 and images.shape[1] == 3 and images.shape[-1] != 3:
        images = images.transpose(0, 2, 3, 1)  # Keras set to channels_first
    return np.ascontiguousarray(images), np.asarray(labels).reshape(-1).astype(np.int32)


# ----------------------------------------------------------------------------- public API


def cifar10_arrays(path=None, split="train", format="auto", download=False):  # noqa: A002
    """CIFAR-10 as numpy arrays: uint8 images ``(count, 32, 32, 3)`` and int32 labels.

    Reads the official python batches (a safe unpickler that accepts numpy arrays and
    plain containers only), the binary batches, the MATLAB batches (with
    ``scipy.io.loadmat``), or an image folder ``<path>/<split>/<class>/`` whose class
    sub-folders are named as :data:`CIFAR10_CLASSES` (or ``0`` .. ``9``). ``format="auto"``
    takes the first of python, binary, mat, folder found in ``path`` (the batch files may
    also sit in the archive's own sub-folder, e.g. ``<path>/cifar-10-batches-py``).

    With ``path=None`` the python batches in Keras's cache (``~/.keras/datasets``) are
    read; when they are missing, ``download=True`` downloads them through
    ``keras.datasets.cifar10``, otherwise a :class:`DatasetNotFoundError` says where the
    loader looked and how to get the data. Nothing is downloaded by default.

    Args:
        path: the folder holding the batches or the image folder, or None (Keras's cache).
        split: ``"train"`` (data_batch_1..5, 50,000 images) or ``"test"`` (test_batch).
        format: ``"auto"``, ``"python"``, ``"binary"``, ``"mat"`` or ``"folder"``.
        download: allow a download through Keras when ``path`` is None.

    Returns:
        ``(images, labels)``: uint8 ``(count, 32, 32, 3)`` channels-last and int32
        ``(count,)`` in 0..9.

    Raises:
        DatasetNotFoundError: no batches found (the message lists where it looked), or a
            batch missing from an otherwise present set.
        DataFormatError: a truncated or malformed batch file, or a label outside 0..9
            (the file is named in the message).

    Example:

    >>> from ascendgan.data import cifar10_arrays
    >>> images, labels = cifar10_arrays("cifar-10-batches-mat", format="mat")  # doctest: +SKIP
    """
    kind, payload = _resolve(path, split, format, download)
    if kind == "arrays":
        return payload
    files, labels = payload
    return read_uint8(files, labels, _FOLDER_IMAGES, f"the CIFAR-10 {split} image folder")


def cifar10(
    path=None,
    split="train",
    format="auto",  # noqa: A002 - the issue's argument name
    batch_size=64,
    shuffle=True,
    seed=None,
    with_labels=True,
    drop_remainder=True,
    repeat=False,
    download=False,
    limit=None,
    num_classes=None,
):
    """CIFAR-10 as a ``tf.data.Dataset`` of batches in [-1, 1].

    The batch formats are read into memory (:func:`cifar10_arrays`) and served by
    shuffled index gathers; the image-folder format decodes files in parallel (errors name
    the file; every image must be 32x32).

    Args:
        path: the folder holding the batches or the image folder, or None (Keras's cache).
        split: ``"train"`` or ``"test"``.
        format: ``"auto"``, ``"python"``, ``"binary"``, ``"mat"`` or ``"folder"``.
        batch_size: images per batch (64 in the documented BigGAN run).
        shuffle: shuffle the images every pass.
        seed: seed of the shuffle (None: a different order every run).
        with_labels: yield ``(images, labels)``; False yields images only.
        drop_remainder: drop the last, smaller batch.
        repeat: repeat forever.
        download: allow a download through Keras when ``path`` is None.
        limit: use only the first ``limit`` images of the split (before shuffling; for an
            image folder, in class order). None: all.
        num_classes: the classes of the model the labels are for: with ``with_labels``, a
            label outside ``[0, num_classes)`` is a :class:`DataFormatError` naming the
            batch file or class folder (labels are always checked to be 0..9). None: no
            further check.

    Returns:
        A ``tf.data.Dataset`` of float32 images ``(batch, 32, 32, 3)`` in [-1, 1] and, with
        ``with_labels``, int32 labels ``(batch,)``.

    Example:

    >>> import ascendgan
    >>> ds = ascendgan.data.cifar10("cifar-10-batches-py", batch_size=64)  # doctest: +SKIP
    >>> gan.fit(ds, epochs=...)                                           # doctest: +SKIP
    """
    batching = _pipeline.Batching(batch_size, shuffle, seed, drop_remainder, repeat)
    with_labels = check_bool("with_labels", with_labels)
    limit = _pipeline.check_limit(limit)
    num_classes = _pipeline.check_num_classes(num_classes)
    kind, payload = _resolve(path, split, format, download, num_classes if with_labels else None)
    description = f'CIFAR-10 split "{split}"'
    examples, labels = (_pipeline.apply_limit(a, limit) for a in payload)
    labels = labels if with_labels else None
    if kind == "arrays":
        return _pipeline.arrays_dataset(examples, labels, batching, description)
    return image_file_dataset(examples, labels, _FOLDER_IMAGES, batching, description=description)
