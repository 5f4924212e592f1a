"""The ``ascendgan`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys

# TensorFlow's C++ start-up chatter (oneDNN / CUDA notices) is noise on a command line.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _demo(args) -> int:
    """Trains one spectrally-normalized layer for a few steps and prints σ converging to 1."""
    import numpy as np
    import tensorflow as tf

    from ascendgan import compat
    from ascendgan.layers import SNConv2D

    compat.set_random_seed(args.seed)
    layer = SNConv2D(16, 3, padding="same")
    images = tf.random.normal((4, 32, 32, 3))
    layer(images, training=False)
    matrix = np.asarray(layer.kernel).reshape(-1, 16)
    raw_sigma = np.linalg.svd(matrix, compute_uv=False)[0]
    print(f"keras {'.'.join(map(str, compat.KERAS_VERSION))}: SNConv2D kernel σ = {raw_sigma:.4f}")
    for step in range(1, args.steps + 1):
        layer(images, training=True)
        normalized = matrix / float(layer._sn_sigma_estimate())
        sigma = np.linalg.svd(normalized, compute_uv=False)[0]
        print(f"step {step:2d}: σ(W/σ̂) = {sigma:.5f}")
    return 0


def _key_value(text):
    """``key=value`` with a JSON value (``8``, ``0.5``, ``[1, 2]``, ``null``) or a plain string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, received {text!r}")
    key, value = text.split("=", 1)
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return value


def add_train_arguments(parser, family=None):
    """The ``train`` options (shared by ``ascendgan train`` and the example scripts)."""
    from ascendgan.recipes import DEFAULT_PRESETS, FAMILIES

    if family is None:
        parser.add_argument("family", choices=FAMILIES, help="model family")
    parser.add_argument("--preset", default=None,
                        help="factory preset (default: " + (", ".join(f"{k} {v}" for k, v in DEFAULT_PRESETS.items())
                                                            if family is None else DEFAULT_PRESETS[family]) + ")")
    parser.add_argument("--data", default=None,
                        help="data location: MNIST IDX folder, CIFAR-10 batches or class folders, an image "
                             "folder, A|B pairs or photos (--pairs edges); default for MNIST presets: "
                             "the MNIST test split shipped with ascendgan")
    parser.add_argument("--cache", default=None, metavar="DIR",
                        help="copy a remote --data folder (gs://, s3://, hdfs://, ...) to this local folder first")
    parser.add_argument("--out", default=None, help="run directory (default runs/<family>_<preset>)")
    parser.add_argument("--epochs", type=_positive_int, default=None, help="passes over the data (default: the preset's)")
    parser.add_argument("--steps", type=_positive_int, default=None, help="total generator steps (overrides --epochs)")
    parser.add_argument("--batch-size", type=_positive_int, default=None, help="images per D step (default: the preset's)")
    parser.add_argument("--sample-every", type=_positive_int, default=None, help="steps between sample grids")
    parser.add_argument("--checkpoint-every", type=_positive_int, default=None, help="steps between checkpoints")
    parser.add_argument("--keep", type=_positive_int, default=None, help="checkpoints kept")
    parser.add_argument("--num-samples", type=_positive_int, default=64, help="images per sample grid (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data order, weights and latents (default 0)")
    parser.add_argument("--set", dest="overrides", metavar="KEY=VALUE", type=_key_value, action="append",
                        default=[], help="override a preset key, e.g. --set base_filters=32 (repeatable)")
    parser.add_argument("--pairs", choices=("ab", "edges"), default="ab",
                        help="Pix2Pix data: side-by-side A|B files, or edges->photo pairs from photos")
    parser.add_argument("--diff-augment", default=None, metavar="POLICY",
                        help="DiffAugment before D, e.g. color,translation,cutout")
    parser.add_argument("--skip-corrupt", action="store_true", help="skip unreadable images with a warning")
    parser.add_argument("--limit", type=_positive_int, default=None, help="use only this many training examples")
    parser.add_argument("--no-resume", action="store_true", help="start afresh even if checkpoints exist")
    parser.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard logs")
    parser.add_argument("--smoke", action="store_true", help="tiny network, 2 steps: check the pipeline end to end")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    from ascendgan.strategy import add_strategy_arguments

    add_strategy_arguments(parser)  # --device, --precision, --loss-scale, --devices
    if family is not None:
        parser.set_defaults(family=family)
    return parser


