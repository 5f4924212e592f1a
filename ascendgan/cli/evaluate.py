"""``ascendgan evaluate``: FID / KID / IS / precision-recall of a run's generator.

The extractor is InceptionV3 when its ImageNet weights are available offline, else the
shipped domain extractor of the run's data (``mnist_cnn``, ``cifar10_cnn``), whose
reference statistics ship with the package: ``ascendgan evaluate RUN`` then needs no
data set on disk. The choice is printed and stamped on the result.
"""

from __future__ import annotations

import json

from ascendgan import compat, metrics
from ascendgan.cli.common import add_run_arguments
from ascendgan.cli.sample import add_truncation_argument, describe_truncation, resolve_truncation
from ascendgan.cli.train import positive_int
from ascendgan.files import write_json
from ascendgan.recipes import (
    HELD_OUT,
    SHIPPED_MNIST,
    DataSource,
    RunDirectory,
    load_run,
    preset_dataset,
    run_preset,
    training_split,
)

#: ``--extractor`` names besides a model file.
EXTRACTORS = ("auto", "inception", *metrics.DOMAIN_EXTRACTORS)
#: Metrics without ``--metrics``: KID needs reference images, which shipped statistics lack.
DEFAULT_METRICS = {"images": "fid,kid,is", "statistics": "fid,is"}


def reference_protocol(preset, data):
    """``(name, split)`` of the images ``preset_dataset(preset, DataSource(data), ...)`` reads,
    stamped on the evaluation: :func:`ascendgan.recipes.training_split`."""
    return training_split(preset, data)


def choose_extractor(extractor, weights, data_kind):
    """``(kind, reason)``: which extractor ``--extractor`` means for a run.

    ``kind`` is ``"inception"``, a domain (``"mnist"``, ``"cifar10"``) or ``"file"``.
    ``"auto"`` is InceptionV3 when ``--weights`` is given or its ImageNet weights are in
    the Keras cache, else the domain extractor of the run's data kind.

    Raises:
        ValueError: ``"auto"`` with no InceptionV3 weights and a data kind without a
            shipped extractor.
    """
    if extractor != "auto":
        if extractor in EXTRACTORS:
            return extractor, f"--extractor {extractor}"
        return "file", f"--extractor {extractor} (a model file)"
    if weights is not None:
        return "inception", "auto: --weights given"
    try:
        path = metrics.imagenet_weights_path(download=False)
    except FileNotFoundError:
        if data_kind in metrics.DOMAIN_EXTRACTORS:
            return data_kind, (f"auto: no InceptionV3 ImageNet weights in the Keras cache; the "
                               f"run's data are {data_kind}")
        raise ValueError(
            "No extractor for this run: InceptionV3's ImageNet weights are not in the Keras "
            f"cache and the run's data ({data_kind}) have no shipped extractor "
            f"({', '.join(metrics.DOMAIN_EXTRACTORS)}). Pass --extractor inception --weights "
            "FILE, or --extractor MODEL_FILE."
        ) from None
    return "inception", f"auto: InceptionV3 ImageNet weights found ({path})"


def _extractor(args, kind):
    if kind == "inception":
        weights = None if args.weights == "none" else (args.weights or "imagenet")
        return metrics.inception_v3_extractor(weights=weights, image_size=args.image_size or 299,
                                              download=False)
    if kind in metrics.DOMAIN_EXTRACTORS:
        if args.weights is not None or args.image_size is not None or args.features_layer:
            raise ValueError(
                f"--weights, --image-size and --features-layer do not apply to the shipped "
                f"{kind} extractor (it takes its own image size, no resizing)."
            )
        return metrics.domain_extractor(kind)
    model = compat.load_model(args.extractor, safe_mode=not args.unsafe_extractor)
    image_size = args.image_size
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else None
    if image_size is None and shape is not None and len(shape) == 4 and None not in tuple(shape[1:3]):
        image_size = (int(shape[1]), int(shape[2]))  # the model's own input size
    return metrics.FeatureExtractor(model, features_layer=args.features_layer,
                                    image_size=image_size, name=args.extractor)


def _describe(extractor, reason):
    protocol = extractor.protocol
    name, label = protocol["extractor"], protocol["weights"]
    version = protocol.get("extractor_version")
    digest = protocol.get("weights_sha256")
    return (f"extractor: {name}" + (f" v{version}" if version is not None else "")
            + (f", sha256 {digest[:16]}" if digest else "")
            + ("" if label.startswith(name) else f", weights: {label}")
            + f"; chosen by {reason}")


def _reference(args, kind, extractor, preset, record, data):
    """``(reference, name, split, uses_statistics)`` of the evaluation."""
    if kind in metrics.DOMAIN_EXTRACTORS and args.data is None:
        _, trained = reference_protocol(preset, record.get("data"))
        split = args.reference_split or HELD_OUT.get(trained, "train")
        statistics = metrics.domain_reference(kind, split, extractor=extractor)
        if args.reference_samples is not None:
            raise ValueError("--reference-samples needs reference images (--data); the shipped "
                             f"{kind} statistics cover the whole {split} split.")
        return statistics, statistics.protocol["reference"], split, True
    if args.reference_split is not None:
        raise ValueError("--reference-split picks the shipped statistics of a domain extractor "
                         "(--extractor mnist or cifar10) when --data is not given.")
    source = DataSource(data, pairs=record.get("pairs", "ab"))
    reference = preset_dataset(preset, source, args.batch_size, seed=args.seed,
                               repeat=False, shuffle=False)
    name, split = reference_protocol(preset, data)
    return reference, name, split, False


