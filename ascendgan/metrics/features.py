"""Feature extractors for the evaluation metrics: any Keras model or function.

A :class:`FeatureExtractor` maps a batch of images in [-1, 1] (ascendgan's convention)
to ``Features(features, logits)``: the vectors FID, KID and precision / recall compare,
and the class logits the Inception Score needs. Conversion to what the network expects
(resizing, grey to RGB) happens here, at the metric's boundary.

The usual extractor, InceptionV3 with its ImageNet weights, is built by
:func:`ascendgan.metrics.inception_v3_extractor` (:mod:`ascendgan.metrics.inception_v3`).
"""

from __future__ import annotations

import hashlib
import json
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.validation import check_choice

keras = compat.keras

#: The ``tf.image.resize`` methods a :class:`FeatureExtractor` accepts.
RESIZE_METHODS = ("bilinear", "bicubic", "nearest", "area", "lanczos3", "lanczos5",
                  "gaussian", "mitchellcubic")


class Features(NamedTuple):
    """What an extractor returns for a batch: ``features (n, d)`` and ``logits (n, classes)``
    (``None`` when the extractor has no classifier). float32 numpy arrays."""

    features: np.ndarray
    logits: np.ndarray | None


def image_size_pair(image_size):
    """``image_size`` (an int, a ``(height, width)`` pair or ``None``) as a pair of ints or None."""
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        size = (int(image_size), int(image_size))
    elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        size = tuple(int(v) for v in image_size)
    else:
        raise ValueError(
            f"`image_size` must be an int, a (height, width) pair or None. Received: {image_size!r}"
        )
    if min(size) < 1:
        raise ValueError(f"`image_size` must be positive. Received: {image_size!r}")
    return size


def file_digest(path, algorithm="sha256", chunk=1 << 22):
    """Hex digest of a file's bytes (read through ``tf.io.gfile``)."""
    digest = hashlib.new(algorithm)
    with tf.io.gfile.GFile(str(path), "rb") as handle:
        while True:
            block = handle.read(chunk)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


