"""Pure maths of FID and KID, on numpy arrays (tensors are accepted).

Everything here is a function of feature arrays or their statistics: no models, no
state, no files. The feature extractors (:mod:`ascendgan.metrics.features`) and the
streaming evaluation (:func:`ascendgan.metrics.evaluate`) feed these functions.

- :func:`gaussian_statistics`, :func:`frechet_distance`: Fréchet Inception Distance (FID).
- :func:`polynomial_mmd2`, :func:`kernel_distance`: Kernel Inception Distance (KID).

The Inception Score is in :mod:`ascendgan.metrics.scores`, improved precision and recall
in :mod:`ascendgan.metrics.manifolds`. All computations run in float64.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg

from ascendgan.validation import check_int


class MeanStd(NamedTuple):
    """A metric estimated several times (over splits or subsets): mean and standard deviation."""

    mean: float
    std: float


# ----------------------------------------------------------------------------- validation


def feature_array(value, name, min_rows=1):
    """``value`` as a finite float64 array ``(n, d)`` with ``n >= min_rows``.

    Raises ``TypeError`` for a non-numeric array and ``ValueError`` (naming the argument
    ``name``) for a wrong shape, too few rows or non-finite values.
    """
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"`{name}` must be a numeric array. Received dtype {array.dtype}.")
    array = array.astype(np.float64, copy=False)
    if array.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D array of shape (num_samples, feature_dim). "
            f"Received shape {array.shape}."
        )
    if array.shape[0] < min_rows:
        raise ValueError(
            f"`{name}` must hold at least {min_rows} samples. Received {array.shape[0]}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return array


def check_same_dim(a, b, name_a, name_b):
    """Raises ``ValueError`` unless the feature arrays ``a`` and ``b`` have as many columns."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same feature dimension. "
            f"Received {a.shape[1]} and {b.shape[1]}."
        )


# ----------------------------------------------------------------------------- FID


def gaussian_statistics(features):
    """Mean and covariance of a set of feature vectors (the Gaussian FID fits).

    Args:
        features: array ``(num_samples, feature_dim)``, ``num_samples >= 2``.

    Returns:
        ``(mean, covariance)``: float64 arrays ``(d,)`` and ``(d, d)``; the covariance is
        the unbiased one (``ddof=1``, as ``np.cov``).

    Example:

    >>> import numpy as np
    >>> mean, cov = gaussian_statistics(np.array([[0.0, 1.0], [2.0, 3.0]]))
    >>> mean.tolist(), cov.tolist()
    ([1.0, 2.0], [[2.0, 2.0], [2.0, 2.0]])
    """
    x = feature_array(features, "features", min_rows=2)
    mean = x.mean(axis=0)
    centred = x - mean
    return mean, centred.T @ centred / (x.shape[0] - 1)


def _gaussian(mean, cov, name):
    mean = np.asarray(mean, np.float64)
    cov = np.asarray(cov, np.float64)
    if mean.ndim != 1:
        raise ValueError(f"`mean{name}` must be a vector. Received shape {mean.shape}.")
    if cov.shape != (mean.shape[0], mean.shape[0]):
        raise ValueError(
            f"`cov{name}` must be a ({mean.shape[0]}, {mean.shape[0]}) matrix to match "
            f"`mean{name}`. Received shape {cov.shape}."
        )
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        raise ValueError(f"`mean{name}` / `cov{name}` contain NaN or infinite values.")
    return mean, cov


