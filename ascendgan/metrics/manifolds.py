"""Improved precision and recall: each set's manifold as k-nearest-neighbour balls.

Pure functions on feature arrays ``(num_samples, feature_dim)``, in float64:
:func:`knn_radii` (the ball radii) and :func:`precision_recall`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ascendgan.metrics.distances import check_same_dim, feature_array
from ascendgan.validation import check_int


class PrecisionRecall(NamedTuple):
    """Improved precision and recall (both in [0, 1])."""

    precision: float
    recall: float


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
    x = feature_array(features, "features")
    k = check_int("k", k, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
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
    real = feature_array(real_features, "real_features")
    fake = feature_array(fake_features, "fake_features")
    check_same_dim(real, fake, "real_features", "fake_features")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    real_radii = knn_radii(real, k, batch_size)
    fake_radii = knn_radii(fake, k, batch_size)
    precision = _fraction_inside(fake, real, real_radii, batch_size)
    recall = _fraction_inside(real, fake, fake_radii, batch_size)
    return PrecisionRecall(float(precision), float(recall))


__all__ = ["PrecisionRecall", "knn_radii", "precision_recall"]
