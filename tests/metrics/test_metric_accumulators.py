"""Accumulators equal the one-shot maths: running statistics, the reservoir, the running IS."""

import numpy as np
import pytest

from ascendgan.metrics import (
    FeatureReservoir,
    RunningInceptionScore,
    RunningStatistics,
    inception_score,
)


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
