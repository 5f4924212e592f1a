"""Issue 14, cases 5, 7, 8 (IDX magic, BigGAN batch sizes) and 9: bad input never trains.

Every file is written in its real format into ``tmp_path`` (IDX headers, CIFAR-10 binary
records, PNG images), with the expected counts and values computed from the arrays written,
so each error message is checked against an independent reference. Runs through the CLI call
``ascendgan.cli.main`` in-process and fail before any network is trained.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import data as data_lib
from ascendgan.cli import main
from ascendgan.data import DataFormatError, mnist, mnist_arrays, paired_images, read_idx
from ascendgan.models import get_family
from ascendgan.models.biggan.biggan_discriminator import BigGANDiscriminator
from ascendgan.models.biggan.biggan_generator import BigGANGenerator
from ascendgan.models.dcgan.dcgan_discriminator import DCGANDiscriminator
from ascendgan.models.dcgan.dcgan_generator import DCGANGenerator
from ascendgan.recipes import DataSource, preset_dataset

# ----------------------------------------------------------------------------- writers


def _idx_bytes(array, ndim=None):
    """IDX by hand: 0x00 0x00 0x08 <ndim>, big-endian uint32 dims, the uint8 data.
    ``ndim`` forges the dimension byte (the dims written stay those of ``array``)."""
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 0x08, array.ndim if ndim is None else ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def _write_mnist(folder, labels, split="train", count=None):
    """The split's two IDX files, images random digits-sized noise; returns the folder."""
    labels = np.asarray(labels)
    count = len(labels) if count is None else count
    prefix = {"train": "train", "test": "t10k"}[split]
    os.makedirs(folder, exist_ok=True)
    images = np.random.default_rng(0).integers(0, 256, (count, 28, 28), dtype=np.uint8)
    with open(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), "wb") as stream:
        stream.write(_idx_bytes(images))
    with open(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), "wb") as stream:
        stream.write(_idx_bytes(labels))
    return str(folder)


def _write_png(path, height, width, channels=3, value=0):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    image = np.full((height, width, channels), value, np.uint8)
    tf.io.write_file(str(path), tf.io.encode_png(image))
    return str(path)


def _write_cifar_binary(folder, labels_per_batch):
    """data_batch_1..5.bin: records of 1 label byte + 3072 pixel bytes."""
    os.makedirs(folder, exist_ok=True)
    for index, labels in enumerate(labels_per_batch, start=1):
        labels = np.asarray(labels, np.uint8)
        rows = np.zeros((len(labels), 3072), np.uint8)
        with open(os.path.join(folder, f"data_batch_{index}.bin"), "wb") as stream:
            stream.write(np.concatenate([labels[:, None], rows], axis=1).tobytes())
    return str(folder)


def _outside(labels, num_classes):
    """The reference: how many labels are outside [0, num_classes) and which values."""
    labels = np.asarray(labels)
    bad = labels[(labels < 0) | (labels >= num_classes)]
    return len(bad), sorted(set(bad.tolist()))


# ----------------------------------------------------------------------------- case 5: labels


def test_mnist_labels_12_and_255_are_a_data_format_error_naming_file_values_and_count(tmp_path):
    labels = [1, 12, 255, 3, 12]
    folder = _write_mnist(tmp_path / "mnist", labels)
    count, values = _outside(labels, 10)  # 3 labels, values 12 and 255
    expected = (rf"train-labels-idx1-ubyte': {count} of {len(labels)} labels are outside "
                rf"\[0, 10\) \(MNIST's num_classes=10.*Found label values: "
                + ", ".join(map(str, values)))
    with pytest.raises(DataFormatError, match=expected):
        mnist_arrays(folder)
    with pytest.raises(DataFormatError, match=expected):
        mnist(folder, batch_size=2)


