"""``ascendgan evaluate``: FID / KID / IS / precision-recall of a run's generator."""

from __future__ import annotations

import json

import tensorflow as tf

from ascendgan import compat, metrics
from ascendgan.cli.common import add_run_arguments
from ascendgan.cli.train import positive_int
from ascendgan.files import write_json
from ascendgan.recipes import DataSource, RunDirectory, load_run, preset_dataset, run_preset

#: The reference name of the MNIST test split shipped inside the package (``data=None``).
SHIPPED_MNIST = "mnist (shipped with ascendgan)"


def _extractor(args):
    if args.extractor == "inception":
        weights = None if args.weights == "none" else (args.weights or "imagenet")
        return metrics.inception_v3_extractor(weights=weights, image_size=args.image_size, download=False)
    model = compat.load_model(args.extractor, safe_mode=not args.unsafe_extractor)
    return metrics.FeatureExtractor(model, features_layer=args.features_layer,
                                    image_size=args.image_size, name=args.extractor)


def reference_protocol(preset, data):
    """``(name, split)`` of the images ``preset_dataset(preset, DataSource(data), ...)`` reads,
    stamped on the evaluation.

    The shipped MNIST (``data=None``, an MNIST preset) is the MNIST test split (the ``t10k``
    files); an MNIST or CIFAR-10 path is read for its training split; an image folder (or a
    folder of pairs) is read whole: split ``"all"``. Mirrors the loader choice of
    :func:`ascendgan.recipes.preset_dataset`.
    """
    kind = preset.data.kind
    if data is None:
        # preset_dataset reads the shipped test split for MNIST and refuses data=None otherwise
        return (SHIPPED_MNIST, "test") if kind == "mnist" else (None, None)
    data = str(data)
    if kind == "mnist":
        return data, "train"
    if kind == "cifar10" and not _is_flat_image_folder(data):
        return data, "train"  # CIFAR-10 batches or <data>/train/<class>/ folders
    return data, "all"


def _is_flat_image_folder(path):  # the test preset_dataset uses to pick image_folder for CIFAR-10
    return any(name.lower().endswith((".jpg", ".jpeg", ".png")) for name in tf.io.gfile.listdir(path))


def evaluate(args) -> int:
    """``ascendgan evaluate``."""
    extractor = _extractor(args)  # first: a refused --extractor fails before any work
    gan, checkpoint = load_run(args.run_dir, args.checkpoint)
    record = RunDirectory(args.run_dir).read()
    data = args.data if args.data is not None else record.get("data")
    source = DataSource(data, pairs=record.get("pairs", "ab"))
    preset = run_preset(record)
    reference = preset_dataset(preset, source, args.batch_size, seed=args.seed,
                               repeat=False, shuffle=False)
    reference_name, reference_split = reference_protocol(preset, data)
    settings = metrics.EvaluationSettings(
        metrics=args.metrics.split(","), num_samples=args.num_samples, extractor=extractor,
        batch_size=args.batch_size, seed=args.seed, use_ema=not args.raw,
        reference_samples=args.reference_samples, reference_name=reference_name,
        reference_split=reference_split,
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
                        help="'inception' (InceptionV3 from keras.applications) or a saved Keras model "
                             "(.keras, .h5; a SavedModel folder in legacy Keras), loaded in safe mode: "
                             "a file with Python code (a Lambda layer) is refused")
    parser.add_argument("--unsafe-extractor", action="store_true",
                        help="load an --extractor file even if it holds Python code (Lambda layers), "
                             "which runs on loading: only for files you trust")
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


__all__ = ["SHIPPED_MNIST", "add_parser", "evaluate", "reference_protocol"]
