"""The AutoAugment image classifier: a Wide-ResNet trained on CIFAR-10 with a learned policy.

The documented configuration (the defaults): Wide-ResNet-28-10; random crop (4 pixels of
zero padding) + horizontal flip + the paper's CIFAR-10 AutoAugment policy + Cutout 16x16 +
per-channel mean/std normalization; SGD with momentum 0.9, weight decay 1e-4 (an L2 term in
the loss; the AutoAugment paper used 5e-4 for Wide-ResNets), a cosine learning rate from
0.06, label smoothing 0.1, batch 128, 150 epochs. The original ran data-parallel over 8
devices; this script trains on one.

Run::

    python examples/autoaugment_cifar.py --smoke --out /tmp/aa            # seconds, offline
    python examples/autoaugment_cifar.py --data /path/to/cifar10 --out runs/autoaugment
    python examples/autoaugment_cifar.py --data /path/to/cifar10 --out runs/autoaugment --evaluate

``--data`` is any folder ``ascendgan.data.cifar10_arrays`` reads: the official python,
binary or MATLAB batches, or an image folder ``<data>/{train,test}/<class>/*``. The run
writes ``checkpoints/`` (atomic, resumed when the script is started again with the same
``--out``), ``logs/`` (TensorBoard scalars: losses, top-1 / top-5, learning rate, ms per
step, images/s), ``model.json`` (the network's config, used by ``--evaluate``) and
``results.json`` (test top-1 / top-5). ``--evaluate`` loads the latest checkpoint (or
``--checkpoint``) and reports top-1 / top-5 on the test split.

Reference:
    Cubuk et al., "AutoAugment: Learning Augmentation Policies from Data", CVPR 2019
    (arXiv:1805.09501); Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016
    (arXiv:1605.07146); DeVries & Taylor, "Improved Regularization of Convolutional Neural
    Networks with Cutout", 2017 (arXiv:1708.04552).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.models.classifiers import WideResNet, classifier_presets, wide_resnet
from ascendgan.training.classifier import (
    evaluate_classifier,
    random_crop_and_flip,
    restore_classifier,
    train_classifier,
)

DEFAULTS = classifier_presets.AUTOAUGMENT_CIFAR10
POLICIES = ("cifar10", "svhn", "imagenet", "none")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
NORMALIZATIONS = ("cifar10", "none")
NUM_CLASSES = 10


# ----------------------------------------------------------------------------- data


def synthetic_cifar(count, seed=0, image_size=32):
    """Offline stand-in for CIFAR-10 (``--smoke`` without ``--data``): uint8 images whose
    class sets a colour and a stripe direction, plus noise; int32 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, count).astype("int32")
    palette = rng.integers(40, 216, (NUM_CLASSES, 3))
    rows, cols = np.mgrid[0:image_size, 0:image_size]
    angle = labels[:, None, None] * np.pi / NUM_CLASSES
    stripes = np.sin((rows * np.cos(angle) + cols * np.sin(angle)) * 0.8)
    images = palette[labels][:, None, None, :] + 30 * stripes[..., None]
    images = images + rng.normal(0, 12, images.shape)
    return np.clip(images, 0, 255).astype("uint8"), labels


def load_split(data, split, data_format="auto"):
    """CIFAR-10 ``split`` as uint8 images and int32 labels, through ascendgan.data."""
    from ascendgan.data import cifar10_arrays

    return cifar10_arrays(data, split=split, format=data_format)


def batches(images, labels, batch_size, *, shuffle, seed=None, drop_remainder):
    """uint8 arrays -> ``(images in [-1, 1], labels)`` batches (one gather per batch)."""
    images_t = tf.constant(images)
    labels_t = tf.constant(np.asarray(labels, np.int32))
    indices = tf.data.Dataset.range(len(images))
    if shuffle:
        indices = indices.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    indices = indices.batch(batch_size, drop_remainder=drop_remainder)

    def gather(index):
        x = tf.cast(tf.gather(images_t, index), tf.float32) / 127.5 - 1.0
        return x, tf.gather(labels_t, index)

    return indices.map(gather, num_parallel_calls=tf.data.AUTOTUNE)