class FeatureExtractor:
    """Turns image batches in [-1, 1] into features (and logits) for the metrics.

    Wraps a Keras model (or any callable on image batches). Features come from the
    model's output or from a named layer; logits (for the Inception Score) from another
    named layer. Images are resized to ``image_size`` and grey images repeated to three
    channels when the model wants three; values outside ``value_range`` raise an error
    (usually images in [0, 255] or [0, 1] by mistake).

    Everything that changes the numbers is recorded in :attr:`protocol` and stamped on
    every result, and :meth:`fingerprint` (a hash of the weights) keys cached reference
    statistics. The extractor's weights must not change after it is first used.

    Args:
        model: a Keras model, or a callable ``images -> features`` (or ``-> (features,
            logits)``, or ``-> {"features": ..., "logits": ...}``).
        features_layer: name of the layer whose output are the features (a Keras model
            only); ``None`` uses the model's output. Outputs of rank > 2 are flattened.
        logits_layer: name of the layer whose output are class logits (pre-softmax), or
            ``None`` for no logits.
        image_size: ``int`` or ``(height, width)`` the images are resized to; ``None``
            keeps their size.
        resize_method: a ``tf.image.resize`` method (``"bilinear"``, ``"bicubic"``,
            ``"area"``, ...).
        antialias: ``tf.image.resize``'s ``antialias`` (filters when downsampling).
        value_range: the ``(low, high)`` range images must be in (1% slack), or ``None``
            to skip the check.
        name: the extractor's name in the protocol (default: the model's name).
        weights_label: how the weights were obtained, for the protocol (e.g.
            ``"trained on cifar10-train, run 3"``).
        version: the extractor's version, stamped as ``extractor_version`` (``None``:
            not stamped).
        weights_sha256: the SHA-256 of the weights file, stamped as ``weights_sha256``
            and used as :meth:`fingerprint` (so the key does not depend on the order in
            which a Keras version lists the variables). ``None``: the fingerprint hashes
            the variables.
        metric_suffix: appended to the names of the values computed with this extractor
            (``fid_<suffix>``), so numbers of a domain extractor are never mistaken for
            Inception numbers; ``None`` (InceptionV3, user models): plain ``fid``.

    Call arguments:
        images: ``(batch, height, width, channels)`` floats in ``value_range``.

    Returns (from a call):
        :class:`Features` of float32 numpy arrays.

    Example:

    >>> import numpy as np
    >>> flat = FeatureExtractor(lambda x: np.reshape(x, (len(x), -1)), name="pixels")
    >>> flat(np.zeros((2, 4, 4, 1), "float32")).features.shape
    (2, 16)
    """

    def __init__(
        self,
        model,
        features_layer=None,
        logits_layer=None,
        image_size=None,
        resize_method="bilinear",
        antialias=False,
        value_range=(-1.0, 1.0),
        name=None,
        weights_label=None,
        version=None,
        weights_sha256=None,
        metric_suffix=None,
    ):
        if not callable(model):
            raise TypeError(f"`model` must be a Keras model or a callable. Received: {model!r}")
        check_choice("resize_method", resize_method, RESIZE_METHODS)
        if value_range is not None:
            low, high = (float(v) for v in value_range)
            if not low < high:
                raise ValueError(f"`value_range` must be (low, high) with low < high. Received: {value_range!r}")
            value_range = (low, high)
        self.image_size = image_size_pair(image_size)
        self.resize_method = resize_method
        self.antialias = bool(antialias)
        self.value_range = value_range
        self.features_layer = features_layer
        self.logits_layer = logits_layer
        self.weights_label = weights_label
        self.version = version
        self.weights_sha256 = weights_sha256
        self.metric_suffix = metric_suffix
        self._fingerprint = weights_sha256[:16] if weights_sha256 else None
        self.model = model
        self._is_keras = isinstance(model, keras.Model)
        if (features_layer is not None or logits_layer is not None) and not self._is_keras:
            raise ValueError(
                "`features_layer` / `logits_layer` need a Keras model as `model`. "
                f"Received a {type(model).__name__}."
            )
        self.name = name or (model.name if self._is_keras else getattr(model, "__name__", "function"))
        self.channels = None
        self.input_size = None  # (height, width) a Keras model needs, when fixed
        if self._is_keras:
            self._network = self._build_network(model, features_layer, logits_layer)
            shape = self._network.inputs[0].shape
            self.channels = int(shape[-1]) if shape[-1] is not None else None
            if len(shape) == 4 and None not in tuple(shape[1:3]):
                self.input_size = (int(shape[1]), int(shape[2]))
            self._forward = tf.function(self._run, reduce_retracing=True)
        else:
            self._network = None
            self._forward = self._run

    # ------------------------------------------------------------------ construction

    @staticmethod
    def _build_network(model, features_layer, logits_layer):
        def output_of(layer_name, argument):
            try:
                return model.get_layer(layer_name).output
            except ValueError as error:
                names = [layer.name for layer in model.layers]
                raise ValueError(
                    f"`{argument}`={layer_name!r} is not a layer of model {model.name!r}. "
                    f"Its layers: {names[:8]}{' ...' if len(names) > 8 else ''} "
                    f"(last: {names[-3:]})."
                ) from error

        if features_layer is None and logits_layer is None:
            return model
        if not model.inputs:
            raise ValueError(
                "`features_layer` / `logits_layer` need a model with known inputs (a "
                "functional or Sequential model built on a keras.Input)."
            )
        features = output_of(features_layer, "features_layer") if features_layer else model.outputs[0]
        outputs = [features]
        if logits_layer is not None:
            outputs.append(output_of(logits_layer, "logits_layer"))
        return keras.Model(model.inputs, outputs, name=f"{model.name}_features")

    # ------------------------------------------------------------------ protocol

    @property
    def protocol(self):
        """Everything about the extractor that changes the numbers, as a flat dict."""
        protocol = {
            "extractor": self.name,
            "weights": self.weights_label or "user model",
            "features_layer": self.features_layer or "output",
            "logits_layer": self.logits_layer,
            "image_size": list(self.image_size) if self.image_size else "unchanged",
            "resize_method": self.resize_method,
            "antialias": self.antialias,
            "dtype": self._dtype_name(),
        }
        if self.version is not None:
            protocol["extractor_version"] = self.version
        if self.weights_sha256 is not None:
            protocol["weights_sha256"] = self.weights_sha256
        return protocol

    def _dtype_name(self):
        if self._is_keras:
            policy = getattr(self.model, "dtype_policy", None)
            if policy is not None:
                return getattr(policy, "name", str(policy))
            return str(self.model.dtype)
        return "float32"

    def fingerprint(self):
        """A short hash of the model's weights (computed once; "" for plain callables)."""
        if self._fingerprint is None:
            if not self._is_keras:
                self._fingerprint = ""
            else:
                digest = hashlib.sha256()
                for variable in self.model.weights:
                    value = np.ascontiguousarray(np.asarray(variable))
                    digest.update(str(value.shape).encode())
                    digest.update(value.tobytes())
                self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    def cache_key(self):
        """A hash of :attr:`protocol` and :meth:`fingerprint`, for cache file names."""
        text = json.dumps(self.protocol, sort_keys=True) + self.fingerprint()
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ calling

    def _prepare(self, images):
        images = tf.convert_to_tensor(images, tf.float32)
        if self.image_size is not None:
            static = tuple(images.shape[1:3])
            if None not in static:
                if static != self.image_size:
                    images = self._resize(images)
            else:  # a retraced function with unknown sizes: decide at run time
                same = tf.reduce_all(tf.equal(tf.shape(images)[1:3], self.image_size))
                images = tf.cond(same, lambda: images, lambda: self._resize(images))
        if self.channels == 3 and images.shape[-1] == 1:
            images = tf.repeat(images, 3, axis=-1)
        return images

    def _resize(self, images):
        # not every method interpolates (gaussian, mitchellcubic blur): same-size images are
        # never passed through tf.image.resize
        return tf.image.resize(images, self.image_size, method=self.resize_method,
                               antialias=self.antialias)

    def _run(self, images):
        images = self._prepare(images)
        if self._is_keras:
            outputs = self._network(images, training=False)
        else:
            outputs = self._network_call(images)
        if isinstance(outputs, dict):
            features, logits = outputs["features"], outputs.get("logits")
        elif isinstance(outputs, (list, tuple)):
            features = outputs[0]
            logits = outputs[1] if len(outputs) > 1 else None
        else:
            features, logits = outputs, None
        return features, logits

    def _network_call(self, images):
        return self.model(images)

    def __call__(self, images):
        images = np.asarray(images)
        if images.dtype.kind not in "f":
            raise TypeError(
                f"`images` must be floating point in [-1, 1] (ascendgan's convention). "
                f"Received dtype {images.dtype}; convert with images / 127.5 - 1."
            )
        if images.ndim != 4:
            raise ValueError(
                f"`images` must be a batch (batch, height, width, channels). Received shape {images.shape}."
            )
        if self.channels is not None and images.shape[-1] not in (self.channels, 1):
            raise ValueError(
                f"`images` must have {self.channels} channels (or 1, repeated) for extractor "
                f"{self.name!r}. Received shape {images.shape}."
            )
        size = self.image_size or tuple(images.shape[1:3])
        if self.input_size is not None and tuple(size) != self.input_size:
            raise ValueError(
                f"Extractor {self.name!r} takes {self.input_size[0]}x{self.input_size[1]} "
                f"images and does not resize them (image_size=None). Received shape "
                f"{images.shape}; generate images of its size or set `image_size`."
            )
        if self.value_range is not None and images.size:
            low, high = self.value_range
            slack = 0.01 * (high - low)
            lo, hi = float(np.min(images)), float(np.max(images))
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise ValueError("`images` contains NaN or infinite values.")
            if lo < low - slack or hi > high + slack:
                raise ValueError(
                    f"`images` must be in [{low:g}, {high:g}] for extractor {self.name!r}. "
                    f"Received values in [{lo:.4g}, {hi:.4g}] (images in [0, 255] convert with "
                    "x / 127.5 - 1, in [0, 1] with 2 x - 1)."
                )
        features, logits = self._forward(images.astype(np.float32, copy=False))
        features = np.asarray(tf.cast(features, tf.float32))
        features = features.reshape(features.shape[0], -1)
        if logits is not None:
            logits = np.asarray(tf.cast(logits, tf.float32))
            logits = logits.reshape(logits.shape[0], -1)
        return Features(features, logits)

    def __repr__(self):
        return f"FeatureExtractor({json.dumps(self.protocol, sort_keys=True)})"


__all__ = [
    "RESIZE_METHODS",
    "FeatureExtractor",
    "Features",
    "file_digest",
    "image_size_pair",
]