def test_cli_refuses_to_train_on_mnist_labels_out_of_range(tmp_path, capsys):
    folder = _write_mnist(tmp_path / "mnist", [1, 12, 255, 3, 0, 1, 2, 3])
    out = tmp_path / "run"
    code = main(["train", "dcgan", "--smoke", "--set", "num_classes=10", "--data", folder,
                 "--out", str(out), "--quiet", "--no-tensorboard"])
    error = capsys.readouterr().err.strip()
    assert code == 1
    assert len(error.splitlines()) == 1
    assert "train-labels-idx1-ubyte" in error and "2 of 8 labels" in error and "12, 255" in error
    assert not out.exists() or not os.listdir(out)  # nothing written: no run.json, no checkpoint


def test_preset_dataset_checks_mnist_labels_against_the_models_num_classes(tmp_path):
    labels = [0, 4, 5, 9, 2, 7]
    folder = _write_mnist(tmp_path / "mnist", labels)
    count, values = _outside(labels, 5)
    preset = get_family("dcgan").preset("mnist", {"num_classes": 5})
    with pytest.raises(DataFormatError, match=(
            rf"train-labels-idx1-ubyte': {count} of 6 labels are outside \[0, 5\) "
            rf"\(num_classes=5\)\. Found label values: {values[0]}, {values[1]}, {values[2]}\.")):
        preset_dataset(preset, DataSource(path=folder), batch_size=2)
    # the positive control: the same labels fit a 10-class model
    fits = get_family("dcgan").preset("mnist", {"num_classes": 10})
    images, found = next(iter(preset_dataset(fits, DataSource(path=folder), batch_size=6,
                                             shuffle=False)))
    assert found.numpy().tolist() == labels


def test_preset_dataset_checks_cifar10_batches_against_num_classes(tmp_path):
    batches = [[0, 1], [2, 3], [4, 7], [1, 1], [0, 0]]  # label 7 in data_batch_3.bin
    folder = _write_cifar_binary(tmp_path / "cifar", batches)
    preset = get_family("biggan").preset("cifar10", {"num_classes": 5})
    with pytest.raises(DataFormatError, match=r"data_batch_3\.bin': 1 of 2 labels are outside "
                       r"\[0, 5\) \(num_classes=5\)\. Found label values: 7\."):
        preset_dataset(preset, DataSource(path=folder), batch_size=2)
    # a record byte of 12 is not CIFAR-10 at all, whatever the model
    batches[1] = [2, 12]
    _write_cifar_binary(tmp_path / "cifar", batches)
    with pytest.raises(DataFormatError,
                       match=r"data_batch_2\.bin': 1 of 2 labels are outside \[0, 10\)"):
        data_lib.cifar10_arrays(folder)


def test_class_folders_beyond_num_classes_name_the_folders(tmp_path):
    root = tmp_path / "faces"
    for name in ("ant", "bee", "cat", "dog"):
        for index in range(2):
            _write_png(root / name / f"{index}.png", 8, 8)
    preset = get_family("dcgan").preset("celeba", {"num_classes": 2, "image_size": 8,
                                                    "crop_size": None})
    with pytest.raises(DataFormatError, match=(
            r"faces' has 4 class sub-folders \(labels 0\.\.3\) but num_classes=2: 4 images have "
            r"labels outside \[0, 2\) \(label values 2\.\.3: sub-folders \['cat', 'dog'\], "
            r"e\.g\. '.*cat/0\.png'\)")):
        preset_dataset(preset, DataSource(path=str(root)), batch_size=2)
    # the CIFAR-10 folder format has 10 classes: a 5-class model refuses it
    for name in data_lib.CIFAR10_CLASSES:
        _write_png(tmp_path / "c10" / "train" / name / "0.png", 32, 32)
    with pytest.raises(DataFormatError, match=r"10 class sub-folders .*num_classes=5.*'dog'"):
        data_lib.cifar10(str(tmp_path / "c10"), num_classes=5, batch_size=2)
    assert data_lib.cifar10(str(tmp_path / "c10"), num_classes=10, batch_size=2) is not None


@pytest.fixture(scope="module")
def dcgan_networks():
    generator = DCGANGenerator(image_size=28, channels=1, base_filters=2, latent_dim=4,
                               num_classes=10)
    discriminator = DCGANDiscriminator(image_size=28, channels=1, base_filters=2, num_classes=10)
    return generator, discriminator


