"""Checkpoint keys that are the same under Keras 3 and legacy Keras (``tf-keras``).

A Keras model's ``weights`` are not in the same order under the two Keras versions (legacy
Keras lists every trainable weight before the non-trainable ones, and Keras 3 orders
sub-layers held in lists by when they were appended), and layer names made up by Keras
(``conv2d_1``) depend on what else the process built. So a checkpoint that stores weights
by position, or by auto-generated name, restores wrong values, or fails, in the other
Keras version.

This module names every variable of a network by its *attribute path*: the attributes
through which the network reaches the layer that owns it, then the variable's own name
(``blocks.2.bn1.gain_projection.kernel``, ``output_bn.moving_mean``, ``blocks.0.kernel``
for a layer held in the list ``self.blocks``). The names come from the network's own code,
so they are the same in both Keras versions and in every process. An optimizer's slots are
named after the variable they belong to (``slots/momentums/blocks.0.kernel``), so training
resumes exactly in the other Keras version too.

:func:`checkpoint_objects` is what ``GAN.checkpoint()`` saves and restores; with
``path`` it also reads the checkpoints written before (ascendgan 0.1: weights by position),
in the Keras version that wrote them.

Example:

>>> from ascendgan.models import dcgan
>>> gan = dcgan("mnist", base_filters=2)                   # doctest: +SKIP
>>> gan.build_models()                                     # doctest: +SKIP
>>> sorted(variable_keys(gan.generator))[:2]               # doctest: +SKIP
['blocks.0.kernel', 'blocks.1.beta']
"""

from __future__ import annotations

import collections.abc

import tensorflow as tf

from ascendgan import compat
from ascendgan.strategy.optimizer import CHECKPOINT_KEY
from ascendgan.validation import check_choice

#: The checkpoint layouts: ``"stable"`` (variables by attribute path, read by both Keras
#: versions) and ``"positional"`` (ascendgan 0.1: ``model.weights`` by position, read only
#: by the Keras version that wrote it).
LAYOUTS = ("stable", "positional")
#: The parts of a GAN a checkpoint restores.
PARTS = ("all", "generator")
#: This process's Keras version, as checkpoint keys and messages name it.
KERAS_MODE = "keras3" if compat.KERAS_3 else "tf_keras"
_MODE_TEXT = {"keras3": "Keras 3", "tf_keras": "legacy Keras"}
_MODE_ENV = {"keras3": "TF_USE_LEGACY_KERAS unset", "tf_keras": "TF_USE_LEGACY_KERAS=1"}

# Attributes through which Keras itself holds sub-layers (never a name a user wrote).
_KERAS_INTERNALS = frozenset({
    "_layers", "_self_tracked_trackables", "_operations", "_input_layers", "_output_layers",
    "_inbound_nodes", "_outbound_nodes", "_inbound_nodes_value", "_outbound_nodes_value",
})
# Per-variable lists of an optimizer that are not slots.
_NOT_SLOTS = frozenset({"_trainable_variables", "_variables", "_self_unconditional_checkpoint_dependencies"})
_NETWORKS = {"all": ("generator", "ema_generator", "discriminator"),
             "generator": ("generator", "ema_generator")}


class CheckpointModeError(ValueError):
    """A checkpoint that only the other Keras version can restore (weights or optimizer
    state stored by position). The message says which version wrote it."""


# ----------------------------------------------------------------------------- networks


def _sublayers(layer):
    """``[(name, sub-layer)]``: the direct sub-layers of ``layer``, each named by the
    attribute (``conv1``), list item (``blocks.0``) or dict item (``heads.a``) that holds
    it; public attributes win over private ones. Sub-layers held by no attribute (the
    layers of a functional or Sequential model) are ``layers.<i>``, counting those with
    weights in Keras's order."""
    children = list(layer._flatten_layers(include_self=False, recursive=False))
    ids = {id(child) for child in children}
    named = {}

    def offer(name, value):
        if id(value) in ids and id(value) not in named:
            named[id(value)] = (name, value)

    for attribute, value in sorted(vars(layer).items(), key=lambda item: (item[0].startswith("_"), item[0])):
        if attribute in _KERAS_INTERNALS:
            continue
        if isinstance(value, collections.abc.Mapping):
            for key in sorted(value, key=str):
                offer(f"{attribute}.{key}", value[key])
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                offer(f"{attribute}.{index}", item)
        else:
            offer(attribute, value)
    unnamed = [child for child in children if id(child) not in named and child.weights]
    for index, child in enumerate(unnamed):
        named[id(child)] = (f"layers.{index}", child)
    return sorted(named.values(), key=lambda item: item[0])


