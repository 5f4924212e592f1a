"""The command line of Ascend's ATC converter for an exported frozen graph.

The documented BigGAN offline run converts its frozen graph with::

    atc --model=final_model.pb --framework=3 --output=model --soc_version=Ascend310 \\
        --input_shape="z:1,120;y:1,1" --log=info --out_nodes="output:0"

:func:`atc_command` writes that line for any frozen graph :func:`export_frozen_graph`
wrote: ``--input_shape`` from the graph's placeholders (``y:1,1`` for a graph exported
with ``label_rank=2``, the documented ``(batch, 1)`` label input), ``--out_nodes`` from its
``output`` node, ``--soc_version`` one of :data:`SOC_VERSIONS` (``Ascend310``, the
inference processor of the documented run, by default) and ``--log`` one of
:data:`LOG_LEVELS`.
"""

from __future__ import annotations

import os
import shlex

from ascendgan.export.frozen_graph import graph_inputs, load_frozen_graph
from ascendgan.export.serving import OUTPUT_NAME
from ascendgan.validation import check_choice

#: ``--soc_version`` values (ATC's "Ascend" + the chip name ``npu-smi info`` reports):
#: Ascend 310 (the documented offline run), 310P / 310B inference chips, Ascend 910 (the
#: documented training chip) and its variants, 910B.
SOC_VERSIONS = (
    "Ascend310",
    "Ascend310P1", "Ascend310P2", "Ascend310P3", "Ascend310P4",
    "Ascend310B1", "Ascend310B2", "Ascend310B3", "Ascend310B4",
    "Ascend910", "Ascend910A", "Ascend910B", "Ascend910ProA", "Ascend910ProB", "Ascend910PremiumA",
    "Ascend910B1", "Ascend910B2", "Ascend910B2C", "Ascend910B3", "Ascend910B4",
)
#: The inference processor of the documented offline run.
DEFAULT_SOC_VERSION = "Ascend310"
#: ``--log`` levels of ATC's debug log (``null``, ATC's own default, writes none).
LOG_LEVELS = ("debug", "info", "warning", "error", "null")
#: ATC's TensorFlow framework id (``--framework=3``: a frozen GraphDef ``.pb``).
TENSORFLOW_FRAMEWORK = 3


def atc_command(graph_path, output=None, soc_version=DEFAULT_SOC_VERSION, log="info",
                debug_dir=None):
    """The ATC command line that converts an exported frozen graph to an Ascend offline model.

    The options come in the documented run's order: ``--model``, ``--framework=3``,
    ``--output``, ``--soc_version``, ``--input_shape`` (read off the graph's placeholders,
    e.g. ``"z:1,120;y:1,1"``), ``--log``, ``--out_nodes="output:0"`` and, when given,
    ``--debug_dir``.

    Args:
        graph_path: the frozen graph ``.pb`` written by :func:`export_frozen_graph`.
        output: the offline model's path without ``.om`` (default: ``graph_path`` without
            its extension).
        soc_version: the Ascend processor, one of :data:`SOC_VERSIONS` (default
            ``"Ascend310"``, the documented inference processor).
        log: ATC's log level, one of :data:`LOG_LEVELS` (default ``"info"``, as documented).
        debug_dir: ATC's ``--debug_dir`` (intermediate files of the conversion), or ``None``.

    Returns:
        The command as one string (paths shell-quoted when they need it).

    Raises:
        ValueError: when ``soc_version`` or ``log`` is not a known value, a placeholder
            has a dynamic dimension (ATC needs static shapes: export with a
            ``batch_size``), or the graph has no ``output`` node.

    Example:

    >>> print(atc_command("biggan.pb"))                                   # doctest: +SKIP
    atc --model=biggan.pb --framework=3 --output=biggan --soc_version=Ascend310 --input_shape="z:1,120;y:1,1" --log=info --out_nodes="output:0"
    """
    soc_version = check_choice("soc_version", soc_version, SOC_VERSIONS)
    log = check_choice("log", log, LOG_LEVELS)
    graph_path = str(graph_path)
    graph_def = load_frozen_graph(graph_path)
    parts = []
    for name, (shape, _) in graph_inputs(graph_def).items():
        if shape is None or any(dim is None for dim in shape):
            raise ValueError(
                f"Input {name!r} of {graph_path!r} has a dynamic shape {shape}; ATC needs static "
                "shapes. Export with an integer `batch_size`."
            )
        parts.append(f"{name}:{','.join(str(dim) for dim in shape)}")
    if OUTPUT_NAME not in {node.name for node in graph_def.node}:
        raise ValueError(
            f"{graph_path!r} has no node named {OUTPUT_NAME!r}; ATC's --out_nodes needs the "
            "output node of an ascendgan export (export_frozen_graph)."
        )
    if output is None:
        output = os.path.splitext(graph_path)[0]
    words = [
        "atc",
        f"--model={shlex.quote(graph_path)}",
        f"--framework={TENSORFLOW_FRAMEWORK}",
        f"--output={shlex.quote(str(output))}",
        f"--soc_version={soc_version}",
        f"--input_shape=\"{';'.join(parts)}\"",
        f"--log={log}",
        f"--out_nodes=\"{OUTPUT_NAME}:0\"",
    ]
    if debug_dir is not None:
        words.append(f"--debug_dir={shlex.quote(str(debug_dir))}")
    return " ".join(words)


__all__ = ["DEFAULT_SOC_VERSION", "LOG_LEVELS", "SOC_VERSIONS", "TENSORFLOW_FRAMEWORK", "atc_command"]
