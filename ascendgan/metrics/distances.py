"""Pure maths of the GAN evaluation metrics, on numpy arrays (tensors are accepted).

Everything here is a function of feature arrays or their statistics: no models, no
state, no files. The feature extractors (:mod:`ascendgan.metrics.features`) and the
streaming evaluation (:mod:`ascendgan.metrics.streaming`) feed these functions.

- :func:`gaussian_statistics`, :func:`frechet_distance`: Fréchet Inception Distance (FID).
- :func:`polynomial_mmd2`, :func:`kernel_distance`: Kernel Inception Distance (KID).
- :func:`inception_score`: Inception Score (IS).
- :func:`knn_radii`, :func:`precision_recall`: improved precision and recall.

All computations run in float64.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg


class MeanStd(NamedTuple):
    """A metric estimated several times (over splits or subsets): mean and standard deviation."""

    mean: float
    std: float


class PrecisionRecall(NamedTuple):
    """Improved precision and recall (both in [0, 1])."""

    precision: float
    recall: float


# ----------------------------------------------------------------------------- validation


def _features(value, name, min_rows=1):
    """``value`` as a finite float64 array of shape ``(n, d)``, or a ValueError naming ``name``."""
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


def _same_dim(a, b, name_a, name_b):
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same feature dimension. "
            f"Received {a.shape[1]} and {b.shape[1]}."
        )


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


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
    x = _features(features, "features", min_rows=2)
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
    x = _features(x, "x")
    y = _features(y, "y")
    _same_dim(x, y, "x", "y")
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
    x = _features(x, "x", min_rows=2)
    y = _features(y, "y", min_rows=2)
    _same_dim(x, y, "x", "y")
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
    x = _features(features1, "features1", min_rows=2)
    y = _features(features2, "features2", min_rows=2)
    _same_dim(x, y, "features1", "features2")
    num_subsets = _positive_int(num_subsets, "num_subsets")
    subset_size = _positive_int(subset_size, "subset_size")
    if subset_size < 2:
        raise ValueError(f"`subset_size` must be >= 2. Received: subset_size={subset_size!r}")
    size = min(subset_size, x.shape[0], y.shape[0])
    rng = np.random.default_rng(seed)
    estimates = np.empty(num_subsets)
    for i in range(num_subsets):
        a = x[rng.choice(x.shape[0], size, replace=False)]
        b = y[rng.choice(y.shape[0], size, replace=False)]
        estimates[i] = polynomial_mmd2(a, b)
    return MeanStd(float(estimates.mean()), float(estimates.std()))


# ----------------------------------------------------------------------------- IS


def _log_probabilities(predictions, from_logits):
    p = np.asarray(predictions)
    if p.dtype.kind not in "fiu":
        raise TypeError(f"`predictions` must be a numeric array. Received dtype {p.dtype}.")
    p = p.astype(np.float64, copy=False)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(
            "`predictions` must be a 2-D array (num_samples, num_classes) with at least 2 "
            f"classes. Received shape {p.shape}."
        )
    if not np.all(np.isfinite(p)):
        raise ValueError("`predictions` contains NaN or infinite values.")
    if from_logits:
        shifted = p - p.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    if p.min() < 0 or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(
            "`predictions` must be class probabilities (non-negative rows summing to 1); "
            "pass from_logits=True for logits. Received rows summing to "
            f"[{p.sum(axis=1).min():.4g}, {p.sum(axis=1).max():.4g}], minimum {p.min():.4g}."
        )
    p = p / p.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.log(p)


def split_bounds(num_samples, splits):
    """``[(start, stop)]`` of the ``splits`` contiguous parts IS averages over.

    Part ``i`` is ``[i·n // splits, (i+1)·n // splits)``, as in the reference code.
    """
    return [(i * num_samples // splits, (i + 1) * num_samples // splits) for i in range(splits)]


def inception_score_from_sums(probability_sum, neg_entropy_sum, count):
    """The Inception Score of one split from its sufficient statistics.

    ``exp(E_x[KL(p(y|x) ‖ p(y))])`` with ``E_x[KL] = E_x[Σ_y p log p] − Σ_y p̄ log p̄``.

    Args:
        probability_sum: ``Σ_x p(y|x)``, shape ``(num_classes,)``.
        neg_entropy_sum: ``Σ_x Σ_y p(y|x) log p(y|x)``.
        count: number of samples.

    Returns:
        The split's score, a Python float.
    """
    marginal = np.asarray(probability_sum, np.float64) / count
    nonzero = marginal > 0
    marginal_term = float(np.sum(marginal[nonzero] * np.log(marginal[nonzero])))
    return float(np.exp(neg_entropy_sum / count - marginal_term))


def negative_entropy_sum(log_probabilities):
    """``Σ_x Σ_y p log p`` of a batch of log-probabilities (``0 log 0 = 0``)."""
    log_p = np.asarray(log_probabilities, np.float64)
    finite = np.isfinite(log_p)
    safe = np.where(finite, log_p, 0.0)
    return float(np.sum(np.where(finite, np.exp(safe) * safe, 0.0)))


def inception_score(predictions, splits=10, from_logits=False):
    """Inception Score: ``exp(E_x KL(p(y|x) ‖ p(y)))``, mean and std over ``splits`` parts.

    The samples are cut into ``splits`` contiguous parts; in each part ``p(y)`` is the
    mean of the part's ``p(y|x)``. The score is 1 for identical predictions for every
    sample and the number of classes for confident predictions spread evenly over
    all classes.

    Args:
        predictions: array ``(num_samples, num_classes)`` of class probabilities, or
            logits with ``from_logits=True``.
        splits: number of parts (10 in the reference code); ``num_samples >= splits``.
        from_logits: whether ``predictions`` are logits (a softmax is applied).

    Returns:
        ``MeanStd(mean, std)`` over the splits (``ddof=0``).

    Example:

    >>> import numpy as np
    >>> round(inception_score(np.eye(4)[[0, 1, 2, 3] * 5], splits=5).mean, 6)
    4.0

    Reference:
        Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016
        (arXiv:1606.03498).
    """
    splits = _positive_int(splits, "splits")
    log_p = _log_probabilities(predictions, from_logits)
    n = log_p.shape[0]
    if n < splits:
        raise ValueError(
            f"`predictions` must hold at least `splits`={splits} samples. Received {n}."
        )
    scores = []
    for start, stop in split_bounds(n, splits):
        part = log_p[start:stop]
        scores.append(
            inception_score_from_sums(np.exp(part).sum(axis=0), negative_entropy_sum(part),
                                      stop - start)
        )
    scores = np.asarray(scores)
    return MeanStd(float(scores.mean()), float(scores.std()))


# ----------------------------------------------------------------------------- precision / recall


def _pairwise_sq_distances(a, b):
    d = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def knn_radii(features, k=3, batch_size=1000):
    """Distance of every sample to its ``k``-th nearest neighbour within the same set.

    The sample itself is not its own neighbour (it is skipped).

    Args:
        features: array ``(n, d)`` with ``n > k``.
        k: which neighbour.
        batch_size: rows per block of the distance matrix (memory ``batch_size · n``).

    Returns:
        float64 array ``(n,)`` of Euclidean distances.

    Example:

    >>> import numpy as np
    >>> knn_radii(np.array([[0.0], [1.0], [3.0]]), k=1).tolist()
    [1.0, 1.0, 2.0]
    """
    x = _features(features, "features")
    k = _positive_int(k, "k")
    batch_size = _positive_int(batch_size, "batch_size")
    if x.shape[0] <= k:
        raise ValueError(
            f"`features` must hold more than k={k} samples. Received {x.shape[0]}."
        )
    radii = np.empty(x.shape[0])
    for start in range(0, x.shape[0], batch_size):
        block = _pairwise_sq_distances(x[start:start + batch_size], x)
        # index 0 of the sorted row is the sample itself (distance 0)
        radii[start:start + batch_size] = np.partition(block, k, axis=1)[:, k]
    return np.sqrt(radii)


def _fraction_inside(points, centres, radii, batch_size):
    """Fraction of ``points`` inside at least one ball ``(centres[j], radii[j])``."""
    inside = 0
    squared = radii * radii
    for start in range(0, points.shape[0], batch_size):
        block = _pairwise_sq_distances(points[start:start + batch_size], centres)
        inside += int(np.count_nonzero(np.any(block <= squared[None, :], axis=1)))
    return inside / points.shape[0]


def precision_recall(real_features, fake_features, k=3, batch_size=1000):
    """Improved precision and recall of generated samples against real ones.

    Each set's manifold is the union of balls around its samples, with radius the
    distance to the sample's ``k``-th nearest neighbour in the same set. Precision is
    the fraction of generated samples inside the real manifold (quality); recall is the
    fraction of real samples inside the generated manifold (coverage). A point on a
    ball's boundary counts as inside.

    Memory: blocks of ``batch_size × n`` distances; time ``O(n_real · n_fake · d)``.

    Args:
        real_features: array ``(n_real, d)``, ``n_real > k``.
        fake_features: array ``(n_fake, d)``, ``n_fake > k``.
        k: neighbourhood size (3 in the paper).
        batch_size: rows per block of distances.

    Returns:
        ``PrecisionRecall(precision, recall)``.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(100, 4))
    >>> precision_recall(x, x)
    PrecisionRecall(precision=1.0, recall=1.0)

    Reference:
        Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing
        Generative Models", NeurIPS 2019 (arXiv:1904.06991).
    """
    real = _features(real_features, "real_features")
    fake = _features(fake_features, "fake_features")
    _same_dim(real, fake, "real_features", "fake_features")
    batch_size = _positive_int(batch_size, "batch_size")
    real_radii = knn_radii(real, k, batch_size)
    fake_radii = knn_radii(fake, k, batch_size)
    precision = _fraction_inside(fake, real, real_radii, batch_size)
    recall = _fraction_inside(real, fake, fake_radii, batch_size)
    return PrecisionRecall(float(precision), float(recall))


__all__ = [
    "MeanStd",
    "PrecisionRecall",
    "frechet_distance",
    "gaussian_statistics",
    "inception_score",
    "inception_score_from_sums",
    "kernel_distance",
    "knn_radii",
    "negative_entropy_sum",
    "polynomial_kernel",
    "polynomial_mmd2",
    "precision_recall",
    "split_bounds",
]
