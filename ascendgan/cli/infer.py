"""``ascendgan infer``: offline inference on raw ``.bin`` files with an exported generator.

Four sub-commands over :mod:`ascendgan.inference`::

    ascendgan infer write-inputs --run RUN --output inputs --seeds 0 1 2 3
    ascendgan infer run --model biggan.pb --input inputs --output offline --png
    ascendgan infer compare online offline --tolerance 1e-5
    ascendgan infer score npu_out --run RUN --metrics fid,kid,is

``write-inputs --run`` takes the latent size, prior, classes (random per seed) and the
preset's truncation (BigGAN: 2.0) from the run, as the documented BigGAN inputs;
``score`` evaluates a folder of offline outputs (msame's ``<stem>_output_0.bin`` /
``.txt``) like ``ascendgan evaluate`` evaluates the run's generator: the same extractor
choice and reference. ``python -m ascendgan.inference ...`` runs the same command.
"""

from __future__ import annotations

import argparse
import json

from ascendgan import inference, metrics
from ascendgan.cli import evaluate as evaluate_cli
from ascendgan.cli.sample import (
    NO_TRUNCATION,
    add_truncation_argument,
    describe_truncation,
    resolve_truncation,
)
from ascendgan.cli.train import positive_int
from ascendgan.files import write_json
from ascendgan.latents import LATENT_DISTRIBUTIONS
from ascendgan.recipes import RunDirectory, run_preset


class _Given(argparse.Action):
    """Stores the value and remembers that it was given (``namespace.given``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = set(getattr(namespace, "given", ())) | {self.dest}


def label_argument(text):
    """``--labels`` values: class ids, or ``random``."""
    if text == inference.RANDOM_LABELS:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a class id or 'random'; received {text!r}") from None


def image_shape_argument(text):
    """``--image-shape H,W,C``."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected HEIGHT,WIDTH,CHANNELS such as 32,32,3; received {text!r}")
    return shape


def _add_write_inputs(sub):
    inputs = sub.add_parser("write-inputs", help="write z (and y) .bin inputs for seeds")
    inputs.add_argument("--output", required=True, help="input folder to write (gets z/ and y/)")
    inputs.add_argument("--seeds", type=int, nargs="+", required=True, help="integer seeds")
    inputs.add_argument("--run", default=None,
                        help="a run directory: latent size, prior, classes and truncation come from "
                             "its preset (labels random per seed unless --labels)")
    inputs.add_argument("--latent-dim", type=int, default=None, action=_Given,
                        help="size of z (required without --run)")
    inputs.add_argument("--labels", type=label_argument, nargs="+", default=None,
                        help="class id(s): one for all seeds, one per seed, or 'random' (each "
                             "seed's ids as gan.generate draws them)")
    inputs.add_argument("--num-classes", type=positive_int, default=None, action=_Given,
                        help="classes of the model, for --labels random without --run")
    inputs.add_argument("--distribution", default="normal", action=_Given,
                        help="latent prior: " + ", ".join(LATENT_DISTRIBUTIONS) + " (default normal; "
                             "with --run the run's)")
    add_truncation_argument(inputs)
    inputs.add_argument("--batch-size", type=int, default=1, help="the model's batch size (default 1)")
    inputs.add_argument("--label-rank", type=int, default=1, choices=(1, 2),
                        help="y shape: 1 -> (batch,), 2 -> (batch, 1) (the same bytes)")


def _add_score(sub):
    score = sub.add_parser(
        "score", help="IS / FID / KID of offline outputs (msame .bin / .txt files), like `ascendgan evaluate`")
    score.add_argument("outputs", help="folder of <stem>_output_0.bin (or .txt) files, or msame's "
                                       "--output folder holding one run folder")
    score.add_argument("--run", required=True,
                       help="the run the model was exported from: image shape, data and extractor choice")
    score.add_argument("--dtype", choices=inference.OUTPUT_DTYPES, default="float32",
                       help="values of the .bin files (default float32; float16 for an ATC "
                            "--output_type=FP16 model)")
    score.add_argument("--outfmt", choices=inference.OUTPUT_FORMATS, default="auto",
                       help="bin or txt files (msame --outfmt; default: bin when there are any)")
    score.add_argument("--image-shape", type=image_shape_argument, default=None, metavar="H,W,C",
                       help="image shape of one output (default: the run's preset)")
    score.add_argument("--num-samples", type=positive_int, default=None,
                       help="images scored (default: all outputs)")
    score.add_argument("--seed", type=int, default=0, help="seed of feature subsets (default 0)")
    evaluate_cli.add_reference_arguments(score)

def add_parser(subparsers):
    """Registers the ``infer`` sub-command (with ``func=run``) on ``subparsers``; returns it."""
    parser = subparsers.add_parser(
        "infer", help="offline inference on raw .bin files: write inputs, run an exported model, "
                      "compare, score",
        description="Offline inference on raw .bin files with an exported ascendgan generator.",
    )
    sub = parser.add_subparsers(dest="infer_command", required=True)
    _add_write_inputs(sub)

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
    _add_score(sub)
    parser.set_defaults(func=run)
    return parser