def _quiet_sqrtm(matrix):
    """``scipy.linalg.sqrtm`` without its singular-matrix warning (checked by the caller)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.sqrtm(matrix)


def _sqrtm_relative_error(root, matrix):
    norm = np.linalg.norm(matrix, "fro")
    return np.linalg.norm(root @ root - matrix, "fro") / (norm if norm > 0 else 1.0)


def frechet_distance(mean1, cov1, mean2, cov2, eps=1e-6, imaginary_tolerance=1e-3):
    """Fréchet distance between two Gaussians N(mean1, cov1) and N(mean2, cov2).

    ``d² = ‖μ1 − μ2‖² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½)``; with Inception features and the
    statistics of real and generated images it is the FID.

    The matrix square root is ``scipy.linalg.sqrtm`` of ``Σ1 Σ2``. Two numerical cases
    are handled:

    - if the product is singular enough that the root is not finite or does not square
      back to the product (relative error > 1e-5; typical with fewer samples than
      feature dimensions), ``eps`` is added to both diagonals and the root recomputed;
    - the root of a product of covariances is real in exact arithmetic: an imaginary
      part up to ``imaginary_tolerance`` (largest absolute imaginary entry of the
      root's diagonal) is dropped, a larger one raises ``ValueError`` (the inputs are
      not covariances, or are far too ill-conditioned).

    Round-off can make the distance of a set with itself a tiny negative number; the
    result is clipped at 0.

    Args:
        mean1, cov1: mean ``(d,)`` and covariance ``(d, d)`` of the first Gaussian.
        mean2, cov2: the same for the second.
        eps: diagonal offset used when the product is singular.
        imaginary_tolerance: largest imaginary component tolerated in the root's diagonal.

    Returns:
        The squared Fréchet distance, a Python float >= 0.

    Example:

    >>> import numpy as np
    >>> d = frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))
    >>> round(d, 6)    # |μ1-μ2|² + Σ (√1 - √4)² = 2 + 2
    4.0

    Reference:
        Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a
        Local Nash Equilibrium", NeurIPS 2017 (arXiv:1706.08500); Dowson & Landau,
        "The Fréchet distance between multivariate normal distributions", 1982.
    """
    mean1, cov1 = _gaussian(mean1, cov1, "1")
    mean2, cov2 = _gaussian(mean2, cov2, "2")
    if mean1.shape != mean2.shape:
        raise ValueError(
            "`mean1` and `mean2` must have the same dimension. "
            f"Received {mean1.shape[0]} and {mean2.shape[0]}."
        )
    if not eps >= 0:
        raise ValueError(f"`eps` must be >= 0. Received: eps={eps!r}")
    product = cov1 @ cov2
    root = _quiet_sqrtm(product)
    if not np.all(np.isfinite(root)) or _sqrtm_relative_error(root, product) > 1e-5:
        offset = eps * np.eye(mean1.shape[0])
        root = _quiet_sqrtm((cov1 + offset) @ (cov2 + offset))
        if not np.all(np.isfinite(root)):
            raise ValueError(
                "The matrix square root of cov1 @ cov2 is not finite, even after adding "
                f"eps={eps} to the diagonals. Check the covariances (too few samples, "
                "constant features) or raise `eps`."
            )
    if np.iscomplexobj(root):
        imaginary = float(np.max(np.abs(np.diagonal(root).imag)))
        if imaginary > imaginary_tolerance:
            raise ValueError(
                "The matrix square root of cov1 @ cov2 has an imaginary component of "
                f"{imaginary:.3g} on its diagonal (tolerance imaginary_tolerance="
                f"{imaginary_tolerance}). Covariance matrices give a real root: the inputs "
                "are not positive semi-definite or are badly ill-conditioned (use more "
                "samples than feature dimensions)."
            )
        root = root.real
    diff = mean1 - mean2
    value = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(root)
    return max(float(value), 0.0)


# ----------------------------------------------------------------------------- KID


def polynomial_kernel(x, y, degree=3, gamma=None, coef0=1.0):
    """The polynomial kernel matrix ``k(x, y) = (γ x·y + c)^degree``, ``γ = 1/d`` by default.

    Args:
        x: array ``(n, d)``.
        y: array ``(m, d)``.
        degree: the power (3 for KID).
        gamma: the scale of the dot product; ``None`` means ``1 / d``.
        coef0: the constant ``c``.

    Returns:
        float64 array ``(n, m)``.

    Example:

    >>> import numpy as np
    >>> polynomial_kernel(np.array([[1.0, 1.0]]), np.array([[2.0, 0.0]])).tolist()
    [[8.0]]
    """
    x = feature_array(x, "x")
    y = feature_array(y, "y")
    check_same_dim(x, y, "x", "y")
    if gamma is None:
        gamma = 1.0 / x.shape[1]
    return (gamma * (x @ y.T) + coef0) ** degree


def polynomial_mmd2(x, y, degree=3, gamma=None, coef0=1.0):
    """Unbiased estimate of the squared maximum mean discrepancy (MMD²) between two samples.

    With ``k`` the :func:`polynomial_kernel`, ``m = len(x)`` and ``n = len(y)``::

        MMD²_u = Σ_{i≠j} k(x_i, x_j) / (m(m−1)) + Σ_{i≠j} k(y_i, y_j) / (n(n−1))
                 − 2 Σ_{i,j} k(x_i, y_j) / (m n)

    The estimate is unbiased, so it can be negative when the two distributions are equal.

    Args:
        x: array ``(m, d)``, ``m >= 2``.
        y: array ``(n, d)``, ``n >= 2``.
        degree, gamma, coef0: the kernel's parameters (KID: 3, ``1/d``, 1).

    Returns:
        The estimate, a Python float.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(50, 4))
    >>> round(polynomial_mmd2(x, x + 3.0), 2) > 0
    True

    Reference:
        Gretton et al., "A Kernel Two-Sample Test", JMLR 2012 (the unbiased estimator);
        Bińkowski et al., "Demystifying MMD GANs", ICLR 2018 (arXiv:1801.01401).
    """
    x = feature_array(x, "x", min_rows=2)
    y = feature_array(y, "y", min_rows=2)
    check_same_dim(x, y, "x", "y")
    m, n = x.shape[0], y.shape[0]
    k_xx = polynomial_kernel(x, x, degree, gamma, coef0)
    k_yy = polynomial_kernel(y, y, degree, gamma, coef0)
    k_xy = polynomial_kernel(x, y, degree, gamma, coef0)
    term_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    term_yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(term_xx + term_yy - 2.0 * k_xy.mean())


def kernel_distance(features1, features2, num_subsets=100, subset_size=1000, seed=0):
    """Kernel Inception Distance: unbiased MMD² with the cubic polynomial kernel, on subsets.

    ``num_subsets`` times, ``subset_size`` rows are drawn without replacement from each
    set and :func:`polynomial_mmd2` (``k(x, y) = (x·y/d + 1)³``) is computed; the result
    is the mean and standard deviation (``ddof=0``) over the subsets. ``subset_size`` is
    clipped to the smaller of the two sets. KID is usually reported ×10³ or ×100.

    Args:
        features1: array ``(n1, d)`` (e.g. Inception features of real images), ``n1 >= 2``.
        features2: array ``(n2, d)`` (of generated images), ``n2 >= 2``.
        num_subsets: number of subsets (100 in the reference implementation).
        subset_size: samples per subset (1000 in the reference implementation).
        seed: seed of the subset draws (``None``: not reproducible).

    Returns:
        ``MeanStd(mean, std)`` of the subset estimates.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> kid = kernel_distance(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)),
    ...                       num_subsets=10, subset_size=100)
    >>> abs(kid.mean) < 0.05
    True

    Reference:
        Bińkowski et al., "Demystifying MMD GANs", ICLR 2018 (arXiv:1801.01401).
    """
    x = feature_array(features1, "features1", min_rows=2)
    y = feature_array(features2, "features2", min_rows=2)
    check_same_dim(x, y, "features1", "features2")
    num_subsets = check_int("num_subsets", num_subsets, minimum=1)
    subset_size = check_int("subset_size", subset_size, minimum=2)
    size = min(subset_size, x.shape[0], y.shape[0])
    rng = np.random.default_rng(seed)
    estimates = np.empty(num_subsets)
    for i in range(num_subsets):
        a = x[rng.choice(x.shape[0], size, replace=False)]
        b = y[rng.choice(y.shape[0], size, replace=False)]
        estimates[i] = polynomial_mmd2(a, b)
    return MeanStd(float(estimates.mean()), float(estimates.std()))


__all__ = [
    "MeanStd",
    "check_same_dim",
    "feature_array",
    "frechet_distance",
    "gaussian_statistics",
    "kernel_distance",
    "polynomial_kernel",
    "polynomial_mmd2",
]
