"""The one module of ascendgan that imports Keras.

ascendgan runs on Keras 3 (the default with TensorFlow >= 2.16) and on legacy
Keras 2 (the ``tf-keras`` package), which is what Huawei Ascend's TensorFlow
adapter supports.  The choice is made exactly as TensorFlow makes it: legacy
Keras 2 when the environment variable ``TF_USE_LEGACY_KERAS`` is ``1``,
``true`` or ``True`` at import time, Keras 3 otherwise.

Every other module does ``from ascendgan.compat import keras`` (or uses the
helpers below) and never imports ``keras`` or ``tf_keras`` itself, so the
differences between the two APIs live in this file only.

Example:

>>> from ascendgan import compat
>>> compat.KERAS_VERSION[0] in (2, 3)
True
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile

import h5py
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

#: True when legacy Keras 2 (``tf_keras``) is in use.
LEGACY_KERAS = os.environ.get("TF_USE_LEGACY_KERAS", None) in ("true", "True", "1")

if LEGACY_KERAS:  # pragma: no cover - exercised by the legacy-mode test run
    try:
        import tf_keras as keras  # noqa: F401
        from tf_keras.protobuf import saved_metadata_pb2  # the layer configs of a SavedModel
    except ImportError as error:  # pragma: no cover
        raise ImportError(
            "TF_USE_LEGACY_KERAS is set, so ascendgan needs legacy Keras 2, but the "
            "`tf-keras` package is not installed. Install it with `pip install tf-keras` "
            "or unset TF_USE_LEGACY_KERAS to use Keras 3."
        ) from error
    KERAS_VERSION = (2,)
else:
    import keras  # noqa: F401

    saved_metadata_pb2 = None  # Keras 3 does not load SavedModel folders
    KERAS_VERSION = tuple(int(p) for p in keras.__version__.split(".")[:2])

#: True when Keras 3 is in use.
KERAS_3 = not LEGACY_KERAS

layers = keras.layers
initializers = keras.initializers
regularizers = keras.regularizers
optimizers = keras.optimizers
mixed_precision = keras.mixed_precision


def register(cls=None, *, package: str = "ascendgan"):
    """Registers a class for Keras serialization as ``"ascendgan>ClassName"``.

    Usable bare (``@register``) or with a package (``@register(package="mine")``).
    """

    def decorate(target):
        return keras.saving.register_keras_serializable(package=package)(target)

    if cls is None:
        return decorate
    return decorate(cls)


def serialize(obj):
    """Serializes a Keras object (layer, initializer, regularizer, ...) to a config dict."""
    return keras.saving.serialize_keras_object(obj)


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`."""
    return keras.saving.deserialize_keras_object(config, custom_objects=custom_objects)


def saved_model_suffix() -> str:
    """File suffix of the native whole-model format (``.keras`` in both modes)."""
    return ".keras"


# ----------------------------------------------------------------------------- loading model files