def _train(args) -> int:
    from ascendgan.strategy import strategy_from_arguments
    from ascendgan.recipes import train_gan

    result = train_gan(
        args.family, preset=args.preset, data=args.data, out=args.out, epochs=args.epochs,
        steps=args.steps, batch_size=args.batch_size, sample_every=args.sample_every,
        checkpoint_every=args.checkpoint_every, keep=args.keep, num_samples=args.num_samples,
        precision=args.precision, seed=args.seed, smoke=args.smoke, overrides=dict(args.overrides),
        pairs=args.pairs, diff_augment=args.diff_augment, skip_corrupt=args.skip_corrupt, cache=args.cache,
        limit=args.limit, resume=not args.no_resume, tensorboard=not args.no_tensorboard,
        verbose=0 if args.quiet else 1, strategy=strategy_from_arguments(args),
    )
    print(f"run directory: {result['run_dir']}")
    print(f"generator steps: {result.get('final_step')} of {result['steps']} (resumed from {result['resumed_from']})")
    for key, value in sorted(result.get("logs", {}).items()):
        print(f"  {key}: {value:.4g}")
    if result["samples"]:
        print(f"last sample grid: {result['samples'][-1]}")
    return 0


def _add_run_arguments(parser):
    parser.add_argument("run_dir", help="a run directory written by `ascendgan train`")
    parser.add_argument("--checkpoint", default=None, help="a checkpoint path (default: the run's latest)")
    parser.add_argument("--raw", action="store_true", help="use the raw generator, not its moving average")


def _sample(args) -> int:
    from ascendgan import sampling
    from ascendgan.recipes import load_run

    gan, checkpoint = load_run(args.run_dir, args.checkpoint)
    use_ema = not args.raw
    output = args.output
    if gan.preset and gan.preset.get("family") == "pix2pix":
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


def _export(args) -> int:
    from ascendgan import export
    from ascendgan.recipes import load_run

    gan, checkpoint = load_run(args.run_dir, args.checkpoint)
    path = export.export(gan, args.output, format=args.format, batch_size=args.batch_size,
                         training=args.training, use_ema=not args.raw, label_rank=args.label_rank)
    print(f"exported {args.format} to {path} (from {checkpoint})")
    if args.format == "frozen_graph":
        print("Ascend offline model: " + export.atc_command(path, soc_version=args.soc_version))
    return 0


def _evaluate(args) -> int:
    from ascendgan import compat, metrics
    from ascendgan.recipes import build_dataset, load_run, read_run

    gan, checkpoint = load_run(args.run_dir, args.checkpoint)
    run = read_run(args.run_dir)
    data = args.data if args.data is not None else run.get("data")
    if args.extractor == "inception":
        weights = None if args.weights == "none" else (args.weights or "imagenet")
        extractor = metrics.inception_v3_extractor(weights=weights, image_size=args.image_size,
                                                   download=False)
    else:
        model = compat.keras.models.load_model(args.extractor, compile=False)
        extractor = metrics.FeatureExtractor(model, features_layer=args.features_layer,
                                             image_size=args.image_size, name=args.extractor)
    reference = build_dataset(gan, data, batch_size=args.batch_size, seed=args.seed, pairs=run.get("pairs", "ab"),
                              repeat=False, shuffle=False)
    source = (lambda n: gan.generate(n, use_ema=False)) if args.raw else gan
    result = metrics.evaluate(
        source, reference, metrics=args.metrics.split(","), num_samples=args.num_samples, extractor=extractor,
        batch_size=args.batch_size, seed=args.seed, reference_samples=args.reference_samples,
        reference_name=str(data), reference_split="train", cache_dir=args.cache_dir,
    )
    payload = {"checkpoint": checkpoint, **result.as_dict()}
    for key, value in result.values.items():
        print(f"{key}: {value}")
    print("protocol: " + json.dumps(result.protocol, sort_keys=True, default=str))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, sort_keys=True, default=str)
        print(f"wrote {args.output}")
    return 0


