"""Feature extractors: Keras models by layer name, InceptionV3 with random / file / cached weights."""

import hashlib
import os

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.metrics import (
    FeatureExtractor,
    evaluate,
    features,
    inception_score,
    inception_v3_extractor,
)

keras = compat.keras


def small_classifier(channels=1):
    inputs = keras.Input((4, 4, channels))
    h = keras.layers.Flatten()(inputs)
    h = keras.layers.Dense(6, activation="relu", name="feat")(h)
    return keras.Model(inputs, keras.layers.Dense(3, name="logits")(h), name="small")


def uniform_images(n, size=4, channels=1, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)).astype("float32")


# ----------------------------------------------------------------------------- any Keras model


def test_features_and_logits_come_from_the_named_layers():
    model = small_classifier()
    extractor = FeatureExtractor(model, features_layer="feat", logits_layer="logits")
    x = uniform_images(5)
    out = extractor(x)
    w1, b1 = model.get_layer("feat").get_weights()
    w2, b2 = model.get_layer("logits").get_weights()
    hidden = np.maximum(x.reshape(5, -1) @ w1 + b1, 0)
    np.testing.assert_allclose(out.features, hidden, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.logits, hidden @ w2 + b2, rtol=1e-5, atol=1e-6)
    assert extractor.protocol["features_layer"] == "feat" and extractor.protocol["extractor"] == "small"


def test_resize_and_grey_to_rgb_at_the_boundary():
    model = small_classifier(channels=3)
    extractor = FeatureExtractor(model, features_layer="feat", image_size=4, resize_method="area")
    big = uniform_images(3, size=8)
    expected_input = np.repeat(tf.image.resize(big, (4, 4), method="area").numpy(), 3, axis=-1)
    w, b = model.get_layer("feat").get_weights()
    expected = np.maximum(expected_input.reshape(3, -1) @ w + b, 0)
    np.testing.assert_allclose(extractor(big).features, expected, rtol=1e-5, atol=1e-6)
    assert extractor.protocol["image_size"] == [4, 4] and extractor.protocol["resize_method"] == "area"


def test_images_of_the_right_size_are_not_resampled():
    # the gaussian filter blurs even at scale 1, so a resize of same-size images would show
    inputs = keras.Input((4, 4, 1))
    flat = FeatureExtractor(keras.Model(inputs, keras.layers.Flatten()(inputs)), image_size=4,
                            resize_method="gaussian")
    for n, size in [(3, 4), (5, 8), (2, 4), (7, 6), (1, 4)]:      # retraced with unknown sizes
        x = uniform_images(n, size=size, seed=n)
        expected = x if size == 4 else tf.image.resize(x, (4, 4), method="gaussian").numpy()
        np.testing.assert_allclose(flat(x).features, expected.reshape(n, -1), rtol=1e-6, atol=1e-6)


def test_fingerprint_follows_the_weights():
    compat.set_random_seed(1)
    a = small_classifier()
    compat.set_random_seed(1)
    b = small_classifier()
    compat.set_random_seed(2)
    c = small_classifier()
    keys = [FeatureExtractor(m, features_layer="feat", name="clf").cache_key() for m in (a, b, c)]
    assert keys[0] == keys[1] != keys[2]


def test_extractor_errors():
    model = small_classifier()
    with pytest.raises(ValueError, match="'nope' is not a layer"):
        FeatureExtractor(model, features_layer="nope")
    with pytest.raises(ValueError, match="resize_method"):
        FeatureExtractor(model, resize_method="fancy")
    with pytest.raises(ValueError, match="need a Keras model"):
        FeatureExtractor(lambda x: x, features_layer="feat")
    extractor = FeatureExtractor(model, features_layer="feat")
    with pytest.raises(ValueError, match="batch"):
        extractor(np.zeros((4, 4, 1), "float32"))
    with pytest.raises(ValueError, match="channels"):
        extractor(np.zeros((2, 4, 4, 2), "float32"))
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        extractor(np.full((2, 4, 4, 1), 200.0, "float32"))


# ----------------------------------------------------------------------------- InceptionV3


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
    target = models / features.INCEPTION_V3_WEIGHTS["filename"]
    target.write_bytes(open(saved_inception["legacy"], "rb").read())
    md5 = hashlib.md5(target.read_bytes()).hexdigest()
    monkeypatch.setitem(features.INCEPTION_V3_WEIGHTS, "md5", md5)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    extractor = inception_v3_extractor(image_size=75, download=False)
    assert_same_weights(extractor.model, saved_inception["values"])
    assert extractor.protocol["weights"].startswith("imagenet")


def test_missing_imagenet_weights_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        inception_v3_extractor(download=False)
    message = str(error.value)
    assert features.INCEPTION_V3_WEIGHTS["url"] in message
    assert os.path.join(str(tmp_path), "models", features.INCEPTION_V3_WEIGHTS["filename"]) in message
    assert "weights=None" in message


@pytest.mark.stand_in
def test_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    attempts = []

    def offline(filename, url, cache_dir, md5):
        attempts.append((filename, cache_dir, md5))
        raise Exception(f"URL fetch failure on {url}: [Errno -2] Name or service not known")

    monkeypatch.setattr(features, "_download", offline)
    with pytest.raises(FileNotFoundError, match="downloading them failed.*Name or service"):
        inception_v3_extractor(cache_dir=tmp_path)
    assert attempts == [(features.INCEPTION_V3_WEIGHTS["filename"], str(tmp_path),
                         features.INCEPTION_V3_WEIGHTS["md5"])]


def test_corrupt_cached_weights_are_refused(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / features.INCEPTION_V3_WEIGHTS["filename"]).write_bytes(b"partial download")
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
