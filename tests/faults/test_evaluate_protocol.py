"""Issue 14, case 11: ``ascendgan evaluate`` stamps the reference it really read.

A run trained on the MNIST shipped with ascendgan (``data=None``: the MNIST *test* split,
the ``t10k`` files) was stamped ``"reference": "None", "reference_split": "train"``. The
stamp must name the shipped data set and its real split, and a path with the split its
loader reads. The reference statistics themselves are checked against features computed
here from the IDX files, so the stamp is tied to the images actually used.
"""

from __future__ import annotations

import glob
import json
import shutil

import numpy as np
import pytest

from ascendgan import compat
from ascendgan.cli import main
from ascendgan.cli.evaluate import SHIPPED_MNIST, reference_protocol
from ascendgan.data import read_idx, shipped_path
from ascendgan.models import get_family
from ascendgan.recipes import DataSource, GANRun, train_gan

keras = compat.keras
REFERENCE_SAMPLES = 8


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """A 2-step smoke DCGAN trained on the shipped MNIST (``data=None``)."""
    out = str(tmp_path_factory.mktemp("runs") / "dcgan")
    train_gan(GANRun("dcgan", smoke=True, data=DataSource(limit=16), out=out,
                     tensorboard=False, verbose=0))
    return out


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    """A tiny saved extractor (flattened pixels -> 8 features), and the model itself."""
    compat.set_random_seed(0)
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(8, name="features")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs, name="tiny")
    path = str(tmp_path_factory.mktemp("extractor") / "tiny.keras")
    model.save(path)
    return path, model


def _evaluate(run, extractor_path, tmp_path, *extra):
    output = tmp_path / "result.json"
    cache = tmp_path / "cache"
    code = main(["evaluate", run, "--extractor", extractor_path, "--image-size", "28",
                 "--metrics", "fid", "--num-samples", "4", "--batch-size", "4",
                 "--reference-samples", str(REFERENCE_SAMPLES), "--cache-dir", str(cache),
                 "--output", str(output), *extra])
    assert code == 0
    statistics = np.load(glob.glob(str(cache / "*.npz"))[0])
    return json.loads(output.read_text())["protocol"], statistics


def _expected_mean(model, images_file):
    """Feature mean of the first reference images, read straight from an IDX file."""
    images = read_idx(images_file)[:REFERENCE_SAMPLES, :, :, None] / 127.5 - 1
    return np.asarray(model(images.astype("float32"))).astype("float64").mean(axis=0)


def test_the_shipped_mnist_is_stamped_as_its_test_split(mnist_run, extractor, tmp_path):
    path, model = extractor
    protocol, statistics = _evaluate(mnist_run, path, tmp_path)
    assert protocol["reference"] == SHIPPED_MNIST == "mnist (shipped with ascendgan)"
    assert protocol["reference_split"] == "test"
    assert protocol["reference_samples"] == REFERENCE_SAMPLES
    # the statistics are those of the t10k images: the stamp says what was read
    t10k = shipped_path("mnist") + "/t10k-images-idx3-ubyte.gz"
    np.testing.assert_allclose(statistics["mean"], _expected_mean(model, t10k), rtol=1e-4, atol=1e-5)


def test_a_data_path_is_stamped_with_the_split_its_loader_reads(mnist_run, extractor, tmp_path):
    """An MNIST folder given with --data is read for its train split (here, t10k images
    renamed, so the numbers can be checked against a known file)."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    for kind in ("images-idx3", "labels-idx1"):
        shutil.copy(f"{shipped_path('mnist')}/t10k-{kind}-ubyte.gz", folder / f"train-{kind}-ubyte.gz")
    path, model = extractor
    protocol, statistics = _evaluate(mnist_run, path, tmp_path, "--data", str(folder))
    assert (protocol["reference"], protocol["reference_split"]) == (str(folder), "train")
    np.testing.assert_allclose(statistics["mean"],
                               _expected_mean(model, folder / "train-images-idx3-ubyte.gz"),
                               rtol=1e-4, atol=1e-5)


def _preset(family, name=None):
    registered = get_family(family)
    return registered.preset(name or registered.default_preset)


def test_the_reference_names_what_each_loader_reads(tmp_path):
    """The stamp for every kind of data ``preset_dataset`` reads (no images are read)."""
    mnist = _preset("dcgan", "mnist")
    assert mnist.data.kind == "mnist"
    assert reference_protocol(mnist, None) == (SHIPPED_MNIST, "test")
    assert reference_protocol(mnist, "/data/mnist") == ("/data/mnist", "train")
    cifar = _preset("biggan", "cifar10")
    assert cifar.data.kind == "cifar10"
    batches = tmp_path / "cifar-10-batches-py"
    batches.mkdir()
    (batches / "data_batch_1").write_bytes(b"")
    assert reference_protocol(cifar, str(batches)) == (str(batches), "train")
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(b"")
    assert reference_protocol(cifar, str(photos)) == (str(photos), "all")
    celeba = _preset("dcgan", "celeba")
    assert celeba.data.kind == "image_folder"
    assert reference_protocol(celeba, str(photos)) == (str(photos), "all")
    pairs = _preset("pix2pix")
    assert reference_protocol(pairs, str(photos)) == (str(photos), "all")
