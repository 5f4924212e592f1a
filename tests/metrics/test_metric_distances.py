"""FID and KID maths against closed forms and brute-force references."""

import numpy as np
import pytest
import scipy.linalg

from ascendgan.metrics import distances
from ascendgan.metrics.distances import (
    frechet_distance,
    gaussian_statistics,
    kernel_distance,
    polynomial_mmd2,
)


def psd_sqrt(matrix):
    w, v = np.linalg.eigh(matrix)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def wasserstein2_gaussians(m1, c1, m2, c2):
    """Closed form via symmetric square roots only (no sqrtm of a product)."""
    r1 = psd_sqrt(c1)
    cross = psd_sqrt(r1 @ c2 @ r1)
    return float(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.trace(cross))


def random_psd(rng, d, rank=None):
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / d


# ----------------------------------------------------------------------------- FID


def test_fid_of_a_set_with_itself_is_zero(rng):
    features = rng.gamma(2.0, size=(500, 16))  # not Gaussian: FID only uses two moments
    stats = gaussian_statistics(features)
    assert frechet_distance(*stats, *stats) == pytest.approx(0.0, abs=1e-9)


def test_gaussian_statistics_match_numpy(rng):
    x = rng.normal(size=(50, 6))
    mean, cov = gaussian_statistics(x)
    np.testing.assert_allclose(mean, x.mean(axis=0))
    np.testing.assert_allclose(cov, np.cov(x, rowvar=False))


def test_fid_of_diagonal_gaussians_is_the_closed_form():
    m1, m2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # 5 + 4 + 1 + 0
    assert expected == 10.0
    assert frechet_distance(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(10.0, rel=1e-12)


def test_fid_of_non_commuting_gaussians_matches_the_symmetric_formula(rng):
    for _ in range(5):
        c1, c2 = random_psd(rng, 6), random_psd(rng, 6)
        m1, m2 = rng.normal(size=6), rng.normal(size=6)
        assert not np.allclose(c1 @ c2, c2 @ c1)
        assert frechet_distance(m1, c1, m2, c2) == pytest.approx(
            wasserstein2_gaussians(m1, c1, m2, c2), rel=1e-9)


def test_sample_fid_converges_to_the_analytic_distance(rng):
    mu2 = np.array([1.0, 0.5, 0.0, -1.0])
    a, b = np.array([1.0, 2.0, 0.5, 1.0]), np.array([4.0, 1.0, 0.5, 0.25])
    analytic = np.sum(mu2 ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)   # ≈ 3.6716

    def sample_fid(n):
        x = rng.normal(size=(n, 4)) * np.sqrt(a)
        y = rng.normal(size=(n, 4)) * np.sqrt(b) + mu2
        return frechet_distance(*gaussian_statistics(x), *gaussian_statistics(y))

    # the standard deviation of the estimate is ≈ 0.014 at 100k samples (measured)
    assert sample_fid(100_000) == pytest.approx(analytic, abs=0.07)
    # and the same Gaussian twice gives ≈ 0 (bias O(d/n))
    same = frechet_distance(*gaussian_statistics(rng.normal(size=(100_000, 4))),
                            *gaussian_statistics(rng.normal(size=(100_000, 4))))
    assert 0 <= same < 1e-3


def test_rank_deficient_covariances_still_give_the_right_distance(rng):
    # 10 samples in 20 dimensions: both covariances are singular (rank 9)
    x, y = rng.normal(size=(10, 20)), rng.normal(size=(10, 20)) + 0.3
    stats_x, stats_y = gaussian_statistics(x), gaussian_statistics(y)
    value = frechet_distance(*stats_x, *stats_y)
    assert value == pytest.approx(wasserstein2_gaussians(*stats_x, *stats_y), rel=1e-6)


@pytest.mark.stand_in
def test_non_finite_root_retries_with_eps_on_the_diagonals(monkeypatch):
    calls = []
    real_sqrtm = scipy.linalg.sqrtm

    def flaky_sqrtm(matrix):
        calls.append(np.array(matrix))
        if len(calls) == 1:
            return np.full_like(matrix, np.nan)   # what a singular product can give
        return real_sqrtm(matrix)

    monkeypatch.setattr(distances.scipy.linalg, "sqrtm", flaky_sqrtm)
    a, b, eps = np.array([1.0, 0.0, 2.0]), np.array([0.0, 3.0, 2.0]), 0.1
    value = frechet_distance(np.zeros(3), np.diag(a), np.ones(3), np.diag(b), eps=eps)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], np.diag((a + eps) * (b + eps)))
    expected = 3.0 + np.sum(a + b - 2 * np.sqrt((a + eps) * (b + eps)))
    assert value == pytest.approx(max(expected, 0.0), rel=1e-12)


