"""The evaluation protocol as one object: :class:`EvaluationSettings`.

Everything that decides an evaluation's numbers (which metrics, how many samples, the
feature extractor, the seed, each metric's parameters, how the reference is read) is
one frozen dataclass, so :func:`ascendgan.metrics.evaluate` and the
:class:`ascendgan.metrics.GANMetrics` callback share it instead of repeating sixteen
arguments, and a protocol can be written once and reused.
"""

from __future__ import annotations

import dataclasses
import os

from ascendgan.metrics.features import FeatureExtractor
from ascendgan.validation import check_bool, check_int, check_number, check_seed

#: Metric names :func:`ascendgan.metrics.evaluate` accepts (aliases map to these).
METRICS = ("fid", "kid", "is", "precision_recall")

#: Every accepted spelling of a metric, mapped to its name in :data:`METRICS`.
METRIC_ALIASES = {
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

#: The values each metric adds to a result (``EvaluationResult.values``).
METRIC_VALUES = {
    "fid": ("fid",),
    "kid": ("kid", "kid_std"),
    "is": ("is", "is_std"),
    "precision_recall": ("precision", "recall"),
}


def value_name(value, suffix=None):
    """The name of ``value`` (a name of :data:`METRIC_VALUES`) computed with an extractor
    whose ``metric_suffix`` is ``suffix``: the shipped domain extractors name their numbers
    after themselves, so they are never mistaken for Inception numbers.

    Example:

    >>> value_name("fid", "mnist_cnn"), value_name("kid_std", "mnist_cnn"), value_name("fid")
    ('fid_mnist_cnn', 'kid_mnist_cnn_std', 'fid')
    """
    if not suffix:
        return value
    if value.endswith("_std"):
        return f"{value[:-len('_std')]}_{suffix}_std"
    return f"{value}_{suffix}"


def base_value_name(name, suffix=None):
    """The inverse of :func:`value_name`: ``"fid_mnist_cnn"`` -> ``"fid"``."""
    if suffix and f"_{suffix}" in name:
        return name.replace(f"_{suffix}", "", 1)
    return name


def metric_names(metrics):
    """``metrics`` (a name or a sequence of names or aliases) as a tuple of :data:`METRICS`
    names, in order, without repeats.

    Example:

    >>> metric_names(["FID", "inception_score", "fid"])
    ('fid', 'is')
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    names = []
    for metric in metrics:
        key = METRIC_ALIASES.get(str(metric).lower())
        if key is None:
            raise ValueError(
                f"Unknown metric {metric!r} in `metrics`. Valid: {sorted(METRIC_ALIASES)}."
            )
        if key not in names:
            names.append(key)
    if not names:
        raise ValueError("`metrics` must name at least one metric.")
    return tuple(names)


@dataclasses.dataclass(frozen=True)
class EvaluationSettings:
    """How images are evaluated: everything that changes the numbers, in one object.

    :func:`~ascendgan.metrics.evaluate` takes it (and accepts any field as a keyword
    that replaces the settings' value); :class:`~ascendgan.metrics.GANMetrics` takes it
    for its evaluations during training. Values are checked when the object is built,
    so a wrong setting fails before any image is generated.

    Attributes:
        metrics: any of ``"fid"``, ``"kid"``, ``"is"``, ``"precision_recall"`` (or an
            alias such as ``"inception_score"``); stored as a tuple of
            :data:`METRICS` names.
        num_samples: images drawn from the evaluated source (``None``: all of a finite
            source). Published numbers use 50,000.
        extractor: a :class:`~ascendgan.metrics.FeatureExtractor`; ``None`` means
            ImageNet InceptionV3 at 299x299, built by each :func:`evaluate` call (build
            it once with :func:`~ascendgan.metrics.inception_v3_extractor` and set it
            here when evaluating repeatedly).
        batch_size: images per generator and extractor call.
        seed: seed of the generated samples, the feature subsets and KID's subsets
            (``None``: not reproducible).
        truncation: truncation threshold of a GAN's latents (``None``: none). Only for
            a GAN source.
        use_ema: sample a GAN's averaged generator when it keeps one (else the raw
            generator).
        splits: Inception Score splits.
        kid_subsets, kid_subset_size: KID's subsets (clipped to the available features).
        k: neighbourhood size of precision / recall.
        max_features: feature rows kept per set for KID and precision / recall (a
            uniform random subset when there are more images).
        reference_samples: images used from a reference source (``None``: all).
        reference_name, reference_split: the reference's name and split (stamped on
            results; part of the cache key).
        cache_dir: where reference statistics are cached (``None``: no caching).

    Example:

    >>> settings = EvaluationSettings(metrics=["fid", "inception_score"], num_samples=5000)
    >>> settings.metrics, settings.needs_reference, settings.needs_features
    (('fid', 'is'), True, False)
    >>> settings.replace(num_samples=50_000).num_samples
    50000
    """

    metrics: tuple = ("fid",)
    num_samples: int | None = 10_000
    extractor: FeatureExtractor | None = None
    batch_size: int = 50
    seed: int | None = 0
    truncation: float | None = None
    use_ema: bool = True
    splits: int = 10
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    k: int = 3
    max_features: int = 10_000
    reference_samples: int | None = None
    reference_name: str | None = None
    reference_split: str | None = None
    cache_dir: str | os.PathLike | None = None

    def __post_init__(self):
        def store(name, value):
            object.__setattr__(self, name, value)

        store("metrics", metric_names(self.metrics))
        if self.extractor is not None and not isinstance(self.extractor, FeatureExtractor):
            raise TypeError(
                f"`extractor` must be a FeatureExtractor or None. Received: {type(self.extractor).__name__}"
            )
        store("num_samples", check_int("num_samples", self.num_samples, minimum=1, allow_none=True))
        store("batch_size", check_int("batch_size", self.batch_size, minimum=1))
        store("seed", check_seed("seed", self.seed, allow_none=True))
        store("truncation", check_number("truncation", self.truncation, minimum=0,
                                         min_inclusive=False, allow_none=True))
        store("use_ema", check_bool("use_ema", self.use_ema))
        store("splits", check_int("splits", self.splits, minimum=1))
        store("kid_subsets", check_int("kid_subsets", self.kid_subsets, minimum=1))
        store("kid_subset_size", check_int("kid_subset_size", self.kid_subset_size, minimum=2))
        store("k", check_int("k", self.k, minimum=1))
        # KID and precision / recall compare feature rows: they need at least two
        store("max_features", check_int("max_features", self.max_features,
                                        minimum=2 if self.needs_features else 0))
        store("reference_samples", check_int("reference_samples", self.reference_samples,
                                             minimum=1, allow_none=True))

    @property
    def needs_reference(self):
        """Whether a metric compares with reference images (all but the Inception Score)."""
        return any(name != "is" for name in self.metrics)

    @property
    def needs_features(self):
        """Whether feature rows are kept (KID, precision / recall)."""
        return "kid" in self.metrics or "precision_recall" in self.metrics

    @property
    def values(self):
        """The names of the values an evaluation with these settings returns (suffixed
        with the extractor's ``metric_suffix``, e.g. ``fid_mnist_cnn``, when it has one)."""
        suffix = getattr(self.extractor, "metric_suffix", None)
        return tuple(value_name(value, suffix) for name in self.metrics
                     for value in METRIC_VALUES[name])

    def replace(self, **changes):
        """A copy with the fields in ``changes`` replaced (and checked again)."""
        fields = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(changes) - fields)
        if unknown:
            raise TypeError(
                f"Unknown evaluation setting(s) {unknown}. Valid: {sorted(fields)}."
            )
        return dataclasses.replace(self, **changes)


__all__ = ["METRICS", "METRIC_ALIASES", "METRIC_VALUES", "EvaluationSettings", "base_value_name",
           "metric_names", "value_name"]
