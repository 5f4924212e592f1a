import os
import pickle

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.data import (
    CIFAR10_CLASSES,
    DataFormatError,
    DatasetNotFoundError,
    cifar10,
    cifar10_arrays,
)

BATCH_FOLDERS = {
    "python": "cifar-10-batches-py",
    "binary": "cifar-10-batches-bin",
    "mat": "cifar-10-batches-mat",
}


@pytest.mark.parametrize("fmt", ["python", "binary", "mat"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_official_batches_round_trip(tmp_path, write_cifar, fmt, split):
    written = write_cifar(str(tmp_path), fmt)
    images, labels = cifar10_arrays(tmp_path, split=split, format=fmt)
    assert images.dtype == np.uint8 and images.shape == written[split][0].shape
    np.testing.assert_array_equal(images, written[split][0])
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, written[split][1])


def test_channel_planes_are_red_green_blue(tmp_path, cifar_rows):
    # A pure red, a pure green and a pure blue image, written as raw binary records.
    colours = np.zeros((3, 32, 32, 3), np.uint8)
    for index in range(3):
        colours[index, :, :, index] = 200
    colours[0, 0, 5, 0] = 7  # one marked pixel: row 0, column 5
    rows = cifar_rows(colours)
    assert rows[0, 5] == 7 and rows[0, 1024] == 0  # plane order in the record
    record = np.concatenate([np.array([[1], [2], [3]], np.uint8), rows], axis=1)
    (tmp_path / "test_batch.bin").write_bytes(record.tobytes())
    images, labels = cifar10_arrays(tmp_path, split="test")
    assert images[0, 0, 5].tolist() == [7, 0, 0]
    assert images[1, 10, 10].tolist() == [0, 200, 0] and images[2, 3, 3].tolist() == [0, 0, 200]
    assert labels.tolist() == [1, 2, 3]


@pytest.mark.parametrize("fmt", ["python", "binary", "mat"])
def test_auto_finds_each_format_in_its_archive_folder(tmp_path, write_cifar, fmt):
    written = write_cifar(str(tmp_path / BATCH_FOLDERS[fmt]), fmt)
    images, labels = cifar10_arrays(tmp_path, split="test")  # format="auto"
    np.testing.assert_array_equal(images, written["test"][0])
    np.testing.assert_array_equal(labels, written["test"][1])


def test_image_folder_format_uses_the_cifar_class_order(tmp_path, write_image, collect, to_unit):
    rng = np.random.default_rng(3)
    expected = {}
    for class_name in CIFAR10_CLASSES:
        for i in range(2):
            image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            path = write_image(tmp_path / "cifar10" / "test" / class_name / f"{i}.png", image)
            expected[path] = (image, CIFAR10_CLASSES.index(class_name))
    images, labels = cifar10_arrays(tmp_path, split="test", format="folder")
    order = sorted(expected, key=lambda p: (expected[p][1], p))
    np.testing.assert_array_equal(images, np.stack([expected[p][0] for p in order]))
    np.testing.assert_array_equal(labels, [expected[p][1] for p in order])
    assert labels.tolist()[-2:] == [9, 9]  # "truck" is class 9, not sorted position
    ds = cifar10(tmp_path, split="test", batch_size=4, shuffle=False, drop_remainder=False)
    ds_images, ds_labels = collect(ds)
    np.testing.assert_allclose(ds_images, to_unit(images), atol=1e-6)
    np.testing.assert_array_equal(ds_labels, labels)


def test_dataset_from_batches(tmp_path, write_cifar, collect, to_unit):
    written = write_cifar(str(tmp_path), "binary")
    ds = cifar10(tmp_path, batch_size=5, shuffle=False)
    images, labels = collect(ds)
    assert images.shape == (15, 32, 32, 3)
    np.testing.assert_allclose(images, to_unit(written["train"][0]), atol=1e-6)
    np.testing.assert_array_equal(labels, written["train"][1])
    only_images = next(iter(cifar10(tmp_path, batch_size=5, with_labels=False, seed=1)))
    assert isinstance(only_images, tf.Tensor) and only_images.shape == (5, 32, 32, 3)


# ----------------------------------------------------------------------------- bad input


def test_truncated_binary_batch_names_the_file(tmp_path, write_cifar):
    write_cifar(str(tmp_path), "binary")
    path = tmp_path / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataFormatError, match=r"data_batch_3\.bin.*truncated.*3073"):
        cifar10_arrays(tmp_path)