def load_model(path, safe_mode=True, compile=False, custom_objects=None):  # noqa: A002
    """Loads a saved Keras model (``.keras``, ``.h5``, or a SavedModel folder in legacy Keras)
    without running Python code stored in the file, in both Keras modes.

    A saved ``Lambda`` layer (or any serialized Python ``lambda``: an activation, an
    ``output_shape``, an RNN cell wrapper's function) holds Python bytecode that Keras runs
    while rebuilding the model. Keras 3 refuses it in safe mode, but legacy Keras honours
    ``safe_mode`` for ``.keras`` files only: ``.h5`` files and SavedModel folders execute it.
    So, with ``safe_mode=True``, the model's config is read first (the ``model_config`` and
    ``training_config`` attributes of an HDF5 file, ``config.json`` of a ``.keras`` zip, the
    layer metadata of a SavedModel folder; the format is recognised from the content, not
    the name) and any ``Lambda`` layer or serialized ``lambda`` is refused before Keras
    deserializes anything; then Keras loads the file with ``safe_mode`` passed on. A
    ``Lambda`` layer is refused even when it names a registered function (the check does not
    judge code). Keras 3 cannot load SavedModel folders at all (use
    ``keras.layers.TFSMLayer``).

    Args:
        path: the model file or SavedModel folder (any ``tf.io.gfile`` path).
        safe_mode: refuse Python code in the file. ``False`` loads it anyway: only for
            files you trust, since their code runs with your permissions.
        compile: restore the training configuration (loss, optimizer) too. Off by default:
            ascendgan loads models to run them.
        custom_objects: classes or functions the file names that are not registered.

    Returns:
        The Keras model.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``safe_mode`` is on and the file holds Python code (the message names
            the file, the layer and how to opt in), or its config cannot be read.

    Example:

    >>> import os, tempfile
    >>> from ascendgan import compat
    >>> model = compat.keras.Sequential([compat.keras.Input((3,)), compat.layers.Dense(2)])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
    >>> model.save(path)
    >>> compat.load_model(path).output_shape
    (None, 2)
    """
    if not isinstance(safe_mode, bool):
        raise TypeError(f"`safe_mode` must be True or False. Received: safe_mode={safe_mode!r}")
    path = os.fspath(path)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"No model file or SavedModel folder at {path!r}. Received: path={path!r}")
    if safe_mode:
        findings = list(dict.fromkeys(
            found for config in _saved_configs(path) for found in python_code_in(config)))
        if findings:
            others = f" (and {len(findings) - 1} more places)" if len(findings) > 1 else ""
            raise ValueError(
                f"Refusing to load {path!r}: {findings[0]}{others}; loading would run that "
                "Python code. Only if you trust the file, opt in with safe_mode=False "
                "(ascendgan.compat.load_model) or --unsafe-extractor (ascendgan evaluate)."
            )
    return keras.models.load_model(path, custom_objects=custom_objects, compile=compile,
                                   safe_mode=safe_mode)


def python_code_in(config, layers=()):
    """Where a saved model config holds Python code: a list of one-line descriptions
    (empty when there is none).

    Looks for ``Lambda`` layers, serialized lambdas (``{"class_name": "__lambda__"}``,
    Keras 3 and the ``.keras`` format) and legacy Keras's ``"<name>_type": "lambda"``
    entries (``function_type`` of a ``Lambda``, ``output_shape_type``, the cell wrappers'
    ``dropout_fn_type`` / ``residual_fn_type``). Layers are named by their path in the
    model (``"model/inner/my_lambda"``).

    Example:

    >>> python_code_in({"class_name": "Lambda", "config": {"name": "f", "function": "..."}})
    ["layer 'f' is a Lambda layer"]
    """
    found = []
    if isinstance(config, dict):
        inner = config.get("config")
        name = inner.get("name") if isinstance(inner, dict) else None
        name = name if isinstance(name, str) else config.get("name")
        class_name = config.get("class_name")
        if isinstance(class_name, str) and isinstance(name, str):
            layers = (*layers, name)
        where = "/".join(layers) or "<top level>"
        if class_name == "Lambda":
            return [f"layer {where!r} is a Lambda layer"]
        if class_name == "__lambda__":
            return [f"layer {where!r} holds a serialized Python lambda"]
        for key, value in config.items():
            if isinstance(key, str) and key.endswith("_type") and value == "lambda":
                found.append(f"layer {where!r} holds a serialized Python lambda ({key!r})")
            else:
                found.extend(python_code_in(value, layers))
    elif isinstance(config, (list, tuple)):
        for item in config:
            found.extend(python_code_in(item, layers))
    return found


def _json_config(text, path, what):
    try:
        return json.loads(text.decode("utf-8") if isinstance(text, bytes) else str(text))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(
            f"Cannot check {path!r} for Python code: its {what} is not valid JSON ({error})."
        ) from error


def _saved_configs(path):
    """The JSON configs a Keras loader could deserialize from ``path`` (possibly none). A file
    is read both as a zip (``.keras``) and as HDF5, since the loaders choose by name and a file
    can be both."""
    if tf.io.gfile.isdir(path):
        return _saved_model_configs(path)
    configs = []
    with tf.io.gfile.GFile(path, "rb") as handle:
        if zipfile.is_zipfile(handle):
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                if "config.json" in archive.namelist():
                    configs.append(_json_config(archive.read("config.json"), path, "config.json"))
        handle.seek(0)
        try:
            h5 = h5py.File(handle, "r")
        except OSError:
            return configs  # not HDF5: Keras names what it expected
        with h5:
            configs += [_json_config(h5.attrs[key], path, f"HDF5 attribute {key!r}")
                        for key in ("model_config", "training_config") if key in h5.attrs]
    return configs


