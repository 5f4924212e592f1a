"""The command line of Ascend's ATC converter for an exported frozen graph."""

from __future__ import annotations

import os

from ascendgan.export.frozen_graph import graph_inputs, load_frozen_graph


def atc_command(graph_path, output=None, soc_version="Ascend910"):
    """The ATC command line that converts an exported frozen graph to an Ascend offline model.

    ``--input_shape`` is read off the graph's placeholders (e.g. ``"z:1,120;y:1"``).

    Args:
        graph_path: the frozen graph ``.pb`` written by :func:`export_frozen_graph`.
        output: the offline model's path without ``.om`` (default: ``graph_path`` without
            its extension).
        soc_version: the Ascend processor (``Ascend910``, ``Ascend310``, ...).

    Returns:
        The command as one string.

    Raises:
        ValueError: when a placeholder has a dynamic dimension (ATC needs static shapes:
            export with a ``batch_size``).
    """
    graph_path = str(graph_path)
    parts = []
    for name, (shape, _) in graph_inputs(load_frozen_graph(graph_path)).items():
        if shape is None or any(dim is None for dim in shape):
            raise ValueError(
                f"Input {name!r} of {graph_path!r} has a dynamic shape {shape}; ATC needs static "
                "shapes. Export with an integer `batch_size`."
            )
        parts.append(f"{name}:{','.join(str(dim) for dim in shape)}")
    if output is None:
        output = os.path.splitext(graph_path)[0]
    return (
        f"atc --framework=3 --model={graph_path} --output={output} "
        f"--input_shape=\"{';'.join(parts)}\" --soc_version={soc_version}"
    )


__all__ = ["atc_command"]