@pytest.mark.parametrize("bad", [10, -1])
def test_conditional_dcgan_refuses_labels_outside_its_classes(dcgan_networks, bad):
    generator, discriminator = dcgan_networks
    z, images = tf.zeros((2, 4)), tf.zeros((2, 28, 28, 1))
    labels = tf.constant([3, bad])
    pattern = rf"`labels` must be class ids in \[0, 10\).*values \[{bad}\]"
    with pytest.raises(ValueError, match=pattern):
        generator([z, labels])
    with pytest.raises(ValueError, match=pattern):
        discriminator([images, labels])
    # in a graph, a cheap assertion
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`labels` must be"):
        tf.function(lambda z, y: generator([z, y]))(z, labels)
    assert generator([z, tf.constant([3, 9])]).shape == (2, 28, 28, 1)  # in range: fine


@pytest.fixture(scope="module")
def biggan_networks():
    kwargs = dict(image_size=32, base_channels=2, num_classes=10)
    generator = BigGANGenerator(latent_dim=20, shared_embedding_dim=4, **kwargs)
    discriminator = BigGANDiscriminator(**kwargs)
    return generator, discriminator


def test_biggan_refuses_float_labels(biggan_networks):
    generator, discriminator = biggan_networks
    floats = tf.constant([1.7, 0.0])
    with pytest.raises(ValueError, match=r"`labels` must be integer class ids.*dtype float32"):
        generator([tf.zeros((2, 20)), floats])
    with pytest.raises(ValueError, match=r"`labels` must be integer class ids.*dtype float32"):
        discriminator([tf.zeros((2, 32, 32, 3)), floats])
    assert generator([tf.zeros((2, 20)), tf.constant([1, 0])]).shape == (2, 32, 32, 3)


# ----------------------------------------------------------------------------- case 8


def test_idx_file_of_the_wrong_role_is_a_magic_error_not_truncated(tmp_path):
    folder = _write_mnist(tmp_path / "m", [1, 2, 3])
    labels_file = os.path.join(folder, "train-labels-idx1-ubyte")
    images_file = os.path.join(folder, "train-images-idx3-ubyte")
    good_labels = open(labels_file, "rb").read()
    # a labels file whose magic claims 3 dimensions: read as 3 dims it looked "truncated"
    with open(labels_file, "wb") as stream:
        stream.write(_idx_bytes([1, 2, 3], ndim=3))
    with pytest.raises(DataFormatError) as caught:
        mnist_arrays(folder)
    message = str(caught.value)
    assert "train-labels-idx1-ubyte" in message and "truncated" not in message
    assert "expected 0x00000801" in message and "found 0x00000803" in message
    # an images file claiming 1 dimension
    with open(labels_file, "wb") as stream:
        stream.write(good_labels)
    with open(images_file, "wb") as stream:
        stream.write(_idx_bytes(np.zeros((3, 28, 28)), ndim=1))
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte' has the wrong IDX magic "
                                              r"number: expected 0x00000803 .*found 0x00000801"):
        mnist_arrays(folder)
    # read_idx(path) keeps working; ndim= states the role
    assert read_idx(labels_file).tolist() == [1, 2, 3]
    with pytest.raises(DataFormatError, match=r"expected 0x00000803 .*found 0x00000801"):
        read_idx(labels_file, ndim=3)


