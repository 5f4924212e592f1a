"""The shipped domain extractors (``ascendgan.metrics.domain``): weights, cards, reference
statistics, ``domain_fid`` and ``ascendgan evaluate`` without InceptionV3 or data."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tarfile

import numpy as np
import pytest

from ascendgan import compat
from ascendgan.cli import main
from ascendgan.cli.evaluate import choose_extractor
from ascendgan.data import cifar10_arrays, mnist_arrays
from ascendgan.metrics import (
    DOMAIN_EXTRACTORS,
    EvaluationSettings,
    GANMetrics,
    domain_card,
    domain_extractor,
    domain_fid,
    domain_reference,
    evaluate,
    frechet_distance,
)
from ascendgan.metrics import domain as domain_lib
from ascendgan.metrics.features import file_digest
from ascendgan.recipes import DataSource, GANRun, train_gan

SHARED_DATA = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data"
CALIBRATION = json.loads((pathlib.Path(domain_lib.EXTRACTORS_DIR) / "calibration.json").read_text())
DOMAINS = sorted(DOMAIN_EXTRACTORS)


def unit(images):
    return images.astype(np.float32) / 127.5 - 1


@pytest.fixture(scope="module")
def shipped_digits():
    return mnist_arrays(split="test")  # the copy inside the package


@pytest.fixture(scope="module")
def mnist_extractor():
    return domain_extractor("mnist")


# ----------------------------------------------------------------------------- weights


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_weights_load_with_the_recorded_hash(domain):
    spec = DOMAIN_EXTRACTORS[domain]
    card = domain_card(domain)
    assert file_digest(spec.weights_path) == spec.weights_sha256 == card["sha256"]
    assert (card["name"], card["version"]) == (spec.name, spec.version)
    extractor = domain_extractor(domain)
    protocol = extractor.protocol
    assert protocol["extractor"] == spec.name and protocol["extractor_version"] == spec.version
    assert protocol["weights_sha256"] == spec.weights_sha256
    assert protocol["image_size"] == "unchanged" and protocol["dtype"] == "float32"
    assert extractor.fingerprint() == spec.weights_sha256[:16]
    for split, entry in card["reference_statistics"].items():
        assert file_digest(spec.reference_path(split)) == spec.reference_sha256[split] == entry["sha256"]
    # a few MB at most
    assert os.path.getsize(spec.weights_path) < 3_000_000


def _tampered_copy(tmp_path, monkeypatch, name):
    folder = tmp_path / "extractors"
    shutil.copytree(domain_lib.EXTRACTORS_DIR, folder)
    path = folder / name
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one bit
    path.write_bytes(bytes(raw))
    monkeypatch.setattr(domain_lib, "EXTRACTORS_DIR", str(folder))
    return path


def test_a_tampered_weights_file_is_refused(tmp_path, monkeypatch):
    spec = DOMAIN_EXTRACTORS["mnist"]
    path = _tampered_copy(tmp_path, monkeypatch, os.path.basename(spec.weights_path))
    with pytest.raises(ValueError, match=r"SHA-256 .* not the recorded .*changed or is corrupt"):
        domain_extractor("mnist")
    with pytest.raises(ValueError, match="SHA-256"):
        domain_extractor("mnist", weights=path, sha256=spec.weights_sha256)


def test_tampered_reference_statistics_are_refused(tmp_path, monkeypatch, mnist_extractor):
    _tampered_copy(tmp_path, monkeypatch, os.path.basename(DOMAIN_EXTRACTORS["mnist"].reference_path("test")))
    with pytest.raises(ValueError, match="reference statistics .* not the recorded"):
        domain_reference("mnist", "test", extractor=mnist_extractor)
    assert domain_reference("mnist", "train", extractor=mnist_extractor).count == 60_000


def test_weights_of_another_network_are_refused():
    cifar = DOMAIN_EXTRACTORS["cifar10"]
    with pytest.raises(ValueError, match="does not hold the variables of 'mnist_cnn'"):
        domain_extractor("mnist", weights=cifar.weights_path, sha256=cifar.weights_sha256)
    with pytest.raises(ValueError, match=r"`domain` must be one of \('mnist', 'cifar10'\)"):
        domain_extractor("svhn")


# ----------------------------------------------------------------------------- the networks


def test_mnist_reproduces_its_recorded_accuracy_on_the_shipped_digits(shipped_digits, mnist_extractor):
    card = domain_card("mnist")
    images, labels = shipped_digits
    count = card["slice"]["count"]
    logits = mnist_extractor(unit(images[:count])).logits
    correct = int(np.sum(logits.argmax(1) == labels[:count]))
    assert correct == card["slice"]["correct"]
    assert correct / count == pytest.approx(card["slice"]["accuracy"])
    np.testing.assert_allclose(logits[:4], card["slice"]["logits_first_4"], atol=2e-4)
    assert card["test_accuracy"] >= 0.99 and card["test_count"] == 10_000


@pytest.mark.parametrize("domain", DOMAINS)
def test_recorded_logits_of_fixed_inputs(domain):
    """Identical weights give identical outputs, in Keras 3 and legacy Keras alike."""
    spec = DOMAIN_EXTRACTORS[domain]
    card = domain_card(domain)
    inputs = np.random.default_rng(0).uniform(-1, 1, (4, *spec.input_shape)).astype(np.float32)
    out = domain_extractor(domain)(inputs)
    np.testing.assert_allclose(out.logits, card["synthetic"]["logits"], atol=2e-4)
    np.testing.assert_allclose(out.features.sum(axis=1), card["synthetic"]["features_sum"], rtol=1e-4)
    assert out.features.shape == (4, 256) and out.features.min() >= 0  # ReLU features


@pytest.mark.skipif(not (SHARED_DATA / "cifar10-jpeg.tar.gz").exists(),
                    reason="the project's shared CIFAR-10 copy is not on this machine")
def test_cifar10_reproduces_its_recorded_accuracy_on_a_test_slice(tmp_path):
    card = domain_card("cifar10")
    with tarfile.open(SHARED_DATA / "cifar10-jpeg.tar.gz") as archive:
        members = [m for m in archive.getmembers() if "/test/" in m.name]
        archive.extractall(tmp_path, members=members, filter="data")
    images, labels = cifar10_arrays(str(tmp_path / "cifar10"), split="test", format="folder")
    count = card["slice"]["count"]
    logits = domain_extractor("cifar10")(unit(images[:count])).logits
    assert int(np.sum(logits.argmax(1) == labels[:count])) == card["slice"]["correct"]
    np.testing.assert_allclose(logits[:4], card["slice"]["logits_first_4"], atol=2e-4)


def test_the_features_do_not_depend_on_the_global_precision(shipped_digits, mnist_extractor):
    images = unit(shipped_digits[0][:8])
    expected = mnist_extractor(images).features
    compat.set_precision("mixed_bfloat16")
    extractor = domain_extractor("mnist")
    assert extractor.protocol["dtype"] == "float32"
    assert extractor.cache_key() == mnist_extractor.cache_key()
    np.testing.assert_allclose(extractor(images).features, expected, rtol=1e-5, atol=1e-5)


def test_images_of_another_size_are_a_clear_error(mnist_extractor):
    with pytest.raises(ValueError, match="takes 28x28 images and does not resize"):
        mnist_extractor(np.zeros((2, 32, 32, 1), np.float32))


# ----------------------------------------------------------------------------- reference statistics


@pytest.mark.parametrize("domain, counts", [("mnist", (60_000, 10_000)), ("cifar10", (50_000, 10_000))])
def test_reference_statistics_shapes_and_symmetry(domain, counts):
    extractor = domain_extractor(domain)
    for split, count in zip(("train", "test"), counts):
        ref = domain_reference(domain, split, extractor=extractor)
        assert ref.count == count and ref.features is None
        assert ref.mean.shape == (256,) and ref.covariance.shape == (256, 256)
        assert ref.mean.dtype == ref.covariance.dtype == np.float64
        np.testing.assert_array_equal(ref.covariance, ref.covariance.T)
        assert np.linalg.eigvalsh(ref.covariance).min() > -1e-9  # positive semi-definite
        assert (ref.mean >= 0).all()  # means of ReLU features
        assert ref.protocol["reference_split"] == split
        assert ref.protocol["weights_sha256"] == DOMAIN_EXTRACTORS[domain].weights_sha256
        assert ref.protocol["extractor_key"] == extractor.cache_key()


def test_the_test_statistics_are_those_of_the_shipped_digits(shipped_digits, mnist_extractor):
    """The shipped MNIST is the full test split: its features give the shipped statistics."""
    images = unit(shipped_digits[0])
    features = np.concatenate([mnist_extractor(images[i:i + 1000]).features
                               for i in range(0, len(images), 1000)]).astype(np.float64)
    ref = domain_reference("mnist", "test", extractor=mnist_extractor)
    np.testing.assert_allclose(ref.mean, features.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ref.covariance, np.cov(features, rowvar=False), rtol=1e-4, atol=1e-6)
    train = domain_reference("mnist", "train", extractor=mnist_extractor)
    assert not np.allclose(train.mean, ref.mean, atol=1e-3)  # another split


def test_statistics_of_another_extractor_are_refused(mnist_extractor):
    with pytest.raises(ValueError, match="computed with weights"):
        domain_reference("cifar10", "test", extractor=mnist_extractor)


# ----------------------------------------------------------------------------- numbers


def test_domain_fid_of_real_digits_is_small_and_of_noise_large(shipped_digits):
    """Against the calibration table (docs/metrics.md): the same numbers, reproduced."""
    table = CALIBRATION["mnist"]["results"]
    real = domain_fid(unit(shipped_digits[0]), "mnist", num_samples=None, split="train",
                      batch_size=500)
    assert set(real.values) == {"fid_mnist_cnn"}
    assert real["fid_mnist_cnn"] == pytest.approx(table["real_vs_train"]["fid"], rel=1e-3, abs=1e-4)
    assert real["fid_mnist_cnn"] < table["blur_vs_train"]["fid"] / 5
    noise = np.random.default_rng(0).uniform(0, 255, (10_000, 28, 28, 1)) / 127.5 - 1
    uniform = domain_fid(noise.astype(np.float32), "mnist", num_samples=None, batch_size=500)
    assert uniform["fid_mnist_cnn"] == pytest.approx(table["uniform_noise_vs_train"]["fid"], rel=1e-3)
    assert uniform["fid_mnist_cnn"] > 100 * real["fid_mnist_cnn"]
    protocol = uniform.protocol
    assert protocol["extractor"] == "mnist_cnn" and protocol["extractor_version"] == 1
    assert protocol["weights_sha256"] == DOMAIN_EXTRACTORS["mnist"].weights_sha256
    assert (protocol["reference_split"], protocol["reference_samples"]) == ("train", 60_000)
    assert protocol["num_samples"] == 10_000


def test_values_are_named_after_the_domain_extractor(shipped_digits, mnist_extractor):
    images = unit(shipped_digits[0][:200])
    reference = domain_reference("mnist", "train", extractor=mnist_extractor)
    settings = EvaluationSettings(metrics=["fid", "is"], num_samples=None, extractor=mnist_extractor,
                                  batch_size=100, splits=2)
    assert settings.values == ("fid_mnist_cnn", "is_mnist_cnn", "is_mnist_cnn_std")
    result = evaluate(images, reference, settings)
    assert tuple(result.values) == settings.values and "fid" not in result
    assert result["is_mnist_cnn"] > 5  # confident, varied digits: close to 10 classes
    assert str(result).startswith("fid_mnist_cnn ") and "is_mnist_cnn " in str(result)
    # KID needs feature rows: the shipped statistics say so
    with pytest.raises(ValueError, match="need reference features"):
        evaluate(images, reference, settings.replace(metrics=["kid"]))
    callback = GANMetrics(reference, settings, every_n_steps=10, best_metric="fid")
    assert callback.best_metric == "fid_mnist_cnn" and not callback.higher_is_better
    callback = GANMetrics(reference, settings, every_n_steps=10, best_metric="is_mnist_cnn")
    assert callback.higher_is_better


# ----------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """A 2-step smoke DCGAN trained on the shipped MNIST (``data=None``)."""
    out = str(tmp_path_factory.mktemp("runs") / "dcgan")
    train_gan(GANRun("dcgan", smoke=True, data=DataSource(limit=16), out=out,
                     tensorboard=False, verbose=0))
    return out


@pytest.fixture
def no_inception(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))


def test_evaluate_picks_the_mnist_extractor_offline(mnist_run, no_inception, tmp_path, capsys):
    output = tmp_path / "result.json"
    assert main(["evaluate", mnist_run, "--num-samples", "20", "--batch-size", "10",
                 "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert "extractor: mnist_cnn v1" in out and "chosen by auto: no InceptionV3" in out
    assert "reference: mnist (statistics shipped with ascendgan), train split, 60000 images" in out
    result = json.loads(output.read_text())
    assert {"fid_mnist_cnn", "is_mnist_cnn"} <= set(result) and "fid" not in result
    protocol = result["protocol"]
    spec = DOMAIN_EXTRACTORS["mnist"]
    assert (protocol["extractor"], protocol["extractor_version"]) == ("mnist_cnn", 1)
    assert protocol["weights_sha256"] == spec.weights_sha256
    # the run trained on the shipped test split: the held-out reference is train
    assert (protocol["reference_split"], protocol["reference_samples"]) == ("train", 60_000)
    assert protocol["num_samples"] == 20 and protocol["extractor_choice"].startswith("auto")


def test_evaluate_reference_split_and_metric_errors(mnist_run, no_inception, tmp_path, capsys):
    output = tmp_path / "result.json"
    assert main(["evaluate", mnist_run, "--extractor", "mnist", "--reference-split", "test",
                 "--metrics", "fid", "--num-samples", "20", "--batch-size", "10",
                 "--output", str(output)]) == 0
    protocol = json.loads(output.read_text())["protocol"]
    assert (protocol["reference_split"], protocol["reference_samples"]) == ("test", 10_000)
    assert protocol["extractor_choice"] == "--extractor mnist"
    capsys.readouterr()
    assert main(["evaluate", mnist_run, "--metrics", "fid,kid", "--num-samples", "20"]) == 1
    assert "KID and precision / recall need reference images" in capsys.readouterr().err
    assert main(["evaluate", mnist_run, "--extractor", "mnist", "--image-size", "32"]) == 1
    assert "do not apply to the shipped mnist extractor" in capsys.readouterr().err


def test_auto_without_inception_or_a_domain_is_a_clear_error(no_inception):
    assert choose_extractor("auto", None, "mnist")[0] == "mnist"
    assert choose_extractor("auto", None, "cifar10")[0] == "cifar10"
    assert choose_extractor("auto", "none", "mnist") == ("inception", "auto: --weights given")
    assert choose_extractor("my.keras", None, None)[0] == "file"
    with pytest.raises(ValueError, match="Pass --extractor inception --weights FILE"):
        choose_extractor("auto", None, "image_folder")


def test_frechet_distance_of_train_and_test_statistics_is_small():
    for domain in DOMAINS:
        train, test = (domain_reference(domain, split) for split in ("train", "test"))
        value = frechet_distance(train.mean, train.covariance, test.mean, test.covariance)
        assert value == pytest.approx(CALIBRATION[domain]["results"]["train_vs_test_statistics"], rel=1e-6)
