"""A classifier run: what it trains (a :class:`ClassifierRun`), its data (CIFAR-10 or
ImageNet, split over the replicas of a strategy), augmentation and network, its log line
(:class:`StepLog`), its TensorBoard scalars (:class:`TrainingScalars`) and its results.

The trainer that uses them is :mod:`ascendgan.recipes.classifier`.
"""

from __future__ import annotations

import dataclasses
import os
import types
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.augment import auto_augment, cutout, random_crop_and_flip
from ascendgan.data import cifar10_arrays, imagenet
from ascendgan.data.imagenet import epoch_order, imagenet_files
from ascendgan.models.classifiers import classifier_preset, wide_resnet
from ascendgan.strategy import PRECISIONS
from ascendgan.validation import check_bool, check_choice, check_int, check_seed

#: ``data_format`` values of each data set (``"auto"`` detects the layout).
DATA_FORMATS = {"cifar10": ("auto", "python", "binary", "mat", "folder"),
                "imagenet": ("auto", "folder", "tfrecord")}
#: The evaluation split of each data set.
TEST_SPLITS = {"cifar10": "test", "imagenet": "val"}

keras = compat.keras


@dataclasses.dataclass(frozen=True)
class ClassifierRun:
    """What a classifier training run is: preset, overrides, data, output, seed, device.

    Args:
        out: the run directory (``checkpoints/``, ``logs/``, ``model.json``,
            ``results.json``).
        preset: a training preset name: ``"autoaugment_cifar10"`` (the documented run) or
            ``"autoaugment_imagenet"`` (its ImageNet preset).
        overrides: flat preset keys to change (``{"epochs": 10, "model": "wrn_16_4"}``);
            see :meth:`~ascendgan.models.classifiers.ClassifierPreset.keys`.
        data: CIFAR-10: a folder ``ascendgan.data.cifar10_arrays`` reads (``None``: Keras's
            cache); ImageNet: a folder of ``train/`` and ``val/`` class sub-folders or of
            ``train-*`` / ``validation-*`` TFRecords (``ascendgan.data.imagenet``). With
            ``smoke`` and no data: synthetic images.
        data_format: CIFAR-10: ``"auto"``, ``"python"``, ``"binary"``, ``"mat"`` or
            ``"folder"``; ImageNet: ``"auto"``, ``"folder"`` or ``"tfrecord"``.
        device: ``ascendgan.strategy.get_strategy``'s device (``"auto"``, ``"cpu"``, ...).
        precision: a precision of ``ascendgan.strategy.PRECISIONS``; ``"auto"`` (default):
            what the documented runs use on the device (``allow_mix_precision`` on an NPU).
        seed: seed of the weights, the shuffling and the augmentation.
        smoke: the preset's smoke size (a tiny network, 2 steps) before ``overrides``.
        verbose: 1: progress bar, 2: a line per epoch, 0: silent.
        restore_path: fine-tuning: a checkpoint (or a directory of them) of another run
            whose weights a fresh run starts from (ignored when the run resumes its own).
        restore_exclude: patterns (regular expressions) of the weights not taken from
            ``restore_path``, e.g. ``("logits",)`` for the final dense layer when the
            number of classes changes; see ``ascendgan.models.classifiers.restore_weights``.
        synsets: ImageNet class folders: a synset mapping file giving the label order.
    """

    out: str
    preset: str = "autoaugment_cifar10"
    overrides: Mapping = dataclasses.field(default_factory=dict)
    data: str | None = None
    data_format: str = "auto"
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    smoke: bool = False
    verbose: int = 1
    restore_path: str | None = None
    restore_exclude: tuple = ()
    synsets: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "out", os.fspath(self.out))
        object.__setattr__(self, "overrides", types.MappingProxyType(dict(self.overrides)))
        check_choice("precision", self.precision, PRECISIONS)
        check_seed("seed", self.seed)
        check_bool("smoke", self.smoke)
        check_choice("verbose", self.verbose, (0, 1, 2))
        if self.restore_path is not None:
            object.__setattr__(self, "restore_path", os.fspath(self.restore_path))
        exclude = (self.restore_exclude,) if isinstance(self.restore_exclude, str) else self.restore_exclude
        if not all(isinstance(p, str) for p in exclude):
            raise ValueError("`restore_exclude` must be a list of patterns (strings). Received: "
                             f"restore_exclude={self.restore_exclude!r}")
        object.__setattr__(self, "restore_exclude", tuple(exclude))
        config = self.config()  # unknown keys and invalid values fail here, not mid-run
        check_choice("data_format", self.data_format, DATA_FORMATS[config.data.dataset])

    def config(self):
        """The resolved :class:`~ascendgan.models.classifiers.ClassifierPreset`."""
        return classifier_preset(self.preset, self.overrides, smoke=self.smoke)

    def path(self, *parts):
        """A path inside the run directory."""
        return os.path.join(self.out, *parts)


