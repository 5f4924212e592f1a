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
import os

import tensorflow as tf

#: True when legacy Keras 2 (``tf_keras``) is in use.
LEGACY_KERAS = os.environ.get("TF_USE_LEGACY_KERAS", None) in ("true", "True", "1")

if LEGACY_KERAS:  # pragma: no cover - exercised by the legacy-mode test run
    try:
        import tf_keras as keras  # noqa: F401
    except ImportError as error:  # pragma: no cover
        raise ImportError(
            "TF_USE_LEGACY_KERAS is set, so ascendgan needs legacy Keras 2, but the "
            "`tf-keras` package is not installed. Install it with `pip install tf-keras` "
            "or unset TF_USE_LEGACY_KERAS to use Keras 3."
        ) from error
    KERAS_VERSION = (2,)
else:
    import keras  # noqa: F401

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
