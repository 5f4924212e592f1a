"""A classifier run: what it trains (a :class:`ClassifierRun`), its data, augmentation and
network, its TensorBoard scalars (:class:`TrainingScalars`) and its results.

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
from ascendgan.data import cifar10_arrays
from ascendgan.models.classifiers import classifier_preset, wide_resnet
from ascendgan.validation import check_bool, check_choice, check_int, check_seed

keras = compat.keras


@dataclasses.dataclass(frozen=True)
class ClassifierRun:
    """What a classifier training run is: preset, overrides, data, output, seed, device.

    Args:
        out: the run directory (``checkpoints/``, ``logs/``, ``model.json``,
            ``results.json``).
        preset: a training preset name (``"autoaugment_cifar10"``, the documented run).
        overrides: flat preset keys to change (``{"epochs": 10, "model": "wrn_16_4"}``);
            see :meth:`~ascendgan.models.classifiers.ClassifierPreset.keys`.
        data: a CIFAR-10 folder ``ascendgan.data.cifar10_arrays`` reads; ``None``: Keras's
            cache (with ``smoke``: synthetic images).
        data_format: ``"auto"``, ``"python"``, ``"binary"``, ``"mat"`` or ``"folder"``.
        device: ``ascendgan.strategy.get_strategy``'s device (``"auto"``, ``"cpu"``, ...).
        precision: ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"``.
        seed: seed of the weights, the shuffling and the augmentation.
        smoke: the preset's smoke size (a tiny network, 2 steps) before ``overrides``.
        verbose: 1: progress bar, 2: a line per epoch, 0: silent.
    """

    out: str
    preset: str = "autoaugment_cifar10"
    overrides: Mapping = dataclasses.field(default_factory=dict)
    data: str | None = None
    data_format: str = "auto"
    device: str = "auto"
    precision: str = "float32"
    seed: int = 0
    smoke: bool = False
    verbose: int = 1

    def __post_init__(self):
        object.__setattr__(self, "out", os.fspath(self.out))
        object.__setattr__(self, "overrides", types.MappingProxyType(dict(self.overrides)))
        check_choice("data_format", self.data_format, ("auto", "python", "binary", "mat", "folder"))
        check_choice("precision", self.precision, ("float32", "mixed_bfloat16", "mixed_float16"))
        check_seed("seed", self.seed)
        check_bool("smoke", self.smoke)
        check_choice("verbose", self.verbose, (0, 1, 2))
        self.config()  # unknown keys and invalid values fail here, not mid-run

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


def load_images(run, split):
    """``(uint8 images, int32 labels)`` of CIFAR-10's ``split`` for ``run`` (synthetic for
    a smoke run without data)."""
    if run.data is None and run.smoke:
        return synthetic_cifar(32 if split == "train" else 16, seed=run.seed + (split == "test"))
    return cifar10_arrays(run.data, split=split, format=run.data_format)


def image_batches(images, labels, batch_size, *, shuffle=False, seed=None, drop_remainder=False):
    """uint8 arrays -> a data set of ``(images in [-1, 1], labels)`` batches (one gather
    per batch from the arrays held as constants)."""
    images_t = tf.constant(images)
    labels_t = tf.constant(np.asarray(labels, np.int32))
    indices = tf.data.Dataset.range(len(images))
    if shuffle:
        indices = indices.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    indices = indices.batch(batch_size, drop_remainder=drop_remainder)

    def gather(index):
        return tf.cast(tf.gather(images_t, index), tf.float32) / 127.5 - 1.0, tf.gather(labels_t, index)

    return indices.map(gather, num_parallel_calls=tf.data.AUTOTUNE)


def classifier_datasets(run, config=None):
    """``(train, test)`` batches of a run: shuffled full training batches, and the test
    split in evaluation batches."""
    config = config or run.config()
    train = image_batches(*load_images(run, "train"), config.schedule.batch_size, shuffle=True,
                          seed=run.seed, drop_remainder=True)
    test = image_batches(*load_images(run, "test"), config.schedule.eval_batch_size)
    return train, test


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
    "ClassifierRun",
    "TrainingScalars",
    "build_classifier",
    "classifier_datasets",
    "format_results",
    "image_batches",
    "load_images",
    "make_augmentation",
    "synthetic_cifar",
    "training_summary",
]
