import gzip
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.data import (
    DataFormatError,
    DatasetNotFoundError,
    mnist,
    mnist_arrays,
    read_idx,
    shipped_path,
)


def _digits(rng, count, size=28):
    return rng.integers(0, 256, (count, size, size), dtype=np.uint8)


@pytest.fixture
def mnist_dir(tmp_path, write_idx):
    """Train split gzip-compressed, test split raw, as the two spellings occur."""
    rng = np.random.default_rng(1)
    data = {
        "train": (_digits(rng, 7), rng.integers(0, 10, 7).astype(np.uint8)),
        "test": (_digits(rng, 5), rng.integers(0, 10, 5).astype(np.uint8)),
    }
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", data["train"][0], compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", data["train"][1], compress=True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", data["test"][0])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", data["test"][1])
    return tmp_path, data


@pytest.mark.parametrize("split", ["train", "test"])
def test_idx_round_trip_gzip_and_raw(mnist_dir, split):
    folder, data = mnist_dir
    images, labels = mnist_arrays(folder, split=split)
    assert images.dtype == np.uint8 and images.shape == data[split][0].shape + (1,)
    np.testing.assert_array_equal(images[..., 0], data[split][0])
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, data[split][1])


def test_read_idx_recognises_gzip_by_content_and_reads_other_types(tmp_path, write_idx):
    values = np.arange(-6, 6, dtype=np.int16).reshape(3, 4) * 1000
    write_idx(tmp_path / "a.idx", values, compress=True)  # gzip without a .gz name
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), values)
    floats = np.linspace(-1, 1, 10, dtype=np.float32).reshape(2, 5)
    write_idx(tmp_path / "f.idx", floats)
    out = read_idx(str(tmp_path / "f.idx"))
    assert out.dtype == np.float32 and out.dtype.byteorder in "=|<"
    np.testing.assert_array_equal(out, floats)


def test_dataset_values_labels_and_scaling(mnist_dir, collect, to_unit):
    folder, data = mnist_dir
    ds = mnist(folder, split="train", batch_size=3, shuffle=False, drop_remainder=False)
    images, labels = collect(ds)
    assert images.dtype == np.float32 and images.shape == (7, 28, 28, 1)
    np.testing.assert_allclose(images[..., 0], to_unit(data["train"][0]), atol=1e-6)
    np.testing.assert_array_equal(np.rint((images + 1) * 127.5), data["train"][0][..., None])
    np.testing.assert_array_equal(labels, data["train"][1])
    assert ds.element_spec[1].dtype == tf.int32


def test_extreme_pixels_map_to_minus_one_and_one(tmp_path, write_idx):
    ramp = np.arange(256 * 4, dtype=np.int64).reshape(4, 16, 16) % 256
    write_idx(tmp_path / "train-images-idx3-ubyte", ramp.astype(np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    images, _ = next(iter(mnist(tmp_path, batch_size=4, shuffle=False)))
    flat = images.numpy().reshape(-1)
    assert flat[0] == -1.0 and flat[255] == 1.0
    assert abs(flat[128] - (128 / 127.5 - 1)) < 1e-6


def test_shuffle_is_a_seeded_permutation_that_keeps_labels_with_images(
    tmp_path, write_idx, collect
):
    count = 24
    labels = np.arange(count) % 10
    images = np.repeat((np.arange(count) * 10).astype(np.uint8)[:, None, None], 28, 1)
    images = np.repeat(images, 28, 2)  # image i is filled with 10 * i
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels.astype(np.uint8), compress=True)
    ds = mnist(tmp_path, batch_size=4, seed=3)
    first_x, first_y = collect(ds)
    second_x, _ = collect(ds)
    index = np.rint((first_x[:, 0, 0, 0] + 1) * 127.5).astype(int) // 10
    assert sorted(index.tolist()) == list(range(count))  # a permutation of all images
    assert index.tolist() != list(range(count))
    np.testing.assert_array_equal(first_y, labels[index])  # labels travel with their image
    again_x, _ = collect(mnist(tmp_path, batch_size=4, seed=3))
    np.testing.assert_array_equal(first_x, again_x)  # same seed, same order
    assert not np.array_equal(first_x, second_x)  # reshuffled every pass


def test_with_labels_false_drop_remainder_and_repeat(mnist_dir):
    folder, _ = mnist_dir
    ds = mnist(folder, batch_size=3, with_labels=False, seed=0)
    shapes = [tuple(b.shape) for b in ds]
    assert shapes == [(3, 28, 28, 1), (3, 28, 28, 1)]  # 7 images, the last one dropped
    repeated = mnist(folder, batch_size=3, seed=0, repeat=True)
    assert len(list(repeated.take(10))) == 10
    with pytest.raises(ValueError, match="batch_size=8"):
        mnist(folder, batch_size=8)


def test_keras_npz_path(tmp_path):
    rng = np.random.default_rng(2)
    x_train, x_test = _digits(rng, 4), _digits(rng, 3)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=x_train,
        y_train=np.array([1, 2, 3, 4], np.uint8),
        x_test=x_test,
        y_test=np.array([5, 6, 7], np.uint8),
    )
    images, labels = mnist_arrays(tmp_path / "mnist.npz", split="test")
    np.testing.assert_array_equal(images[..., 0], x_test)
    np.testing.assert_array_equal(labels, [5, 6, 7])


