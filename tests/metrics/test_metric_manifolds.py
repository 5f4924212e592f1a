"""Improved precision / recall against brute-force k-nearest-neighbour balls."""

import numpy as np
import pytest

from ascendgan.metrics.manifolds import knn_radii, precision_recall


def brute_force_precision_recall(real, fake, k):
    def radii(x):
        d = np.linalg.norm(x[:, None] - x[None], axis=-1)
        return np.sort(d, axis=1)[:, k]

    def inside(points, centres, r):
        d = np.linalg.norm(points[:, None] - centres[None], axis=-1)
        return np.mean([(d[i] <= r).any() for i in range(len(points))])

    return inside(fake, real, radii(real)), inside(real, fake, radii(fake))


def test_knn_radii_match_sorting(rng):
    x = rng.normal(size=(30, 3))
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    np.testing.assert_allclose(knn_radii(x, k=3, batch_size=7), np.sort(d, axis=1)[:, 3], rtol=1e-9)


def test_precision_recall_identical_sets_are_one(rng):
    x = rng.normal(size=(200, 8))
    assert precision_recall(x, x.copy()) == (1.0, 1.0)


def test_precision_recall_disjoint_sets_are_zero(rng):
    real = rng.normal(size=(100, 4))
    assert precision_recall(real, rng.normal(size=(100, 4)) + 50.0) == (0.0, 0.0)


def test_precision_recall_match_brute_force(rng):
    real, fake = rng.normal(size=(40, 3)), rng.normal(size=(50, 3)) * 0.8 + 0.7
    got = precision_recall(real, fake, k=3, batch_size=9)
    expected = brute_force_precision_recall(real, fake, 3)
    assert got.precision == pytest.approx(expected[0]) and got.recall == pytest.approx(expected[1])
    assert 0 < got.precision < 1 and 0 < got.recall < 1


def test_mode_collapse_keeps_precision_and_loses_recall(rng):
    real = rng.normal(size=(500, 2))
    collapsed = rng.normal(size=(500, 2)) * 0.05
    pr = precision_recall(real, collapsed)
    assert pr.precision > 0.9 and pr.recall < 0.2


def test_precision_recall_errors():
    with pytest.raises(ValueError, match="more than k=3"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="real_features"):
        precision_recall(np.zeros((10,)), np.zeros((10, 2)))
