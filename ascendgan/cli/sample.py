"""``ascendgan sample``: sample grids, latent walks and class-to-class GIFs from a run.

Samples are drawn with the preset's truncation threshold (BigGAN: 2.0, as the documented
runs sample and evaluate) unless ``--truncation`` gives another one or ``none``; the
threshold used is printed and stamped in the PNG (text chunk) and GIF (comment).
"""

from __future__ import annotations

import argparse

import numpy as np

from ascendgan import sampling
from ascendgan.cli.common import add_run_arguments
from ascendgan.cli.train import positive_int
from ascendgan.recipes import RunDirectory, load_run, run_preset

#: ``--truncation none``: sample from the full prior, whatever the preset says.
NO_TRUNCATION = "none"
#: Frames of a class-to-class interpolation without ``--interpolate`` (the documented
#: morph: the class weight in steps of 0.1).
CLASS_FRAMES = 11
#: GIF frame durations: latent walks, and class morphs (the documented 2 frames / s).
WALK_FRAME_MS, CLASS_FRAME_MS = 120, 500


def truncation_argument(text):
    """``--truncation`` values: a threshold > 0, or ``none``."""
    if str(text).lower() == NO_TRUNCATION:
        return NO_TRUNCATION
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise argparse.ArgumentTypeError(f"expected a threshold > 0 or 'none'; received {text!r}")
    return value


def add_truncation_argument(parser):
    """``--truncation T|none`` (default: the preset's threshold)."""
    parser.add_argument("--truncation", type=truncation_argument, default=None, metavar="T|none",
                        help="truncation threshold of the latents (default: the preset's, "
                             "2.0 for BigGAN; 'none' samples the full prior)")


def resolve_truncation(requested, preset):
    """``(threshold or None, how it was chosen)`` for a ``--truncation`` value and a run's
    preset: ``None`` (not given) takes ``preset.schedule.truncation``.

    Example:

    >>> from ascendgan.models import get_family
    >>> resolve_truncation(None, get_family("biggan").preset("cifar10"))
    (2.0, "the preset's")
    >>> resolve_truncation("none", get_family("biggan").preset("cifar10"))
    (None, '--truncation none')
    """
    if requested is None:
        threshold = preset.schedule.truncation
        return threshold, "the preset's" if threshold is not None else "the preset has none"
    if requested == NO_TRUNCATION:
        return None, "--truncation none"
    return float(requested), "--truncation"


def describe_truncation(threshold, reason):
    """``"truncation 2.0 (the preset's)"`` / ``"no truncation (--truncation none)"``."""
    return (f"truncation {float(threshold)}" if threshold is not None else "no truncation") + f" ({reason})"


def _stem(output):
    return output[:-4] if output.endswith((".png", ".gif")) else output


def _class_morph(args, gan, truncation, stamp, note):
    first, last = args.interpolate_classes
    steps = args.interpolate or CLASS_FRAMES
    frames = sampling.interpolate_classes(gan, first, last, steps=steps, n=args.n, seed=args.seed,
                                          truncation=truncation, use_ema=not args.raw)
    stem = _stem(args.output)
    pictures = [sampling.image_grid(frame, columns=args.columns) for frame in frames]
    comment = "; ".join(f"{key}={value}" for key, value in stamp.items())
    sampling.save_gif(pictures, stem + ".gif", duration_ms=args.duration_ms or CLASS_FRAME_MS,
                      comment=comment)
    # the PNG: one row per latent, one column per frame
    rows = np.swapaxes(frames, 0, 1).reshape((-1, *frames.shape[2:]))
    sampling.save_image_grid(rows, stem + ".png", columns=steps, text=stamp)
    return (f"wrote {stem}.gif and {stem}.png (class {first} -> {last}, {steps} frames of "
            f"{args.n}; {note})")


