"""``ascendgan export``: a run's generator as a SavedModel, a frozen graph or ONNX.

The frozen graph is the documented offline run's by default: inputs ``z`` ``(batch,
latent_dim)`` and ``y`` ``(batch, 1)`` (``--label-rank 2``), output ``output``; the ATC
line printed for it is the documented one (``--soc_version=Ascend310``, ``--log=info``,
``--out_nodes="output:0"``), followed by the ``ascendgan infer write-inputs`` line that
writes latents with the preset's truncation.
"""

from __future__ import annotations

from ascendgan import export as export_lib
from ascendgan.cli.common import add_run_arguments
from ascendgan.cli.sample import describe_truncation, resolve_truncation
from ascendgan.cli.train import positive_int
from ascendgan.export.atc import DEFAULT_SOC_VERSION, LOG_LEVELS, SOC_VERSIONS
from ascendgan.recipes import RunDirectory, load_run, run_preset

#: ``y`` of shape ``(batch, 1)``: the label placeholder of the documented frozen graph.
DEFAULT_LABEL_RANK = 2


def _inputs_line(args, gan, preset):
    """The ``ascendgan infer write-inputs`` line for the exported model's latents."""
    threshold, reason = resolve_truncation(None, preset)
    words = ["ascendgan infer write-inputs", f"--run {args.run_dir}", "--output inputs",
             "--seeds 0 1 2 3", f"--batch-size {args.batch_size}"]
    if gan.num_classes:
        words.append(f"--label-rank {args.label_rank}")
    return " ".join(words) + f"   # z with {describe_truncation(threshold, reason)}"


def export(args) -> int:
    """``ascendgan export``."""
    gan, checkpoint = load_run(args.run_dir, args.checkpoint)
    path = export_lib.export(gan, args.output, format=args.format, batch_size=args.batch_size,
                             training=args.training, use_ema=not args.raw, label_rank=args.label_rank)
    print(f"exported {args.format} to {path} (from {checkpoint})")
    if args.format == "frozen_graph":
        print("Ascend offline model: " + export_lib.atc_command(path, soc_version=args.soc_version,
                                                                 log=args.atc_log))
    if gan.latent_dim is not None:
        preset = run_preset(RunDirectory(args.run_dir).read())
        print("offline inputs: " + _inputs_line(args, gan, preset))
    return 0


def add_parser(subparsers):
    """Registers ``export``."""
    parser = subparsers.add_parser("export", help="export a run's generator: SavedModel, frozen graph, ONNX")
    add_run_arguments(parser)
    parser.add_argument("--format", choices=("saved_model", "frozen_graph", "onnx"), default="frozen_graph",
                        help="default frozen_graph (inputs z, y; output `output`)")
    parser.add_argument("--output", required=True, help="output path (.pb / folder / .onnx)")
    parser.add_argument("--batch-size", type=positive_int, default=1, help="static batch size (default 1)")
    parser.add_argument("--label-rank", type=int, choices=(1, 2), default=DEFAULT_LABEL_RANK,
                        help="y of shape (batch,) or (batch, 1) (default 2: the documented "
                             "graph's y, ATC --input_shape y:1,1)")
    parser.add_argument("--training", action="store_true",
                        help="batch norm and dropout in training mode (Pix2Pix's test mode)")
    parser.add_argument("--soc-version", choices=SOC_VERSIONS, default=DEFAULT_SOC_VERSION,
                        metavar="SOC",
                        help=f"Ascend processor of the printed ATC command (default "
                             f"{DEFAULT_SOC_VERSION}, the documented inference chip): "
                             + ", ".join(SOC_VERSIONS))
    parser.add_argument("--atc-log", choices=LOG_LEVELS, default="info",
                        help="--log of the printed ATC command (default info)")
    parser.set_defaults(func=export)
    return parser


__all__ = ["DEFAULT_LABEL_RANK", "add_parser", "export"]
