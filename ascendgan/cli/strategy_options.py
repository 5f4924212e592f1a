"""The command-line options that choose a strategy: ``--device``, ``--precision``,
``--loss-scale`` and ``--devices`` (the ``ascendgan`` command and the examples use them).

Example:

>>> import argparse
>>> parser = add_strategy_arguments(argparse.ArgumentParser())
>>> strategy_from_arguments(parser.parse_args(["--device", "cpu"])).device
'cpu'
"""

from __future__ import annotations

from ascendgan.strategy import DEVICES, PRECISIONS, Strategy, get_strategy


def add_strategy_arguments(parser):
    """Adds ``--device``, ``--precision``, ``--loss-scale`` and ``--devices`` to an
    ``argparse`` parser and returns it."""
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where to train (default: auto)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="Keras policy or Ascend precision_mode (default: auto = what the documented "
                             "runs use on this device: allow_mix_precision on an NPU, mixed_float16 on "
                             "tensor-core GPUs, mixed_bfloat16 on CPUs with AVX512_BF16 / AMX, else "
                             "float32; the concrete choice is recorded in run.json)")
    parser.add_argument("--loss-scale", default="auto",
                        help="auto | dynamic | ascend | none | a number (default: auto)")
    parser.add_argument("--devices", type=int, default=None,
                        help="number of CPU / GPU replicas (default: 1 CPU, all GPUs)")
    return parser


def strategy_from_arguments(args) -> Strategy:
    """The :class:`~ascendgan.strategy.Strategy` for arguments parsed with
    :func:`add_strategy_arguments`.

    Raises:
        ValueError: for a ``--loss-scale`` that is not auto, dynamic, ascend, none or a
            number.
    """
    spec = args.loss_scale
    if spec == "none":
        spec = None
    elif spec not in ("auto", "dynamic", "ascend"):
        try:
            spec = float(spec)
        except ValueError:
            raise ValueError(
                "--loss-scale must be auto, dynamic, ascend, none or a number. Received: "
                f"{args.loss_scale!r}"
            ) from None
    graph_mode = bool(getattr(args, "graph_mode", False))
    return get_strategy(args.device, precision=args.precision, loss_scale=spec,
                        devices=getattr(args, "devices", None),
                        # the TF1 adapter (npu_bridge) on an NPU; sessions elsewhere
                        graph_mode=graph_mode and args.device in ("npu", "auto"))


__all__ = ["add_strategy_arguments", "strategy_from_arguments"]
