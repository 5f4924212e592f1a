"""MNIST from its four IDX files (gzip or raw), from Keras's ``mnist.npz``, or shipped.

The IDX format (LeCun et al.) is a 4-byte magic number ``0x00 0x00 <type> <ndim>`` followed
by ``ndim`` big-endian uint32 dimensions and the data, big-endian, row-major. MNIST images
are ``idx3`` (type 0x08 = uint8, 3 dims: count, 28, 28) and labels ``idx1``.
"""

from __future__ import annotations

import os

import numpy as np

from ascendgan import compat
from ascendgan.data import _files, _pipeline
from ascendgan.data.errors import DataFormatError, DatasetNotFoundError
from ascendgan.data.shipped import shipped_path
from ascendgan.validation import check_bool, check_choice, check_int

__all__ = ["MNIST_SPLITS", "mnist", "mnist_arrays", "read_idx"]

MNIST_SPLITS = ("train", "test")
#: MNIST's classes: the digits 0..9.
_MNIST_CLASSES = 10
#: The IDX dimensions of MNIST's files: images (count, height, width), labels (count,).
_IMAGES_NDIM, _LABELS_NDIM = 3, 1

#: IDX type byte -> numpy dtype (big-endian, as the format stores numbers).
_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_PREFIX = {"train": "train", "test": "t10k"}

_HOW_TO_GET = (
    "Get MNIST by one of:\n"
    "  - passing download=True (downloads mnist.npz through keras.datasets.mnist into "
    "~/.keras/datasets);\n"
    "  - downloading the four IDX files (train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) "
    "from a mirror of http://yann.lecun.com/exdb/mnist/ into one folder and passing it as "
    "`path`;\n"
    '  - using the copy shipped with ascendgan, which holds the test split only: split="test" '
    "with path=None."
)


