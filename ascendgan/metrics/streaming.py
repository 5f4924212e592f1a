"""Streaming evaluation: FID / KID / IS / precision-recall of a generator or a data set.

:func:`evaluate` draws images batch by batch (from a ``GAN``, a callable, a
``tf.data.Dataset`` or an array), extracts features and accumulates what each metric
needs, then compares with a reference:

- FID: running mean and covariance with float64 sums (:class:`RunningStatistics`);
  memory ``O(d²)`` (32 MB for 2048-d features), independent of the sample count.
- KID and precision / recall need the features themselves: up to ``max_features`` per
  set are kept, a uniform random subset when there are more (:class:`FeatureReservoir`);
  memory ``max_features × d × 4`` bytes per set (82 MB for 10,000 Inception features).
- IS: per-split sums of probabilities and entropies (:class:`RunningInceptionScore`);
  constant memory when the sample count is known in advance (generators, arrays),
  otherwise the logits are kept (``n × classes × 4`` bytes).

Reference statistics (:func:`reference_statistics`) can be cached in ``.npz`` files
keyed by data set name, split, sample count and extractor (protocol and weight hash).
Every result carries its protocol: extractor, weights, image size, resize, sample
counts, reference name and split, and each metric's own parameters.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import warnings

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.metrics import distances
from ascendgan.metrics.features import FeatureExtractor, inception_v3_extractor

keras = compat.keras

#: Metric names :func:`evaluate` accepts (aliases map to these).
METRICS = ("fid", "kid", "is", "precision_recall")
_ALIASES = {
    "fid": "fid",
    "frechet_inception_distance": "fid",
    "kid": "kid",
    "kernel_inception_distance": "kid",
    "is": "is",
    "inception_score": "is",
    "precision_recall": "precision_recall",
    "pr": "precision_recall",
    "precision": "precision_recall",
    "recall": "precision_recall",
}


# ----------------------------------------------------------------------------- accumulators


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
        if not isinstance(capacity, (int, np.integer)) or capacity < 1:
            raise ValueError(f"`capacity` must be a positive integer. Received: {capacity!r}")
        self.capacity = int(capacity)
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
    """Inception Score accumulated batch by batch; equals :func:`distances.inception_score`.

    With ``num_samples`` known, sample ``i`` belongs to split ``s`` when
    ``s·n // splits <= i < (s+1)·n // splits`` and only per-split sums are kept
    (``splits × classes`` floats). Without it the logits are kept until :meth:`result`.

    Args:
        splits: number of splits.
        num_samples: total samples that will be added, or ``None``.
        from_logits: whether batches are logits (else probabilities).
    """

    def __init__(self, splits=10, num_samples=None, from_logits=True):
        self.splits = int(splits)
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
            self._bounds = distances.split_bounds(num_samples, splits)
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
        log_p = distances._log_probabilities(batch, self.from_logits)
        if self._prob_sums is None:
            self._prob_sums = np.zeros((self.splits, log_p.shape[1]))
        positions = self.count + np.arange(batch.shape[0])
        for s, (start, stop) in enumerate(self._bounds):
            rows = (positions >= start) & (positions < stop)
            if np.any(rows):
                self._prob_sums[s] += np.exp(log_p[rows]).sum(axis=0)
                self._entropy_sums[s] += distances.negative_entropy_sum(log_p[rows])
        self.count += batch.shape[0]

    def result(self):
        """``MeanStd`` of the score over the splits."""
        if self.num_samples is None:
            return distances.inception_score(np.concatenate(self._kept), self.splits,
                                             from_logits=self.from_logits)
        if self.count != self.num_samples:
            raise ValueError(
                f"Declared num_samples={self.num_samples} but {self.count} samples were added."
            )
        scores = np.array([
            distances.inception_score_from_sums(self._prob_sums[s], self._entropy_sums[s], stop - start)
            for s, (start, stop) in enumerate(self._bounds)
        ])
        return distances.MeanStd(float(scores.mean()), float(scores.std()))


# ----------------------------------------------------------------------------- sources


def _is_gan(source):
    from ascendgan.training.gan import GAN  # the training package is imported on demand

    return isinstance(source, GAN)


def _describe(source):
    if isinstance(source, tf.data.Dataset):
        return "tf.data.Dataset"
    if isinstance(source, (np.ndarray, tf.Tensor)):
        return "array"
    if _is_gan(source):
        return f"GAN {source.name}"
    return f"callable {getattr(source, '__name__', type(source).__name__)}"


def _images_of(element, argument):
    if isinstance(element, dict):
        if "images" not in element:
            raise ValueError(
                f"`{argument}`: dict elements must have an 'images' key. Received keys {sorted(element)}."
            )
        return element["images"]
    if isinstance(element, (tuple, list)):
        return element[0]
    return element


def _checked(images, argument):
    """A batch as a float32 numpy array; integer images are refused (they are not in [-1, 1])."""
    dtype = tf.as_dtype(images.dtype) if hasattr(images, "dtype") else None
    if dtype is not None and not dtype.is_floating:
        raise TypeError(
            f"`{argument}` must give floating-point images in [-1, 1] (ascendgan's convention). "
            f"Received dtype {dtype.name}; convert with images / 127.5 - 1."
        )
    return np.asarray(tf.cast(images, tf.float32))


def known_length(source):
    """Number of images a finite source holds when cheap to know (arrays), else ``None``."""
    if isinstance(source, (np.ndarray, tf.Tensor)):
        return int(source.shape[0])
    return None


def image_batches(source, num_samples=None, batch_size=50, seed=0, argument="source"):
    """Yields float32 numpy batches of images from any supported source.

    Args:
        source: a ``GAN`` (``gan.generate(n, seed=...)``; a class-conditional GAN gets
            uniformly random labels), a callable ``f(batch_size) -> images``, a
            ``tf.data.Dataset`` of images, ``(images, labels)`` or ``{"images": ...}``
            (batched or not), or an array ``(n, h, w, c)``.
        num_samples: images to deliver; ``None`` means all of a finite source (required
            for GANs and callables). A finite source with fewer images delivers what it
            has, with a warning.
        batch_size: images per batch.
        seed: seed of the GAN's latents and labels (``None``: not reproducible).
        argument: the argument name used in error messages.
    """
    if num_samples is not None and (not isinstance(num_samples, (int, np.integer)) or num_samples < 1):
        raise ValueError(f"`num_samples` must be a positive integer or None. Received: {num_samples!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: {batch_size!r}")
    finite = isinstance(source, (tf.data.Dataset, np.ndarray, tf.Tensor))
    if not finite:
        if isinstance(source, keras.Model) and not _is_gan(source):
            raise TypeError(
                f"`{argument}` is a Keras model that is not an ascendgan GAN. Pass the GAN, or a "
                "callable such as `lambda n: generator(tf.random.normal((n, latent_dim)))`."
            )
        if not callable(source) and not _is_gan(source):
            raise TypeError(
                f"`{argument}` must be a GAN, a callable f(batch_size) -> images, a tf.data.Dataset "
                f"or an array of images. Received: {type(source).__name__}"
            )
        if num_samples is None:
            raise ValueError(f"`num_samples` is required when `{argument}` is a generator.")
    delivered = 0

    def wanted():
        return batch_size if num_samples is None else min(batch_size, num_samples - delivered)

    if isinstance(source, (np.ndarray, tf.Tensor)):
        array = source
        total = array.shape[0] if num_samples is None else min(num_samples, array.shape[0])
        for start in range(0, total, batch_size):
            yield _checked(array[start:min(start + batch_size, total)], argument)
            delivered = min(start + batch_size, total)
    elif isinstance(source, tf.data.Dataset):
        spec = _images_of(source.element_spec, argument)
        if spec.shape.rank == 3:
            source = source.batch(batch_size)
        elif spec.shape.rank != 4:
            raise ValueError(
                f"`{argument}` must yield images (h, w, c) or batches (n, h, w, c). Received "
                f"elements of shape {spec.shape}."
            )
        for element in source:
            images = _checked(_images_of(element, argument), argument)
            if num_samples is not None:
                images = images[:num_samples - delivered]
            if len(images):
                yield images
                delivered += len(images)
            if num_samples is not None and delivered >= num_samples:
                break
    else:
        gan = _is_gan(source)
        if gan and source.latent_dim is None:
            raise TypeError(
                f"`{argument}` is a GAN without a latent (e.g. Pix2Pix): pass a callable "
                "f(batch_size) -> images that runs it on source images."
            )
        rng = np.random.default_rng(seed)
        while delivered < num_samples:
            count = wanted()
            if gan:
                batch_seed = None if seed is None else int(rng.integers(0, 2**31 - 1))
                images = source.generate(count, seed=batch_seed, batch_size=count)
            else:
                images = source(count)
            images = _checked(images, argument)
            if images.ndim == 0 or len(images) == 0:
                raise ValueError(f"`{argument}`({count}) returned no images.")
            images = images[:count]
            yield images
            delivered += len(images)
    if num_samples is not None and delivered < num_samples:
        warnings.warn(
            f"`{argument}` ran out after {delivered} images; {num_samples} were requested. "
            f"The metrics use {delivered} (stamped in the protocol).",
            stacklevel=3,
        )


class _Accumulated:
    """What one pass over a source collected."""

    def __init__(self):
        self.count = 0
        self.stats = None
        self.reservoir = None
        self.inception = None


def _accumulate(source, extractor, num_samples, batch_size, seed, *, stats, max_features,
                splits, argument):
    # the Inception Score streams when the sample count is known in advance
    length = known_length(source)
    if isinstance(source, tf.data.Dataset):
        total = None  # a data set may run out early
    elif length is not None:
        total = length if num_samples is None else min(num_samples, length)
    else:
        total = num_samples
    out = _Accumulated()
    out.stats = RunningStatistics() if stats else None
    out.reservoir = FeatureReservoir(max_features, seed=seed) if max_features else None
    if splits:
        out.inception = RunningInceptionScore(splits, num_samples=total, from_logits=True)
    for images in image_batches(source, num_samples, batch_size, seed, argument):
        result = extractor(images)
        if out.stats is not None:
            out.stats.update(result.features)
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


# ----------------------------------------------------------------------------- reference statistics


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

    def save(self, path):
        """Writes an ``.npz`` file atomically (a temporary file renamed into place)."""
        arrays = {
            "mean": self.mean,
            "covariance": self.covariance,
            "count": np.array(self.count),
            "protocol": np.array(json.dumps(self.protocol, sort_keys=True)),
        }
        if self.features is not None:
            arrays["features"] = self.features
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path = os.fspath(path)
        directory = os.path.dirname(path)
        if directory:
            tf.io.gfile.makedirs(directory)
        temporary = f"{path}.tmp-{os.getpid()}"
        with tf.io.gfile.GFile(temporary, "wb") as handle:
            handle.write(buffer.getvalue())
        tf.io.gfile.rename(temporary, path, overwrite=True)
        return path

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
            ``GAN`` (see :func:`image_batches`).
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
    return _reference_statistics(source, extractor, num_samples, batch_size, max_features, name,
                                 split, cache_dir, seed, argument="source")


def _reference_statistics(source, extractor, num_samples, batch_size, max_features, name, split,
                          cache_dir, seed, argument):
    if not isinstance(extractor, FeatureExtractor):
        raise TypeError(f"`extractor` must be a FeatureExtractor. Received: {type(extractor).__name__}")
    if not isinstance(max_features, (int, np.integer)) or max_features < 0:
        raise ValueError(f"`max_features` must be an integer >= 0. Received: {max_features!r}")
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
    acc = _accumulate(source, extractor, num_samples, batch_size, seed, stats=True,
                      max_features=max_features, splits=0, argument=argument)
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
    statistics = ReferenceStatistics(acc.stats.mean, acc.stats.covariance, acc.count, features,
                                     protocol)
    if path is not None:
        statistics.save(path)
    return statistics


# ----------------------------------------------------------------------------- evaluation


@dataclasses.dataclass(frozen=True)
class EvaluationResult:
    """The numbers of one evaluation and the protocol that produced them.

    Attributes:
        values: ``{"fid": ..., "kid": ..., "kid_std": ..., "is": ..., "is_std": ...,
            "precision": ..., "recall": ...}`` (the metrics asked for).
        protocol: extractor name, weights, image size, resize method, dtype, sample
            counts, reference name and split, seed, and each metric's parameters.

    ``result["fid"]`` reads a value, ``dict(result)`` gives the values, :meth:`as_dict`
    the values and the protocol.
    """

    values: dict
    protocol: dict

    def __getitem__(self, key):
        return self.values[key]

    def __contains__(self, key):
        return key in self.values

    def keys(self):
        return self.values.keys()

    def as_dict(self):
        """``{**values, "protocol": protocol}`` (JSON-serializable)."""
        return {**self.values, "protocol": dict(self.protocol)}

    def __str__(self):
        parts = []
        for key, value in self.values.items():
            if key.endswith("_std"):
                continue
            std = self.values.get(f"{key}_std")
            parts.append(f"{key} {value:.4g}" + (f" ± {std:.2g}" if std is not None else ""))
        p = self.protocol
        size = p.get("image_size")
        size = "x".join(str(s) for s in size) if isinstance(size, list) else size
        return (
            f"{', '.join(parts)} [{p.get('extractor')} ({p.get('weights')}), {size}, "
            f"{p.get('num_samples')} samples vs {p.get('reference_samples')} of "
            f"{p.get('reference')}/{p.get('reference_split')}]"
        )


def _metric_names(metrics):
    if isinstance(metrics, str):
        metrics = (metrics,)
    names = []
    for metric in metrics:
        key = _ALIASES.get(str(metric).lower())
        if key is None:
            raise ValueError(
                f"Unknown metric {metric!r} in `metrics`. Valid: {sorted(_ALIASES)}."
            )
        if key not in names:
            names.append(key)
    if not names:
        raise ValueError("`metrics` must name at least one metric.")
    return names


def evaluate(
    generator_or_dataset,
    reference=None,
    metrics=("fid",),
    num_samples=10_000,
    extractor=None,
    batch_size=50,
    seed=0,
    splits=10,
    kid_subsets=100,
    kid_subset_size=1000,
    k=3,
    max_features=10_000,
    reference_samples=None,
    reference_name=None,
    reference_split=None,
    cache_dir=None,
):
    """Evaluates generated (or any) images against a reference, streaming batch by batch.

    Args:
        generator_or_dataset: the images to evaluate: a ``GAN`` (``gan.generate``, random
            labels for a conditional GAN), a callable ``f(batch_size) -> images``, a
            ``tf.data.Dataset`` of images or ``(images, labels)``, or an array. Images
            are channels-last in [-1, 1].
        reference: :class:`ReferenceStatistics`, the path of a saved ``.npz``, or
            reference images (any source above; their statistics are computed with
            :func:`reference_statistics`). Not needed for ``metrics=["is"]`` alone.
        metrics: any of ``"fid"``, ``"kid"``, ``"is"``, ``"precision_recall"``.
        num_samples: images drawn from ``generator_or_dataset`` (``None``: all of a
            finite source). Published numbers use 50,000.
        extractor: a :class:`FeatureExtractor`; default ImageNet InceptionV3 at 299x299,
            built on every call: build it once (:func:`inception_v3_extractor`) and pass it
            when evaluating repeatedly.
        batch_size: images per extractor call.
        seed: seed of the generated samples, the feature subsets and KID's subsets.
        splits: Inception Score splits.
        kid_subsets, kid_subset_size: KID's subsets (clipped to the available features).
        k: neighbourhood size of precision / recall.
        max_features: feature rows kept per set for KID and precision / recall.
        reference_samples: images used from a reference source (``None``: all).
        reference_name, reference_split: the reference's name and split (stamped on the
            result; part of the cache key).
        cache_dir: where reference statistics are cached (``None``: no caching).

    Returns:
        :class:`EvaluationResult`.

    Example:

    >>> import numpy as np
    >>> pixels = FeatureExtractor(lambda x: np.reshape(x, (len(x), -1)), name="pixels")
    >>> images = np.random.default_rng(0).uniform(-1, 1, (64, 2, 2, 1)).astype("float32")
    >>> result = evaluate(images, images, metrics=["fid"], num_samples=None, extractor=pixels)
    >>> round(result["fid"], 6)
    0.0

    Reference:
        FID: Heusel et al. 2017 (arXiv:1706.08500); KID: Bińkowski et al. 2018
        (arXiv:1801.01401); IS: Salimans et al. 2016 (arXiv:1606.03498); precision /
        recall: Kynkäänniemi et al. 2019 (arXiv:1904.06991).
    """
    names = _metric_names(metrics)
    extractor = extractor if extractor is not None else inception_v3_extractor()
    if not isinstance(extractor, FeatureExtractor):
        raise TypeError(f"`extractor` must be a FeatureExtractor. Received: {type(extractor).__name__}")
    needs_reference = any(name != "is" for name in names)
    needs_features = "kid" in names or "precision_recall" in names
    if needs_features and (not isinstance(max_features, (int, np.integer)) or max_features < 2):
        raise ValueError(f"`max_features` must be an integer >= 2 for KID / precision-recall. Received: {max_features!r}")
    if "is" in names and (not isinstance(splits, (int, np.integer)) or splits < 1):
        raise ValueError(f"`splits` must be a positive integer. Received: splits={splits!r}")

    ref = None
    if needs_reference:
        if reference is None:
            raise ValueError(f"`reference` is required for metrics {names}.")
        if isinstance(reference, (str, os.PathLike)):
            ref = ReferenceStatistics.load(reference)
        elif isinstance(reference, ReferenceStatistics):
            ref = reference
        else:
            ref = _reference_statistics(
                reference, extractor, reference_samples, batch_size,
                max_features if needs_features else 0, reference_name, reference_split,
                cache_dir, seed, argument="reference",
            )
        if ref.protocol.get("extractor_key") != extractor.cache_key():
            raise ValueError(
                "`reference` statistics were computed with a different extractor "
                f"({ref.protocol.get('extractor')}, {ref.protocol.get('weights')}, key "
                f"{ref.protocol.get('extractor_key')}) than `extractor` ({extractor.name}, "
                f"{extractor.protocol['weights']}, key {extractor.cache_key()}); their numbers "
                "cannot be compared."
            )
        if needs_features and (ref.features is None or len(ref.features) < 2):
            raise ValueError(
                "KID and precision / recall need reference features, and `reference` holds "
                "none: recompute it with max_features > 0."
            )

    acc = _accumulate(
        generator_or_dataset, extractor, num_samples, batch_size, seed,
        stats="fid" in names, max_features=max_features if needs_features else 0,
        splits=splits if "is" in names else 0, argument="generator_or_dataset",
    )
    values = {}
    protocol = {
        **extractor.protocol,
        "source": _describe(generator_or_dataset),
        "num_samples": acc.count,
        "seed": seed,
    }
    if ref is not None:
        protocol.update(
            reference=ref.protocol.get("reference"),
            reference_split=ref.protocol.get("reference_split"),
            reference_samples=ref.count,
        )
    if "fid" in names:
        if acc.count < 2:
            raise ValueError("FID needs at least 2 generated images.")
        values["fid"] = distances.frechet_distance(acc.stats.mean, acc.stats.covariance,
                                                   ref.mean, ref.covariance)
    fake_features = acc.reservoir.features if acc.reservoir is not None else None
    if "kid" in names:
        kid = distances.kernel_distance(ref.features, fake_features, num_subsets=kid_subsets,
                                        subset_size=kid_subset_size, seed=seed)
        values["kid"], values["kid_std"] = kid.mean, kid.std
        protocol.update(
            kid_subsets=kid_subsets,
            kid_subset_size=min(kid_subset_size, len(ref.features), len(fake_features)),
            kid_features=[len(ref.features), len(fake_features)],
        )
    if "is" in names:
        score = acc.inception.result()
        values["is"], values["is_std"] = score.mean, score.std
        protocol["is_splits"] = splits
    if "precision_recall" in names:
        pr = distances.precision_recall(ref.features, fake_features, k=k)
        values["precision"], values["recall"] = pr.precision, pr.recall
        protocol.update(pr_k=k, pr_features=[len(ref.features), len(fake_features)])
    return EvaluationResult(values, protocol)


__all__ = [
    "METRICS",
    "EvaluationResult",
    "FeatureReservoir",
    "ReferenceStatistics",
    "RunningInceptionScore",
    "RunningStatistics",
    "evaluate",
    "image_batches",
    "known_length",
    "reference_statistics",
]
