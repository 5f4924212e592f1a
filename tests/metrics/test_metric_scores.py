"""Inception Score maths against the reference formula and its limiting cases."""

import numpy as np
import pytest

from ascendgan.metrics.scores import inception_score, log_probabilities


def reference_inception_score(p, splits):
    scores = []
    n = len(p)
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part) - np.log(marginal))).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return np.mean(scores), np.std(scores)


def test_is_of_uniform_predictions_is_one():
    score = inception_score(np.full((40, 10), 0.1), splits=4)
    assert score.mean == pytest.approx(1.0, abs=1e-12) and score.std == pytest.approx(0.0, abs=1e-12)
    assert inception_score(np.zeros((40, 10)), splits=4, from_logits=True).mean == pytest.approx(1.0)


def test_is_of_confident_evenly_spread_predictions_is_the_class_count():
    labels = np.tile(np.arange(10), 10)           # every split holds every class once
    score = inception_score(np.eye(10)[labels], splits=10)
    assert score.mean == pytest.approx(10.0, rel=1e-12) and score.std == pytest.approx(0.0, abs=1e-9)
    logits = 60.0 * np.eye(10)[labels]
    assert inception_score(logits, splits=10, from_logits=True).mean == pytest.approx(10.0, rel=1e-9)


def test_is_matches_the_reference_formula(rng):
    p = rng.dirichlet(np.full(7, 0.3), size=100)
    expected = reference_inception_score(p, splits=3)     # uneven parts: 33, 33, 34
    got = inception_score(p, splits=3)
    assert got.mean == pytest.approx(expected[0], rel=1e-10)
    assert got.std == pytest.approx(expected[1], rel=1e-8)
    logits = rng.normal(size=(50, 5)) * 3
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert inception_score(logits, 5, from_logits=True).mean == pytest.approx(
        reference_inception_score(softmax, 5)[0], rel=1e-10)


def test_is_errors():
    with pytest.raises(ValueError, match="from_logits"):
        inception_score(np.ones((10, 3)), splits=2)
    with pytest.raises(ValueError, match="splits"):
        inception_score(np.full((3, 2), 0.5), splits=4)
    with pytest.raises(ValueError, match="splits"):
        inception_score(np.full((3, 2), 0.5), splits=0)


def test_log_probabilities_of_logits_and_of_probabilities(rng):
    logits = rng.normal(size=(6, 4)) * 5
    expected = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(log_probabilities(logits, from_logits=True), expected, rtol=1e-12)
    p = np.exp(expected)
    np.testing.assert_allclose(log_probabilities(p), expected, rtol=1e-9, atol=1e-12)
    assert log_probabilities(np.array([[1.0, 0.0]]))[0, 1] == -np.inf     # 0 log 0 handled later
    with pytest.raises(ValueError, match="at least 2"):
        log_probabilities(np.ones((3, 1)), from_logits=True)