def synthetic_cifar(count, seed=0, image_size=32, num_classes=10):
    """Offline stand-in for CIFAR-10 (smoke runs without data): uint8 images whose class
    sets a colour and a stripe direction, plus noise; int32 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, count).astype("int32")
    palette = rng.integers(40, 216, (num_classes, 3))
    rows, cols = np.mgrid[0:image_size, 0:image_size]
    angle = labels[:, None, None] * np.pi / num_classes
    stripes = np.sin((rows * np.cos(angle) + cols * np.sin(angle)) * 0.8)
    images = palette[labels][:, None, None, :] + 30 * stripes[..., None]
    images = images + rng.normal(0, 12, images.shape)
    return np.clip(images, 0, 255).astype("uint8"), labels


def load_images(run, split, config=None):
    """``(uint8 images, int32 labels)`` of CIFAR-10's ``split`` for ``run``, or synthetic
    images of the preset's size and classes for a smoke run without data."""
    config = config or run.config()
    if run.data is None and run.smoke:
        return synthetic_cifar(32 if split == "train" else 16, seed=run.seed + (split != "train"),
                               image_size=config.data.image_size,
                               num_classes=config.network.num_classes)
    if config.data.dataset != "cifar10":
        raise ValueError(f"load_images reads CIFAR-10 into memory; the {config.data.dataset} data "
                         "of this run is read by classifier_datasets.")
    return cifar10_arrays(run.data, split=split, format=run.data_format)


def data_parallel_batch(strategy, per_device):
    """``(batch of this process, shard)`` for ``per_device`` examples on each replica.

    Under ``tf.distribute`` one process feeds the global batch (``per_device`` times the
    replicas) and Keras splits it; each of several NPU processes reads every
    ``RANK_SIZE``-th example from ``RANK_ID`` on (``shard = (RANK_SIZE, RANK_ID)``) in
    batches of ``per_device``. ``strategy=None``: one device.
    """
    if strategy is None:
        return per_device, None
    processes = strategy.rank.rank_size if strategy.device == "npu" else 1
    local = strategy.global_batch_size(per_device) // processes
    return local, ((processes, strategy.rank.rank_id) if processes > 1 else None)


def image_batches(images, labels, batch_size, *, shuffle=False, seed=None, drop_remainder=False,
                  shard=None, repeat=False):
    """uint8 arrays -> a data set of ``(images in [-1, 1], labels)`` batches (one gather
    per batch from the arrays held as constants). ``shuffle``: every epoch in a new order
    (``ascendgan.data.imagenet.epoch_order``; with ``repeat``, an endless sequence of
    epochs that is the same on one device and on ``tf.distribute`` replicas);
    ``shard=(count, index)`` keeps every ``count``-th example from ``index`` on."""
    images_t = tf.constant(images)
    labels_t = tf.constant(np.asarray(labels, np.int32))
    kept = range(len(images)) if shard is None else range(shard[1], len(images), shard[0])
    indices = epoch_order(kept, shuffle, seed, repeat).batch(batch_size, drop_remainder=drop_remainder)

    def gather(index):
        return tf.cast(tf.gather(images_t, index), tf.float32) / 127.5 - 1.0, tf.gather(labels_t, index)

    return indices.map(gather, num_parallel_calls=tf.data.AUTOTUNE)


