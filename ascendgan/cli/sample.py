"""``ascendgan sample``: sample grids and latent interpolations from a run."""

from __future__ import annotations

from ascendgan import sampling
from ascendgan.cli.common import add_run_arguments
from ascendgan.cli.train import positive_int
from ascendgan.recipes import load_run


def sample(args) -> int:
    """``ascendgan sample``."""
    gan, checkpoint = load_run(args.run_dir, args.checkpoint)
    use_ema = not args.raw
    output = args.output
    if gan.latent_dim is None:
        raise SystemExit("`ascendgan sample` draws from latents; for Pix2Pix use Pix2Pix.translate "
                         "or the sample grids the training run writes.")
    if args.interpolate:
        frames = sampling.interpolate(gan, steps=args.interpolate, start_seed=args.seed,
                                      end_seed=args.seed + 1, method=args.method, label=args.label,
                                      truncation=args.truncation, use_ema=use_ema)
        stem = output[:-4] if output.endswith((".png", ".gif")) else output
        sampling.save_image_grid(frames, stem + ".png", columns=args.interpolate)
        sampling.save_gif(frames, stem + ".gif", duration_ms=args.duration_ms)
        print(f"wrote {stem}.png and {stem}.gif ({args.method}, {args.interpolate} frames) from {checkpoint}")
        return 0
    if gan.num_classes and args.label is None:
        picture = sampling.class_grid(gan, per_class=args.columns or 8, truncation=args.truncation,
                                      seed=args.seed, use_ema=use_ema)
    else:
        labels = None if args.label is None else [args.label] * args.n
        picture = sampling.sample_grid(gan, n=args.n, columns=args.columns, labels=labels,
                                       truncation=args.truncation, seed=args.seed, use_ema=use_ema)
    sampling.save_png(picture, output)
    print(f"wrote {output} from {checkpoint}")
    return 0


def add_parser(subparsers):
    """Registers ``sample``."""
    parser = subparsers.add_parser("sample", help="write sample grids or latent interpolations from a run")
    add_run_arguments(parser)
    parser.add_argument("--output", default="samples.png", help="PNG path (default samples.png)")
    parser.add_argument("--n", type=positive_int, default=64, help="images (unconditional; default 64)")
    parser.add_argument("--columns", type=positive_int, default=None,
                        help="images per row (class-conditional: per class, default 8)")
    parser.add_argument("--label", type=int, default=None, help="one class for every image")
    parser.add_argument("--truncation", type=float, default=None, help="truncation threshold, e.g. 2.0")
    parser.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    parser.add_argument("--interpolate", type=positive_int, default=None, metavar="STEPS",
                        help="interpolate between the latents of --seed and --seed+1; writes PNG and GIF")
    parser.add_argument("--method", choices=("linear", "slerp"), default="slerp", help="interpolation")
    parser.add_argument("--duration-ms", type=positive_int, default=120, help="GIF frame duration")
    parser.set_defaults(func=sample)
    return parser


__all__ = ["add_parser", "sample"]
