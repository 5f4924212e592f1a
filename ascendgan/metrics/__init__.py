"""GAN evaluation metrics: FID, KID, Inception Score, improved precision / recall.

Three layers:

- :mod:`~ascendgan.metrics.distances`: the pure maths on feature arrays
  (:func:`frechet_distance`, :func:`kernel_distance`, :func:`inception_score`,
  :func:`precision_recall`, ...).
- :mod:`~ascendgan.metrics.features`: feature extractors (:func:`inception_v3_extractor`,
  :class:`FeatureExtractor` for any Keras model).
- :mod:`~ascendgan.metrics.streaming`: :func:`evaluate` a GAN, a callable, a data set or
  an array batch by batch against cached :func:`reference_statistics`; and the
  :class:`GANMetrics` training callback (:mod:`~ascendgan.metrics.callbacks`).

Nothing here downloads or loads Inception weights until an extractor is built.
"""

from ascendgan.metrics.callbacks import GANMetrics
from ascendgan.metrics.distances import (
    MeanStd,
    PrecisionRecall,
    frechet_distance,
    gaussian_statistics,
    inception_score,
    kernel_distance,
    knn_radii,
    polynomial_kernel,
    polynomial_mmd2,
    precision_recall,
)
from ascendgan.metrics.features import (
    INCEPTION_V3_WEIGHTS,
    FeatureExtractor,
    Features,
    imagenet_weights_path,
    inception_v3_extractor,
)
from ascendgan.metrics.streaming import (
    METRICS,
    EvaluationResult,
    FeatureReservoir,
    ReferenceStatistics,
    RunningInceptionScore,
    RunningStatistics,
    evaluate,
    reference_statistics,
)

__all__ = [
    "EvaluationResult",
    "FeatureExtractor",
    "FeatureReservoir",
    "Features",
    "GANMetrics",
    "INCEPTION_V3_WEIGHTS",
    "METRICS",
    "MeanStd",
    "PrecisionRecall",
    "ReferenceStatistics",
    "RunningInceptionScore",
    "RunningStatistics",
    "evaluate",
    "frechet_distance",
    "gaussian_statistics",
    "imagenet_weights_path",
    "inception_score",
    "inception_v3_extractor",
    "kernel_distance",
    "knn_radii",
    "polynomial_kernel",
    "polynomial_mmd2",
    "precision_recall",
    "reference_statistics",
]