def test_negligible_imaginary_part_is_dropped(rng):
    # 30 samples in 64 dimensions: sqrtm returns a complex root with ~1e-5 imaginary noise
    x, y = rng.normal(size=(30, 64)), rng.normal(size=(30, 64)) + 0.1
    stats_x, stats_y = gaussian_statistics(x), gaussian_statistics(y)
    root = scipy.linalg.sqrtm(stats_x[1] @ stats_y[1])
    assert np.iscomplexobj(root) and 0 < np.abs(root.imag).max() < 1e-3
    value = frechet_distance(*stats_x, *stats_y)
    assert isinstance(value, float)
    assert value == pytest.approx(wasserstein2_gaussians(*stats_x, *stats_y), rel=1e-6)


def test_large_imaginary_part_raises():
    with pytest.raises(ValueError, match="imaginary component"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.diag([-1.0, 1.0]))


def test_fid_bad_shapes_name_the_argument():
    with pytest.raises(ValueError, match="cov2"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="mean1"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="features"):
        gaussian_statistics(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        gaussian_statistics(np.array([[0.0, np.nan], [1.0, 2.0]]))


# ----------------------------------------------------------------------------- KID


def brute_force_mmd2(x, y):
    d = x.shape[1]

    def k(a, b):
        return (a @ b / d + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_mmd2_matches_the_double_sum(rng):
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)) + 0.5
    assert polynomial_mmd2(x, y) == pytest.approx(brute_force_mmd2(x, y), rel=1e-12)


def biased_mmd2(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1.0) ** 3  # noqa: E731
    return k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()


def test_kid_is_unbiased_for_identical_distributions(rng):
    draws = np.array([polynomial_mmd2(rng.normal(size=(20, 3)), rng.normal(size=(20, 3)))
                      for _ in range(400)])
    standard_error = draws.std() / np.sqrt(len(draws))
    assert abs(draws.mean()) < 4 * standard_error
    assert (draws < 0).any()   # unbiased, so it must go negative sometimes
    # the biased V-statistic on the same kind of data is clearly positive: the test can fail
    biased = np.array([biased_mmd2(rng.normal(size=(20, 3)), rng.normal(size=(20, 3)))
                       for _ in range(400)])
    assert biased.mean() > 4 * biased.std() / np.sqrt(len(biased))


def uniform_moment(low, high, k):
    return (high ** (k + 1) - low ** (k + 1)) / ((k + 1) * (high - low))


def expected_kernel(p, q):
    """E (x y + 1)^3 for independent x ~ U(p), y ~ U(q) (1-D, so γ = 1/d = 1)."""
    return sum(c * uniform_moment(*p, j) * uniform_moment(*q, j)
               for j, c in ((3, 1), (2, 3), (1, 3))) + 1.0


def test_mmd2_matches_the_population_value_in_1d(rng):
    p, q = (-1.0, 1.0), (-0.5, 1.5)
    population = expected_kernel(p, p) + expected_kernel(q, q) - 2 * expected_kernel(p, q)
    assert population == pytest.approx(1.328125)
    draws = np.array([polynomial_mmd2(rng.uniform(*p, size=(1000, 1)), rng.uniform(*q, size=(1000, 1)))
                      for _ in range(40)])
    assert abs(draws.mean() - population) < 4 * draws.std() / np.sqrt(len(draws))
    assert abs(draws.mean() - population) < 0.1


def test_kernel_distance_subsets(rng):
    x, y = rng.normal(size=(50, 4)), rng.normal(size=(50, 4)) + 1.0
    # subsets clipped to the 50 available samples: every subset is a permutation
    kid = kernel_distance(x, y, num_subsets=5, subset_size=1000, seed=0)
    assert kid.mean == pytest.approx(polynomial_mmd2(x, y), rel=1e-10)
    assert kid.std == pytest.approx(0.0, abs=1e-10)
    # smaller subsets: mean and std of per-subset estimates, reproducible by seed
    kid1 = kernel_distance(x, y, num_subsets=20, subset_size=10, seed=3)
    kid2 = kernel_distance(x, y, num_subsets=20, subset_size=10, seed=3)
    assert kid1 == kid2 and kid1.std > 0
    draws = []
    sub_rng = np.random.default_rng(3)
    for _ in range(20):
        a = x[sub_rng.choice(50, 10, replace=False)]
        b = y[sub_rng.choice(50, 10, replace=False)]
        draws.append(brute_force_mmd2(a, b))
    assert kid1.mean == pytest.approx(np.mean(draws), rel=1e-10)
    assert kid1.std == pytest.approx(np.std(draws), rel=1e-10)


def test_kernel_distance_errors():
    with pytest.raises(ValueError, match="subset_size"):
        kernel_distance(np.zeros((4, 2)), np.zeros((4, 2)), subset_size=1)
    with pytest.raises(ValueError, match="feature dimension"):
        kernel_distance(np.zeros((4, 2)), np.zeros((4, 3)))