def test_reads_through_tf_io_gfile(write_idx, tmp_path):
    rng = np.random.default_rng(4)
    images, labels = _digits(rng, 3), np.array([3, 1, 4], np.uint8)
    for name, array in (
        ("t10k-images-idx3-ubyte.gz", images),
        ("t10k-labels-idx1-ubyte.gz", labels),
    ):
        local = write_idx(tmp_path / name, array, compress=True)
        tf.io.gfile.makedirs("ram://h1_mnist_test")
        tf.io.gfile.copy(local, f"ram://h1_mnist_test/{name}", overwrite=True)
    out_images, out_labels = mnist_arrays("ram://h1_mnist_test", split="test")
    np.testing.assert_array_equal(out_images[..., 0], images)
    np.testing.assert_array_equal(out_labels, labels)


# ----------------------------------------------------------------------------- bad input


def test_wrong_magic_names_the_file(tmp_path, write_idx):
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with open(tmp_path / "train-images-idx3-ubyte", "wb") as stream:
        stream.write(b"\x12\x34\x08\x03" + b"\x00" * 20)
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte.*magic.*0x12340803"):
        mnist_arrays(tmp_path)


def test_truncated_and_padded_files_name_the_file(tmp_path, write_idx):
    path = write_idx(tmp_path / "x.idx", np.zeros((2, 4, 4), np.uint8))
    file = pathlib.Path(path)
    data = file.read_bytes()
    file.write_bytes(data[:-5])
    with pytest.raises(DataFormatError, match=r"x\.idx.*truncated.*\(2, 4, 4\).*32 data bytes.*27"):
        read_idx(path)
    file.write_bytes(data + b"\x00")
    with pytest.raises(DataFormatError, match=r"x\.idx.*longer than its header"):
        read_idx(path)
    file.write_bytes(gzip.compress(data)[:-10])
    with pytest.raises(DataFormatError, match=r"x\.idx.*gzip"):
        read_idx(path)


def test_images_and_labels_that_do_not_belong_together(tmp_path, write_idx):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DataFormatError, match=r"3 images.*train-labels-idx1-ubyte.*4 labels"):
        mnist_arrays(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 28), np.uint8))
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte.*wrong IDX magic number: "
                       r"expected 0x00000803 .*found 0x00000802"):
        mnist_arrays(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 28, 28), ">i4"))
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte.*uint8 images.*int32"):
        mnist_arrays(tmp_path)


def test_missing_files_say_where_the_loader_looked(tmp_path, write_idx):
    with pytest.raises(
        DatasetNotFoundError, match=r"(?s)looked in .*train-images-idx3-ubyte.*download=True"
    ):
        mnist_arrays(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((1, 2, 2), np.uint8), compress=True)
    with pytest.raises(DatasetNotFoundError, match="found only one"):
        mnist_arrays(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        mnist_arrays(tmp_path / "nowhere")


def test_path_none_train_is_offline_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError("downloaded without download=True")

    monkeypatch.setattr(compat.keras.datasets.mnist, "load_data", no_network)
    expected = os.path.join(str(tmp_path), "datasets", "mnist.npz")
    with pytest.raises(DatasetNotFoundError) as info:
        mnist_arrays(split="train")
    message = str(info.value)
    assert expected in message and "download=True" in message and 'split="test"' in message


@pytest.mark.stand_in
def test_download_true_goes_through_keras(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    rng = np.random.default_rng(5)
    train = (_digits(rng, 3), np.array([0, 1, 2], np.uint8))
    test = (_digits(rng, 2), np.array([3, 4], np.uint8))
    calls = []

    def load_data(*args, **kwargs):
        calls.append(args)
        return train, test

    monkeypatch.setattr(compat.keras.datasets.mnist, "load_data", load_data)
    images, labels = mnist_arrays(split="train", download=True)
    assert len(calls) == 1
    np.testing.assert_array_equal(images[..., 0], train[0])
    np.testing.assert_array_equal(labels, [0, 1, 2])


def test_path_none_train_reads_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    os.makedirs(tmp_path / "datasets")
    x = _digits(np.random.default_rng(6), 2)
    np.savez(
        tmp_path / "datasets" / "mnist.npz",
        x_train=x,
        y_train=np.array([9, 8]),
        x_test=x[:1],
        y_test=np.array([1]),
    )
    images, labels = mnist_arrays()
    np.testing.assert_array_equal(images[..., 0], x)
    np.testing.assert_array_equal(labels, [9, 8])


# ----------------------------------------------------------------------------- shipped copy


def test_shipped_test_split_matches_the_official_labels():
    images, labels = mnist_arrays(split="test")  # no path: the copy inside the package
    assert images.shape == (10000, 28, 28, 1) and images.dtype == np.uint8
    # Class counts and first labels of the official t10k-labels file.
    np.testing.assert_array_equal(
        np.bincount(labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    # White digits on black: the border is background, the centre has ink.
    assert images[:, 0, :, 0].max() == 0 and images[:, 10:18, 10:18].mean() > 60


def test_shipped_dataset_and_attribution():
    images, labels = next(iter(mnist(split="test", batch_size=16, seed=0)))
    assert images.shape == (16, 28, 28, 1) and labels.shape == (16,)
    folder = shipped_path("mnist")
    files = set(os.listdir(folder))
    assert {
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "README.md",
        "LICENSE",
    } <= files
    notice = pathlib.Path(folder, "LICENSE").read_text(encoding="utf-8")
    for needle in ("Yann LeCun", "Corinna Cortes", "Burges", "CC BY-SA 3.0", "PNG"):
        assert needle in notice
    with pytest.raises(ValueError, match=r"`name` must be one of.*'mnist'"):
        shipped_path("cifar10")