def _input_settings(args):
    """``(latent_dim, distribution, labels, num_classes, truncation, note)`` of write-inputs."""
    given = getattr(args, "given", set())
    labels = args.labels
    if labels is not None and inference.RANDOM_LABELS in labels and len(labels) > 1:
        raise ValueError("`--labels random` stands alone. Received: --labels " + " ".join(map(str, labels)))
    if labels is not None:
        labels = labels[0] if len(labels) == 1 else labels
    if args.run is None:
        if args.latent_dim is None:
            raise ValueError("--latent-dim is required without --run (or pass --run RUN to take it "
                             "from the run's preset). Received: neither")
        if args.truncation in (None, NO_TRUNCATION):
            reason = "--truncation none" if args.truncation else "no --truncation, no --run"
            return (args.latent_dim, args.distribution, labels, args.num_classes, None,
                    describe_truncation(None, reason))
        return (args.latent_dim, args.distribution, labels, args.num_classes, args.truncation,
                describe_truncation(args.truncation, "--truncation"))
    preset = run_preset(RunDirectory(args.run).read())
    settings = preset.gan
    if settings.get("latent_dim") is None:
        raise ValueError(f"--run {args.run}: the run's model ({preset.family}) takes source images, "
                         "not latents; write its inputs with inference.write_inputs.")
    run_values = {"latent_dim": settings["latent_dim"], "num_classes": settings.get("num_classes"),
                  "distribution": settings.get("latent_distribution", "normal")}
    for name, value in run_values.items():
        if name in given and getattr(args, name) != value:
            raise ValueError(f"--{name.replace('_', '-')} {getattr(args, name)} conflicts with the run's "
                             f"{value} (--run {args.run}); leave it out to use the run's.")
    if labels is None and run_values["num_classes"]:
        labels = inference.RANDOM_LABELS  # the documented inputs: a random class per input
    truncation, reason = resolve_truncation(args.truncation, preset)
    return (run_values["latent_dim"], run_values["distribution"], labels, run_values["num_classes"],
            truncation, describe_truncation(truncation, reason))


def _write_inputs(args):
    latent_dim, distribution, labels, num_classes, truncation, note = _input_settings(args)
    stems = inference.write_seed_inputs(
        args.output, args.seeds, latent_dim, labels=labels, latent_distribution=distribution,
        truncation=truncation, batch_size=args.batch_size, label_rank=args.label_rank,
        num_classes=num_classes,
    )
    print(f"wrote {len(stems)} input batch(es) to {args.output} ({note})")
    return 0


def _score(args):
    record = RunDirectory(args.run).read()
    preset = run_preset(record)
    kind, reason = evaluate_cli.choose_extractor(args.extractor, args.weights, preset.data.kind)
    extractor = evaluate_cli._extractor(args, kind)
    print(evaluate_cli._describe(extractor, reason))
    data = args.data if args.data is not None else record.get("data")
    reference, name, split, statistics = evaluate_cli._reference(args, kind, extractor, preset, record, data)
    names = args.metrics or evaluate_cli.DEFAULT_METRICS["statistics" if statistics else "images"]
    settings = metrics.EvaluationSettings(
        metrics=names.split(","), num_samples=args.num_samples, extractor=extractor,
        batch_size=args.batch_size, seed=args.seed, reference_samples=args.reference_samples,
        reference_name=name, reference_split=split, cache_dir=args.cache_dir,
    )
    if statistics and settings.needs_features:
        raise ValueError("KID and precision / recall need reference images, and the shipped "
                         f"{kind} reference holds only feature statistics: pass --data PATH, or "
                         "--metrics fid,is.")
    shape = args.image_shape or (preset.data.image_size, preset.data.image_size, preset.data.channels)
    result = inference.evaluate_outputs(args.outputs, shape, reference, settings, dtype=args.dtype,
                                        output_format=args.outfmt)
    result.protocol["extractor_choice"] = reason
    for key, value in result.values.items():
        print(f"{key}: {value}")
    print("protocol: " + json.dumps(result.protocol, sort_keys=True, default=str))
    if args.output:
        write_json(args.output, {"outputs": args.outputs, **result.as_dict()}, default=str)
        print(f"wrote {args.output}")
    return 0


def run(args) -> int:
    """Runs ``ascendgan infer`` for parsed arguments; returns the exit status."""
    if args.infer_command == "write-inputs":
        return _write_inputs(args)
    if args.infer_command == "run":
        outputs = inference.run_inference(args.model, args.input, args.output, png=args.png)
        print(f"wrote {len(outputs)} output(s) to {args.output}")
        return 0
    if args.infer_command == "score":
        return _score(args)
    report = inference.compare(args.a, args.b)
    print(report)
    if args.tolerance is not None and not report.within(args.tolerance):
        return 1
    return 0


__all__ = ["add_parser", "image_shape_argument", "label_argument", "run"]