def evaluate(args) -> int:
    """``ascendgan evaluate``."""
    if args.extractor == "auto":  # the choice depends on the run's data
        record = RunDirectory(args.run_dir).read()
        kind, reason = choose_extractor(args.extractor, args.weights, run_preset(record).data.kind)
        extractor = _extractor(args, kind)
    else:  # first: a refused --extractor file fails before any other work
        kind, reason = choose_extractor(args.extractor, args.weights, None)
        extractor = _extractor(args, kind)
        record = RunDirectory(args.run_dir).read()
    print(_describe(extractor, reason))
    gan, checkpoint = load_run(args.run_dir, args.checkpoint)
    data = args.data if args.data is not None else record.get("data")
    preset = run_preset(record)
    reference, reference_name, reference_split, statistics = _reference(
        args, kind, extractor, preset, record, data)
    names = args.metrics or DEFAULT_METRICS["statistics" if statistics else "images"]
    truncation, truncation_reason = resolve_truncation(args.truncation, preset)
    print(describe_truncation(truncation, truncation_reason))
    settings = metrics.EvaluationSettings(
        truncation=truncation,
        metrics=names.split(","), num_samples=args.num_samples, extractor=extractor,
        batch_size=args.batch_size, seed=args.seed, use_ema=not args.raw,
        reference_samples=args.reference_samples, reference_name=reference_name,
        reference_split=reference_split,
        cache_dir=args.cache_dir,
    )
    if statistics:
        print(f"reference: {reference_name}, {reference_split} split, {reference.count} images "
              f"({reference.protocol['reference_file']})")
        if settings.needs_features:
            raise ValueError(
                "KID and precision / recall need reference images, and the shipped "
                f"{kind} reference holds only the mean and covariance of its features: pass "
                "--data PATH, or --metrics fid,is."
            )
    result = metrics.evaluate(gan, reference, settings)
    result.protocol["extractor_choice"] = reason
    result.protocol["truncation_choice"] = truncation_reason
    for key, value in result.values.items():
        print(f"{key}: {value}")
    print("protocol: " + json.dumps(result.protocol, sort_keys=True, default=str))
    if args.output:
        write_json(args.output, {"checkpoint": checkpoint, **result.as_dict()}, default=str)
        print(f"wrote {args.output}")
    return 0


def add_reference_arguments(parser):
    """The options of the reference, the extractor and the output that ``evaluate`` and
    ``infer score`` share: ``--data``, ``--metrics``, ``--reference-samples``,
    ``--extractor``, ``--reference-split``, ``--unsafe-extractor``, ``--weights``,
    ``--features-layer``, ``--image-size``, ``--batch-size``, ``--cache-dir``, ``--output``."""
    parser.add_argument("--data", default=None,
                        help="reference images (default: the run's training data; with a shipped "
                             "domain extractor, its shipped statistics)")
    parser.add_argument("--metrics", default=None,
                        help="comma-separated: fid, kid, is, precision_recall (default fid,kid,is; "
                             "fid,is against shipped statistics)")
    parser.add_argument("--reference-samples", type=positive_int, default=None,
                        help="reference images used (default: all)")
    parser.add_argument("--extractor", default="auto",
                        help="'auto' (default: InceptionV3 when its ImageNet weights are in the Keras "
                             "cache or --weights is given, else the shipped extractor of the run's "
                             "data), 'inception', 'mnist' or 'cifar10' (the shipped small CNNs; names "
                             "its numbers fid_mnist_cnn, ...), or a saved Keras model (.keras, .h5; a "
                             "SavedModel folder in legacy Keras), loaded in safe mode: a file with "
                             "Python code (a Lambda layer) is refused")
    parser.add_argument("--reference-split", choices=metrics.domain.REFERENCE_SPLITS, default=None,
                        help="shipped statistics of a domain extractor to compare with (default: "
                             "the split the run did not train on; the shipped MNIST is the test "
                             "split, so its reference is train)")
    parser.add_argument("--unsafe-extractor", action="store_true",
                        help="load an --extractor file even if it holds Python code (Lambda layers), "
                             "which runs on loading: only for files you trust")
    parser.add_argument("--weights", default=None,
                        help="InceptionV3 weights file; default: ImageNet weights from the Keras cache; "
                             "'none' = random weights (only for checking the pipeline)")
    parser.add_argument("--features-layer", default=None, help="feature layer of a custom extractor")
    parser.add_argument("--image-size", type=positive_int, default=None,
                        help="extractor input size (default: 299 for InceptionV3, a model file's own "
                             "input size; the shipped extractors never resize)")
    parser.add_argument("--batch-size", type=positive_int, default=50, help="images per extractor call")
    parser.add_argument("--cache-dir", default=None, help="cache reference statistics here")
    parser.add_argument("--output", default=None, help="also write the numbers and protocol as JSON")
    return parser


def add_parser(subparsers):
    """Registers ``evaluate``."""
    parser = subparsers.add_parser("evaluate", help="FID / KID / IS / precision-recall of a run's generator")
    add_run_arguments(parser)
    parser.add_argument("--num-samples", type=positive_int, default=10_000, help="generated images (default 10,000)")
    add_truncation_argument(parser)  # default: the preset's (2.0 for BigGAN), stamped
    add_reference_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    parser.set_defaults(func=evaluate)
    return parser


__all__ = ["EXTRACTORS", "HELD_OUT", "SHIPPED_MNIST", "add_parser", "add_reference_arguments",
           "choose_extractor", "evaluate",
           "reference_protocol"]
