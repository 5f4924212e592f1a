"""The AutoAugment image classifier: a Wide-ResNet trained with a learned augmentation policy,
on CIFAR-10 (default) or ImageNet, on one device, on replicas or on Ascend NPUs.

Defaults: the documented run (preset ``autoaugment_cifar10``): WRN-28-10 with CIFAR-10
normalization; random crop (padding 4) + flip + the CIFAR-10 policy + Cutout 16; SGD momentum
0.9, weight decay 1e-4 (L2 in the loss; the paper: 5e-4), cosine learning rate from 0.06
after 5 warm-up epochs, label smoothing 0.1; batch 128 per device, 150 epochs; a checkpoint
every 5000 steps (5 kept); a log line (loss, top-1, lr, batch time, FPS) every 100 steps;
precision ``auto`` (``allow_mix_precision`` on an NPU). ``--preset autoaugment_imagenet``:
1000 classes, 224 random resized crops, evaluation resize 256 -> centre 224, ImageNet
mean / std, the ImageNet policy.

    python examples/autoaugment_cifar.py --smoke --out /tmp/aa          # seconds, offline
    python examples/autoaugment_cifar.py --data /path/to/cifar10 --out runs/autoaugment
    python examples/autoaugment_cifar.py --data /path/to/cifar10 --out runs/autoaugment --evaluate
    python examples/autoaugment_cifar.py --device cpu --devices 2 ...   # 2 replicas on the CPU
    RANK_SIZE=8 RANK_ID=$i RANK_TABLE_FILE=rank_table_8p.json \\
        python examples/autoaugment_cifar.py --device npu ...            # one process per NPU

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
from ascendgan.models.classifiers import classifier_presets, restore_weights
from ascendgan.recipes.classifier import (
    classifier_callbacks,
    compile_classifier,
    evaluate_checkpoints,
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
from ascendgan.strategy import PRECISIONS, configure_logical_cpus, get_strategy
from ascendgan.training.checkpoints import find_checkpoints

PRESET = classifier_presets.AUTOAUGMENT_CIFAR10
# Preset keys settable from the command line: flag -> (type, help, choices).
OVERRIDES = {
    "model": (str, "Wide-ResNet wrn_<depth>_<width>, depth 6n + 4", None),
    "num_classes": (int, "output classes (fine-tuning: with --restore-exclude logits)", None),
    "epochs": (int, "epochs", None),
    "batch_size": (int, "batch size per device", None),
    "learning_rate": (float, "initial learning rate of the cosine schedule", None),
    "momentum": (float, "SGD momentum", None),
    "warmup_epochs": (int, "linear warm-up epochs", None),
    "weight_decay": (float, "L2 weight decay in the loss (the paper: 5e-4)", None),
    "label_smoothing": (float, "label smoothing", None),
    "policy": (str, "AutoAugment policy", classifier_presets.POLICY_NAMES),
    "cutout": (int, "Cutout square side, 0 disables it", None),
    "crop_padding": (int, "zero padding of the random crop, 0 disables it", None),
    "image_size": (int, "image side (ImageNet: the training crop)", None),
    "eval_resize": (int, "ImageNet: shorter side before the centre crop in evaluation", None),
    "normalize": (str, "normalization inside the model", tuple(classifier_presets.NORMALIZATIONS)),
    "dropout_rate": (float, "dropout inside the blocks", None),
    "steps_per_epoch": (int, "steps per epoch (default: one pass over the data)", None),
    "validate_every": (int, "epochs between validations, 0: only at the end", None),
    "checkpoint_every": (int, "steps between checkpoints", None),
    "max_checkpoints": (int, "checkpoints kept", None),
    "eval_batch_size": (int, "batch size of evaluation", None),
    "log_every": (int, "steps between log lines and TensorBoard writes", None),
}


def parse_args(argv=None):
    """The command line, and the :class:`ClassifierRun` it describes as ``args.run``."""
    parser = argparse.ArgumentParser(description="Train (or --evaluate) the AutoAugment "
                                     "Wide-ResNet; defaults: the documented run.")
    parser.add_argument("--preset", default=PRESET.name, choices=sorted(classifier_presets.CLASSIFIER_PRESETS))
    parser.add_argument("--data", help="CIFAR-10 folder (python / binary / MATLAB batches or "
                        "<data>/{train,test}/<class>/); ImageNet: train/ and val/ class folders or "
                        "train-* / validation-* TFRecords; default: Keras's cache; --smoke: synthetic")
    parser.add_argument("--data-format", default="auto",
                        choices=("auto", "python", "binary", "mat", "folder", "tfrecord"))
    parser.add_argument("--synsets", help="ImageNet folders: a synset mapping file (label order)")
    parser.add_argument("--out", default="runs/autoaugment_cifar", help="the run directory")
    for key, (kind, text, choices) in OVERRIDES.items():
        parser.add_argument("--" + key.replace("_", "-"), type=kind, choices=choices,
                            help=f"{text} (default {PRESET.value(key)})")
    parser.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    parser.add_argument("--nesterov", action="store_true", help="Nesterov momentum")
    parser.add_argument("--sync-batch-norm", action="store_true",
                        help="batch statistics over all replicas (default: per replica)")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)
    parser.add_argument("--device", default="auto", help="auto, cpu, gpu, npu or multi_worker")
    parser.add_argument("--devices", type=int, help="cpu / gpu: how many replicas (CPU: logical devices)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    parser.add_argument("--smoke", action="store_true", help="tiny run: WRN-10-1, 2 steps")
    parser.add_argument("--restore-path", help="fine-tune from this checkpoint (or directory)")
    parser.add_argument("--restore-exclude", action="append", default=[],
                        help="pattern of weights not restored (repeatable), e.g. logits")
    parser.add_argument("--evaluate", action="store_true", help="top-1 / top-5 of checkpoints")
    parser.add_argument("--checkpoint", action="append", default=None,
                        help="with --evaluate: a checkpoint directory or ckpt-N prefix (repeatable; "
                        "default: the latest; 'all': every checkpoint of the run)")
    args = parser.parse_args(argv)
    if args.checkpoint is not None and not args.evaluate:
        parser.error("--checkpoint is only used with --evaluate (training resumes from <out>/checkpoints)")
    if args.devices is not None and args.device not in ("cpu", "gpu"):
        parser.error("--devices needs --device cpu or --device gpu")
    overrides = {key: getattr(args, key) for key in OVERRIDES if getattr(args, key) is not None}
    if args.no_flip:
        overrides["flip"] = False
    if args.nesterov:
        overrides["nesterov"] = True
    if args.sync_batch_norm:
        overrides["sync_batch_norm"] = True
    try:
        args.run = ClassifierRun(out=args.out, preset=args.preset, overrides=overrides, data=args.data,
                                 data_format=args.data_format, device=args.device,
                                 precision=args.precision, seed=args.seed, smoke=args.smoke,
                                 verbose=args.verbose, restore_path=args.restore_path,
                                 restore_exclude=tuple(args.restore_exclude), synsets=args.synsets)
    except ValueError as error:
        parser.error(str(error))
    return args


def train(run, strategy=None):
    """Strategy -> data -> model -> compile -> callbacks -> fit -> evaluate."""
    config = run.config()
    compat.set_random_seed(run.seed)
    # Devices and precision: one device, tf.distribute replicas or one NPU of RANK_SIZE.
    strategy = strategy or get_strategy(run.device, precision=run.precision)
    # Data: this process's batches in [-1, 1]; training batches get crop + flip -> AutoAugment -> Cutout.
    train_data, test_data, epoch = classifier_datasets(run, config, strategy)
    augment = make_augmentation(config.data)
    steps = config.schedule.steps_per_epoch or epoch
    chief = strategy.rank.rank_id == 0
    with strategy.scope():  # the dtype policy and the devices for building and training
        model = wide_resnet(config.network.model, input_shape=config.data.input_shape,
                            **config.network.kwargs())
        if chief:
            write_json(run.path("model.json"), model.get_config())
        # SGD + momentum wrapped for the strategy, cosine learning rate after warm-up,
        # label-smoothed cross-entropy + L2, top-1 / top-5.
        schedule = CosineDecay.from_epochs(config.optimizer.learning_rate, config.schedule.epochs,
                                           steps, config.schedule.warmup_epochs)
        compile_classifier(model, config.optimizer, schedule, strategy=strategy)
        # Fine-tuning: another run's weights, except the excluded ones (a fresh run only).
        if run.restore_path and not find_checkpoints(run.path("checkpoints")):
            restore_weights(model, run.restore_path, run.restore_exclude)
        strategy.broadcast_variables(model.variables)  # NPU processes start alike
        # Throughput, checkpoints (resumed), TensorBoard, the log line every log_every steps.
        callbacks = classifier_callbacks(run, schedule, config, strategy, config.schedule.epochs * steps)
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
    if chief:
        write_json(run.path("results.json"), results)
    if run.verbose:
        print(format_results(results, prefix="test: "))
    return {"history": history, "model": model, "results": results}


def main(argv=None):
    """Trains (returns ``history``, ``model``, ``results``) or evaluates (``--evaluate``: the
    latest checkpoint's results, or a list of them for several ``--checkpoint``)."""
    args = parse_args(argv)
    strategy = None
    if args.devices is not None and args.devices > 1:
        if args.device == "cpu":
            configure_logical_cpus(args.devices)  # before TensorFlow starts
        strategy = get_strategy(args.device, precision=args.run.precision, devices=args.devices)
    if args.evaluate:
        checkpoints = args.checkpoint or [args.run.path("checkpoints")]
        if checkpoints == ["all"]:
            return evaluate_checkpoints(args.run, None, strategy)
        results = evaluate_checkpoints(args.run, checkpoints, strategy)
        return results[0] if len(results) == 1 else results
    return train(args.run, strategy)


if __name__ == "__main__":
    main(sys.argv[1:])
