"""evaluate(): streaming numbers equal the one-shot maths; results carry their protocol."""

import json

import numpy as np
import pytest
from _metric_helpers import images, pixel_features, pixels

from ascendgan.metrics import (
    EvaluationResult,
    EvaluationSettings,
    evaluate,
    frechet_distance,
    gaussian_statistics,
    inception_score,
    kernel_distance,
    precision_recall,
)


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


def test_settings_object_and_keywords_are_the_same_call(rng):
    real, fake = images(rng, 40), images(rng, 30, shift=0.2)
    extractor = pixels()
    settings = EvaluationSettings(metrics=["fid", "kid"], num_samples=None, extractor=extractor,
                                  batch_size=8, kid_subsets=4, kid_subset_size=20, seed=2)
    by_object = evaluate(fake, real, settings)
    by_keywords = evaluate(fake, real, metrics=["fid", "kid"], num_samples=None, extractor=extractor,
                           batch_size=8, kid_subsets=4, kid_subset_size=20, seed=2)
    overridden = evaluate(fake, real, settings.replace(metrics="fid"), kid_subsets=9,
                          metrics=["fid", "kid"])
    assert by_object.values == by_keywords.values and by_object.protocol == by_keywords.protocol
    assert overridden.protocol["kid_subsets"] == 9 and overridden["fid"] == by_object["fid"]
    with pytest.raises(TypeError, match="Unknown evaluation setting"):
        evaluate(fake, real, settings, num_sample=10)
    with pytest.raises(TypeError, match="EvaluationSettings"):
        evaluate(fake, real, ["fid"])