def variable_keys(model):
    """``{key: variable}`` for every weight of ``model`` (``model.weights``), keyed by
    attribute path and the variable's own name (see the module docstring); the keys are
    the same under both Keras versions.

    Raises:
        ValueError: two weights get the same key, or a weight is reached by no layer.
    """
    keys = {}
    seen = {id(model)}

    def visit(layer, prefix):
        children = _sublayers(layer)
        inner = {id(weight) for _, child in children for weight in child.weights}
        own = {}
        for weight in layer.weights:
            if id(weight) not in inner:
                own.setdefault(id(weight), weight)
        counts = collections.Counter()
        for weight in own.values():
            short = compat.variable_name(weight)
            key = prefix + short + (f"_{counts[short]}" if counts[short] else "")
            counts[short] += 1
            if key in keys:
                raise ValueError(f"Two weights of {model.name} get the checkpoint key {key!r}. "
                                 f"Received: {compat.variable_path(keys[key])} and "
                                 f"{compat.variable_path(weight)}")
            keys[key] = weight
        for name, child in children:
            if id(child) not in seen:
                seen.add(id(child))
                visit(child, f"{prefix}{name}.")

    visit(model, "")
    named = {id(weight) for weight in keys.values()}
    missing = [compat.variable_path(w) for w in model.weights if id(w) not in named]
    if missing:
        raise ValueError(f"Weights of {model.name} that no layer attribute reaches cannot be "
                         f"checkpointed by name. Received: {missing}")
    return keys


# ----------------------------------------------------------------------------- optimizers


def _is_variable(value):
    return isinstance(value, tf.Variable) or (compat.KERAS_3 and isinstance(value, compat.keras.Variable))


def _slot_index(optimizer):
    """``variable -> index`` of its slots in the optimizer's per-variable lists (None when
    the optimizer was not built for it), and the number of variables it was built for."""
    if compat.KERAS_3:
        count = len(getattr(optimizer, "_trainable_variables", None) or ())

        def index(variable):
            try:
                return optimizer._get_variable_index(variable)
            except (KeyError, AttributeError):
                return None
    else:
        table = getattr(optimizer, "_index_dict", None) or {}
        count = len(table)

        def index(variable):
            return table.get(optimizer._var_key(variable))
    return index, count


def optimizer_state(optimizer, variables):
    """The state of ``optimizer`` keyed by stable names, or ``None`` when part of it has
    none (e.g. Keras's own ``LossScaleOptimizer``).

    Args:
        optimizer: a built Keras optimizer (either version).
        variables: ``{key: variable}`` of the network it trains (:func:`variable_keys`).

    Returns:
        ``{"_iterations": ..., "_learning_rate": ..., "slots": {slot: {key: variable}}}``
        (the scalars under the optimizer's own attribute names, so they also match
        checkpoints that saved the optimizer object), plus the loss-scale manager of an
        ``ascendgan.strategy.WrappedOptimizer`` as ``loss_scale_manager``.
    """
    if compat.is_loss_scale_optimizer(optimizer):
        return None
    state = {"_iterations": optimizer.iterations}
    rate = getattr(optimizer, "_learning_rate", None)
    if _is_variable(rate):
        state["_learning_rate"] = rate
    index, count = _slot_index(optimizer)
    lists = {name.lstrip("_"): value for name, value in vars(optimizer).items()
             if name not in _NOT_SLOTS and isinstance(value, (list, tuple)) and count
             and len(value) == count and all(_is_variable(v) for v in value)}
    slots = {name: {} for name in sorted(lists)}
    for key, variable in variables.items():
        position = index(variable)
        if position is not None:
            for name, values in lists.items():
                slots[name][key] = values[position]
    if slots:
        state["slots"] = slots
    covered = {id(state["_iterations"])} | {id(rate)} | {
        id(v) for per_key in slots.values() for v in per_key.values()}
    if any(id(v) not in covered for v in optimizer.variables):
        return None
    manager = getattr(optimizer, CHECKPOINT_KEY, None)
    if manager is not None:
        state[CHECKPOINT_KEY] = manager
    return state


# ----------------------------------------------------------------------------- checkpoints


def checkpoint_layout(path):
    """``"positional"`` for a checkpoint that keeps network weights by position (written by
    ascendgan 0.1 or before the stable keys), else ``"stable"`` (also when ``path`` is
    ``None`` or cannot be read: restoring then reports the read error)."""
    return "positional" if _is_positional(_checkpoint_keys(path)) else "stable"


