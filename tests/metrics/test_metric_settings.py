"""EvaluationSettings: one checked, frozen description of an evaluation."""

import dataclasses

import pytest

from ascendgan.metrics import METRICS, EvaluationSettings, FeatureExtractor
from ascendgan.metrics.settings import metric_names


def test_defaults_and_metric_aliases():
    settings = EvaluationSettings()
    assert settings.metrics == ("fid",) and settings.num_samples == 10_000
    assert settings.extractor is None and settings.use_ema and settings.truncation is None
    aliased = EvaluationSettings(metrics=["Frechet_Inception_Distance", "pr", "recall", "is"])
    assert aliased.metrics == ("fid", "precision_recall", "is")
    assert aliased.values == ("fid", "precision", "recall", "is", "is_std")
    assert metric_names("inception_score") == ("is",) and set(METRICS) == set(metric_names(METRICS))


def test_what_the_metrics_need():
    assert not EvaluationSettings(metrics="is").needs_reference
    assert EvaluationSettings(metrics="kid").needs_features
    fid = EvaluationSettings(metrics=["fid", "is"])
    assert fid.needs_reference and not fid.needs_features


def test_frozen_and_replaced_with_checks():
    settings = EvaluationSettings(num_samples=100, seed=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.num_samples = 5
    bigger = settings.replace(num_samples=500, metrics="kid")
    assert (bigger.num_samples, bigger.seed, bigger.metrics) == (500, 3, ("kid",))
    assert settings.num_samples == 100
    with pytest.raises(TypeError, match="Unknown evaluation setting.*'num_sample'"):
        settings.replace(num_sample=5)
    with pytest.raises(ValueError, match="num_samples"):
        settings.replace(num_samples=0)


@pytest.mark.parametrize("field, value, error", [
    ("metrics", ["fld"], "Unknown metric 'fld'"),
    ("metrics", [], "at least one metric"),
    ("num_samples", 2.5, "num_samples"),
    ("batch_size", 0, "batch_size"),
    ("seed", -1, "seed"),
    ("truncation", 0.0, "truncation"),
    ("use_ema", 1, "use_ema"),
    ("splits", 0, "splits"),
    ("kid_subsets", 0, "kid_subsets"),
    ("kid_subset_size", 1, "kid_subset_size"),
    ("k", 0, "`k`"),
    ("max_features", -1, "max_features"),
    ("reference_samples", 0, "reference_samples"),
])
def test_wrong_values_name_the_setting(field, value, error):
    with pytest.raises(ValueError, match=error):
        EvaluationSettings(**{field: value})


def test_kid_and_precision_recall_need_two_feature_rows():
    EvaluationSettings(metrics="fid", max_features=0)          # FID keeps no rows
    with pytest.raises(ValueError, match="max_features"):
        EvaluationSettings(metrics="kid", max_features=1)


def test_the_extractor_must_be_a_feature_extractor():
    with pytest.raises(TypeError, match="extractor"):
        EvaluationSettings(extractor=lambda x: x)
    pixels = FeatureExtractor(lambda x: x.reshape(len(x), -1), name="pixels")
    assert EvaluationSettings(extractor=pixels).extractor is pixels
