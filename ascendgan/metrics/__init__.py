"""GAN evaluation metrics: FID, KID, Inception Score, improved precision / recall.

Three layers, each usable alone:

- the maths, pure functions on feature arrays: :mod:`~ascendgan.metrics.distances`
  (:func:`frechet_distance`, :func:`kernel_distance`, ...), :mod:`~ascendgan.metrics.scores`
  (:func:`inception_score`) and :mod:`~ascendgan.metrics.manifolds`
  (:func:`precision_recall`);
- feature extractors: :mod:`~ascendgan.metrics.features` (:class:`FeatureExtractor` for
  any Keras model), :mod:`~ascendgan.metrics.inception_v3`
  (:func:`inception_v3_extractor`) and the small MNIST / CIFAR-10 classifiers shipped with
  their reference statistics, :mod:`~ascendgan.metrics.domain`
  (:func:`domain_extractor`, :func:`domain_reference`, :func:`domain_fid`: offline FID,
  named ``fid_mnist_cnn`` / ``fid_cifar10_cnn``);
- streaming evaluation: :func:`evaluate` (:mod:`~ascendgan.metrics.evaluation`) draws
  images from a GAN, a callable, a data set or an array (:mod:`~ascendgan.metrics.sources`),
  accumulates what each metric needs (:mod:`~ascendgan.metrics.accumulators`) and compares
  with cached :func:`reference_statistics` (:mod:`~ascendgan.metrics.reference`), under
  one :class:`EvaluationSettings` (:mod:`~ascendgan.metrics.settings`) that the
  :class:`GANMetrics` training callback (:mod:`~ascendgan.metrics.callbacks`) shares.

Nothing here downloads or loads Inception weights until an extractor is built.
"""

from ascendgan.metrics.accumulators import (
    FeatureReservoir,
    RunningInceptionScore,
    RunningStatistics,
)
from ascendgan.metrics.callbacks import GANMetrics
from ascendgan.metrics.classification import evaluate_classifier, in_top_k, top_k_accuracy
from ascendgan.metrics.distances import (
    MeanStd,
    frechet_distance,
    gaussian_statistics,
    kernel_distance,
    polynomial_kernel,
    polynomial_mmd2,
)
from ascendgan.metrics.domain import (
    DOMAIN_EXTRACTORS,
    build_domain_network,
    domain_card,
    domain_extractor,
    domain_fid,
    domain_reference,
)
from ascendgan.metrics.evaluation import EvaluationResult, evaluate
from ascendgan.metrics.features import FeatureExtractor, Features
from ascendgan.metrics.inception_v3 import (
    INCEPTION_V3_WEIGHTS,
    imagenet_weights_path,
    inception_v3_extractor,
)
from ascendgan.metrics.manifolds import PrecisionRecall, knn_radii, precision_recall
from ascendgan.metrics.reference import ReferenceStatistics, reference_statistics
from ascendgan.metrics.scores import inception_score
from ascendgan.metrics.settings import METRICS, EvaluationSettings

__all__ = [
    "DOMAIN_EXTRACTORS",
    "EvaluationResult",
    "EvaluationSettings",
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
    "build_domain_network",
    "domain_card",
    "domain_extractor",
    "domain_fid",
    "domain_reference",
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
    "evaluate_classifier",
    "in_top_k",
    "top_k_accuracy",
]
