"""Accumulators: what each metric needs from a stream of feature batches, in bounded memory.

- :class:`RunningStatistics`: FID's running mean and covariance, float64 sums; memory
  ``O(d²)`` (32 MB for 2048-d features), independent of the sample count.
- :class:`FeatureReservoir`: the feature rows KID and precision / recall compare, up to
  ``capacity`` of them (a uniform random subset when there are more); memory
  ``capacity × d × 4`` bytes (82 MB for 10,000 Inception features).
- :class:`RunningInceptionScore`: per-split sums of probabilities and entropies; constant
  memory when the sample count is known in advance, otherwise the logits are kept.

:func:`accumulate` runs a feature extractor over image batches into the accumulators a
set of metrics needs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ascendgan.metrics.distances import MeanStd
from ascendgan.metrics.scores import (
    inception_score,
    inception_score_from_sums,
    log_probabilities,
    negative_entropy_sum,
    split_bounds,
)
from ascendgan.validation import check_int


class RunningStatistics:
    """Mean and covariance of feature vectors seen batch by batch, in float64.

    Batches are merged with the pairwise update of Chan, Golub & LeVeque (1979): the
    result equals the one-shot ``np.mean`` / ``np.cov`` up to round-off, and memory is
    ``O(d²)`` whatever the number of samples.

    Example:

    >>> import numpy as np
    >>> stats = RunningStatistics()
    >>> x = np.random.default_rng(0).normal(size=(100, 3))
    >>> for batch in np.split(x, 4):
    ...     stats.update(batch)
    >>> bool(np.allclose(stats.covariance, np.cov(x, rowvar=False)))
    True
    """

    def __init__(self):
        self.count = 0
        self.mean = None
        self._m2 = None

    def update(self, batch):
        """Adds a batch ``(n, d)`` of feature vectors."""
        batch = np.asarray(batch, np.float64)
        if batch.ndim != 2:
            raise ValueError(f"`batch` must be 2-D (n, d). Received shape {batch.shape}.")
        n = batch.shape[0]
        if n == 0:
            return
        batch_mean = batch.mean(axis=0)
        centred = batch - batch_mean
        batch_m2 = centred.T @ centred
        if self.count == 0:
            self.count, self.mean, self._m2 = n, batch_mean, batch_m2
            return
        if batch.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"`batch` has {batch.shape[1]} features; earlier batches had {self.mean.shape[0]}."
            )
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self._m2 = self._m2 + batch_m2 + np.outer(delta, delta) * (self.count * n / total)
        self.count = total

    @property
    def covariance(self):
        """The unbiased covariance (``ddof=1``); needs at least 2 samples."""
        if self.count < 2:
            raise ValueError(f"A covariance needs at least 2 samples. Received {self.count}.")
        return self._m2 / (self.count - 1)


class FeatureReservoir:
    """Keeps a uniform random subset of at most ``capacity`` rows of a stream (reservoir
    sampling); all rows, in order, while the stream is no longer than ``capacity``.

    Args:
        capacity: most rows kept.
        seed: seed of the replacement draws.

    Example:

    >>> import numpy as np
    >>> reservoir = FeatureReservoir(capacity=10, seed=0)
    >>> reservoir.update(np.arange(40.0).reshape(20, 2))
    >>> reservoir.features.shape, reservoir.seen
    ((10, 2), 20)
    """

    def __init__(self, capacity, seed=None):
        self.capacity = check_int("capacity", capacity, minimum=1)
        self.seen = 0
        self._rng = np.random.default_rng(seed)
        self._buffer = None
        self._filled = 0

    def update(self, batch):
        """Offers a batch ``(n, d)`` of rows."""
        batch = np.asarray(batch, np.float32)
        n = batch.shape[0]
        if n == 0:
            return
        if self._buffer is None:
            self._buffer = np.empty((self.capacity, batch.shape[1]), np.float32)
        take = min(n, self.capacity - self._filled)
        if take > 0:
            self._buffer[self._filled:self._filled + take] = batch[:take]
            self._filled += take
        rest = batch[take:]
        if len(rest):
            indices = self.seen + take + np.arange(len(rest))  # global positions
            slots = self._rng.integers(0, indices + 1)           # uniform in [0, position]
            keep = slots < self.capacity
            # numpy assigns repeated slots in order: the later row wins, as sequentially
            self._buffer[slots[keep]] = rest[keep]
        self.seen += n

    @property
    def features(self):
        """The kept rows, ``(min(seen, capacity), d)``."""
        if self._buffer is None:
            return np.zeros((0, 0), np.float32)
        return self._buffer[:self._filled]


class RunningInceptionScore:
    """Inception Score accumulated batch by batch; equals :func:`~ascendgan.metrics.inception_score`.

    With ``num_samples`` known, sample ``i`` belongs to split ``s`` when
    ``s·n // splits <= i < (s+1)·n // splits`` and only per-split sums are kept
    (``splits × classes`` floats). Without it the logits are kept until :meth:`result`.

    Args:
        splits: number of splits.
        num_samples: total samples that will be added, or ``None``.
        from_logits: whether batches are logits (else probabilities).
    """

    def __init__(self, splits=10, num_samples=None, from_logits=True):
        self.splits = check_int("splits", splits, minimum=1)
        self.num_samples = num_samples
        self.from_logits = from_logits
        self.count = 0
        self._kept = []
        if num_samples is not None:
            if num_samples < splits:
                raise ValueError(
                    f"The Inception Score needs at least `splits`={splits} samples. "
                    f"Received num_samples={num_samples}."
                )
            self._bounds = split_bounds(num_samples, splits)
            self._prob_sums = None
            self._entropy_sums = np.zeros(splits)

    def update(self, batch):
        """Adds a batch ``(n, classes)`` of logits (or probabilities)."""
        batch = np.asarray(batch)
        if self.num_samples is None:
            self._kept.append(batch.astype(np.float32))
            self.count += batch.shape[0]
            return
        if self.count + batch.shape[0] > self.num_samples:
            raise ValueError(
                f"More samples than the declared num_samples={self.num_samples}."
            )
        log_p = log_probabilities(batch, self.from_logits)
        if self._prob_sums is None:
            self._prob_sums = np.zeros((self.splits, log_p.shape[1]))
        positions = self.count + np.arange(batch.shape[0])
        for s, (start, stop) in enumerate(self._bounds):
            rows = (positions >= start) & (positions < stop)
            if np.any(rows):
                self._prob_sums[s] += np.exp(log_p[rows]).sum(axis=0)
                self._entropy_sums[s] += negative_entropy_sum(log_p[rows])
        self.count += batch.shape[0]

    def result(self):
        """``MeanStd`` of the score over the splits."""
        if self.num_samples is None:
            return inception_score(np.concatenate(self._kept), self.splits,
                                             from_logits=self.from_logits)
        if self.count != self.num_samples:
            raise ValueError(
                f"Declared num_samples={self.num_samples} but {self.count} samples were added."
            )
        scores = np.array([
            inception_score_from_sums(self._prob_sums[s], self._entropy_sums[s], stop - start)
            for s, (start, stop) in enumerate(self._bounds)
        ])
        return MeanStd(float(scores.mean()), float(scores.std()))


@dataclasses.dataclass
class Accumulated:
    """What one pass over a source collected.

    Attributes:
        count: images seen.
        statistics: :class:`RunningStatistics` of the features, or ``None``.
        reservoir: :class:`FeatureReservoir` of the features, or ``None``.
        inception: :class:`RunningInceptionScore` of the logits, or ``None``.
    """

    count: int = 0
    statistics: RunningStatistics | None = None
    reservoir: FeatureReservoir | None = None
    inception: RunningInceptionScore | None = None


def accumulate(batches, extractor, *, statistics=False, max_features=0, splits=0, total=None,
               seed=None, argument="source"):
    """Runs ``extractor`` over image batches and accumulates what the metrics need.

    Args:
        batches: an iterable of image batches (see
            :func:`~ascendgan.metrics.sources.image_batches`).
        extractor: a :class:`~ascendgan.metrics.FeatureExtractor`.
        statistics: keep the features' running mean and covariance (FID).
        max_features: feature rows kept (KID, precision / recall); 0 keeps none.
        splits: Inception Score splits; 0 computes no score.
        total: the number of images the batches hold, when known in advance: the
            Inception Score then streams in constant memory.
        seed: seed of the feature subset.
        argument: the source's argument name, for error messages.

    Returns:
        :class:`Accumulated`.
    """
    out = Accumulated(
        statistics=RunningStatistics() if statistics else None,
        reservoir=FeatureReservoir(max_features, seed=seed) if max_features else None,
        inception=RunningInceptionScore(splits, num_samples=total, from_logits=True) if splits else None,
    )
    for images in batches:
        result = extractor(images)
        if out.statistics is not None:
            out.statistics.update(result.features)
        if out.reservoir is not None:
            out.reservoir.update(result.features)
        if out.inception is not None:
            if result.logits is None:
                raise ValueError(
                    f"The Inception Score needs logits, and extractor {extractor.name!r} has none "
                    "(give FeatureExtractor a `logits_layer`)."
                )
            out.inception.update(result.logits)
        out.count += len(images)
    if out.count == 0:
        raise ValueError(f"`{argument}` delivered no images.")
    return out


__all__ = [
    "Accumulated",
    "FeatureReservoir",
    "RunningInceptionScore",
    "RunningStatistics",
    "accumulate",
]