def read_idx(path, ndim=None) -> np.ndarray:
    """Reads one IDX file (gzip-compressed or raw) into a numpy array.

    The file may be local or on any file system ``tf.io.gfile`` supports. Compression is
    recognised from the content (the gzip magic bytes), not the file name.

    Args:
        path: the IDX file.
        ndim: the number of dimensions the file must have (its role: 3 for an images
            file, 1 for a labels file), checked against the magic number's last byte
            before anything else is read. None: any.

    Returns:
        An array of the file's dimensions and type, converted to native byte order
        (uint8 for MNIST).

    Raises:
        DatasetNotFoundError: the file does not exist.
        DataFormatError: wrong magic number (not an IDX file, or not of ``ndim``
            dimensions), unknown type code, or a data size that does not match the header
            (a truncated or padded file); the message names the file.

    Example:

    >>> from ascendgan.data import read_idx, shipped_path
    >>> labels = read_idx(shipped_path("mnist") + "/t10k-labels-idx1-ubyte.gz")
    >>> labels.shape, labels.dtype.name, labels[:5].tolist()
    ((10000,), 'uint8', [7, 2, 1, 0, 4])

    Reference:
        Y. LeCun, C. Cortes, C.J.C. Burges, "The MNIST database of handwritten digits"
        (the file format section).
    """
    path = _files.as_path(path)
    ndim_expected = check_int("ndim", ndim, minimum=1, maximum=255, allow_none=True)
    data = _files.read_maybe_gzip(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DataFormatError(
            f"{path!r} is not an IDX file: expected a magic number 0x0000TTNN (TT a type code "
            f"in {sorted(hex(t) for t in _IDX_TYPES)}, NN the number of dimensions), found "
            f"0x{data[:4].hex() or '(empty file)'}."
        )
    dtype = _IDX_TYPES[data[2]]
    ndim = data[3]
    if ndim_expected is not None and ndim != ndim_expected:
        raise DataFormatError(
            f"{path!r} has the wrong IDX magic number: expected 0x0000{data[2]:02x}"
            f"{ndim_expected:02x} (type 0x{data[2]:02x}, {ndim_expected} dimension"
            f"{'s' if ndim_expected > 1 else ''}), found 0x{data[:4].hex()} ({ndim} "
            f"dimension{'s' if ndim != 1 else ''}). Images and labels files may be swapped."
        )
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DataFormatError(
            f"{path!r}: the IDX header declares {ndim} dimensions but the file has only "
            f"{len(data)} bytes; it is truncated or not an IDX file."
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        kind = "truncated" if found < expected else "longer than its header says"
        raise DataFormatError(
            f"{path!r} is {kind}: its IDX header declares shape {dims} of {dtype.name} "
            f"({expected} data bytes) but the file holds {found} data bytes."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True)


def _idx_pair(folder: str, split: str):
    """The (images, labels) IDX files of ``split`` in ``folder``; None when absent."""
    prefix = _PREFIX[split]
    found = []
    for kind, ndim in (("images", 3), ("labels", 1)):
        names = [
            f"{prefix}-{kind}-idx{ndim}-ubyte.gz",
            f"{prefix}-{kind}-idx{ndim}-ubyte",
            f"{prefix}-{kind}.idx{ndim}-ubyte.gz",
            f"{prefix}-{kind}.idx{ndim}-ubyte",
        ]
        found.append(_files.first_existing([_files.join(folder, n) for n in names]))
    return found, prefix


def _from_idx(images_path: str, labels_path: str):
    images = read_idx(images_path, ndim=_IMAGES_NDIM)
    labels = read_idx(labels_path, ndim=_LABELS_NDIM)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataFormatError(
            f"{images_path!r} must hold uint8 images of shape (count, height, width). "
            f"Found {images.dtype.name} of shape {images.shape}."
        )
    if labels.ndim != 1:
        raise DataFormatError(
            f"{labels_path!r} must hold one label per image, shape (count,). Found shape "
            f"{labels.shape}."
        )
    if images.shape[0] != labels.shape[0]:
        raise DataFormatError(
            f"{images_path!r} holds {images.shape[0]} images but {labels_path!r} holds "
            f"{labels.shape[0]} labels; the files do not belong together."
        )
    return images, labels


def _from_npz(path: str, split: str):
    import io

    try:
        with np.load(io.BytesIO(_files.read_bytes(path)), allow_pickle=False) as arrays:
            images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
    except (KeyError, ValueError, OSError) as error:
        raise DataFormatError(
            f"{path!r} is not a Keras mnist.npz (arrays x_train, y_train, x_test, y_test): {error}"
        ) from error
    if images.ndim != 3 or images.dtype != np.uint8 or len(images) != len(labels):
        raise DataFormatError(
            f"{path!r}: x_{split} must be uint8 (count, height, width) with one label per "
            f"image. Found {images.dtype.name} {images.shape} and {len(labels)} labels."
        )
    return images, labels


def _download(split: str):
    (x_train, y_train), (x_test, y_test) = compat.keras.datasets.mnist.load_data()
    return (x_train, y_train) if split == "train" else (x_test, y_test)


def mnist_arrays(path=None, split="train", download=False):
    """MNIST as numpy arrays: uint8 images ``(count, 28, 28, 1)`` and int32 labels.

    Where the data come from:

    - ``path`` a folder: the split's two IDX files in it, gzip-compressed or raw
      (``train-images-idx3-ubyte[.gz]`` / ``train-labels-idx1-ubyte[.gz]`` for
      ``"train"``, ``t10k-...`` for ``"test"``; the ``train-images.idx3-ubyte`` spelling
      works too). Local or on any ``tf.io.gfile`` file system.
    - ``path`` a ``.npz`` file: Keras's ``mnist.npz`` (``x_train``, ``y_train``, ...).
    - ``path=None``, ``split="test"``: the copy shipped with ascendgan (offline;
      see :func:`shipped_path`).
    - ``path=None``, ``split="train"``: Keras's cache ``~/.keras/datasets/mnist.npz``
      (``$KERAS_HOME`` if set); when it is missing, ``download=True`` downloads it through
      ``keras.datasets.mnist.load_data``, otherwise a :class:`DatasetNotFoundError` says
      where the loader looked and how to get the data. Nothing is downloaded by default.

    Args:
        path: folder of IDX files, a ``mnist.npz`` file, or None (see above).
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        download: allow a download through Keras when ``path`` is None and the data are
            not cached.

    Returns:
        ``(images, labels)``: uint8 ``(count, height, width, 1)`` (white digits on black,
        as in the files) and int32 ``(count,)``.

    Raises:
        DatasetNotFoundError: the files are not there (the message says where the loader
            looked and how to get them).
        DataFormatError: a file is not a valid IDX file (wrong magic number, truncated,
            ...), images and labels disagree, or a label is not a digit 0..9.

    Example:

    >>> from ascendgan.data import mnist_arrays
    >>> images, labels = mnist_arrays(split="test")      # the shipped copy, offline
    >>> images.shape, images.dtype.name, labels.dtype.name
    ((10000, 28, 28, 1), 'uint8', 'int32')
    """
    images, labels, _ = _load(path, split, download)
    return images, labels


def _load(path, split, download):
    """-> ``(images, labels, source)``: :func:`mnist_arrays`'s arrays, the labels checked
    to be digits 0..9, and where the labels came from (quoted, for error messages)."""
    check_choice("split", split, MNIST_SPLITS)
    download = check_bool("download", download)
    if path is None and split == "test":
        images_path, labels_path = _idx_pair(shipped_path("mnist"), "test")[0]
        images, labels = _from_idx(images_path, labels_path)
        source = repr(labels_path)
    elif path is None:
        cached = os.path.join(_files.keras_datasets_dir(), "mnist.npz")
        if os.path.exists(cached):
            images, labels = _from_npz(cached, split)
            source = f"{cached!r} (y_{split})"
        elif download:
            images, labels = _download(split)
            source = "keras.datasets.mnist.load_data()"
        else:
            raise DatasetNotFoundError(
                f'MNIST split "{split}" was not found: path=None and Keras\'s cache '
                f"{cached!r} does not exist (looked there; the copy shipped with ascendgan "
                f"holds the test split only).\n{_HOW_TO_GET}"
            )
    else:
        path = _files.as_path(path)
        if not _files.exists(path):
            raise DatasetNotFoundError(
                f"MNIST was not found: looked for {path!r}, which does not exist.\n{_HOW_TO_GET}"
            )
        if not _files.isdir(path):
            images, labels = _from_npz(path, split)
            source = f"{path!r} (y_{split})"
        else:
            (images_path, labels_path), prefix = _idx_pair(path, split)
            if images_path is None or labels_path is None:
                raise DatasetNotFoundError(
                    f'MNIST split "{split}" was not found: looked in {path!r} for '
                    f"{prefix}-images-idx3-ubyte[.gz] and {prefix}-labels-idx1-ubyte[.gz] "
                    f"(also spelled {prefix}-images.idx3-ubyte); found "
                    f"{'neither' if images_path is None and labels_path is None else 'only one'}."
                    f"\n{_HOW_TO_GET}"
                )
            images, labels = _from_idx(images_path, labels_path)
            source = repr(labels_path)
    labels = _pipeline.check_label_range(labels, _MNIST_CLASSES, source,
                                         "MNIST's num_classes=10: digits 0..9")
    images = np.ascontiguousarray(images, dtype=np.uint8)[..., np.newaxis]
    return images, labels.astype(np.int32), source


def mnist(
    path=None,
    split="train",
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
    """MNIST as a ``tf.data.Dataset`` of batches in [-1, 1].

    The arrays (:func:`mnist_arrays`, same ``path`` / ``split`` / ``download`` rules) are
    held in memory as tensors; the pipeline shuffles indices (a full shuffle, new every
    pass), gathers a batch at a time, scales ``x / 127.5 - 1`` and prefetches.

    Args:
        path: folder of IDX files, a Keras ``mnist.npz``, or None: the shipped test split
            for ``split="test"``, Keras's cache for ``"train"``.
        split: ``"train"`` or ``"test"``.
        batch_size: images per batch.
        shuffle: shuffle the images every pass.
        seed: seed of the shuffle (None: a different order every run).
        with_labels: yield ``(images, labels)``; False yields ``images`` only.
        drop_remainder: drop the last, smaller batch (fixed batch shapes, as GANs want).
        repeat: repeat forever (otherwise one pass per iteration of the dataset).
        download: allow a download through ``keras.datasets.mnist`` when ``path`` is None
            and the train split is not cached. Off by default: no network access.
        limit: use only the first ``limit`` images of the split (before shuffling; for
            tiny runs). None: all.
        num_classes: the classes of the model the labels are for: with ``with_labels``,
            a label outside ``[0, num_classes)`` is a :class:`DataFormatError` naming the
            labels file (MNIST's labels are always checked to be digits 0..9). None: no
            further check.

    Returns:
        A ``tf.data.Dataset`` of float32 images ``(batch_size, 28, 28, 1)`` in [-1, 1] and,
        with ``with_labels``, int32 labels ``(batch_size,)``.

    Example:

    >>> import ascendgan
    >>> ds = ascendgan.data.mnist(split="test", batch_size=32, seed=0)   # shipped, offline
    >>> images, labels = next(iter(ds))
    >>> images.shape, labels.dtype.name
    (TensorShape([32, 28, 28, 1]), 'int32')
    """
    batching = _pipeline.Batching(batch_size, shuffle, seed, drop_remainder, repeat)
    with_labels = check_bool("with_labels", with_labels)
    limit = _pipeline.check_limit(limit)
    num_classes = _pipeline.check_num_classes(num_classes)
    images, labels, source = _load(path, split, download)
    if with_labels and num_classes is not None:
        _pipeline.check_label_range(labels, num_classes, source, f"num_classes={num_classes}")
    images, labels = _pipeline.apply_limit(images, limit), _pipeline.apply_limit(labels, limit)
    return _pipeline.arrays_dataset(
        images, labels if with_labels else None, batching, f'MNIST split "{split}"'
    )