def _saved_model_configs(path):
    """Layer configs of a SavedModel folder: ``keras_metadata.pb`` (legacy Keras reads the
    layers from it) and the object graph's own Keras metadata (older files)."""
    texts = []
    metadata_file = os.path.join(path, "keras_metadata.pb")
    if saved_metadata_pb2 is not None and tf.io.gfile.exists(metadata_file):
        metadata = saved_metadata_pb2.SavedMetadata()
        with tf.io.gfile.GFile(metadata_file, "rb") as handle:
            metadata.ParseFromString(handle.read())
        texts += [(node.metadata, "keras_metadata.pb") for node in metadata.nodes]
    graph_file = os.path.join(path, "saved_model.pb")
    if tf.io.gfile.exists(graph_file):
        saved_model = saved_model_pb2.SavedModel()
        with tf.io.gfile.GFile(graph_file, "rb") as handle:
            saved_model.ParseFromString(handle.read())
        for graph in saved_model.meta_graphs:
            for node in graph.object_graph_def.nodes:
                if node.WhichOneof("kind") == "user_object" and node.user_object.metadata:
                    texts.append((node.user_object.metadata, "saved_model.pb"))
    return [_json_config(text, path, f"layer metadata in {where}") for text, where in texts if text]


# ----------------------------------------------------------------------------- dtype policies


def set_precision(policy: str) -> None:
    """Sets the global dtype policy (``"float32"``, ``"mixed_float16"``, ``"mixed_bfloat16"``)."""
    keras.mixed_precision.set_global_policy(policy)


def global_precision() -> str:
    """Name of the global dtype policy."""
    return keras.mixed_precision.global_policy().name


@contextlib.contextmanager
def precision_scope(policy: str):
    """Context manager that sets the global dtype policy and restores the previous one."""
    previous = global_precision()
    set_precision(policy)
    try:
        yield
    finally:
        set_precision(previous)


def layer_variable_dtype(layer) -> str:
    """The dtype a layer stores its variables in (float32 under mixed policies)."""
    return tf.as_dtype(layer.variable_dtype).name if KERAS_3 else tf.as_dtype(layer.dtype).name


def layer_compute_dtype(layer) -> str:
    """The dtype a layer computes in."""
    return tf.as_dtype(layer.compute_dtype).name


# ----------------------------------------------------------------------------- variables


def full_precision(variable):
    """The variable in its stored dtype, bypassing mixed-precision autocasting.

    Inside a layer's ``call`` under a mixed policy, both Keras versions hand out
    variables cast to the compute dtype.  Spectral normalization needs the float32
    values (a singular value estimated from bfloat16 weights is off by ~1%), so
    this returns a tensor-like that TensorFlow ops read in full precision, and
    that gradient tapes still trace back to the variable.
    """
    if KERAS_3:
        inner = getattr(variable, "_value", None)
        return variable if inner is None else inner
    inner = getattr(variable, "_variable", None)  # tf_keras AutoCastVariable
    return variable if inner is None else inner


def add_state_weight(layer, name, shape, initializer, aggregation="mean", dtype="float32"):
    """Adds a non-trainable state variable (power-iteration vector, moving statistics).

    Args:
        aggregation: how ``tf.distribute`` combines assignments made in replica
            context: ``"mean"``, ``"sum"`` or ``"only_first_replica"``.
    """
    if KERAS_3:
        return layer.add_weight(
            name=name,
            shape=tuple(shape),
            initializer=initializer,
            trainable=False,
            dtype=dtype,
            aggregation=aggregation,
        )
    aggregations = {
        "mean": tf.VariableAggregation.MEAN,
        "sum": tf.VariableAggregation.SUM,
        "only_first_replica": tf.VariableAggregation.ONLY_FIRST_REPLICA,
        "none": tf.VariableAggregation.NONE,
    }
    return layer.add_weight(
        name=name,
        shape=tuple(shape),
        initializer=initializer,
        trainable=False,
        dtype=dtype,
        synchronization=tf.VariableSynchronization.ON_WRITE,
        aggregation=aggregations[aggregation],
    )


