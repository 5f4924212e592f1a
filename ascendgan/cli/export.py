"""``ascendgan export``: a run's generator as a SavedModel, a frozen graph or ONNX."""

from __future__ import annotations

from ascendgan import export as export_lib
from ascendgan.cli.common import add_run_arguments
from ascendgan.cli.train import positive_int
from ascendgan.recipes import load_run


def export(args) -> int:
    """``ascendgan export``."""
    gan, checkpoint = load_run(args.run_dir, args.checkpoint)
    path = export_lib.export(gan, args.output, format=args.format, batch_size=args.batch_size,
                             training=args.training, use_ema=not args.raw, label_rank=args.label_rank)
    print(f"exported {args.format} to {path} (from {checkpoint})")
    if args.format == "frozen_graph":
        print("Ascend offline model: " + export_lib.atc_command(path, soc_version=args.soc_version))
    return 0


def add_parser(subparsers):
    """Registers ``export``."""
    parser = subparsers.add_parser("export", help="export a run's generator: SavedModel, frozen graph, ONNX")
    add_run_arguments(parser)
    parser.add_argument("--format", choices=("saved_model", "frozen_graph", "onnx"), default="frozen_graph",
                        help="default frozen_graph (inputs z, y; output `output`)")
    parser.add_argument("--output", required=True, help="output path (.pb / folder / .onnx)")
    parser.add_argument("--batch-size", type=positive_int, default=1, help="static batch size (default 1)")
    parser.add_argument("--label-rank", type=int, choices=(1, 2), default=1,
                        help="y of shape (batch,) or (batch, 1)")
    parser.add_argument("--training", action="store_true",
                        help="batch norm and dropout in training mode (Pix2Pix's test mode)")
    parser.add_argument("--soc-version", default="Ascend910", help="for the printed ATC command")
    parser.set_defaults(func=export)
    return parser


__all__ = ["add_parser", "export"]
