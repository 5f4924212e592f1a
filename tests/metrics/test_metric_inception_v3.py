"""InceptionV3 extractor: pool features and logits, weights from a file or the Keras cache, errors."""

import hashlib
import os

import numpy as np
import pytest
import tensorflow as tf
from _metric_helpers import small_classifier, uniform_images

from ascendgan import compat
from ascendgan.metrics import (
    FeatureExtractor,
    evaluate,
    inception_score,
    inception_v3,
    inception_v3_extractor,
)

keras = compat.keras


@pytest.fixture(scope="module")
def saved_inception(tmp_path_factory):
    """A random InceptionV3 at 75x75, saved in both weight formats, and its features."""
    compat.clear_session()
    compat.set_random_seed(11)
    model = keras.applications.InceptionV3(include_top=True, weights=None, input_shape=(75, 75, 3),
                                           classifier_activation=None)
    folder = tmp_path_factory.mktemp("inception")
    weights_file = str(folder / "inception.weights.h5")
    model.save_weights(weights_file)
    legacy_file = str(folder / "inception_full.h5")      # the format of Keras's ImageNet file
    if compat.KERAS_3:
        keras.saving.save_model(model, legacy_file)
    else:
        model.save(legacy_file)
    x = uniform_images(3, size=40, channels=3, seed=5)
    reference = FeatureExtractor(model, features_layer="avg_pool", logits_layer="predictions",
                                 image_size=75)(x)
    return {"weights": weights_file, "legacy": legacy_file, "x": x, "reference": reference,
            "values": model.get_weights()}


@pytest.fixture(scope="module")
def file_extractor(saved_inception):
    return inception_v3_extractor(weights=saved_inception["weights"], image_size=75)


def assert_same_weights(model, values):
    loaded = model.get_weights()
    assert len(loaded) == len(values)
    for a, b in zip(loaded, values):
        np.testing.assert_array_equal(a, b)


def test_inception_random_weights_pool_features_and_logits(saved_inception):
    extractor = inception_v3_extractor(weights=None, image_size=75)
    x = saved_inception["x"]
    out = extractor(x)
    assert out.features.shape == (3, 2048) and out.logits.shape == (3, 1000)
    assert (out.features >= 0).all()                          # average of ReLU outputs
    w, b = extractor.model.get_layer("predictions").get_weights()
    np.testing.assert_allclose(out.logits, out.features @ w + b, rtol=1e-4, atol=1e-4)
    # the 40x40 images are resized at the boundary, bilinear by default
    resized = tf.image.resize(x, (75, 75), method="bilinear")
    pool = keras.Model(extractor.model.inputs, extractor.model.get_layer("avg_pool").output)
    np.testing.assert_allclose(out.features, pool(resized, training=False), rtol=1e-4, atol=1e-5)
    p = extractor.protocol
    assert p["extractor"] == "inception_v3" and p["weights"].startswith("random")
    assert p["image_size"] == [75, 75] and p["dtype"] == "float32"


def test_inception_weights_file_gives_identical_features(saved_inception, file_extractor):
    out = file_extractor(saved_inception["x"])
    np.testing.assert_allclose(out.features, saved_inception["reference"].features, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.logits, saved_inception["reference"].logits, rtol=1e-5, atol=1e-5)
    path = saved_inception["weights"]
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()[:16]
    assert digest in file_extractor.protocol["weights"]


def test_imagenet_weights_are_read_from_the_keras_cache(saved_inception, tmp_path, monkeypatch):
    # stand in the published file: our legacy .h5 (the layout of Keras's ImageNet file) under
    # the real name, with its MD5 as the published one
    models = tmp_path / "models"
    models.mkdir()
    target = models / inception_v3.INCEPTION_V3_WEIGHTS["filename"]
    target.write_bytes(open(saved_inception["legacy"], "rb").read())
    md5 = hashlib.md5(target.read_bytes()).hexdigest()
    monkeypatch.setitem(inception_v3.INCEPTION_V3_WEIGHTS, "md5", md5)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    extractor = inception_v3_extractor(image_size=75, download=False)
    assert_same_weights(extractor.model, saved_inception["values"])
    assert extractor.protocol["weights"].startswith("imagenet")


def test_missing_imagenet_weights_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        inception_v3_extractor(download=False)
    message = str(error.value)
    assert inception_v3.INCEPTION_V3_WEIGHTS["url"] in message
    assert os.path.join(str(tmp_path), "models", inception_v3.INCEPTION_V3_WEIGHTS["filename"]) in message
    assert "weights=None" in message


@pytest.mark.stand_in
def test_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    attempts = []

    def offline(filename, url, cache_dir, md5):
        attempts.append((filename, cache_dir, md5))
        raise Exception(f"URL fetch failure on {url}: [Errno -2] Name or service not known")

    monkeypatch.setattr(inception_v3, "_download", offline)
    with pytest.raises(FileNotFoundError, match="downloading them failed.*Name or service"):
        inception_v3_extractor(cache_dir=tmp_path)
    assert attempts == [(inception_v3.INCEPTION_V3_WEIGHTS["filename"], str(tmp_path),
                         inception_v3.INCEPTION_V3_WEIGHTS["md5"])]


def test_corrupt_cached_weights_are_refused(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / inception_v3.INCEPTION_V3_WEIGHTS["filename"]).write_bytes(b"partial download")
    with pytest.raises(ValueError, match="MD5"):
        inception_v3_extractor(cache_dir=tmp_path, download=False)


def test_wrong_weights_files_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        inception_v3_extractor(weights=str(tmp_path / "missing.h5"), image_size=75)
    small = small_classifier()
    path = str(tmp_path / "small.weights.h5")
    small.save_weights(path)
    with pytest.raises(ValueError, match="small.weights.h5"):
        inception_v3_extractor(weights=path, image_size=75)
    with pytest.raises(ValueError, match="image_size"):
        inception_v3_extractor(weights=None, image_size=32)
    with pytest.raises(ValueError, match="weights"):
        inception_v3_extractor(weights=3)


def test_evaluate_with_inception(saved_inception, file_extractor):
    extractor = file_extractor
    x = saved_inception["x"]
    # (FID of 2048-d features costs a 2048x2048 sqrtm, ~10 s here: the maths is tested elsewhere)
    result = evaluate(x, x, metrics=["is", "precision_recall"], num_samples=None,
                      extractor=extractor, splits=1, k=1)
    logits = saved_inception["reference"].logits
    assert result["is"] == pytest.approx(inception_score(logits, 1, from_logits=True).mean, rel=1e-4)
    assert (result["precision"], result["recall"]) == (1.0, 1.0)
    assert result.protocol["extractor"] == "inception_v3" and result.protocol["num_samples"] == 3
