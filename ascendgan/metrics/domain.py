"""Domain feature extractors shipped with ascendgan: small CNNs for MNIST and CIFAR-10.

InceptionV3's ImageNet weights cannot be had on an offline machine, and its features say
little about 28x28 digits. The MNIST and CIFAR-10 literature measures GANs instead with a
Fréchet distance in the features of a small classifier trained on the same domain. This
module ships two such classifiers, their reference statistics and the functions that use
them:

===========  ===============  =======  ==============================================
domain       extractor        input    features
===========  ===============  =======  ==============================================
``mnist``    ``mnist_cnn``    28x28x1  256-d, the penultimate dense layer (BN + ReLU)
``cifar10``  ``cifar10_cnn``  32x32x3  256-d, the penultimate dense layer (BN + ReLU)
===========  ===============  =======  ==============================================

The architectures are defined here in code; the weights ship in the package
(``ascendgan/metrics/extractors/<name>-v<version>.npz``, one array per variable keyed
``<layer>/<variable>``, so Keras 3 and legacy Keras load them identically) and are checked
against the SHA-256 recorded in :data:`DOMAIN_EXTRACTORS` before use. Each has a card
(``<name>-v<version>.json``: training split and recipe, test accuracy, logits on a fixed
slice) and the mean and covariance (float64) of its features over the full train and test
splits (``<name>-v<version>-<split>.npz``), so a FID needs no data set on disk.

Numbers computed with them are named after the extractor (``fid_mnist_cnn``,
``kid_mnist_cnn``, ``is_mnist_cnn``): they are not Inception numbers and not comparable
with them. ``scripts/train_extractors.py`` trains both and writes every file here.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os

import numpy as np

from ascendgan import compat
from ascendgan.metrics.evaluation import evaluate
from ascendgan.metrics.features import FeatureExtractor, file_digest
from ascendgan.metrics.reference import ReferenceStatistics
from ascendgan.metrics.settings import EvaluationSettings
from ascendgan.validation import check_choice

keras = compat.keras
layers = compat.layers

#: The folder of the shipped weights, cards and reference statistics.
EXTRACTORS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "extractors")
#: The splits whose reference statistics ship.
REFERENCE_SPLITS = ("train", "test")
#: Dimension of the features of every domain extractor.
FEATURE_DIM = 256


@dataclasses.dataclass(frozen=True)
class DomainExtractorSpec:
    """One shipped extractor: its architecture and the files (and hashes) it ships with.

    Attributes:
        domain: the data set it was trained on (``"mnist"``, ``"cifar10"``).
        name: the extractor's name, the suffix of its metric names (``fid_<name>``).
        version: bumped whenever the weights change.
        input_shape: ``(height, width, channels)`` the network takes.
        stages: filters of the 3x3 convolutions of each stage; a stage ends in a 2x2
            max pooling.
        batch_norm: batch normalization after each convolution.
        head_pool: ``(pool_size, strides)`` of the max pooling before the dense layers.
        num_classes: classes of the classifier (the logits).
        weights_sha256: SHA-256 of the weights file; the file is refused otherwise.
        reference_sha256: SHA-256 of each split's reference statistics file.
    """

    domain: str
    name: str
    version: int
    input_shape: tuple
    stages: tuple
    batch_norm: bool
    head_pool: tuple
    num_classes: int
    weights_sha256: str
    reference_sha256: dict

    @property
    def stem(self):
        """``<name>-v<version>``: the shared stem of its file names."""
        return f"{self.name}-v{self.version}"

    @property
    def weights_path(self):
        return os.path.join(EXTRACTORS_DIR, f"{self.stem}.npz")

    @property
    def card_path(self):
        return os.path.join(EXTRACTORS_DIR, f"{self.stem}.json")

    def reference_path(self, split):
        return os.path.join(EXTRACTORS_DIR, f"{self.stem}-{split}.npz")


#: The shipped extractors, by domain (the data kind of a preset: ``preset.data.kind``).
DOMAIN_EXTRACTORS = {
    "mnist": DomainExtractorSpec(
        domain="mnist", name="mnist_cnn", version=1, input_shape=(28, 28, 1),
        stages=((32, 32), (64, 64)), batch_norm=False, head_pool=(3, 2), num_classes=10,
        weights_sha256="d4d4e5dca2a3eb75673752a9e0686f9a67db29b0ed3db6969bb2991de4963d6b",
        reference_sha256={"train": "769fefae535ed5df67b1076a215dc13036e1edba1f5bead43c0bc9ab55cf9b07",
                          "test": "59ab996defe77f771d6ef9026363dab13596df08e002e06573870e8a6906c9ab"},
    ),
    "cifar10": DomainExtractorSpec(
        domain="cifar10", name="cifar10_cnn", version=1, input_shape=(32, 32, 3),
        stages=((32, 32), (64, 64), (128, 128)), batch_norm=True, head_pool=(2, 2),
        num_classes=10,
        weights_sha256="c26c64f63411442fe9207c69a46f9ab48a063530132419826cbb07dc2b39f268",
        reference_sha256={"train": "de10391389293389dee9b699f3143b8dc14407a093929539a57272948621de13",
                          "test": "eae54ae21c79e35528c777856ec1e3001c181ad72946f83ef50c1b727fab4558"},
    ),
}


def domain_spec(domain):
    """The :class:`DomainExtractorSpec` of ``domain`` (an error lists the valid ones)."""
    check_choice("domain", domain, DOMAIN_EXTRACTORS)
    return DOMAIN_EXTRACTORS[domain]


# ----------------------------------------------------------------------------- the networks


def build_domain_network(domain, dropout=0.0, policy="float32"):
    """The (untrained) classifier of ``domain``, a functional Keras model in float32.

    ``conv 3x3 (+ batch norm) + ReLU`` blocks in stages ending in 2x2 max pooling, a last
    max pooling, ``Dense(256)`` + batch norm + ReLU (the layer named ``"features"``) and
    ``Dense(num_classes, name="logits")``. Layers are named, and computed in float32 whatever the global
    dtype policy, so the features do not depend on the caller's precision.

    Args:
        domain: a key of :data:`DOMAIN_EXTRACTORS`.
        dropout: dropout rate before the logits layer (training only; the training
            script uses 0.5; the shipped networks are built with it, as inference
            ignores it).

    Returns:
        A ``keras.Model`` from images ``(batch, *input_shape)`` in [-1, 1] to logits.
    """
    spec = domain_spec(domain)
    with compat.precision_scope(policy):
        inputs = keras.Input(spec.input_shape, name="images")
        x = inputs
        for s, filters_of_stage in enumerate(spec.stages, 1):
            for c, filters in enumerate(filters_of_stage, 1):
                x = layers.Conv2D(filters, 3, padding="same", use_bias=not spec.batch_norm,
                                  name=f"conv{s}_{c}")(x)
                if spec.batch_norm:
                    x = layers.BatchNormalization(name=f"bn{s}_{c}")(x)
                x = layers.Activation("relu", name=f"relu{s}_{c}")(x)
            x = layers.MaxPooling2D(2, name=f"pool{s}")(x)
        pool_size, strides = spec.head_pool
        x = layers.MaxPooling2D(pool_size, strides=strides, name="head_pool")(x)
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(FEATURE_DIM, use_bias=False, name="dense")(x)
        x = layers.BatchNormalization(name="dense_bn")(x)  # keeps every ReLU unit alive
        features = layers.Activation("relu", name="features")(x)
        x = layers.Dropout(dropout, name="dropout")(features)
        logits = layers.Dense(spec.num_classes, name="logits", dtype="float32")(x)
        return keras.Model(inputs, logits, name=spec.name)


def weight_arrays(model):
    """``{"<layer>/<variable>": float32 array}`` of every variable of ``model``: names that
    are the same in Keras 3 and legacy Keras (layer names are set in
    :func:`build_domain_network`)."""
    arrays = {}
    for layer in model.layers:
        for variable in layer.weights:
            key = f"{layer.name}/{compat.variable_name(variable)}"
            if key in arrays:
                raise ValueError(f"Two variables of {model.name!r} are named {key!r}.")
            arrays[key] = np.asarray(variable, dtype=np.float32)
    return arrays


def save_weights(model, path):
    """Writes ``model``'s variables to a compressed ``.npz`` (see :func:`weight_arrays`);
    returns the file's SHA-256."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **weight_arrays(model))
    with open(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return file_digest(path)


def load_weights(model, path, sha256=None):
    """Sets ``model``'s variables from a file written by :func:`save_weights`.

    Args:
        model: a network from :func:`build_domain_network`.
        path: the ``.npz`` file.
        sha256: the file's expected SHA-256; ``None`` skips the check.

    Returns:
        The file's SHA-256.

    Raises:
        ValueError: the file's hash is not ``sha256`` (a changed or corrupt file), or
            its arrays do not match the network's variables one for one.
    """
    digest = file_digest(path)
    if sha256 is not None and digest != sha256:
        raise ValueError(
            f"The extractor weights {path} have SHA-256 {digest}, not the recorded {sha256}: "
            "the file was changed or is corrupt. Reinstall ascendgan (or retrain with "
            "scripts/train_extractors.py and record the new hash)."
        )
    with open(path, "rb") as handle:
        stored = np.load(io.BytesIO(handle.read()), allow_pickle=False)
        arrays = {key: stored[key] for key in stored.files}
    expected = weight_arrays(model)
    if set(arrays) != set(expected):
        raise ValueError(
            f"{path} does not hold the variables of {model.name!r}: missing "
            f"{sorted(set(expected) - set(arrays))}, unexpected {sorted(set(arrays) - set(expected))}."
        )
    for layer in model.layers:
        for variable in layer.weights:
            key = f"{layer.name}/{compat.variable_name(variable)}"
            if arrays[key].shape != tuple(variable.shape):
                raise ValueError(f"{path}: {key} has shape {arrays[key].shape}, the network "
                                 f"{tuple(variable.shape)}.")
            variable.assign(arrays[key].astype(np.float32))
    return digest


# ----------------------------------------------------------------------------- public API


def domain_card(domain):
    """The card of ``domain``'s extractor (a dict): name, version, weights SHA-256, the
    training split and recipe, the test accuracy on the full test split, and the
    accuracy and logits on the fixed slice the tests check."""
    with open(domain_spec(domain).card_path, encoding="utf-8") as handle:
        return json.load(handle)


def domain_extractor(domain, weights=None, sha256=None):
    """The shipped feature extractor of a domain, as a :class:`FeatureExtractor`.

    Images are taken at their size (``image_size=None``: 28x28 for MNIST, 32x32 for
    CIFAR-10; grey images are repeated for CIFAR-10), in [-1, 1]. Features are the 256
    ReLU outputs of the ``features`` layer, logits the 10 outputs of ``logits``. The
    protocol stamps the name, version and weights' SHA-256; metric values computed with
    it are named ``<metric>_<name>`` (``fid_mnist_cnn``).

    Args:
        domain: ``"mnist"`` or ``"cifar10"`` (see :data:`DOMAIN_EXTRACTORS`).
        weights: a weights file to use instead of the shipped one (the training script's
            output); ``None``: the shipped file, checked against its recorded hash.
        sha256: the expected SHA-256 of ``weights`` (``None`` with a file of your own:
            not checked, but stamped).

    Returns:
        A :class:`FeatureExtractor`.

    Raises:
        ValueError: the weights file's hash differs from the recorded one.

    Example:

    >>> from ascendgan.data import mnist_arrays
    >>> extractor = domain_extractor("mnist")
    >>> images, _ = mnist_arrays(split="test")          # the shipped test digits
    >>> extractor(images[:4] / 127.5 - 1).features.shape
    (4, 256)
    >>> extractor.protocol["extractor"], extractor.protocol["extractor_version"]
    ('mnist_cnn', 1)
    """
    spec = domain_spec(domain)
    if weights is None:
        weights, sha256 = spec.weights_path, spec.weights_sha256
        if not os.path.exists(weights):  # pragma: no cover - a broken installation
            raise FileNotFoundError(f"The shipped extractor weights are missing: {weights}. "
                                    "Reinstall ascendgan.")
    network = build_domain_network(domain)
    digest = load_weights(network, os.fspath(weights), sha256)
    with compat.precision_scope("float32"):
        return FeatureExtractor(
            network, features_layer="features", logits_layer="logits", image_size=None,
            name=spec.name,
            weights_label=f"{spec.name} v{spec.version} (trained on {spec.domain} train, ascendgan)",
            version=spec.version, weights_sha256=digest, metric_suffix=spec.name,
        )


def domain_reference(domain, split="train", extractor=None):
    """The shipped mean and covariance of ``domain``'s features over a full split.

    Args:
        domain: ``"mnist"`` or ``"cifar10"``.
        split: ``"train"`` (60,000 / 50,000 images) or ``"test"`` (10,000).
        extractor: the extractor these statistics will be compared with (default: the
            shipped one); its key is stamped so :func:`~ascendgan.metrics.evaluate`
            accepts them with it.

    Returns:
        :class:`~ascendgan.metrics.ReferenceStatistics` (float64 mean and covariance, no
        feature rows: FID only, not KID or precision / recall).

    Raises:
        ValueError: the file's hash differs from the recorded one, or ``extractor`` is
            not the extractor the statistics were computed with.

    Example:

    >>> reference = domain_reference("mnist", split="train")
    >>> reference.count, reference.mean.shape, reference.protocol["reference_split"]
    (60000, (256,), 'train')
    """
    spec = domain_spec(domain)
    check_choice("split", split, REFERENCE_SPLITS)
    path = spec.reference_path(split)
    digest = file_digest(path)
    if digest != spec.reference_sha256[split]:
        raise ValueError(
            f"The reference statistics {path} have SHA-256 {digest}, not the recorded "
            f"{spec.reference_sha256[split]}: the file was changed or is corrupt."
        )
    statistics = ReferenceStatistics.load(path)
    extractor = extractor if extractor is not None else domain_extractor(domain)
    if statistics.protocol.get("weights_sha256") != extractor.protocol.get("weights_sha256"):
        raise ValueError(
            f"{path} was computed with weights {statistics.protocol.get('weights_sha256')}, "
            f"not the extractor's {extractor.protocol.get('weights_sha256')}."
        )
    statistics.protocol.update(
        reference=f"{domain} (statistics shipped with ascendgan)",
        reference_file=os.path.basename(path),
        reference_sha256=digest,
        extractor_key=extractor.cache_key(),
    )
    return statistics


def domain_fid(generator_or_gan, domain, num_samples=10_000, split="train", seed=0,
               batch_size=100, use_ema=True, truncation=None, metrics=("fid",)):
    """FID of generated images in the shipped extractor's features, against the shipped
    statistics of a full split: the number to print at the end of training.

    Args:
        generator_or_gan: a ``GAN``, a callable ``f(batch_size) -> images``, a data set
            or an array of images in [-1, 1] (see :func:`~ascendgan.metrics.evaluate`).
        domain: ``"mnist"`` or ``"cifar10"``.
        num_samples: images drawn (the calibration table in ``docs/metrics.md`` uses
            10,000; fewer give a larger value).
        split: the reference split, ``"train"`` or ``"test"`` (a GAN trained on the
            shipped MNIST, the test split, is compared with ``"train"``: held out).
        seed: the seed of the samples.
        batch_size: images per generator and extractor call.
        use_ema, truncation: how a ``GAN`` samples (its averaged generator by default).
        metrics: ``("fid",)``, optionally with ``"is"`` (KID and precision / recall need
            feature rows, which the shipped statistics do not hold).

    Returns:
        :class:`~ascendgan.metrics.EvaluationResult`: ``result["fid_mnist_cnn"]`` and
        ``result.protocol`` (extractor, version, SHA-256, reference split and counts).

    Example:

    >>> from ascendgan.data import mnist_arrays
    >>> images, _ = mnist_arrays(split="test")
    >>> result = domain_fid(images[:2000] / 127.5 - 1, "mnist", num_samples=2000)
    >>> round(result["fid_mnist_cnn"], 1), result.protocol["reference_split"]
    (2.2, 'train')
    """
    extractor = domain_extractor(domain)
    reference = domain_reference(domain, split, extractor=extractor)
    settings = EvaluationSettings(metrics=metrics, num_samples=num_samples, extractor=extractor,
                                  batch_size=batch_size, seed=seed, use_ema=use_ema,
                                  truncation=truncation)
    return evaluate(generator_or_gan, reference, settings)


__all__ = [
    "DOMAIN_EXTRACTORS",
    "EXTRACTORS_DIR",
    "FEATURE_DIM",
    "REFERENCE_SPLITS",
    "DomainExtractorSpec",
    "build_domain_network",
    "domain_card",
    "domain_extractor",
    "domain_fid",
    "domain_reference",
    "domain_spec",
    "load_weights",
    "save_weights",
    "weight_arrays",
]
