"""Pure maths of the Inception Score (IS), on numpy arrays of class predictions.

:func:`inception_score` scores a whole array of predictions; the streaming evaluation
(:class:`ascendgan.metrics.RunningInceptionScore`) accumulates the same score batch by
batch from its pieces: :func:`log_probabilities`, :func:`split_bounds`,
:func:`negative_entropy_sum` and :func:`inception_score_from_sums`. All computations run
in float64.
"""

from __future__ import annotations

import numpy as np

from ascendgan.metrics.distances import MeanStd
from ascendgan.validation import check_int


def log_probabilities(predictions, from_logits=False):
    """Natural-log class probabilities ``log p(y|x)`` of a batch of predictions, in float64.

    Args:
        predictions: array ``(num_samples, num_classes)``, ``num_classes >= 2``: class
            probabilities (non-negative rows summing to 1, renormalized), or logits with
            ``from_logits=True`` (a numerically stable log-softmax is applied).
        from_logits: whether ``predictions`` are logits.

    Returns:
        float64 array ``(num_samples, num_classes)``; a probability of 0 gives ``-inf``.

    Example:

    >>> import numpy as np
    >>> np.exp(log_probabilities(np.array([[0.0, 0.0]]), from_logits=True)).tolist()
    [[0.5, 0.5]]
    """
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
    splits = check_int("splits", splits, minimum=1)
    log_p = log_probabilities(predictions, from_logits)
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


__all__ = [
    "inception_score",
    "inception_score_from_sums",
    "log_probabilities",
    "negative_entropy_sum",
    "split_bounds",
]