def make_augmentation(policy="cifar10", cutout=16, crop_padding=4, flip=True):
    """The training augmentation of a batch in [-1, 1]: random crop + flip, the AutoAugment
    ``policy`` (``"none"`` skips it), then Cutout of side ``cutout`` (0 skips it)."""
    from ascendgan.augment import auto_augment
    from ascendgan.augment import cutout as cutout_images

    def augment(images):
        images = random_crop_and_flip(images, padding=crop_padding, flip=flip)
        if policy != "none":
            images = auto_augment(images, policy, value_range=(-1, 1))
        if cutout:
            images = cutout_images(images, cutout)
        return images

    return augment


# ----------------------------------------------------------------------------- arguments


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Train (or --evaluate) the AutoAugment Wide-ResNet classifier on CIFAR-10. "
        "Defaults are the documented configuration.",
    )
    parser.add_argument("--data", default=None,
                        help="CIFAR-10 folder (python / binary / MATLAB batches, or an image folder "
                             "<data>/{train,test}/<class>/); default: Keras's cache "
                             "(~/.keras/datasets); with --smoke: synthetic images")
    parser.add_argument("--data-format", default="auto", choices=("auto", "python", "binary", "mat", "folder"),
                        help="format of --data (default auto)")
    parser.add_argument("--out", default="runs/autoaugment_cifar",
                        help="output directory: checkpoints/, logs/, model.json, results.json")
    parser.add_argument("--model", default=DEFAULTS["model"],
                        help=f"Wide-ResNet WRN-d-k as wrn_<d>_<k>, d = 6n + 4: a preset "
                             f"({', '.join(sorted(classifier_presets.WIDE_RESNET_PRESETS))}) or any other "
                             f"(default {DEFAULTS['model']})")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout inside the blocks (default 0)")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"], help=f"epochs (default {DEFAULTS['epochs']})")
    parser.add_argument("--steps-per-epoch", type=int, default=None,
                        help="steps per epoch (default: one pass over the training set)")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"],
                        help=f"batch size (default {DEFAULTS['batch_size']})")
    parser.add_argument("--learning-rate", type=float, default=DEFAULTS["learning_rate"],
                        help=f"initial learning rate of the cosine schedule (default {DEFAULTS['learning_rate']})")
    parser.add_argument("--warmup-epochs", type=int, default=0, help="linear warm-up epochs (default 0)")
    parser.add_argument("--momentum", type=float, default=DEFAULTS["momentum"],
                        help=f"SGD momentum (default {DEFAULTS['momentum']})")
    parser.add_argument("--nesterov", action="store_true", help="Nesterov momentum (the AutoAugment code's)")
    parser.add_argument("--weight-decay", type=float, default=DEFAULTS["weight_decay"],
                        help=f"L2 weight decay in the loss (default {DEFAULTS['weight_decay']}; the paper: 5e-4)")
    parser.add_argument("--label-smoothing", type=float, default=DEFAULTS["label_smoothing"],
                        help=f"label smoothing (default {DEFAULTS['label_smoothing']})")
    parser.add_argument("--policy", default=DEFAULTS["policy"], choices=POLICIES,
                        help=f"AutoAugment policy (default {DEFAULTS['policy']}; none disables it)")
    parser.add_argument("--cutout", type=int, default=DEFAULTS["cutout"],
                        help=f"Cutout square side in pixels, 0 disables (default {DEFAULTS['cutout']})")
    parser.add_argument("--crop-padding", type=int, default=DEFAULTS["crop_padding"],
                        help=f"zero padding of the random crop, 0 disables (default {DEFAULTS['crop_padding']})")
    parser.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    parser.add_argument("--normalize", default=DEFAULTS["normalize"], choices=NORMALIZATIONS,
                        help="per-channel mean/std normalization inside the model (default cifar10)")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS,
                        help="dtype policy (default float32; mixed_bfloat16 is faster on CPUs with AMX)")
    parser.add_argument("--validate-every", type=int, default=10,
                        help="epochs between test-set validations during training, 0: only at the end (default 10)")
    parser.add_argument("--eval-batch-size", type=int, default=500, help="batch size of evaluation (default 500)")
    parser.add_argument("--checkpoint-every", type=int, default=None,
                        help="steps between checkpoints (default: every epoch)")
    parser.add_argument("--log-every", type=int, default=100, help="steps between TensorBoard writes (default 100)")
    parser.add_argument("--evaluate", action="store_true",
                        help="evaluate a checkpoint on the test split (top-1 / top-5) instead of training")
    parser.add_argument("--checkpoint", default=None,
                        help="with --evaluate: checkpoint directory or ckpt-N prefix (default <out>/checkpoints)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="1: progress bar, 2: one line per epoch, 0: silent (default 1)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny run (WRN-10-1, 2 steps, a few images) to check the script end to end")
    args = parser.parse_args(argv)
    if args.smoke:
        args.model, args.epochs, args.steps_per_epoch = "wrn_10_1", 1, 2
        args.batch_size, args.eval_batch_size, args.validate_every = 8, 8, 0
        args.log_every = 1
    for name in ("epochs", "batch_size", "eval_batch_size", "log_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    for name in ("steps_per_epoch", "checkpoint_every"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    for name in ("cutout", "crop_padding", "warmup_epochs", "validate_every"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be >= 0, got {getattr(args, name)}")
    if args.warmup_epochs >= args.epochs:
        parser.error(f"--warmup-epochs ({args.warmup_epochs}) must be smaller than --epochs ({args.epochs})")
    if not args.learning_rate > 0:
        parser.error(f"--learning-rate must be > 0, got {args.learning_rate}")
    if not 0 <= args.momentum <= 1:
        parser.error(f"--momentum must be in [0, 1], got {args.momentum}")
    if not args.weight_decay >= 0:
        parser.error(f"--weight-decay must be >= 0, got {args.weight_decay}")
    if not 0 <= args.label_smoothing <= 1:
        parser.error(f"--label-smoothing must be in [0, 1], got {args.label_smoothing}")
    if not 0 <= args.dropout < 1:
        parser.error(f"--dropout must be in [0, 1), got {args.dropout}")
    try:
        model_size(args.model)
    except ValueError as error:
        parser.error(f"--model: {error}")
    if args.checkpoint is not None and not args.evaluate:
        parser.error("--checkpoint is only used with --evaluate (training resumes from <out>/checkpoints)")
    return args


# ----------------------------------------------------------------------------- main


def model_size(name):
    """``(depth, width)`` of a model name ``wrn_<depth>_<width>``; ValueError when invalid."""
    match = re.fullmatch(r"wrn_(\d+)_(\d+)", name)
    if match is None:
        raise ValueError(f"expected a name wrn_<depth>_<width> such as wrn_28_10, got {name!r}")
    depth, width = int(match.group(1)), int(match.group(2))
    if depth < 10 or (depth - 4) % 6 or width < 1:
        raise ValueError(f"{name!r}: the depth must be 6n + 4 >= 10 (10, 16, 22, 28, 40, ...) "
                         "and the width >= 1")
    return depth, width


def build_model(args):
    """The Wide-ResNet of ``args`` (preset or wrn_<d>_<k>, dropout, normalization), built
    for 32x32x3."""
    overrides = {"num_classes": NUM_CLASSES, "dropout_rate": args.dropout}
    if args.normalize == "cifar10":
        overrides.update(input_mean=classifier_presets.CIFAR10_MEAN, input_std=classifier_presets.CIFAR10_STD)
    if args.model in classifier_presets.WIDE_RESNET_PRESETS:
        return wide_resnet(args.model, input_shape=(32, 32, 3), **overrides)
    depth, width = model_size(args.model)
    model = WideResNet(depth=depth, width=width, name=args.model, **overrides)
    model.build((None, 32, 32, 3))
    return model


def model_from_config(path):
    """Rebuilds the network saved as ``model.json`` by a training run."""
    with open(path, encoding="utf-8") as f:
        model = WideResNet.from_config(json.load(f))
    model.build((None, 32, 32, 3))
    return model


def load_data(args, split):
    if args.data is None and args.smoke:
        return synthetic_cifar(32 if split == "train" else 16, seed=args.seed + (split == "test"))
    return load_split(args.data, split, args.data_format)


def report(results, prefix=""):
    print(f"{prefix}top-1 {100 * results['top1']:.2f}%  top-5 {100 * results['top5']:.2f}%  "
          f"loss {results['loss']:.4f}  ({results['num_images']} images, "
          f"{results['images_per_s']:.0f} images/s)")


def evaluate(args):
    """``--evaluate``: top-1 / top-5 of a checkpoint on the test split."""
    config = os.path.join(args.out, "model.json")
    model = model_from_config(config) if os.path.exists(config) else build_model(args)
    path = restore_classifier(model, args.checkpoint or os.path.join(args.out, "checkpoints"))
    images, labels = load_data(args, "test")
    test = batches(images, labels, args.eval_batch_size, shuffle=False, drop_remainder=False)
    results = evaluate_classifier(model, test, verbose=1 if args.verbose == 1 else 0)
    results["checkpoint"] = path
    report(results, prefix=f"{os.path.basename(path)}: ")
    return results


def train(args):
    compat.set_random_seed(args.seed)
    train_images, train_labels = load_data(args, "train")
    test_images, test_labels = load_data(args, "test")
    model = build_model(args)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "model.json"), "w", encoding="utf-8") as f:
        json.dump(model.get_config(), f, indent=1)

    train_data = batches(train_images, train_labels, args.batch_size, shuffle=True, seed=args.seed,
                         drop_remainder=True)
    test_data = batches(test_images, test_labels, args.eval_batch_size, shuffle=False, drop_remainder=False)
    augment = make_augmentation(args.policy, args.cutout, args.crop_padding, not args.no_flip)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    if args.verbose:
        print(f"{args.model}: {trainable:,} parameters; {len(train_images)} training images, "
              f"batch {args.batch_size}, {args.epochs} epochs, precision {args.precision}")
    start = time.perf_counter()
    history = train_classifier(
        model,
        train_data,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        augment=augment,
        learning_rate=args.learning_rate,
        warmup_epochs=args.warmup_epochs,
        momentum=args.momentum,
        nesterov=args.nesterov,
        weight_decay=args.weight_decay,
        label_smoothing=args.label_smoothing,
        validation_data=test_data if args.validate_every else None,
        validation_every=max(args.validate_every, 1),
        checkpoint_dir=os.path.join(args.out, "checkpoints"),
        checkpoint_every=args.checkpoint_every,
        log_dir=os.path.join(args.out, "logs"),
        log_every=args.log_every,
        verbose=args.verbose,
    )
    seconds = time.perf_counter() - start
    results = evaluate_classifier(model, test_data)
    results["train_seconds"] = seconds
    results["step"] = int(model.optimizer.iterations.numpy())
    for name in ("ms_per_step", "images_per_s"):
        if history.history.get(name):
            results[f"train_{name}"] = float(history.history[name][-1])
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    if args.verbose:
        if "train_ms_per_step" in results:
            print(f"training: {results['train_ms_per_step']:.0f} ms/step, "
                  f"{results['train_images_per_s']:.0f} images/s; step {results['step']}")
        report(results, prefix="test: ")
    return {"history": history, "model": model, "results": results}


def main(argv=None):
    """Runs the script; returns the evaluation results (``--evaluate``) or a dict with the
    ``history``, the trained ``model`` and the test ``results``."""
    args = parse_args(argv)
    compat.set_precision(args.precision)
    try:
        return evaluate(args) if args.evaluate else train(args)
    finally:
        compat.set_precision("float32")


if __name__ == "__main__":
    main(sys.argv[1:])
