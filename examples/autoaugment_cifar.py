"""The AutoAugment image classifier: a Wide-ResNet trained on CIFAR-10 with a learned policy.

Defaults: the documented run (preset ``autoaugment_cifar10``): WRN-28-10 with CIFAR-10
normalization; random crop (padding 4) + flip + the CIFAR-10 policy + Cutout 16; SGD momentum
0.9, weight decay 1e-4 (L2 in the loss; the paper: 5e-4), cosine learning rate from 0.06,
label smoothing 0.1; batch 128, 150 epochs (the original: data-parallel over 8 devices).

    python examples/autoaugment_cifar.py --smoke --out /tmp/aa          # seconds, offline
    python examples/autoaugment_cifar.py --data /path/to/cifar10 --out runs/autoaugment
    python examples/autoaugment_cifar.py --data /path/to/cifar10 --out runs/autoaugment --evaluate

The run writes ``checkpoints/`` (resumed when started again with the same ``--out``),
``logs/`` (TensorBoard), ``model.json`` and ``results.json`` (test top-1 / top-5).
Reference: Cubuk et al., "AutoAugment", arXiv:1805.09501; Zagoruyko & Komodakis, "Wide
Residual Networks", arXiv:1605.07146.
"""

import argparse
import sys
import time

from ascendgan import compat
from ascendgan.files import write_json
from ascendgan.metrics.classification import evaluate_classifier
from ascendgan.models import wide_resnet
from ascendgan.models.classifiers import classifier_presets
from ascendgan.recipes.classifier import (
    classifier_callbacks,
    compile_classifier,
    count_steps,
    evaluate_run,
    fit_classifier,
)
from ascendgan.recipes.classifier_run import (
    ClassifierRun,
    classifier_datasets,
    format_results,
    make_augmentation,
    training_summary,
)
from ascendgan.schedules import CosineDecay
from ascendgan.strategy import get_strategy

PRESET = classifier_presets.AUTOAUGMENT_CIFAR10
# Preset keys settable from the command line: flag -> (type, help, choices).
OVERRIDES = {
    "model": (str, "Wide-ResNet wrn_<depth>_<width>, depth 6n + 4", None),
    "epochs": (int, "epochs", None),
    "batch_size": (int, "batch size", None),
    "learning_rate": (float, "initial learning rate of the cosine schedule", None),
    "momentum": (float, "SGD momentum", None),
    "warmup_epochs": (int, "linear warm-up epochs", None),
    "weight_decay": (float, "L2 weight decay in the loss (the paper: 5e-4)", None),
    "label_smoothing": (float, "label smoothing", None),
    "policy": (str, "AutoAugment policy", classifier_presets.POLICY_NAMES),
    "cutout": (int, "Cutout square side, 0 disables it", None),
    "crop_padding": (int, "zero padding of the random crop, 0 disables it", None),
    "normalize": (str, "normalization inside the model", tuple(classifier_presets.NORMALIZATIONS)),
    "dropout_rate": (float, "dropout inside the blocks", None),
    "steps_per_epoch": (int, "steps per epoch (default: one pass over the data)", None),
    "validate_every": (int, "epochs between validations, 0: only at the end", None),
    "checkpoint_every": (int, "steps between checkpoints (default: every epoch)", None),
    "eval_batch_size": (int, "batch size of evaluation", None),
    "log_every": (int, "steps between TensorBoard writes", None),
}


