"""Frozen graph export: a binary ``GraphDef`` with the variables folded into constants."""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from ascendgan.export.serving import OUTPUT_NAME, drop_nodes, serving_module
from ascendgan.files import atomic_write


def frozen_graph_def(model, batch_size=1, training=False, use_ema=True, label_rank=1,
                     strip_asserts=True):
    """The frozen ``GraphDef`` of the serving function (variables folded into constants).

    Placeholders are named ``z`` and ``y`` (or ``z``, or ``source``) and the output node
    ``output``; the graph is pruned to what ``output`` needs.

    Args:
        model: a GAN or an ascendgan generator (see :func:`serving_module`).
        batch_size: static batch size (ATC needs one; ``None`` leaves it dynamic).
        training: training-mode batch norm / dropout (default: inference mode).
        use_ema: export the averaged generator of a GAN when there is one.
        label_rank: 1 for ``y`` of shape ``(batch,)``, 2 for ``(batch, 1)``.
        strip_asserts: drop ``Assert`` nodes (the generators' class-id range checks).

    Returns:
        A ``tf.compat.v1.GraphDef``.

    Example:

    >>> graph_def = frozen_graph_def(gan, batch_size=1)                    # doctest: +SKIP
    >>> sorted(n.name for n in graph_def.node if n.op == "Placeholder")   # doctest: +SKIP
    ['y', 'z']
    """
    module = serving_module(model, batch_size=batch_size, training=training, use_ema=use_ema,
                            label_rank=label_rank)
    frozen = convert_variables_to_constants_v2(module.serve.get_concrete_function())
    graph_def = tf.compat.v1.graph_util.extract_sub_graph(frozen.graph.as_graph_def(), [OUTPUT_NAME])
    if strip_asserts:
        # Assert nodes are runtime checks offline converters need not see; then prune what
        # only fed them.
        graph_def = tf.compat.v1.graph_util.extract_sub_graph(drop_nodes(graph_def, ("Assert",)),
                                                              [OUTPUT_NAME])
    return graph_def


def export_frozen_graph(model, path, batch_size=1, training=False, use_ema=True, label_rank=1,
                        strip_asserts=True):
    """Writes the frozen graph ``.pb`` (binary ``GraphDef``) for ATC / TF1-style inference.

    Load it with :func:`load_frozen_graph` and ``tf.compat.v1.import_graph_def(graph_def,
    name="")``; feed ``z:0`` / ``y:0`` (or ``source:0``), fetch ``output:0``. Arguments as
    :func:`frozen_graph_def`.

    Returns:
        ``path`` (a string).

    Example:

    >>> export_frozen_graph(gan, "biggan.pb", batch_size=1)                # doctest: +SKIP
    >>> print(atc_command("biggan.pb"))                                    # doctest: +SKIP
    atc --framework=3 --model=biggan.pb --output=biggan --input_shape="z:1,120;y:1" --soc_version=Ascend910
    """
    graph_def = frozen_graph_def(model, batch_size=batch_size, training=training, use_ema=use_ema,
                                 label_rank=label_rank, strip_asserts=strip_asserts)
    return atomic_write(path, graph_def.SerializeToString())


def load_frozen_graph(path):
    """Reads a binary ``GraphDef`` ``.pb`` file (e.g. from :func:`export_frozen_graph`).

    Raises:
        ValueError: naming the file when it does not exist or is not a GraphDef.
    """
    path = str(path)
    if not tf.io.gfile.exists(path):
        raise ValueError(f"Frozen graph file {path!r} does not exist.")
    graph_def = tf.compat.v1.GraphDef()
    with tf.io.gfile.GFile(path, "rb") as handle:
        data = handle.read()
    try:
        graph_def.ParseFromString(data)
    except Exception as error:  # protobuf raises its own DecodeError
        raise ValueError(f"{path!r} is not a binary GraphDef (.pb) file: {error}") from error
    return graph_def


def graph_inputs(graph_def):
    """``{name: (shape, numpy dtype)}`` of a graph's placeholders (``None`` for unknown dims).

    Example:

    >>> graph_inputs(load_frozen_graph("biggan.pb"))                       # doctest: +SKIP
    {'z': ((1, 120), dtype('float32')), 'y': ((1,), dtype('int32'))}
    """
    inputs = {}
    for node in graph_def.node:
        if node.op != "Placeholder":
            continue
        shape = tf.TensorShape(node.attr["shape"].shape)
        dims = tuple(shape.as_list()) if shape.rank is not None else None
        inputs[node.name] = (dims, tf.as_dtype(node.attr["dtype"].type).as_numpy_dtype().dtype)
    return inputs


__all__ = ["export_frozen_graph", "frozen_graph_def", "graph_inputs", "load_frozen_graph"]