def test_biggan_batch_sizes_of_z_and_labels_must_match(biggan_networks):
    generator, discriminator = biggan_networks
    pattern = (r"`z` and `labels` must have the same batch size\. "
               r"Received: z batch size 3, labels batch size 2")
    with pytest.raises(ValueError, match=pattern):
        generator([tf.zeros((3, 20)), tf.constant([1, 2])])
    with pytest.raises(ValueError, match=pattern):  # static shapes in a graph: at tracing
        tf.function(lambda z, y: generator([z, y]))(tf.zeros((3, 20)), tf.constant([1, 2]))
    with pytest.raises(ValueError, match=r"`images` and `labels` must have the same batch size"):
        discriminator([tf.zeros((2, 32, 32, 3)), tf.constant([1, 2, 3])])
    dynamic = tf.function(lambda z, y: generator([z, y]), input_signature=[
        tf.TensorSpec((None, 20), tf.float32), tf.TensorSpec((None,), tf.int32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must have the same batch size"):
        dynamic(tf.zeros((3, 20)), tf.constant([1, 2]))


# ----------------------------------------------------------------------------- case 9: pairs


@pytest.mark.parametrize("height, width", [(100, 300), (300, 100)])
def test_side_by_side_pairs_must_be_twice_as_wide_as_high(tmp_path, height, width):
    _write_png(tmp_path / "pairs" / "p.png", height, width)
    with pytest.raises(DataFormatError, match=(
            rf"'.*pairs/p\.png' is {height}x{width} \(height x width\); a side-by-side A\|B "
            rf"file must be twice as wide as high .*width = 2 x height = {2 * height}")):
        paired_images(tmp_path / "pairs", load_size=8, crop_size=8)
    _write_png(tmp_path / "ok" / "p.png", 8, 16)  # the positive control: two 8x8 halves
    source, target = next(iter(paired_images(tmp_path / "ok", load_size=8, crop_size=8)))
    assert source.shape == target.shape == (1, 8, 8, 3)


def test_a_and_b_folder_pairs_must_be_equal_squares(tmp_path):
    _write_png(tmp_path / "A" / "x.png", 10, 30)
    _write_png(tmp_path / "B" / "x.png", 10, 30)
    with pytest.raises(DataFormatError,
                       match=r"A/x\.png' and '.*B/x\.png' are 10x30 .*must be square"):
        paired_images(tmp_path, load_size=8, crop_size=8)
    _write_png(tmp_path / "B" / "x.png", 30, 10)
    with pytest.raises(DataFormatError,
                       match=r"A/x\.png' \(10x30\) and '.*B/x\.png' \(30x10\) differ"):
        paired_images(tmp_path, load_size=8, crop_size=8)
    # a later non-square pair is caught while iterating, naming both files
    _write_png(tmp_path / "A" / "x.png", 8, 8)
    _write_png(tmp_path / "B" / "x.png", 8, 8)
    _write_png(tmp_path / "A" / "y.png", 8, 12)
    _write_png(tmp_path / "B" / "y.png", 8, 12)
    ds = paired_images(tmp_path, load_size=8, crop_size=8, shuffle=False, batch_size=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"A/y\.png and .*B/y\.png are 8x12"):
        list(ds)


# ----------------------------------------------------------------------------- case 7: settings


@pytest.mark.parametrize("family, setting, key", [
    ("dcgan", "learning_rate=-1", "learning_rate"),
    ("dcgan", "beta_1=5", "beta_1"),
    ("dcgan", "beta_2=1", "beta_2"),
    ("dcgan", "epochs=0", "epochs"),
    ("dcgan", "epochs=-3", "epochs"),
    ("dcgan", "batch_size=2.5", "batch_size"),
    ("dcgan", "batch_size=true", "batch_size"),
    ("dcgan", "steps=1.5", "steps"),
    ("dcgan", "channels=3", "channels"),          # MNIST is greyscale: used to fail mid-run
    ("biggan", "ema_start=-1", "ema_start"),      # used to be accepted
    ("biggan", "ema_start=2.5", "ema_start"),     # used to become 2
    ("biggan", "orthogonal_regularization=-1", "orthogonal_regularization"),
    ("pix2pix", "l1_weight=-1", "l1_weight"),
])
def test_bad_settings_fail_before_anything_is_written(tmp_path, capsys, family, setting, key):
    out = tmp_path / "run"
    code = main(["train", family, "--smoke", "--set", setting, "--out", str(out), "--quiet",
                 "--no-tensorboard"])
    error = capsys.readouterr().err.strip()
    assert code == 1
    assert len(error.splitlines()) == 1
    value = setting.split("=", 1)[1]
    value = {"true": "True", "1": "1"}.get(value, value)
    assert f"`{key}` must be" in error and f"Received: {key}={value}" in error, error
    assert not out.exists()