def parse_args(argv=None):
    """The command line, and the :class:`ClassifierRun` it describes as ``args.run``."""
    parser = argparse.ArgumentParser(description="Train (or --evaluate) the AutoAugment "
                                     "Wide-ResNet on CIFAR-10; defaults: the documented run.")
    parser.add_argument("--data", help="CIFAR-10 folder (python / binary / MATLAB batches or "
                        "<data>/{train,test}/<class>/); default: Keras's cache; --smoke: synthetic")
    parser.add_argument("--data-format", default="auto", choices=("auto", "python", "binary", "mat", "folder"))
    parser.add_argument("--out", default="runs/autoaugment_cifar", help="the run directory")
    for key, (kind, text, choices) in OVERRIDES.items():
        parser.add_argument("--" + key.replace("_", "-"), type=kind, choices=choices,
                            help=f"{text} (default {PRESET.value(key)})")
    parser.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    parser.add_argument("--nesterov", action="store_true", help="Nesterov momentum")
    parser.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16", "mixed_float16"))
    parser.add_argument("--device", default="auto", help="auto, cpu, gpu, npu or multi_worker")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    parser.add_argument("--smoke", action="store_true", help="tiny run: WRN-10-1, 2 steps")
    parser.add_argument("--evaluate", action="store_true", help="top-1 / top-5 of the latest checkpoint")
    parser.add_argument("--checkpoint", help="with --evaluate: a checkpoint directory or ckpt-N prefix")
    args = parser.parse_args(argv)
    if args.checkpoint is not None and not args.evaluate:
        parser.error("--checkpoint is only used with --evaluate (training resumes from <out>/checkpoints)")
    overrides = {key: getattr(args, key) for key in OVERRIDES if getattr(args, key) is not None}
    if args.no_flip:
        overrides["flip"] = False
    if args.nesterov:
        overrides["nesterov"] = True
    try:
        args.run = ClassifierRun(out=args.out, overrides=overrides, data=args.data, data_format=args.data_format,
                                 device=args.device, precision=args.precision, seed=args.seed,
                                 smoke=args.smoke, verbose=args.verbose)
    except ValueError as error:
        parser.error(str(error))
    return args


def train(run):
    """Data -> model -> strategy -> compile -> callbacks -> fit -> evaluate."""
    config = run.config()
    compat.set_random_seed(run.seed)
    # Data: batches in [-1, 1]; training batches get crop + flip -> AutoAugment -> Cutout.
    train_data, test_data = classifier_datasets(run, config)
    augment = make_augmentation(config.data)
    steps = count_steps(train_data, config.schedule.steps_per_epoch)

    strategy = get_strategy(run.device, precision=run.precision)
    with strategy.scope():  # the dtype policy and the devices for building and training
        model = wide_resnet(config.network.model, input_shape=config.data.input_shape,
                            **config.network.kwargs())
        write_json(run.path("model.json"), model.get_config())
        # SGD + momentum, cosine learning rate, label-smoothed cross-entropy + L2, top-1 / top-5.
        schedule = CosineDecay.from_epochs(config.optimizer.learning_rate, config.schedule.epochs,
                                           steps, config.schedule.warmup_epochs)
        compile_classifier(model, config.optimizer, schedule)
        # Throughput (images/s in the progress bar), checkpoints (resumed), TensorBoard.
        callbacks = classifier_callbacks(run, schedule, config)
        start = time.perf_counter()
        history = fit_classifier(
            model, train_data, epochs=config.schedule.epochs, steps_per_epoch=steps, augment=augment,
            validation_data=test_data if config.schedule.validate_every else None,
            validation_every=max(config.schedule.validate_every, 1), callbacks=callbacks,
            verbose=run.verbose,
        )
        seconds = time.perf_counter() - start
        results = evaluate_classifier(model, test_data)
    results.update(training_summary(model, history, seconds))
    write_json(run.path("results.json"), results)
    if run.verbose:
        print(format_results(results, prefix="test: "))
    return {"history": history, "model": model, "results": results}


def main(argv=None):
    """Trains (returns ``history``, ``model``, ``results``) or evaluates (``--evaluate``)."""
    args = parse_args(argv)
    if args.evaluate:
        return evaluate_run(args.run, checkpoint=args.checkpoint)
    return train(args.run)


if __name__ == "__main__":
    main(sys.argv[1:])
