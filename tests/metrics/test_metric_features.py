"""Feature extractors: Keras models by layer name, resizing at the boundary, fingerprints, errors."""


import numpy as np
import pytest
import tensorflow as tf
from _metric_helpers import small_classifier, uniform_images

from ascendgan import compat
from ascendgan.metrics import FeatureExtractor

keras = compat.keras


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
