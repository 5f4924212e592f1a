"""Streaming evaluation: accumulators equal one-shot maths, sources, cache, protocol, errors."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.metrics import (
    EvaluationResult,
    FeatureExtractor,
    FeatureReservoir,
    ReferenceStatistics,
    RunningInceptionScore,
    RunningStatistics,
    evaluate,
    frechet_distance,
    gaussian_statistics,
    inception_score,
    kernel_distance,
    precision_recall,
    reference_statistics,
)
from ascendgan.metrics.streaming import image_batches
from ascendgan.training import GAN

keras = compat.keras

PROJECTION = np.random.default_rng(42).normal(size=(16, 5))


def pixel_features(images):
    """Features = pixels, logits = a fixed linear map of them (an independent reference)."""
    flat = np.reshape(np.asarray(images, np.float64), (len(images), -1))
    return flat.astype("float32"), (flat @ PROJECTION).astype("float32")


class Counting:
    """A pixel extractor that counts its calls."""

    def __init__(self):
        self.calls = 0
        self.__name__ = "pixels"

    def __call__(self, images):
        self.calls += 1
        return pixel_features(images)


def pixels(name="pixels"):
    return FeatureExtractor(Counting(), name=name, value_range=(-1.0, 1.0))


def images(rng, n, shift=0.0):
    return np.clip(rng.normal(shift, 0.3, size=(n, 4, 4, 1)), -1, 1).astype("float32")


# ----------------------------------------------------------------------------- accumulators


def test_running_statistics_equal_one_shot(rng):
    x = rng.normal(size=(103, 7)) * 3 + 1e4          # a large offset tests the stable update
    stats = RunningStatistics()
    for batch in np.array_split(x, [1, 11, 50, 51, 90]):
        stats.update(batch)
    assert stats.count == 103
    np.testing.assert_allclose(stats.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.covariance, np.cov(x, rowvar=False), rtol=1e-9, atol=1e-9)


def test_reservoir_keeps_everything_in_order_when_it_fits(rng):
    x = rng.normal(size=(30, 3))
    reservoir = FeatureReservoir(capacity=30, seed=0)
    for batch in np.array_split(x, 4):
        reservoir.update(batch)
    np.testing.assert_array_equal(reservoir.features, x.astype("float32"))


def test_reservoir_is_a_uniform_subset():
    rows = np.arange(20, dtype="float32")[:, None]
    counts = np.zeros(20)
    for trial in range(2000):
        reservoir = FeatureReservoir(capacity=5, seed=trial)
        for batch in np.array_split(rows, [3, 4, 12]):
            reservoir.update(batch)
        kept = reservoir.features[:, 0].astype(int)
        assert len(set(kept)) == 5 and reservoir.seen == 20
        counts[kept] += 1
    # each row is kept with probability 5/20; binomial std of a count is ≈ 19
    np.testing.assert_allclose(counts / 2000, 0.25, atol=0.045)


def test_running_inception_score_equals_one_shot(rng):
    logits = rng.normal(size=(103, 6)) * 2
    expected = inception_score(logits, splits=4, from_logits=True)
    streaming = RunningInceptionScore(splits=4, num_samples=103)
    kept = RunningInceptionScore(splits=4, num_samples=None)
    for batch in np.array_split(logits, [10, 26, 27, 80]):    # not aligned with the splits
        streaming.update(batch)
        kept.update(batch)
    # the streaming sums are float64; the kept logits float32
    for score, tolerance in ((streaming.result(), 1e-10), (kept.result(), 1e-6)):
        assert score.mean == pytest.approx(expected.mean, rel=tolerance)
        assert score.std == pytest.approx(expected.std, rel=100 * tolerance)


# ----------------------------------------------------------------------------- evaluate


def test_streaming_evaluate_equals_one_shot_maths(rng):
    real, fake = images(rng, 90), images(rng, 70, shift=0.2)
    result = evaluate(fake, real, metrics=["fid", "kid", "is", "precision_recall"], num_samples=None,
                      extractor=pixels(), batch_size=8, splits=5, kid_subsets=7, kid_subset_size=30,
                      seed=1)
    real_f, _ = pixel_features(real)
    fake_f, fake_logits = pixel_features(fake)
    assert result["fid"] == pytest.approx(
        frechet_distance(*gaussian_statistics(real_f), *gaussian_statistics(fake_f)), rel=1e-9)
    kid = kernel_distance(real_f, fake_f, num_subsets=7, subset_size=30, seed=1)
    assert result["kid"] == pytest.approx(kid.mean, rel=1e-9)
    assert result["kid_std"] == pytest.approx(kid.std, rel=1e-9)
    score = inception_score(fake_logits, splits=5, from_logits=True)
    assert result["is"] == pytest.approx(score.mean, rel=1e-6)
    assert result["is_std"] == pytest.approx(score.std, rel=1e-5)
    pr = precision_recall(real_f, fake_f)
    assert (result["precision"], result["recall"]) == (pr.precision, pr.recall)
    assert 0 < result["fid"]


def test_result_is_stamped_with_its_protocol(rng):
    real = images(rng, 40)
    result = evaluate(images(rng, 30), real, metrics=["fid", "kid"], num_samples=20,
                      extractor=pixels(), batch_size=8, kid_subsets=3, kid_subset_size=1000,
                      reference_name="toy", reference_split="test", reference_samples=25)
    p = result.protocol
    assert p["extractor"] == "pixels" and p["num_samples"] == 20
    assert p["reference"] == "toy" and p["reference_split"] == "test" and p["reference_samples"] == 25
    assert p["kid_subset_size"] == 20 and p["kid_features"] == [25, 20] and p["kid_subsets"] == 3
    assert {"weights", "image_size", "resize_method", "dtype", "seed"} <= set(p)
    assert isinstance(result, EvaluationResult) and set(dict(result)) == {"fid", "kid", "kid_std"}
    json.dumps(result.as_dict())           # serializable as it is
    assert "fid" in str(result) and "toy/test" in str(result)


def test_fid_of_a_data_set_with_itself_is_zero(rng):
    real = images(rng, 50)
    assert evaluate(real, real, num_samples=None, extractor=pixels())["fid"] == pytest.approx(0, abs=1e-9)


def test_inception_score_alone_needs_no_reference(rng):
    result = evaluate(images(rng, 20), metrics="inception_score", num_samples=None,
                      extractor=pixels(), splits=2)
    _, logits = pixel_features(images(np.random.default_rng(0), 20))
    assert set(result.values) == {"is", "is_std"}
    assert result["is"] == pytest.approx(inception_score(logits, 2, from_logits=True).mean, rel=1e-6)


# ----------------------------------------------------------------------------- sources


def tiny_gan(num_classes=None):
    compat.set_random_seed(3)
    z = keras.Input((2,))
    inputs, h = z, keras.layers.Dense(16)(z)
    if num_classes:
        y = keras.Input((), dtype="int32")
        inputs = [z, y]
        # the image is the label's embedding alone, so the image reveals the label
        h = keras.layers.Embedding(num_classes, 16, embeddings_initializer="identity")(y)
        h = keras.layers.Lambda(lambda t: 0.0 * t)(keras.layers.Dense(16)(z)) + h * 0.5
    out = keras.layers.Reshape((4, 4, 1))(keras.layers.Activation("tanh")(h))
    generator = keras.Model(inputs, out)
    x = keras.Input((4, 4, 1))
    disc_inputs = x if not num_classes else [x, keras.Input((), dtype="int32")]
    discriminator = keras.Model(disc_inputs, keras.layers.Dense(1)(keras.layers.Flatten()(x)))
    return GAN(generator, discriminator, latent_dim=2, num_classes=num_classes, seed=0)


def test_gan_source_is_reproducible_and_counted():
    gan = tiny_gan()
    batches = list(image_batches(gan, num_samples=10, batch_size=4, seed=5))
    assert [len(b) for b in batches] == [4, 4, 2]
    again = np.concatenate(list(image_batches(gan, num_samples=10, batch_size=4, seed=5)))
    other = np.concatenate(list(image_batches(gan, num_samples=10, batch_size=4, seed=6)))
    np.testing.assert_array_equal(np.concatenate(batches), again)
    assert not np.allclose(again, other)
    assert np.abs(again).max() <= 1.0
    real = images(np.random.default_rng(0), 30)
    r1 = evaluate(gan, real, num_samples=10, extractor=pixels(), batch_size=4, seed=5)
    r2 = evaluate(again, real, num_samples=None, extractor=pixels(), batch_size=3)
    assert r1["fid"] == pytest.approx(r2["fid"], rel=1e-6)   # rank-deficient: round-off grows
    assert r1.protocol["source"].startswith("GAN")


def test_conditional_gan_gets_random_labels():
    gan = tiny_gan(num_classes=16)
    generated = np.concatenate(list(image_batches(gan, num_samples=40, batch_size=16, seed=0)))
    labels = np.argmax(generated.reshape(40, 16), axis=1)   # the one-hot pixel is the label
    assert len(np.unique(labels)) >= 8


def test_callable_source_is_called_with_the_batch_sizes(rng):
    sizes = []

    def sample(n):
        sizes.append(n)
        return tf.constant(images(rng, n))

    result = evaluate(sample, images(rng, 20), num_samples=10, extractor=pixels(), batch_size=4)
    assert sizes == [4, 4, 2] and result.protocol["num_samples"] == 10


@pytest.mark.parametrize("form", ["unbatched", "batched", "labelled", "dict"])
def test_dataset_sources(rng, form):
    data = images(rng, 23)
    labels = np.arange(23)
    if form == "unbatched":
        ds = tf.data.Dataset.from_tensor_slices(data)
    elif form == "batched":
        ds = tf.data.Dataset.from_tensor_slices(data).batch(5)
    elif form == "labelled":
        ds = tf.data.Dataset.from_tensor_slices((data, labels)).batch(5)
    else:
        ds = tf.data.Dataset.from_tensor_slices({"images": data, "labels": labels}).batch(5)
    got = np.concatenate(list(image_batches(ds, num_samples=12, batch_size=4)))
    np.testing.assert_array_equal(got, data[:12])
    everything = np.concatenate(list(image_batches(ds, num_samples=None, batch_size=4)))
    np.testing.assert_array_equal(everything, data)


def test_a_short_data_set_warns_and_stamps_the_real_count(rng):
    data = images(rng, 9)
    with pytest.warns(UserWarning, match="ran out after 9"):
        result = evaluate(tf.data.Dataset.from_tensor_slices(data), images(rng, 20),
                          metrics=["fid", "is"], num_samples=50, extractor=pixels(), splits=3)
    assert result.protocol["num_samples"] == 9
    _, logits = pixel_features(data)
    assert result["is"] == pytest.approx(inception_score(logits, 3, from_logits=True).mean, rel=1e-6)


def test_source_errors(rng):
    gan = tiny_gan()
    with pytest.raises(TypeError, match="not an ascendgan GAN"):
        list(image_batches(gan.generator, num_samples=4))
    with pytest.raises(ValueError, match="num_samples"):
        list(image_batches(lambda n: images(rng, n), num_samples=None))
    with pytest.raises(TypeError, match="generator_or_dataset"):
        evaluate(42, images(rng, 8), extractor=pixels())
    with pytest.raises(TypeError, match="127.5"):
        evaluate((images(rng, 8) * 127 + 128).astype("uint8"), images(rng, 8), num_samples=None,
                 extractor=pixels())
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        evaluate(images(rng, 8) * 100, images(rng, 8), num_samples=None, extractor=pixels())
    with pytest.raises(ValueError, match="Unknown metric 'fld'"):
        evaluate(images(rng, 8), images(rng, 8), metrics=["fld"], extractor=pixels())
    with pytest.raises(TypeError, match="`reference` must be"):
        evaluate(images(rng, 8), 42, num_samples=None, extractor=pixels())
    with pytest.raises(ValueError, match="`reference` is required"):
        evaluate(images(rng, 8), metrics=["fid"], num_samples=None, extractor=pixels())


# ----------------------------------------------------------------------------- reference cache


def test_reference_statistics_are_cached_and_reused(rng, tmp_path):
    data = images(rng, 30)
    ds = tf.data.Dataset.from_tensor_slices(data).batch(7)
    extractor = pixels()
    first = reference_statistics(ds, extractor, name="toy", split="train", cache_dir=tmp_path,
                                 max_features=10)
    calls = extractor.model.calls
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].startswith("toy-train-all-") and files[0].endswith(".npz")
    second = reference_statistics(ds, extractor, name="toy", split="train", cache_dir=tmp_path,
                                  max_features=10)
    assert extractor.model.calls == calls           # loaded, not recomputed
    np.testing.assert_array_equal(first.mean, second.mean)
    np.testing.assert_array_equal(first.covariance, second.covariance)
    np.testing.assert_array_equal(first.features, second.features)
    feats, _ = pixel_features(data)
    np.testing.assert_allclose(second.mean, feats.mean(axis=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(second.covariance, np.cov(feats.astype(np.float64), rowvar=False),
                               rtol=1e-6, atol=1e-7)
    assert second.protocol["reference"] == "toy" and second.protocol["reference_samples"] == 30
    assert len(second.features) == 10
    # another split, another extractor, another count: other files
    reference_statistics(ds, extractor, name="toy", split="test", cache_dir=tmp_path)
    reference_statistics(ds, pixels("other"), name="toy", split="train", cache_dir=tmp_path)
    reference_statistics(ds, extractor, name="toy", split="train", num_samples=20, cache_dir=tmp_path)
    assert len(os.listdir(tmp_path)) == 4


def test_cached_statistics_without_features_are_recomputed_when_features_are_needed(rng, tmp_path):
    data = images(rng, 30)
    extractor = pixels()
    plain = reference_statistics(data, extractor, cache_dir=tmp_path, max_features=0)
    assert plain.features is None and plain.protocol["reference"].startswith("array-")
    calls = extractor.model.calls
    rich = reference_statistics(data, extractor, cache_dir=tmp_path, max_features=100)
    assert extractor.model.calls > calls and len(rich.features) == 30


def test_evaluate_uses_the_cache_and_saved_files(rng, tmp_path):
    real, fake = images(rng, 30), images(rng, 20, shift=0.1)
    extractor = pixels()
    direct = evaluate(fake, real, num_samples=None, extractor=extractor)
    path = reference_statistics(real, extractor).save(tmp_path / "ref" / "real.npz")
    from_file = evaluate(fake, path, num_samples=None, extractor=extractor)
    assert from_file["fid"] == pytest.approx(direct["fid"], rel=1e-12)
    loaded = ReferenceStatistics.load(path)
    assert loaded.count == 30 and loaded.protocol["extractor"] == "pixels"


def test_reference_from_another_extractor_is_refused(rng):
    real = images(rng, 20)
    ref = reference_statistics(real, pixels("a"))
    with pytest.raises(ValueError, match="different extractor"):
        evaluate(images(rng, 20), ref, num_samples=None, extractor=pixels("b"))


def test_caching_a_data_set_needs_a_name(rng, tmp_path):
    ds = tf.data.Dataset.from_tensor_slices(images(rng, 8))
    with pytest.raises(ValueError, match="`name` is required"):
        reference_statistics(ds, pixels(), cache_dir=tmp_path)


def test_features_are_needed_for_kid(rng):
    ref = reference_statistics(images(rng, 20), pixels(), max_features=0)
    with pytest.raises(ValueError, match="reference features"):
        evaluate(images(rng, 20), ref, metrics=["kid"], num_samples=None, extractor=pixels())