def variable_name(variable) -> str:
    """The variable's own short name, without scopes or ``:0`` (``"kernel"``, ``"u"``)."""
    name = variable.name
    name = name.split("/")[-1]
    return name.split(":")[0]


def variable_path(variable) -> str:
    """A unique, human-readable path of the variable (``"sn_conv2d/kernel"``)."""
    if KERAS_3:
        return variable.path
    return variable.name.split(":")[0]


def loss_scale_optimizer(optimizer, dynamic: bool = True, initial_scale: float = 2.0**15,
                         dynamic_growth_steps: int = 2000):
    """Wraps an optimizer in Keras's own loss-scale optimizer (either Keras version)."""
    if KERAS_3:
        if not dynamic:
            raise ValueError(
                "Keras 3's LossScaleOptimizer is always dynamic; received dynamic=False. "
                "Use ascendgan.strategy's FixedLossScaleManager for a fixed scale."
            )
        return keras.optimizers.LossScaleOptimizer(
            optimizer, initial_scale=initial_scale, dynamic_growth_steps=dynamic_growth_steps
        )
    return keras.mixed_precision.LossScaleOptimizer(
        optimizer, dynamic=dynamic, initial_scale=initial_scale,
        dynamic_growth_steps=dynamic_growth_steps,
    )


def is_loss_scale_optimizer(optimizer) -> bool:
    """True for Keras's own loss-scale optimizer in either Keras version."""
    if KERAS_3:
        return isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    return isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer)


def scale_loss(optimizer, loss):
    """The loss to differentiate: ``loss`` times the loss scale of Keras's own loss-scale
    optimizer (identity for other optimizers), divided by the number of replicas in sync
    when called in a ``tf.distribute`` replica context (optimizers sum the replicas'
    gradients, so the update is that of the global-batch mean)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1 and tf.distribute.get_replica_context() is not None:
        loss = loss / tf.cast(replicas, loss.dtype)
    if KERAS_3:
        scale = getattr(optimizer, "scale_loss", None)
        return loss if scale is None else scale(loss)
    if is_loss_scale_optimizer(optimizer):
        return optimizer.get_scaled_loss(loss)
    return loss


def apply_gradients(optimizer, gradients, variables):
    """Applies gradients of a (possibly scaled) loss; unscales and skips non-finite steps
    when ``optimizer`` is Keras's own loss-scale optimizer (its ``apply_gradients`` does
    in Keras 3; legacy Keras needs ``get_unscaled_gradients`` first)."""
    gradients = list(gradients)
    if not KERAS_3 and is_loss_scale_optimizer(optimizer):
        gradients = optimizer.get_unscaled_gradients(gradients)
    optimizer.apply_gradients(zip(gradients, variables))


def build_optimizer(optimizer, variables) -> None:
    """Creates the optimizer's slot variables now (outside any ``tf.function``)."""
    if KERAS_3:
        if not optimizer.built:
            optimizer.build(variables)
    else:
        inner = optimizer.inner_optimizer if is_loss_scale_optimizer(optimizer) else optimizer
        if not getattr(inner, "_built", False):
            inner.build(variables)


def clear_session() -> None:
    """Resets Keras's global state (layer name counters, graph)."""
    if KERAS_3:
        keras.backend.clear_session(free_memory=False)  # skips a gc.collect() (~0.2 s)
    else:
        keras.backend.clear_session()


def set_random_seed(seed: int) -> None:
    """Seeds Python, numpy and TensorFlow (and Keras's own generator in Keras 3)."""
    keras.utils.set_random_seed(seed)


__all__ = [
    "KERAS_3",
    "KERAS_VERSION",
    "LEGACY_KERAS",
    "add_state_weight",
    "apply_gradients",
    "build_optimizer",
    "is_loss_scale_optimizer",
    "load_model",
    "python_code_in",
    "scale_loss",
    "clear_session",
    "deserialize",
    "full_precision",
    "global_precision",
    "keras",
    "layer_compute_dtype",
    "layer_variable_dtype",
    "loss_scale_optimizer",
    "precision_scope",
    "register",
    "serialize",
    "set_precision",
    "set_random_seed",
    "variable_name",
    "variable_path",
]
