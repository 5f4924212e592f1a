"""Reference statistics: the on-disk cache, saved files, and the checks against the extractor."""

import os

import numpy as np
import pytest
import tensorflow as tf
from _metric_helpers import images, pixel_features, pixels

from ascendgan.metrics import ReferenceStatistics, evaluate, reference_statistics


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
