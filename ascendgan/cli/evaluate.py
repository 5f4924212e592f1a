"""``ascendgan evaluate``: FID / KID / IS / precision-recall of a run's generator."""

from __future__ import annotations

import json

from ascendgan import compat, metrics
from ascendgan.cli.common import add_run_arguments
from ascendgan.cli.train import positive_int
from ascendgan.files import write_json
from ascendgan.recipes import DataSource, RunDirectory, load_run, preset_dataset, run_preset


def _extractor(args):
    if args.extractor == "inception":
        weights = None if args.weights == "none" else (args.weights or "imagenet")
        return metrics.inception_v3_extractor(weights=weights, image_size=args.image_size, download=False)
    model = compat.keras.models.load_model(args.extractor, compile=False)
    return metrics.FeatureExtractor(model, features_layer=args.features_layer,
                                    image_size=args.image_size, name=args.extractor)


def evaluate(args) -> int:
    """``ascendgan evaluate``."""
    gan, checkpoint = load_run(args.run_dir, args.checkpoint)
    record = RunDirectory(args.run_dir).read()
    data = args.data if args.data is not None else record.get("data")
    source = DataSource(data, pairs=record.get("pairs", "ab"))
    reference = preset_dataset(run_preset(record), source, args.batch_size, seed=args.seed,
                               repeat=False, shuffle=False)
    settings = metrics.EvaluationSettings(
        metrics=args.metrics.split(","), num_samples=args.num_samples, extractor=_extractor(args),
        batch_size=args.batch_size, seed=args.seed, use_ema=not args.raw,
        reference_samples=args.reference_samples, reference_name=str(data), reference_split="train",
        cache_dir=args.cache_dir,
    )
    result = metrics.evaluate(gan, reference, settings)
    for key, value in result.values.items():
        print(f"{key}: {value}")
    print("protocol: " + json.dumps(result.protocol, sort_keys=True, default=str))
    if args.output:
        write_json(args.output, {"checkpoint": checkpoint, **result.as_dict()}, default=str)
        print(f"wrote {args.output}")
    return 0


def add_parser(subparsers):
    """Registers ``evaluate``."""
    parser = subparsers.add_parser("evaluate", help="FID / KID / IS / precision-recall of a run's generator")
    add_run_arguments(parser)
    parser.add_argument("--data", default=None, help="reference images (default: the run's training data)")
    parser.add_argument("--metrics", default="fid,kid,is", help="comma-separated: fid, kid, is, precision_recall")
    parser.add_argument("--num-samples", type=positive_int, default=10_000, help="generated images (default 10,000)")
    parser.add_argument("--reference-samples", type=positive_int, default=None,
                        help="reference images used (default: all)")
    parser.add_argument("--extractor", default="inception",
                        help="'inception' (InceptionV3 from keras.applications) or a saved Keras model file")
    parser.add_argument("--weights", default=None,
                        help="InceptionV3 weights file; default: ImageNet weights from the Keras cache; "
                             "'none' = random weights (only for checking the pipeline)")
    parser.add_argument("--features-layer", default=None, help="feature layer of a custom extractor")
    parser.add_argument("--image-size", type=positive_int, default=299, help="extractor input size (default 299)")
    parser.add_argument("--batch-size", type=positive_int, default=50, help="images per extractor call")
    parser.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    parser.add_argument("--cache-dir", default=None, help="cache reference statistics here")
    parser.add_argument("--output", default=None, help="also write the numbers and protocol as JSON")
    parser.set_defaults(func=evaluate)
    return parser


__all__ = ["add_parser", "evaluate"]
