"""The evaluation driver: :func:`evaluate` and the :class:`EvaluationResult` it returns.

:func:`evaluate` draws images batch by batch (:mod:`~ascendgan.metrics.sources`),
extracts features and accumulates what each metric needs
(:mod:`~ascendgan.metrics.accumulators`), then compares with the reference
(:mod:`~ascendgan.metrics.reference`). Every result carries its protocol: extractor,
weights, image size, resize, sample counts, reference name and split, and each metric's
own parameters.
"""

from __future__ import annotations

import dataclasses

from ascendgan.metrics.accumulators import accumulate
from ascendgan.metrics.distances import frechet_distance, kernel_distance
from ascendgan.metrics.inception_v3 import inception_v3_extractor
from ascendgan.metrics.manifolds import precision_recall
from ascendgan.metrics.reference import resolve_reference
from ascendgan.metrics.settings import EvaluationSettings, value_name
from ascendgan.metrics.sources import describe_source, expected_count, image_batches, is_gan


@dataclasses.dataclass(frozen=True)
class EvaluationResult:
    """The numbers of one evaluation and the protocol that produced them.

    Attributes:
        values: ``{"fid": ..., "kid": ..., "kid_std": ..., "is": ..., "is_std": ...,
            "precision": ..., "recall": ...}`` (the metrics asked for); with an extractor
            that has a ``metric_suffix`` (the shipped domain extractors) the names carry
            it: ``fid_mnist_cnn``, ``kid_mnist_cnn``, ``kid_mnist_cnn_std``, ...
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


def _settings_of(settings, overrides):
    if settings is None:
        settings = EvaluationSettings()
    elif not isinstance(settings, EvaluationSettings):
        raise TypeError(
            "`settings` must be an EvaluationSettings (pass metrics, num_samples, ... as "
            f"keywords). Received: {type(settings).__name__}"
        )
    return settings.replace(**overrides) if overrides else settings


def evaluate(generator_or_dataset, reference=None, settings=None, **overrides):
    """Evaluates generated (or any) images against a reference, streaming batch by batch.

    Args:
        generator_or_dataset: the images to evaluate: a ``GAN`` (``gan.generate``, random
            labels for a conditional GAN), a callable ``f(batch_size) -> images``, a
            ``tf.data.Dataset`` of images or ``(images, labels)``, or an array. Images
            are channels-last in [-1, 1].
        reference: :class:`~ascendgan.metrics.ReferenceStatistics`, the path of a saved
            ``.npz``, or reference images (any source above; their statistics are
            computed with :func:`~ascendgan.metrics.reference_statistics`). Not needed
            for ``metrics=["is"]`` alone.
        settings: an :class:`~ascendgan.metrics.EvaluationSettings` (default:
            ``EvaluationSettings()``: FID on 10,000 samples with ImageNet InceptionV3).
        **overrides: any field of :class:`~ascendgan.metrics.EvaluationSettings` by name
            (``metrics``, ``num_samples``, ``extractor``, ``batch_size``, ``seed``,
            ``truncation``, ``use_ema``, ``splits``, ``kid_subsets``,
            ``kid_subset_size``, ``k``, ``max_features``, ``reference_samples``,
            ``reference_name``, ``reference_split``, ``cache_dir``), replacing the value
            in ``settings``. An unknown name raises ``TypeError``.

    Returns:
        :class:`EvaluationResult`. Values are named ``fid``, ``kid``, ... with InceptionV3
        or a model of your own, and ``fid_<name>``, ... with a shipped domain extractor
        (:func:`~ascendgan.metrics.domain_extractor`).

    Example:

    >>> import numpy as np
    >>> from ascendgan.metrics import FeatureExtractor
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
    settings = _settings_of(settings, overrides)
    names = settings.metrics
    extractor = settings.extractor if settings.extractor is not None else inception_v3_extractor()
    ref = resolve_reference(reference, settings, extractor)

    source = generator_or_dataset
    argument = "generator_or_dataset"
    batches = image_batches(source, settings.num_samples, settings.batch_size, settings.seed,
                            argument, truncation=settings.truncation, use_ema=settings.use_ema)
    acc = accumulate(
        batches, extractor, statistics="fid" in names,
        max_features=settings.max_features if settings.needs_features else 0,
        splits=settings.splits if "is" in names else 0,
        total=expected_count(source, settings.num_samples), seed=settings.seed, argument=argument,
    )
    values = {}
    protocol = {
        **extractor.protocol,
        "source": describe_source(source),
        "num_samples": acc.count,
        "seed": settings.seed,
    }
    if is_gan(source):
        protocol.update(use_ema=settings.use_ema, truncation=settings.truncation)
    if ref is not None:
        protocol.update(
            reference=ref.protocol.get("reference"),
            reference_split=ref.protocol.get("reference_split"),
            reference_samples=ref.count,
        )
    if "fid" in names:
        if acc.count < 2:
            raise ValueError("FID needs at least 2 generated images.")
        values["fid"] = frechet_distance(acc.statistics.mean, acc.statistics.covariance,
                                         ref.mean, ref.covariance)
    fake_features = acc.reservoir.features if acc.reservoir is not None else None
    if "kid" in names:
        kid = kernel_distance(ref.features, fake_features, num_subsets=settings.kid_subsets,
                              subset_size=settings.kid_subset_size, seed=settings.seed)
        values["kid"], values["kid_std"] = kid.mean, kid.std
        protocol.update(
            kid_subsets=settings.kid_subsets,
            kid_subset_size=min(settings.kid_subset_size, len(ref.features), len(fake_features)),
            kid_features=[len(ref.features), len(fake_features)],
        )
    if "is" in names:
        score = acc.inception.result()
        values["is"], values["is_std"] = score.mean, score.std
        protocol["is_splits"] = settings.splits
    if "precision_recall" in names:
        pr = precision_recall(ref.features, fake_features, k=settings.k)
        values["precision"], values["recall"] = pr.precision, pr.recall
        protocol.update(pr_k=settings.k, pr_features=[len(ref.features), len(fake_features)])
    suffix = getattr(extractor, "metric_suffix", None)
    values = {value_name(key, suffix): value for key, value in values.items()}
    return EvaluationResult(values, protocol)


__all__ = ["EvaluationResult", "evaluate"]
