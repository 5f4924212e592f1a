"""Fine-tuning: a network's weights from another run's checkpoint, except the variables named
by exclude patterns (``restore_path`` / ``restore_exclude`` of the documented scripts)."""

from __future__ import annotations

import collections
import os
import re

import tensorflow as tf

from ascendgan import compat
from ascendgan.training.checkpoints import CheckpointError
from ascendgan.training.weight_keys import variable_keys

__all__ = ["checkpoint_variable_keys", "restore_weights"]

_VALUE = ".ATTRIBUTES/VARIABLE_VALUE"


def _is_variable(value):
    return isinstance(value, tf.Variable) or (compat.KERAS_3 and isinstance(value, compat.keras.Variable))


def _escape(name):
    # how tf.train.Checkpoint writes a child's name into a key: "." -> "..", "/" -> ".S"
    return name.replace(".", "..").replace("/", ".S")


def checkpoint_variable_keys(model, root="model"):
    """``{id(variable): checkpoint key}`` of ``model``'s weights as a
    ``tf.train.Checkpoint(root=model)`` writes them (``model/stem/_kernel/.ATTRIBUTES/...``):
    each variable is named by the first path that reaches it in a breadth-first walk of
    the object graph, as TensorFlow names it."""
    view = tf.train.TrackableView(tf.train.Checkpoint(**{root: model}))
    queue = collections.deque([(model, _escape(root))])
    seen, keys = {id(model)}, {}
    while queue:
        node, path = queue.popleft()
        for name, child in view.children(node).items():
            if id(child) in seen:
                continue
            seen.add(id(child))
            child_path = f"{path}/{_escape(name)}"
            if _is_variable(child):
                keys[id(child)] = f"{child_path}/{_VALUE}"
            else:
                queue.append((child, child_path))
    return keys


def _resolve(path):
    path = os.fspath(path)
    if tf.io.gfile.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest is None:
            raise FileNotFoundError(f"`restore_path` {path!r} is a directory without a checkpoint.")
        return latest
    if not tf.io.gfile.exists(path + ".index"):
        raise FileNotFoundError(f"`restore_path` {path!r} is not a checkpoint (no {path}.index).")
    return path


def restore_weights(model, path, exclude=(), root="model"):
    """Loads ``model``'s weights from a checkpoint, except those matching ``exclude``.

    ``path`` is a checkpoint written with ``tf.train.Checkpoint(model=...)`` (a
    :class:`~ascendgan.recipes.classifier.ClassifierCheckpoint` of another run, for
    example) or a directory of them (its latest). Each weight of ``model`` is looked up
    under the key TensorFlow gave it; a weight is skipped when a pattern of ``exclude``
    (a regular expression) is found in its attribute path (``classifier.kernel``, the
    same in both Keras versions) or in its Keras path (``logits/kernel``): ``("logits",)``
    keeps the final dense layer of a ``WideResNet`` as initialized, to fine-tune for
    another number of classes. The optimizer state is not read.

    Args:
        model: a built Keras model.
        path: the checkpoint (prefix or directory).
        exclude: patterns of the weights to leave as they are.
        root: the name the model has in the checkpoint (``"model"``).

    Returns:
        ``{"checkpoint": path read, "restored": [...], "excluded": [...]}`` (attribute paths).

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        CheckpointError: a weight that is not excluded has no value in the checkpoint, or
            a value of another shape; the message names the file, the key and the weight.
        ValueError: an invalid pattern.
    """
    if isinstance(exclude, str):
        exclude = (exclude,)
    try:
        patterns = [re.compile(p) for p in exclude]
    except (TypeError, re.error) as error:
        raise ValueError(f"`restore_exclude` must be regular expressions. Received: {exclude!r} "
                         f"({error})") from None
    if not model.built:
        raise ValueError("`model` must be built before restoring weights. Received an unbuilt model.")
    path = _resolve(path)
    try:
        reader = tf.train.load_checkpoint(path)
    except Exception as error:  # noqa: BLE001 - any read failure is reported with the file
        raise CheckpointError(f"Checkpoint {path} cannot be read ({error}).") from error
    shapes = reader.get_variable_to_shape_map()
    keys = checkpoint_variable_keys(model, root)
    names = {id(variable): name for name, variable in variable_keys(model).items()}
    plan, excluded = [], []
    for variable in model.weights:
        name, keras_path = names[id(variable)], compat.variable_path(variable)
        if any(p.search(name) or p.search(keras_path) for p in patterns):
            excluded.append(name)
            continue
        key = keys.get(id(variable))
        if key not in shapes:
            raise CheckpointError(
                f"Checkpoint {path} has no value for {name} (key {key!r}); exclude it with "
                "restore_exclude, or restore a checkpoint of the same network written under the "
                f"same Keras version ({len(shapes)} keys in the file).")
        if list(shapes[key]) != list(variable.shape):
            raise CheckpointError(
                f"Checkpoint {path}: {name} (key {key!r}) has shape {list(shapes[key])} there and "
                f"{list(variable.shape)} here; exclude it with restore_exclude (e.g. the final "
                "dense layer, 'logits', when the number of classes changes).")
        plan.append((name, variable, key))
    for _, variable, key in plan:
        variable.assign(tf.cast(reader.get_tensor(key), variable.dtype))
    return {"checkpoint": path, "restored": [name for name, _, _ in plan], "excluded": excluded}