def run_example(family, preset, description, argv=None) -> int:
    """The entry point of the training examples: ``ascendgan train <family>`` with the
    example's preset as the default and its docstring as the help text."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_train_arguments(parser, family)
    parser.set_defaults(preset=preset)
    return _train(parser.parse_args(argv))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ascendgan", description="GAN building blocks for TensorFlow / Keras."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="show spectral normalization converging on a layer")
    demo.add_argument("--steps", type=int, default=8, help="training calls (default 8)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(func=_demo)
    train = sub.add_parser("train", help="train a documented GAN (dcgan, biggan, pix2pix)",
                           description="Train a documented GAN; resumes from the run directory's checkpoints.")
    add_train_arguments(train)
    train.set_defaults(func=_train)

    sample = sub.add_parser("sample", help="write sample grids or latent interpolations from a run")
    _add_run_arguments(sample)
    sample.add_argument("--output", default="samples.png", help="PNG path (default samples.png)")
    sample.add_argument("--n", type=_positive_int, default=64, help="images (unconditional; default 64)")
    sample.add_argument("--columns", type=_positive_int, default=None,
                        help="images per row (class-conditional: per class, default 8)")
    sample.add_argument("--label", type=int, default=None, help="one class for every image")
    sample.add_argument("--truncation", type=float, default=None, help="truncation threshold, e.g. 2.0")
    sample.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    sample.add_argument("--interpolate", type=_positive_int, default=None, metavar="STEPS",
                        help="interpolate between the latents of --seed and --seed+1; writes PNG and GIF")
    sample.add_argument("--method", choices=("linear", "slerp"), default="slerp", help="interpolation")
    sample.add_argument("--duration-ms", type=_positive_int, default=120, help="GIF frame duration")
    sample.set_defaults(func=_sample)

    evaluate = sub.add_parser("evaluate", help="FID / KID / IS / precision-recall of a run's generator")
    _add_run_arguments(evaluate)
    evaluate.add_argument("--data", default=None, help="reference images (default: the run's training data)")
    evaluate.add_argument("--metrics", default="fid,kid,is", help="comma-separated: fid, kid, is, precision_recall")
    evaluate.add_argument("--num-samples", type=_positive_int, default=10_000, help="generated images (default 10,000)")
    evaluate.add_argument("--reference-samples", type=_positive_int, default=None,
                          help="reference images used (default: all)")
    evaluate.add_argument("--extractor", default="inception",
                          help="'inception' (InceptionV3 from keras.applications) or a saved Keras model file")
    evaluate.add_argument("--weights", default=None,
                          help="InceptionV3 weights file; default: ImageNet weights from the Keras cache; "
                               "'none' = random weights (only for checking the pipeline)")
    evaluate.add_argument("--features-layer", default=None, help="feature layer of a custom extractor")
    evaluate.add_argument("--image-size", type=_positive_int, default=299, help="extractor input size (default 299)")
    evaluate.add_argument("--batch-size", type=_positive_int, default=50, help="images per extractor call")
    evaluate.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    evaluate.add_argument("--cache-dir", default=None, help="cache reference statistics here")
    evaluate.add_argument("--output", default=None, help="also write the numbers and protocol as JSON")
    evaluate.set_defaults(func=_evaluate)

    export = sub.add_parser("export", help="export a run's generator: SavedModel, frozen graph, ONNX")
    _add_run_arguments(export)
    export.add_argument("--format", choices=("saved_model", "frozen_graph", "onnx"), default="frozen_graph",
                        help="default frozen_graph (inputs z, y; output `output`)")
    export.add_argument("--output", required=True, help="output path (.pb / folder / .onnx)")
    export.add_argument("--batch-size", type=_positive_int, default=1, help="static batch size (default 1)")
    export.add_argument("--label-rank", type=int, choices=(1, 2), default=1,
                        help="y of shape (batch,) or (batch, 1)")
    export.add_argument("--training", action="store_true",
                        help="batch norm and dropout in training mode (Pix2Pix's test mode)")
    export.add_argument("--soc-version", default="Ascend910", help="for the printed ATC command")
    export.set_defaults(func=_export)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
