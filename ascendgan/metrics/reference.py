"""Reference statistics: what the metrics need from the real images, cached on disk.

:func:`reference_statistics` computes the mean, covariance and (a subset of) the feature
rows of reference images; with a ``cache_dir`` they are stored in an ``.npz`` file keyed
by data set name, split, sample count and extractor (protocol and weight hash), and a
later call reads the file instead of running the network. :func:`resolve_reference`
turns whatever :func:`~ascendgan.metrics.evaluate` was given as its reference (images, a
file, statistics) into :class:`ReferenceStatistics` checked against the extractor.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re

import numpy as np
import tensorflow as tf

from ascendgan.files import atomic_write
from ascendgan.metrics.accumulators import accumulate
from ascendgan.metrics.features import FeatureExtractor
from ascendgan.metrics.inception_v3 import inception_v3_extractor
from ascendgan.metrics.sources import expected_count, image_batches
from ascendgan.validation import check_int


@dataclasses.dataclass
class ReferenceStatistics:
    """What the metrics need from the reference (real) images.

    Attributes:
        mean: feature mean ``(d,)`` (float64).
        covariance: feature covariance ``(d, d)`` (float64, ``ddof=1``).
        count: number of images the statistics come from.
        features: up to ``max_features`` feature rows (float32) for KID and precision /
            recall, or ``None``.
        protocol: name, split, counts, and the extractor's protocol and cache key.
    """

    mean: np.ndarray
    covariance: np.ndarray
    count: int
    features: np.ndarray | None
    protocol: dict

    def save(self, path, compressed=False):
        """Writes an ``.npz`` file atomically (a temporary file renamed into place); returns
        its path. ``compressed``: ``np.savez_compressed`` (what the shipped statistics of
        :mod:`~ascendgan.metrics.domain` use)."""
        arrays = {
            "mean": self.mean,
            "covariance": self.covariance,
            "count": np.array(self.count),
            "protocol": np.array(json.dumps(self.protocol, sort_keys=True)),
        }
        if self.features is not None:
            arrays["features"] = self.features
        buffer = io.BytesIO()
        (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
        return atomic_write(os.fspath(path), buffer.getvalue())

    @classmethod
    def load(cls, path):
        """Reads a file written by :meth:`save`."""
        path = os.fspath(path)
        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(f"Reference statistics file not found: {path}")
        with tf.io.gfile.GFile(path, "rb") as handle:
            data = np.load(io.BytesIO(handle.read()), allow_pickle=False)
            try:
                return cls(
                    mean=data["mean"],
                    covariance=data["covariance"],
                    count=int(data["count"]),
                    features=data["features"] if "features" in data.files else None,
                    protocol=json.loads(str(data["protocol"])),
                )
            except KeyError as error:
                raise ValueError(
                    f"{path} is not a reference statistics file (missing {error})."
                ) from error


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "data"


def _array_name(source):
    array = np.ascontiguousarray(np.asarray(source))
    digest = hashlib.sha1(array.tobytes())
    digest.update(str(array.shape).encode() + str(array.dtype).encode())
    return f"array-{digest.hexdigest()[:12]}"


def reference_statistics(
    source,
    extractor=None,
    num_samples=None,
    batch_size=50,
    max_features=10_000,
    name=None,
    split=None,
    cache_dir=None,
    seed=0,
):
    """Feature statistics of reference images, optionally cached in an ``.npz`` file.

    Args:
        source: the reference images: a ``tf.data.Dataset``, an array, a callable or a
            ``GAN`` (see :func:`~ascendgan.metrics.sources.image_batches`).
        extractor: a :class:`FeatureExtractor` (default: ImageNet InceptionV3).
        num_samples: images to use; ``None`` uses all of a finite source.
        batch_size: images per extractor call.
        max_features: feature rows kept for KID and precision / recall (a uniform
            random subset when there are more images); 0 keeps none (FID only).
        name: the data set's name (e.g. ``"cifar10"``), stamped on results and part of
            the cache key; arrays default to a hash of their bytes.
        split: the data set's split (e.g. ``"train"``), stamped and part of the key.
        cache_dir: directory of cached statistics; ``None`` disables caching. The file
            name holds the name, split, sample count and a hash of the extractor's
            protocol and weights; a cached file without enough features for
            ``max_features`` is recomputed.
        seed: seed of the feature subset (and of a GAN's samples).

    Returns:
        :class:`ReferenceStatistics`.

    Example:

    >>> import numpy as np
    >>> pixels = FeatureExtractor(lambda x: np.reshape(x, (len(x), -1)), name="pixels")
    >>> ref = reference_statistics(np.zeros((8, 2, 2, 1), "float32"), pixels, name="zeros")
    >>> ref.count, ref.mean.shape
    (8, (4,))
    """
    extractor = extractor if extractor is not None else inception_v3_extractor()
    return _computed_or_cached(source, extractor, num_samples, batch_size, max_features, name,
                               split, cache_dir, seed, argument="source")


def _computed_or_cached(source, extractor, num_samples, batch_size, max_features, name, split,
                        cache_dir, seed, argument):
    if not isinstance(extractor, FeatureExtractor):
        raise TypeError(f"`extractor` must be a FeatureExtractor. Received: {type(extractor).__name__}")
    max_features = check_int("max_features", max_features, minimum=0)
    if name is None and isinstance(source, (np.ndarray, tf.Tensor)):
        name = _array_name(source)
    path = None
    if cache_dir is not None:
        if name is None:
            raise ValueError(
                "`name` is required to cache the statistics of a data set or generator "
                "(the cache is keyed by it); arrays are named by a hash of their bytes."
            )
        count_tag = "all" if num_samples is None else str(num_samples)
        filename = f"{_slug(name)}-{_slug(split or 'nosplit')}-{count_tag}-{extractor.cache_key()}.npz"
        path = os.path.join(os.fspath(cache_dir), filename)
        if tf.io.gfile.exists(path):
            cached = ReferenceStatistics.load(path)
            kept = 0 if cached.features is None else len(cached.features)
            if kept >= min(max_features, cached.count):
                return cached
    acc = accumulate(
        image_batches(source, num_samples, batch_size, seed, argument), extractor,
        statistics=True, max_features=max_features, total=expected_count(source, num_samples),
        seed=seed, argument=argument,
    )
    if acc.count < 2:
        raise ValueError(f"Reference statistics need at least 2 images. Received {acc.count}.")
    features = acc.reservoir.features.copy() if acc.reservoir is not None else None
    protocol = {
        "reference": name,
        "reference_split": split,
        "reference_samples": acc.count,
        "reference_features": 0 if features is None else len(features),
        "extractor_key": extractor.cache_key(),
        **extractor.protocol,
    }
    statistics = ReferenceStatistics(acc.statistics.mean, acc.statistics.covariance, acc.count,
                                     features, protocol)
    if path is not None:
        statistics.save(path)
    return statistics


def resolve_reference(reference, settings, extractor):
    """The :class:`ReferenceStatistics` an evaluation with ``settings`` compares with.

    Args:
        reference: :class:`ReferenceStatistics`, the path of a saved ``.npz``, or
            reference images (any source of
            :func:`~ascendgan.metrics.sources.image_batches`; their statistics are computed
            with ``settings``' ``reference_samples``, ``batch_size``, ``max_features``,
            ``reference_name``, ``reference_split``, ``cache_dir`` and ``seed``).
        settings: the :class:`~ascendgan.metrics.EvaluationSettings`.
        extractor: the :class:`~ascendgan.metrics.FeatureExtractor` of the evaluation.

    Returns:
        :class:`ReferenceStatistics`, or ``None`` when the metrics need no reference (the
        Inception Score alone).

    Raises:
        ValueError: the reference is missing, was computed with another extractor, or
            holds no features while KID or precision / recall need them.
    """
    if not settings.needs_reference:
        return None
    if reference is None:
        raise ValueError(f"`reference` is required for metrics {list(settings.metrics)}.")
    if isinstance(reference, (str, os.PathLike)):
        statistics = ReferenceStatistics.load(reference)
    elif isinstance(reference, ReferenceStatistics):
        statistics = reference
    else:
        statistics = _computed_or_cached(
            reference, extractor, settings.reference_samples, settings.batch_size,
            settings.max_features if settings.needs_features else 0, settings.reference_name,
            settings.reference_split, settings.cache_dir, settings.seed, argument="reference",
        )
    protocol = statistics.protocol
    if protocol.get("extractor_key") != extractor.cache_key():
        raise ValueError(
            "`reference` statistics were computed with a different extractor "
            f"({protocol.get('extractor')}, {protocol.get('weights')}, key "
            f"{protocol.get('extractor_key')}) than `extractor` ({extractor.name}, "
            f"{extractor.protocol['weights']}, key {extractor.cache_key()}); their numbers "
            "cannot be compared."
        )
    if settings.needs_features and (statistics.features is None or len(statistics.features) < 2):
        raise ValueError(
            "KID and precision / recall need reference features, and `reference` holds "
            "none: recompute it with max_features > 0."
        )
    return statistics


__all__ = ["ReferenceStatistics", "reference_statistics", "resolve_reference"]
