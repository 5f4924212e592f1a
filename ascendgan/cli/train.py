"""``ascendgan train``: the arguments of a run, turned into a :class:`~ascendgan.recipes.GANRun`."""

from __future__ import annotations

import argparse
import json

from ascendgan.cli.graph_options import add_graph_arguments, graph_options_from_arguments
from ascendgan.cli.strategy_options import add_strategy_arguments, strategy_from_arguments
from ascendgan.models import family_names, get_family
from ascendgan.recipes import PAIR_LAYOUTS, TRAINING_FID_SAMPLES, DataSource, GANRun, train_gan


def key_value(text):
    """``key=value`` with a JSON value (``8``, ``0.5``, ``[1, 2]``, ``null``) or a plain string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, received {text!r}")
    key, value = text.split("=", 1)
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def positive_int(text):
    """An ``argparse`` type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return value


def _default_presets(family):
    if family is not None:
        return get_family(family).default_preset
    return ", ".join(f"{name} {get_family(name).default_preset}" for name in family_names())


def add_train_arguments(parser, family=None):
    """The ``train`` options; with ``family`` the positional family argument is left out."""
    if family is None:
        parser.add_argument("family", choices=family_names(), help="model family")
    parser.add_argument("--preset", default=None, help=f"factory preset (default: {_default_presets(family)})")
    parser.add_argument("--data", "--data_url", "--data-url", dest="data", default=None,
                        help="data location: MNIST IDX folder, CIFAR-10 batches or class folders, an image "
                             "folder, A|B pairs or photos (--pairs edges), or a .zip / .tar(.gz) of one; "
                             "local or remote (obs://, s3://, gs://: copied to the cache first); default for "
                             "MNIST presets: the MNIST test split shipped with ascendgan")
    parser.add_argument("--cache", default=None, metavar="DIR",
                        help="local folder a remote --data is copied to / an archive unpacked in (default: "
                             "/cache/ascendgan on ModelArts, else a temporary folder)")
    parser.add_argument("--train_url", "--train-url", dest="train_url", default=None, metavar="URL",
                        help="copy the run directory to this folder or URL (obs://, s3://, gs://) after "
                             "every checkpoint and at the end; a restarted job resumes from it")
    parser.add_argument("--out", default=None, help="run directory (default runs/<family>_<preset>)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="passes over the data (default: the preset's)")
    parser.add_argument("--steps", type=positive_int, default=None, help="total generator steps (overrides --epochs)")
    parser.add_argument("--batch-size", type=positive_int, default=None, help="images per D step (default: the preset's)")
    parser.add_argument("--sample-every", type=positive_int, default=None, help="steps between sample grids")
    parser.add_argument("--checkpoint-every", type=positive_int, default=None, help="steps between checkpoints")
    parser.add_argument("--keep", type=positive_int, default=None, help="checkpoints kept")
    parser.add_argument("--num-samples", type=positive_int, default=64, help="images per sample grid (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data order, weights and latents (default 0)")
    parser.add_argument("--set", dest="overrides", metavar="KEY=VALUE", type=key_value, action="append",
                        default=[], help="override a preset key, e.g. --set base_filters=32 (repeatable)")
    parser.add_argument("--pairs", choices=PAIR_LAYOUTS, default="ab",
                        help="Pix2Pix data: side-by-side A|B files, or edges->photo pairs from photos")
    parser.add_argument("--diff-augment", default=None, metavar="POLICY",
                        help="DiffAugment before D, e.g. color,translation,cutout")
    parser.add_argument("--skip-corrupt", action="store_true", help="skip unreadable images with a warning")
    parser.add_argument("--limit", type=positive_int, default=None, help="use only this many training examples")
    parser.add_argument("--no-resume", action="store_true", help="start afresh even if checkpoints exist")
    parser.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard logs")
    parser.add_argument("--fid-every", type=int, default=None, metavar="STEPS",
                        help="steps between FIDs on 2,000 samples during training (MNIST / CIFAR-10 "
                             "presets: the shipped extractor vs the held-out split; printed and in "
                             "TensorBoard); default: every checkpoint; 0: off")
    parser.add_argument("--smoke", action="store_true", help="tiny network, 2 steps: check the pipeline end to end")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_strategy_arguments(parser)  # --device, --precision, --loss-scale, --devices
    add_graph_arguments(parser)  # --graph-mode, --npu-option KEY=VALUE
    if family is not None:
        parser.set_defaults(family=family)
    return parser


def run_from_arguments(args):
    """The :class:`~ascendgan.recipes.GANRun` that parsed ``train`` arguments describe."""
    return GANRun(
        args.family, preset=args.preset, overrides=dict(args.overrides),
        data=DataSource(args.data, pairs=args.pairs, skip_corrupt=args.skip_corrupt,
                        limit=args.limit, cache=args.cache),
        out=args.out, epochs=args.epochs, steps=args.steps, batch_size=args.batch_size,
        sample_every=args.sample_every, checkpoint_every=args.checkpoint_every, keep=args.keep,
        num_samples=args.num_samples, seed=args.seed, smoke=args.smoke,
        diff_augment=args.diff_augment, resume=not args.no_resume,
        tensorboard=not args.no_tensorboard, verbose=0 if args.quiet else 1, fid_every=args.fid_every,
        strategy=strategy_from_arguments(args), train_url=args.train_url,
        graph_mode=args.graph_mode, npu_options=graph_options_from_arguments(args),
    )


def print_result(result):
    """Prints what :func:`~ascendgan.recipes.train_gan` returned."""
    print(f"run directory: {result['run_dir']}")
    print(f"generator steps: {result.get('final_step')} of {result['steps']} (resumed from {result['resumed_from']})")
    for key, value in sorted(result.get("logs", {}).items()):
        during = key.split("_")[0] in ("fid", "kid", "is")  # GANRun.fid_every's last value
        print(f"  {key}: {value:.4g}" + (f" (last FID during training, {TRAINING_FID_SAMPLES:,} samples)"
                                         if during else ""))
    if result["samples"]:
        print(f"last sample grid: {result['samples'][-1]}")
    evaluation = result.get("evaluation")
    if evaluation:
        protocol = evaluation["protocol"]
        for key, value in evaluation.items():
            if key != "protocol":
                print(f"{key}: {value:.2f} ({protocol.get('num_samples')} samples of the final generator vs "
                      f"the {protocol.get('reference_split')} split, {protocol.get('extractor')} "
                      f"v{protocol.get('extractor_version')}; see docs/metrics.md for a calibration table)")


def train(args) -> int:
    """``ascendgan train``."""
    print_result(train_gan(run_from_arguments(args)))
    return 0


def add_parser(subparsers):
    """Registers ``train``."""
    parser = subparsers.add_parser(
        "train", help="train a registered GAN family (" + ", ".join(family_names()) + ")",
        description="Train a documented GAN; resumes from the run directory's checkpoints.")
    add_train_arguments(parser)
    parser.set_defaults(func=train)
    return parser


__all__ = ["add_parser", "add_train_arguments", "key_value", "positive_int", "print_result",
           "run_from_arguments", "train"]