def _is_positional(keys):
    return any(key.startswith("generator_weights/") for key in keys)


def _checkpoint_keys(path):
    if path is None:
        return {}
    try:
        return dict(tf.train.list_variables(str(path)))
    except Exception:  # noqa: BLE001 - unreadable: restoring names the file and the error
        return {}


def checkpoint_objects(gan, part="all", path=None):
    """The objects of ``tf.train.Checkpoint(**objects)`` for ``gan`` (``GAN.checkpoint``).

    Args:
        gan: a ``GAN`` (duck-typed): ``generator``, ``discriminator``, ``ema_generator``,
            ``seed_generator`` and, once compiled, ``generator_optimizer`` /
            ``discriminator_optimizer``. Build its networks (and optimizers) first: a
            network not built yet has no variables to save or restore.
        part: ``"all"`` (everything training needs to continue exactly) or
            ``"generator"`` (the generator and its moving average, to sample or export).
        path: a checkpoint to restore: its layout is read from its keys. ``None``: the
            stable layout, the one written.

    Raises:
        CheckpointModeError: ``path`` can only be restored by the other Keras version.
    """
    check_choice("part", part, PARTS)
    keys = _checkpoint_keys(path)
    if _is_positional(keys):
        return _positional_objects(gan, part, path, keys)
    objects = {}
    networks = {}
    for name in _NETWORKS[part]:
        model = getattr(gan, name, None)
        if model is not None:
            networks[name] = variable_keys(model)
            objects[f"{name}_variables"] = networks[name]
    if part == "all":
        objects["seed_generator"] = gan.seed_generator
        for name in ("generator", "discriminator"):
            optimizer = getattr(gan, f"{name}_optimizer", None)
            state = None if optimizer is None else optimizer_state(optimizer, networks[name])
            if state is not None:
                objects[f"{name}_optimizer"] = state
            elif optimizer is not None:
                # No stable names for this optimizer's state: saved as the object, under a
                # key naming this Keras version, so that the other version refuses it clearly.
                objects[f"{name}_optimizer_{KERAS_MODE}"] = optimizer
            for mode in _MODE_TEXT:
                if mode != KERAS_MODE and any(k.startswith(f"{name}_optimizer_{mode}/") for k in keys):
                    raise _mode_error(path, mode, f"the {name} optimizer's state by position",
                                      'part="generator" (sampling, export) restores in both')
    return objects


def _mode_error(path, writer, what, hint):
    return CheckpointModeError(
        f"Checkpoint {path} keeps {what} in {_MODE_TEXT[writer]}'s order, which "
        f"{_MODE_TEXT[KERAS_MODE]} (this process) cannot restore: load it with "
        f"{_MODE_ENV[writer]}; {hint}. Received: path={str(path)!r}")


def _positional_writer(keys):
    """The Keras version that wrote a positional checkpoint, from its optimizer keys (legacy
    Keras lists slots from ``_variables/1``, Keras 3 from ``_variables/2``, its ``/1`` being
    the learning rate); ``None`` when the keys do not tell."""
    for name in ("generator_optimizer", "discriminator_optimizer"):
        if f"{name}/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE" in keys and any(
                key.startswith(f"{name}/_variables/") for key in keys):
            legacy = f"{name}/_variables/1/.ATTRIBUTES/VARIABLE_VALUE" in keys
            return "tf_keras" if legacy else "keras3"
    return None


def _positional_objects(gan, part, path, keys):
    """The layout of checkpoints written before the stable keys: the networks, their
    ``weights`` by position and the optimizer objects (positional slots)."""
    writer = _positional_writer(keys)
    if writer is not None and writer != KERAS_MODE:
        raise _mode_error(path, writer, "network weights by position (ascendgan 0.1's layout)",
                          "training it there once more writes checkpoints both Keras versions read")
    objects = {}
    for name in _NETWORKS[part]:
        model = getattr(gan, name, None)
        if model is not None:
            objects[name] = model
            objects[f"{name}_weights"] = list(model.weights)
    if part == "all":
        objects["seed_generator"] = gan.seed_generator
        if getattr(gan, "generator_optimizer", None) is not None:
            objects["generator_optimizer"] = gan.generator_optimizer
            objects["discriminator_optimizer"] = gan.discriminator_optimizer
    return objects


__all__ = ["CheckpointModeError", "KERAS_MODE", "LAYOUTS", "PARTS", "checkpoint_layout",
           "checkpoint_objects", "optimizer_state", "variable_keys"]