def classifier_datasets(run, config=None, strategy=None):
    """``(train, test, steps_per_epoch)`` of a run: an endless stream of shuffled, full
    training batches (the batch of this process, :func:`data_parallel_batch`, from its
    shard of the examples on several NPU processes; every epoch in a new order, the same
    for any number of replicas), the whole test split in evaluation batches, and the full
    batches in one pass over this process's training examples (None for TFRecords)."""
    config = config or run.config()
    batch, shard = data_parallel_batch(strategy, config.schedule.batch_size)
    train, steps = split_batches(run, config, "train", batch, shard)
    test, _ = split_batches(run, config, TEST_SPLITS[config.data.dataset], config.schedule.eval_batch_size)
    return train, test, steps


def split_batches(run, config, split, batch_size, shard=None):
    """Batches of one split: training (endless, shuffled, full batches; random resized
    crops for ImageNet) or evaluation (one pass in order, every example; ImageNet resized
    and centre-cropped).

    Returns:
        ``(batches, steps)``: ``steps`` is the number of full batches in one pass over the
        (sharded) examples, None for TFRecords (their length is not known unread).
    """
    training = split == "train"
    data = config.data
    if data.dataset == "imagenet" and not (run.data is None and run.smoke):
        if run.data is None:
            raise ValueError("The ImageNet preset needs `data` (a folder of train/ and val/ class "
                             "sub-folders, or of train-* / validation-* TFRecords).")
        listing = imagenet_files(run.data, split, run.data_format, run.synsets)
        count = len(listing[1]) if listing[0] == "folder" else None
        batches = imagenet(run.data, split, format=run.data_format, batch_size=batch_size,
                           image_size=data.image_size, eval_resize=data.eval_resize, seed=run.seed,
                           repeat=training, synsets=run.synsets, num_classes=config.network.num_classes,
                           shard=shard, listing=listing)
    else:
        images, labels = load_images(run, split, config)
        count = len(images)
        batches = image_batches(images, labels, batch_size, shuffle=training,
                                seed=run.seed if training else None, drop_remainder=training,
                                shard=shard, repeat=training)
    if count is not None and shard is not None:
        count = len(range(shard[1], count, shard[0]))
    return batches, (None if count is None else count // batch_size)


def make_augmentation(data):
    """The training augmentation of a batch in [-1, 1] for a preset's ``data`` section:
    random crop + flip, the AutoAugment ``policy`` (``"none"`` skips it), then Cutout of
    side ``cutout`` (0 skips it)."""

    def augment(images):
        images = random_crop_and_flip(images, padding=data.crop_padding, flip=data.flip)
        if data.policy != "none":
            images = auto_augment(images, data.policy, value_range=(-1, 1))
        if data.cutout:
            images = cutout(images, data.cutout)
        return images

    return augment


def build_classifier(config):
    """The preset's network: ``wide_resnet(model, input_shape, **network.kwargs())``."""
    return wide_resnet(config.network.model, input_shape=config.data.input_shape,
                       **config.network.kwargs())


class TrainingScalars(keras.callbacks.Callback):
    """TensorBoard scalars at the optimizer step, so a resumed run continues its curves.

    The batch logs every ``every_n_steps`` steps under ``train/`` (``ms_per_step`` and
    ``images_per_s`` under ``performance/``), the epoch logs under ``epoch/`` (validation
    under ``validation/``), and ``learning_rate`` when a schedule is given.

    Args:
        log_dir: the TensorBoard directory.
        every_n_steps: steps between batch-log writes.
        learning_rate: the optimizer's schedule (a callable of the step), or None.
    """

    def __init__(self, log_dir, every_n_steps=100, learning_rate=None):
        super().__init__()
        self.log_dir = str(log_dir)
        self.every_n_steps = check_int("every_n_steps", every_n_steps, minimum=1)
        self.learning_rate = learning_rate
        self.writer = None

    def _write(self, logs, step, prefix):
        if self.writer is None:
            self.writer = tf.summary.create_file_writer(self.log_dir)
        with self.writer.as_default():
            for name, value in (logs or {}).items():
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    continue
                if name.startswith("val_"):
                    tag = "validation/" + name[4:]
                elif name in ("ms_per_step", "images_per_s"):
                    tag = "performance/" + name
                else:
                    tag = prefix + name
                tf.summary.scalar(tag, value, step=step)
            if self.learning_rate is not None:
                tf.summary.scalar("learning_rate", float(self.learning_rate(step)), step=step)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.every_n_steps == 0:
            self._write(logs, step, "train/")

    def on_epoch_end(self, epoch, logs=None):
        self._write(logs, int(self.model.optimizer.iterations.numpy()), "epoch/")
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.flush()


class StepLog(keras.callbacks.Callback):
    """A log line every ``every_n_steps`` optimizer steps, as the documented scripts print:
    step, epoch, loss, top-1, the learning rate, the batch time and FPS (images per second
    over all replicas, from ``Throughput`` in the logs)::

        step 100/58500  epoch 1  loss 2.1034  top1 0.2312  lr 0.012000  batch 61.2 ms  FPS 2091.5

    Args:
        every_n_steps: steps between lines.
        total_steps: the run's steps (shown after the step).
        learning_rate: the schedule (a callable of the step), or None.
        print_fn: where lines go (``print``).
    """

    def __init__(self, every_n_steps=100, total_steps=None, learning_rate=None, print_fn=print):
        super().__init__()
        self.every_n_steps = check_int("every_n_steps", every_n_steps, minimum=1)
        self.total_steps = total_steps
        self.learning_rate = learning_rate
        self.print_fn = print_fn
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.every_n_steps:
            return
        logs = logs or {}
        parts = [f"step {step}" + (f"/{self.total_steps}" if self.total_steps else ""),
                 f"epoch {self._epoch}"]
        for name in ("loss", "top1"):
            if name in logs:
                parts.append(f"{name} {float(logs[name]):.4f}")
        if self.learning_rate is not None:
            parts.append(f"lr {float(self.learning_rate(step)):.6f}")
        if "ms_per_step" in logs:
            parts.append(f"batch {float(logs['ms_per_step']):.1f} ms")
            parts.append(f"FPS {float(logs['images_per_s']):.1f}")
        self.print_fn("  ".join(parts))


def format_results(results, prefix=""):
    """One line: top-1, top-5, loss, images and images/s of an evaluation."""
    return (f"{prefix}top-1 {100 * results['top1']:.2f}%  top-5 {100 * results['top5']:.2f}%  "
            f"loss {results['loss']:.4f}  ({results['num_images']} images, "
            f"{results['images_per_s']:.0f} images/s)")


def training_summary(model, history, seconds):
    """The training part of ``results.json``: ``train_seconds``, ``step`` and the last
    ``train_ms_per_step`` / ``train_images_per_s``."""
    summary = {"train_seconds": seconds, "step": int(model.optimizer.iterations.numpy())}
    for name in ("ms_per_step", "images_per_s"):
        if history.history.get(name):
            summary[f"train_{name}"] = float(history.history[name][-1])
    return summary


__all__ = [
    "DATA_FORMATS",
    "TEST_SPLITS",
    "ClassifierRun",
    "StepLog",
    "TrainingScalars",
    "build_classifier",
    "classifier_datasets",
    "data_parallel_batch",
    "format_results",
    "image_batches",
    "load_images",
    "make_augmentation",
    "split_batches",
    "synthetic_cifar",
    "training_summary",
]