def test_truncated_pickle_and_mat_name_the_file(tmp_path, write_cifar):
    write_cifar(str(tmp_path / "py"), "python")
    path = tmp_path / "py" / "test_batch"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataFormatError, match=r"test_batch.*truncated or corrupt"):
        cifar10_arrays(tmp_path / "py", split="test")
    write_cifar(str(tmp_path / "mat"), "mat")
    path = tmp_path / "mat" / "test_batch.mat"
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataFormatError, match=r"test_batch\.mat"):
        cifar10_arrays(tmp_path / "mat", split="test")


def test_malformed_batches(tmp_path, write_cifar):
    from scipy import io as scipy_io

    scipy_io.savemat(tmp_path / "test_batch.mat", {"pixels": np.zeros((2, 3072), np.uint8)})
    with pytest.raises(DataFormatError, match=r"test_batch\.mat.*\['data', 'labels'\].*pixels"):
        cifar10_arrays(tmp_path, split="test", format="mat")
    scipy_io.savemat(
        tmp_path / "test_batch.mat",
        {"data": np.zeros((2, 3072), np.uint8), "labels": np.array([[1], [12]], np.uint8)},
    )
    with pytest.raises(DataFormatError,
                       match=r"test_batch\.mat': 1 of 2 labels are outside \[0, 10\)"
                             r".*values: 12\."):
        cifar10_arrays(tmp_path, split="test", format="mat")
    with open(tmp_path / "test_batch", "wb") as stream:
        pickle.dump({b"data": np.zeros((2, 1000), np.uint8), b"labels": [0, 1]}, stream)
    with pytest.raises(DataFormatError, match=r"test_batch.*\(count, 3072\).*\(2, 1000\)"):
        cifar10_arrays(tmp_path, split="test", format="python")


def test_pickles_that_run_code_are_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo unsafe",))

    with open(tmp_path / "test_batch", "wb") as stream:
        pickle.dump({b"data": Exploit(), b"labels": [0]}, stream)
    with pytest.raises(DataFormatError, match=r"refusing to load .*system"):
        cifar10_arrays(tmp_path, split="test", format="python")


def test_missing_batches_and_folders(tmp_path, write_cifar):
    with pytest.raises(
        DatasetNotFoundError,
        match=r"(?s)Looked for:.*data_batch_1.*data_batch_1\.bin.*\.mat.*train/<class>",
    ):
        cifar10_arrays(tmp_path)
    write_cifar(str(tmp_path), "python")
    os.remove(tmp_path / "data_batch_4")
    with pytest.raises(DatasetNotFoundError, match=r"incomplete: missing .*data_batch_4"):
        cifar10_arrays(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="not an existing folder"):
        cifar10_arrays(tmp_path / "nowhere")


def test_folder_format_checks_class_names_and_sizes(tmp_path, write_image):
    write_image(tmp_path / "test" / "kittens" / "0.png", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(
        DataFormatError, match=r"named \['airplane'.*Found sub-folders \['kittens'\]"
    ):
        cifar10_arrays(tmp_path, split="test", format="folder")
    for index, name in enumerate(CIFAR10_CLASSES):
        size = 28 if name == "frog" else 32
        write_image(
            tmp_path / "test2" / "test" / name / f"{index}.png", np.zeros((size, size, 3), np.uint8)
        )
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"frog/6\.png.*is 28x28.*expected 32x32"
    ):
        cifar10_arrays(tmp_path / "test2", split="test", format="folder")


def test_argument_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match=r"`format` must be one of .*Received: format='zip'"):
        cifar10_arrays(tmp_path, format="zip")
    with pytest.raises(ValueError, match=r"`split` must be one of .*Received: split='valid'"):
        cifar10(tmp_path, split="valid")


def test_path_none_reads_the_keras_cache_or_explains(tmp_path, monkeypatch, write_cifar):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError("downloaded without download=True")

    monkeypatch.setattr(compat.keras.datasets.cifar10, "load_data", no_network)
    with pytest.raises(DatasetNotFoundError, match=r"(?s)cifar-10-batches-py.*download=True"):
        cifar10_arrays()
    # Keras 3 extracts into cifar-10-batches-py-target/cifar-10-batches-py
    written = write_cifar(
        str(tmp_path / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"), "python"
    )
    images, labels = cifar10_arrays(split="test")
    np.testing.assert_array_equal(images, written["test"][0])
    np.testing.assert_array_equal(labels, written["test"][1])


@pytest.mark.stand_in
def test_download_true_goes_through_keras(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    rng = np.random.default_rng(9)
    train = (
        rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8),
        np.array([[1], [2], [3]], np.uint8),
    )
    test = (rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), np.array([[4], [5]], np.uint8))
    monkeypatch.setattr(compat.keras.datasets.cifar10, "load_data", lambda: (train, test))
    images, labels = cifar10_arrays(split="test", download=True)
    np.testing.assert_array_equal(images, test[0])
    assert labels.dtype == np.int32 and labels.tolist() == [4, 5]
