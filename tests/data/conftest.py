"""Writers of small files in the real data formats (IDX, CIFAR-10 batches, images), so the
loader tests never need downloaded data. Each writer works from the numpy arrays the test
compares against."""

import gzip
import os
import pickle

import numpy as np
import pytest


def _write_idx(path, array, compress=False):
    """The IDX layout written by hand: 0x00 0x00 <type> <ndim>, big-endian uint32 dims,
    big-endian data."""
    array = np.asarray(array)
    codes = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
    code = codes[array.dtype.str[1:]]
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if compress:
        payload = gzip.compress(payload)
    os.makedirs(os.path.dirname(str(path)) or ".", exist_ok=True)
    with open(path, "wb") as stream:
        stream.write(payload)
    return str(path)


def _cifar_rows(images):
    """(n, 32, 32, 3) HWC images -> (n, 3072) rows: the red plane, then green, then blue,
    each row-major, built plane by plane as the CIFAR-10 page describes."""
    return np.stack(
        [np.concatenate([img[:, :, c].ravel() for c in range(3)]) for img in images]
    ).astype(np.uint8)


def _cifar_split(rng, count):
    images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, count).astype(np.int64)
    return images, labels


def _write_cifar(folder, fmt, per_batch=3, seed=0, test_count=4):
    """Writes the official layout of one format; returns {"train": (images, labels),
    "test": (images, labels)} with the arrays written."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    batches = [_cifar_split(rng, per_batch) for _ in range(5)]
    test = _cifar_split(rng, test_count)
    names = {
        "python": ([f"data_batch_{i}" for i in range(1, 6)], "test_batch"),
        "binary": ([f"data_batch_{i}.bin" for i in range(1, 6)], "test_batch.bin"),
        "mat": ([f"data_batch_{i}.mat" for i in range(1, 6)], "test_batch.mat"),
    }[fmt]
    for name, (images, labels) in zip([*names[0], names[1]], [*batches, test]):
        path = os.path.join(folder, name)
        rows = _cifar_rows(images)
        if fmt == "python":
            batch = {
                b"batch_label": b"batch",
                b"labels": [int(v) for v in labels],
                b"data": rows,
                b"filenames": [b"x.png"] * len(labels),
            }
            with open(path, "wb") as stream:
                pickle.dump(batch, stream, protocol=2)
        elif fmt == "binary":
            record = np.concatenate([labels.astype(np.uint8)[:, None], rows], axis=1)
            with open(path, "wb") as stream:
                stream.write(record.tobytes())
        else:
            from scipy import io as scipy_io

            scipy_io.savemat(
                path,
                {
                    "data": rows,
                    "labels": labels.astype(np.uint8).reshape(-1, 1),
                    "batch_label": "x",
                },
            )
    if fmt == "python":
        meta = {b"label_names": [b"airplane"], b"num_cases_per_batch": per_batch}
        with open(os.path.join(folder, "batches.meta"), "wb") as stream:
            pickle.dump(meta, stream, protocol=2)
    train = (
        np.concatenate([b[0] for b in batches]),
        np.concatenate([b[1] for b in batches]).astype(np.int32),
    )
    return {"train": train, "test": (test[0], test[1].astype(np.int32))}


def _write_image(path, array, quality=95):
    """PNG / JPEG / BMP by extension, through PIL; mode from the channel count."""
    from PIL import Image

    array = np.asarray(array, dtype=np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    os.makedirs(os.path.dirname(str(path)) or ".", exist_ok=True)
    image = Image.fromarray(array)  # L, LA, RGB or RGBA from the shape
    extension = str(path).lower().rsplit(".", 1)[-1]
    if extension in ("jpg", "jpeg"):
        image.save(path, "JPEG", quality=quality)
    else:
        image.save(path)
    return str(path)


def _smooth_image(rng, height, width, channels=3):
    """A smooth random image (sums of low-frequency waves) that JPEG keeps within a few
    levels; each channel differs, so channel mix-ups show."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    planes = []
    for _ in range(channels):
        a, b, c, d = rng.uniform(0.3, 1.2, 4)
        plane = 0.5 + 0.25 * np.sin(2 * np.pi * (a * xx + b * yy) + c) + 0.2 * np.cos(d * xx)
        planes.append(plane)
    return np.clip(np.stack(planes, -1) * 255, 0, 255).round().astype(np.uint8)


@pytest.fixture
def write_idx():
    return _write_idx


@pytest.fixture
def write_cifar():
    return _write_cifar


@pytest.fixture
def cifar_rows():
    return _cifar_rows


@pytest.fixture
def write_image():
    return _write_image


@pytest.fixture
def smooth_image():
    return _smooth_image


def batches_to_numpy(dataset):
    """All batches of a dataset, concatenated per component."""
    parts = list(dataset)
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate([p[i].numpy() for p in parts]) for i in range(len(parts[0])))
    return np.concatenate([p.numpy() for p in parts])


@pytest.fixture
def collect():
    return batches_to_numpy


@pytest.fixture
def to_unit():
    """The reference scaling: uint8 -> float32 x / 127.5 - 1."""
    return lambda array: np.asarray(array, np.float32) / np.float32(127.5) - np.float32(1.0)
