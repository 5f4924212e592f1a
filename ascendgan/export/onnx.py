"""ONNX export through ``tf2onnx`` (the optional ``onnx`` extra)."""

from __future__ import annotations

from ascendgan.export.frozen_graph import frozen_graph_def, graph_inputs
from ascendgan.export.serving import OUTPUT_NAME
from ascendgan.files import atomic_write
from ascendgan.validation import check_int

#: The default ONNX opset (ATC converts ONNX opsets 11 to 15).
DEFAULT_OPSET = 13


def _tf2onnx():
    try:
        import tf2onnx
    except ImportError as error:
        raise ImportError(
            "ONNX export needs the `tf2onnx` package (and `onnxruntime` to run the result), "
            "which is not installed. Install them with `pip install \"ascendgan[onnx]\"` "
            "(or `pip install tf2onnx onnxruntime`)."
        ) from error
    return tf2onnx


def _rename_onnx_values(model_proto, mapping):
    graph = model_proto.graph
    for value in list(graph.input) + list(graph.output):
        value.name = mapping.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [mapping.get(name, name) for name in node.input]
        node.output[:] = [mapping.get(name, name) for name in node.output]


def export_onnx(model, path, batch_size=1, training=False, use_ema=True, label_rank=1,
                opset=DEFAULT_OPSET):
    """Writes the generator as an ONNX model (needs ``tf2onnx``: the ``onnx`` extra).

    The frozen graph of :func:`frozen_graph_def` is converted with tf2onnx; the ONNX inputs
    and output are renamed to ``z``/``y`` (or ``source``) and ``output``.

    Args:
        model: a GAN or an ascendgan generator (see :func:`serving_module`).
        path: the ``.onnx`` file.
        batch_size: static batch size (``None``: dynamic).
        training: training-mode batch norm / dropout (default: inference mode).
        use_ema: export the averaged generator of a GAN when there is one.
        label_rank: 1 for ``y`` of shape ``(batch,)``, 2 for ``(batch, 1)``.
        opset: the ONNX opset (default 13; ATC accepts 11 to 15).

    Returns:
        ``path`` (a string).

    Raises:
        ImportError: naming ``tf2onnx`` and the ``onnx`` extra when it is missing.

    Example:

    >>> export_onnx(gan, "generator.onnx")                                 # doctest: +SKIP
    """
    tf2onnx = _tf2onnx()
    opset = check_int("opset", opset, minimum=7)
    graph_def = frozen_graph_def(model, batch_size=batch_size, training=training, use_ema=use_ema,
                                 label_rank=label_rank)
    names = list(graph_inputs(graph_def))
    model_proto, _ = tf2onnx.convert.from_graph_def(
        graph_def,
        input_names=[f"{name}:0" for name in names],
        output_names=[f"{OUTPUT_NAME}:0"],
        opset=opset,
    )
    mapping = {f"{name}:0": name for name in names}
    mapping[f"{OUTPUT_NAME}:0"] = OUTPUT_NAME
    _rename_onnx_values(model_proto, mapping)
    return atomic_write(path, model_proto.SerializeToString())


__all__ = ["DEFAULT_OPSET", "export_onnx"]
