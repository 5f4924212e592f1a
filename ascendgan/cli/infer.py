"""``ascendgan infer``: offline inference on raw ``.bin`` files with an exported generator.

Three sub-commands over :mod:`ascendgan.inference`::

    ascendgan infer write-inputs --output inputs --seeds 0 1 --latent-dim 120 --labels 3 5
    ascendgan infer run --model biggan.pb --input inputs --output offline --png
    ascendgan infer compare online offline --tolerance 1e-5

``python -m ascendgan.inference ...`` runs the same command.
"""

from __future__ import annotations

from ascendgan import inference
from ascendgan.latents import LATENT_DISTRIBUTIONS


def add_parser(subparsers):
    """Registers the ``infer`` sub-command (with ``func=run``) on ``subparsers``; returns it."""
    parser = subparsers.add_parser(
        "infer", help="offline inference on raw .bin files: write inputs, run an exported model, compare",
        description="Offline inference on raw .bin files with an exported ascendgan generator.",
    )
    sub = parser.add_subparsers(dest="infer_command", required=True)

    inputs = sub.add_parser("write-inputs", help="write z (and y) .bin inputs for seeds")
    inputs.add_argument("--output", required=True, help="input folder to write (gets z/ and y/)")
    inputs.add_argument("--seeds", type=int, nargs="+", required=True, help="integer seeds")
    inputs.add_argument("--latent-dim", type=int, required=True, help="size of z")
    inputs.add_argument("--labels", type=int, nargs="+", default=None,
                        help="class id(s): one for all seeds or one per seed (conditional models)")
    inputs.add_argument("--distribution", default="normal",
                        help="latent prior: " + ", ".join(LATENT_DISTRIBUTIONS))
    inputs.add_argument("--truncation", type=float, default=None, help="truncation threshold")
    inputs.add_argument("--batch-size", type=int, default=1, help="the model's batch size (default 1)")
    inputs.add_argument("--label-rank", type=int, default=1, choices=(1, 2),
                        help="y shape: 1 -> (batch,), 2 -> (batch, 1)")

    run_model = sub.add_parser("run", help="run an exported model on an input folder")
    run_model.add_argument("--model", required=True, help="frozen graph .pb, SavedModel folder or .onnx")
    run_model.add_argument("--input", required=True, help="input folder (<input>/<name>/<stem>.bin)")
    run_model.add_argument("--output", required=True, help="output folder")
    run_model.add_argument("--png", action="store_true", help="also write PNG grids")

    check = sub.add_parser("compare", help="max abs difference of two .bin files or folders")
    check.add_argument("a")
    check.add_argument("b")
    check.add_argument("--tolerance", type=float, default=None,
                       help="exit with status 1 when the max abs diff exceeds it")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    """Runs ``ascendgan infer`` for parsed arguments; returns the exit status."""
    if args.infer_command == "write-inputs":
        labels = None
        if args.labels is not None:
            labels = args.labels[0] if len(args.labels) == 1 else args.labels
        stems = inference.write_seed_inputs(
            args.output, args.seeds, args.latent_dim, labels=labels,
            latent_distribution=args.distribution, truncation=args.truncation,
            batch_size=args.batch_size, label_rank=args.label_rank,
        )
        print(f"wrote {len(stems)} input batch(es) to {args.output}")
        return 0
    if args.infer_command == "run":
        outputs = inference.run_inference(args.model, args.input, args.output, png=args.png)
        print(f"wrote {len(outputs)} output(s) to {args.output}")
        return 0
    report = inference.compare(args.a, args.b)
    print(report)
    if args.tolerance is not None and not report.within(args.tolerance):
        return 1
    return 0


__all__ = ["add_parser", "run"]