def sample(args) -> int:
    """``ascendgan sample``."""
    gan, checkpoint = load_run(args.run_dir, args.checkpoint)
    preset = run_preset(RunDirectory(args.run_dir).read())
    use_ema = not args.raw
    output = args.output
    if gan.latent_dim is None:
        raise SystemExit("`ascendgan sample` draws from latents; for Pix2Pix use Pix2Pix.translate "
                         "or the sample grids the training run writes.")
    truncation, reason = resolve_truncation(args.truncation, preset)
    note = describe_truncation(truncation, reason)
    stamp = {"checkpoint": checkpoint, "seed": args.seed,
             "truncation": "none" if truncation is None else str(float(truncation)),
             "generator": "ema" if use_ema and gan.ema_generator is not None else "raw"}
    if args.interpolate_classes:
        print(f"{_class_morph(args, gan, truncation, stamp, note)} from {checkpoint}")
        return 0
    if args.interpolate:
        frames = sampling.interpolate(gan, steps=args.interpolate, start_seed=args.seed,
                                      end_seed=args.seed + 1, method=args.method, label=args.label,
                                      truncation=truncation, use_ema=use_ema)
        stem = _stem(output)
        sampling.save_image_grid(frames, stem + ".png", columns=args.interpolate, text=stamp)
        sampling.save_gif(frames, stem + ".gif", duration_ms=args.duration_ms or WALK_FRAME_MS,
                          comment="; ".join(f"{key}={value}" for key, value in stamp.items()))
        print(f"wrote {stem}.png and {stem}.gif ({args.method}, {args.interpolate} frames; {note}) "
              f"from {checkpoint}")
        return 0
    if gan.num_classes and args.label is None:
        picture = sampling.class_grid(gan, per_class=args.columns or 8, truncation=truncation,
                                      seed=args.seed, use_ema=use_ema)
    else:
        labels = None if args.label is None else [args.label] * args.n
        picture = sampling.sample_grid(gan, n=args.n, columns=args.columns, labels=labels,
                                       truncation=truncation, seed=args.seed, use_ema=use_ema)
    sampling.save_png(picture, output, text=stamp)
    print(f"wrote {output} ({note}) from {checkpoint}")
    return 0


def add_parser(subparsers):
    """Registers ``sample``."""
    parser = subparsers.add_parser(
        "sample", help="write sample grids, latent walks or class-to-class GIFs from a run")
    add_run_arguments(parser)
    parser.add_argument("--output", default="samples.png", help="PNG path (default samples.png)")
    parser.add_argument("--n", type=positive_int, default=64,
                        help="images (unconditional grids; per frame with --interpolate-classes); "
                             "default 64")
    parser.add_argument("--columns", type=positive_int, default=None,
                        help="images per row (class-conditional: per class, default 8)")
    parser.add_argument("--label", type=int, default=None, help="one class for every image")
    add_truncation_argument(parser)
    parser.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    parser.add_argument("--interpolate", type=positive_int, default=None, metavar="STEPS",
                        help="interpolate between the latents of --seed and --seed+1; writes PNG and "
                             f"GIF (with --interpolate-classes: the frames, default {CLASS_FRAMES})")
    parser.add_argument("--interpolate-classes", type=int, nargs=2, default=None, metavar=("A", "B"),
                        help="class-to-class GIF: shared latents, the class embedding interpolated "
                             "from class A to class B (BigGAN); writes GIF and PNG")
    parser.add_argument("--method", choices=("linear", "slerp"), default="slerp", help="interpolation")
    parser.add_argument("--duration-ms", type=positive_int, default=None,
                        help=f"GIF frame duration (default {WALK_FRAME_MS}; class morphs "
                             f"{CLASS_FRAME_MS}, 2 frames / s as documented)")
    parser.set_defaults(func=sample)
    return parser


__all__ = ["NO_TRUNCATION", "add_parser", "add_truncation_argument", "describe_truncation",
           "resolve_truncation", "sample", "truncation_argument"]
