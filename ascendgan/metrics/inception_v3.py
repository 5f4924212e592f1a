"""The usual feature extractor: InceptionV3 from ``keras.applications``.

:func:`inception_v3_extractor` builds a :class:`~ascendgan.metrics.FeatureExtractor`
with InceptionV3's 2048-d ``avg_pool`` features and 1000 ImageNet logits, on images
resized to 299x299. Its ImageNet weights come from the Keras cache (``~/.keras/models``
or ``$KERAS_HOME/models``) or an explicit file. Missing weights are an error, never a
silently random network: ``weights=None`` (random) must be asked for.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.metrics.features import FeatureExtractor, file_digest, image_size_pair

keras = compat.keras

#: The ImageNet weights of ``keras.applications.InceptionV3`` (with the classifier).
INCEPTION_V3_WEIGHTS = {
    "filename": "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
    "url": (
        "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
        "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
    ),
    "md5": "9a0d58056eeedaa3f26cb7ebd46da564",
}


def keras_cache_dirs(cache_dir=None):
    """The directories searched for Keras's downloaded weights (``<dir>/models/<file>``).

    ``cache_dir`` if given; otherwise ``$KERAS_HOME`` (read now) if set, else
    ``~/.keras``, then ``/tmp/.keras`` (Keras's fallback when the home is not writable).
    """
    if cache_dir is not None:
        return [os.fspath(cache_dir)]
    home = os.environ.get("KERAS_HOME")
    if home:
        return [home]
    return [os.path.join(os.path.expanduser("~"), ".keras"), os.path.join("/tmp", ".keras")]


def _download(filename, url, cache_dir, md5):
    """Keras's own download (kept as a function so tests can stand in for it)."""
    return keras.utils.get_file(filename, url, cache_dir=cache_dir, cache_subdir="models",
                                file_hash=md5)


def imagenet_weights_path(cache_dir=None, download=True):
    """Path of InceptionV3's ImageNet weights in the Keras cache, downloading if allowed.

    A cached file is checked against its published MD5.

    Args:
        cache_dir: the Keras cache root (its ``models/`` sub-folder holds the file);
            default: see :func:`keras_cache_dirs`.
        download: try Keras's download when the file is not cached.

    Returns:
        The file's path.

    Raises:
        FileNotFoundError: the file is not cached and cannot (or may not) be downloaded;
            the message says where to put it.
        ValueError: the cached file does not match the published checksum.
    """
    spec = INCEPTION_V3_WEIGHTS
    candidates = keras_cache_dirs(cache_dir)
    for root in candidates:
        path = os.path.join(root, "models", spec["filename"])
        if tf.io.gfile.exists(path):
            digest = file_digest(path, "md5")
            if digest != spec["md5"]:
                raise ValueError(
                    f"The InceptionV3 weights file {path} has MD5 {digest}, not the published "
                    f"{spec['md5']}: it is incomplete or a different file. Delete it and download "
                    f"{spec['url']} again, or pass weights=<path of your file>."
                )
            return path
    where = os.path.join(candidates[0], "models", spec["filename"])
    hint = (
        f"Download {spec['url']} on a machine with internet access and copy it to {where} "
        "(or set KERAS_HOME / `cache_dir`), or pass weights=<path of a weights file>. "
        "weights=None builds a randomly initialized network, whose numbers are only "
        "comparable with themselves."
    )
    if not download:
        raise FileNotFoundError(
            f"InceptionV3 ImageNet weights not found in the Keras cache ({', '.join(candidates)}) "
            f"and download=False. {hint}"
        )
    try:
        return _download(spec["filename"], spec["url"], candidates[0], spec["md5"])
    except Exception as error:  # noqa: BLE001 - any failure means: no weights
        raise FileNotFoundError(
            "InceptionV3 ImageNet weights are not in the Keras cache "
            f"({', '.join(candidates)}) and downloading them failed "
            f"({type(error).__name__}: {error}). {hint}"
        ) from error


def _load_weights(model, path):
    """Loads a weights file into ``model``; every kernel must change (no silent partial load)."""
    if not tf.io.gfile.exists(str(path)):
        raise FileNotFoundError(f"`weights` file not found: {path}")
    kernels = [v for v in model.weights if "kernel" in compat.variable_path(v)]
    before = [np.array(v) for v in kernels]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.load_weights(str(path))
    except Exception as error:
        raise ValueError(
            f"Could not load the `weights` file {path} into InceptionV3 (with its classifier): "
            f"{type(error).__name__}: {str(error)[:300]}"
        ) from error
    unchanged = [compat.variable_path(v) for v, b in zip(kernels, before) if np.array_equal(np.asarray(v), b)]
    if unchanged:
        raise ValueError(
            f"The `weights` file {path} did not set {len(unchanged)} of InceptionV3's kernels "
            f"(e.g. {unchanged[:3]}): it is not a full InceptionV3 weights file."
        )


def inception_v3_extractor(
    weights="imagenet",
    image_size=299,
    resize_method="bilinear",
    antialias=False,
    dtype="float32",
    cache_dir=None,
    download=True,
):
    """InceptionV3 pool features (2048-d) and ImageNet logits, from ``keras.applications``.

    The network is ``keras.applications.InceptionV3(include_top=True,
    classifier_activation=None)``; features are the ``avg_pool`` layer, logits the
    ``predictions`` layer before its softmax. It takes images in [-1, 1], ascendgan's
    convention, so no value conversion is needed; images are resized to
    ``image_size`` (299 for numbers comparable with the literature; smaller sizes run
    faster and are only comparable with themselves; 75 is the smallest InceptionV3
    accepts).

    Args:
        weights: ``"imagenet"`` (the Keras cache, checked against its MD5; see
            :func:`imagenet_weights_path`), a path to a weights file (``.h5`` or
            ``.weights.h5`` of the full network with its classifier), or ``None`` for
            random weights (tests, timing). Missing ImageNet weights raise
            ``FileNotFoundError``; there is no silent fallback.
        image_size: the side images are resized to.
        resize_method: a ``tf.image.resize`` method.
        antialias: ``tf.image.resize``'s antialias flag.
        dtype: the network's dtype policy (``"float32"`` or ``"mixed_bfloat16"``, ~2x
            faster on CPUs with AMX; the numbers move slightly).
        cache_dir: the Keras cache root searched for ImageNet weights.
        download: allow Keras to download the ImageNet weights when they are not cached.

    Returns:
        A :class:`FeatureExtractor` named ``"inception_v3"``.

    Example:

    >>> import numpy as np
    >>> extractor = inception_v3_extractor(weights=None, image_size=75)  # random, tiny
    >>> extractor(np.zeros((2, 32, 32, 3), "float32")).features.shape
    (2, 2048)

    Reference:
        Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
        CVPR 2016 (arXiv:1512.00567).
    """
    size = image_size_pair(image_size)
    if size is None or min(size) < 75:
        raise ValueError(
            f"`image_size` must be at least 75 for InceptionV3. Received: image_size={image_size!r}"
        )
    if weights == "imagenet":
        path = imagenet_weights_path(cache_dir=cache_dir, download=download)
        label = f"imagenet (keras.applications, md5 {INCEPTION_V3_WEIGHTS['md5']})"
    elif weights is None:
        path, label = None, "random initialization (weights=None)"
    elif isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(f"`weights` file not found: {path}")
        label = f"file {os.path.basename(path)} (sha256 {file_digest(path)[:16]})"
    else:
        raise ValueError(
            f"`weights` must be 'imagenet', a file path or None. Received: weights={weights!r}"
        )
    with compat.precision_scope(dtype):
        model = keras.applications.InceptionV3(
            include_top=True,
            weights=None,
            input_shape=(size[0], size[1], 3),
            classifier_activation=None,
        )
    if path is not None:
        _load_weights(model, path)
    return FeatureExtractor(
        model,
        features_layer="avg_pool",
        logits_layer="predictions",
        image_size=size,
        resize_method=resize_method,
        antialias=antialias,
        value_range=(-1.0, 1.0),
        name="inception_v3",
        weights_label=label,
    )


__all__ = [
    "INCEPTION_V3_WEIGHTS",
    "imagenet_weights_path",
    "inception_v3_extractor",
    "keras_cache_dirs",
]
