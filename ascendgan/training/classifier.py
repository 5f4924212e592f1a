"""Training and evaluation of image classifiers (the AutoAugment recipe) with ``fit()``.

:func:`train_classifier` compiles a Keras classifier with SGD + momentum, a cosine learning
rate, label smoothing and L2 weight decay, applies an augmentation callable in the input
pipeline, and trains with ``fit()``: a progress bar with the losses, top-1 / top-5, ms per
step and images/s, TensorBoard scalars, atomic checkpoints and exact-step resume.
:func:`evaluate_classifier` reports top-1 / top-5 accuracy. The maths is in plain functions
(:func:`label_smoothing_cross_entropy`, :func:`in_top_k`, :func:`top_k_accuracy`,
:func:`cosine_learning_rate`, :func:`l2_penalty`, :func:`random_crop_and_flip`).

Example:

>>> import numpy as np, tensorflow as tf
>>> from ascendgan.models.classifiers import wide_resnet
>>> from ascendgan.training.classifier import train_classifier, evaluate_classifier
>>> model = wide_resnet("wrn_10_1", input_shape=(32, 32, 3))
>>> images = np.zeros((16, 32, 32, 3), "float32"); labels = np.zeros(16, "int32")
>>> data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
>>> history = train_classifier(model, data, epochs=1, verbose=0)
>>> sorted(evaluate_classifier(model, data))[:3]
['images_per_s', 'loss', 'ms_per_step']

Reference:
    Cubuk et al., "AutoAugment: Learning Augmentation Policies from Data", CVPR 2019
    (arXiv:1805.09501); Loshchilov & Hutter, "SGDR", ICLR 2017 (arXiv:1608.03983, the
    cosine schedule); Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016
    (arXiv:1512.00567, label smoothing).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.training.callbacks import Throughput

keras = compat.keras


# ----------------------------------------------------------------------------- maths


def _flat_labels(labels, logits):
    """Integer labels of shape ``logits.shape[:-1]`` (accepts a trailing axis of 1)."""
    labels = tf.convert_to_tensor(labels)
    if labels.dtype.is_floating:
        labels = tf.cast(tf.round(labels), tf.int32)
    return tf.reshape(tf.cast(labels, tf.int32), tf.shape(logits)[:-1])


def label_smoothing_cross_entropy(labels, logits, label_smoothing=0.0):
    """Per-example softmax cross-entropy against smoothed one-hot targets.

    The target of an example of class ``y`` among ``K`` classes is
    ``(1 - ε)·onehot(y) + ε / K``, and the loss is ``-Σ_k target_k · log softmax(logits)_k``
    (``ε = 0`` is the plain cross-entropy).

    Args:
        labels: integer class ids, shape ``(batch,)`` or ``(batch, 1)``.
        logits: unnormalized scores ``(batch, K)``, any float dtype.
        label_smoothing: ``ε`` in [0, 1].

    Returns:
        float32 losses of shape ``(batch,)``.

    Example:

    >>> import numpy as np
    >>> loss = label_smoothing_cross_entropy([0], np.zeros((1, 4), "float32"), 0.1)
    >>> round(float(loss[0]), 4)   # log 4: uniform logits
    1.3863

    Reference:
        Szegedy et al., arXiv:1512.00567, section 7.
    """
    if isinstance(label_smoothing, bool) or not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(
            f"`label_smoothing` must be a float in [0, 1]. Received: label_smoothing={label_smoothing!r}"
        )
    logits = tf.cast(logits, tf.float32)
    labels = _flat_labels(labels, logits)
    num_classes = tf.shape(logits)[-1]
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    targets = tf.one_hot(labels, num_classes, dtype=tf.float32)
    smoothing = float(label_smoothing)
    if smoothing:
        targets = targets * (1.0 - smoothing) + smoothing / tf.cast(num_classes, tf.float32)
    return -tf.reduce_sum(targets * log_probs, axis=-1)


def in_top_k(labels, logits, k=1):
    """Whether each example's true class is among its ``k`` highest logits.

    Classes are ranked by score, ties broken by class index (the lower index first, as
    ``argmax`` and a stable sort do), and an example is correct when its true class is
    among the first ``k``. For ``k = 1`` this is ``argmax(logits) == label``.

    Args:
        labels: integer class ids ``(batch,)`` or ``(batch, 1)``.
        logits: scores ``(batch, K)``.
        k: positive integer; ``k >= K`` makes every example correct.

    Returns:
        bool tensor ``(batch,)``.

    Example:

    >>> in_top_k([2, 1], [[0.1, 0.5, 0.4], [0.1, 0.5, 0.5]], k=1).numpy().tolist()
    [False, True]
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"`k` must be a positive integer. Received: k={k!r}")
    logits = tf.cast(logits, tf.float32)
    labels = _flat_labels(labels, logits)
    true_scores = tf.gather(logits, labels, axis=-1, batch_dims=1)[..., None]
    index = tf.range(tf.shape(logits)[-1])
    ahead = (logits > true_scores) | ((logits == true_scores) & (index < labels[..., None]))
    return tf.reduce_sum(tf.cast(ahead, tf.int32), axis=-1) < k


def top_k_accuracy(labels, logits, k=1):
    """Fraction of examples whose true class is among their ``k`` highest logits.

    Args:
        labels: integer class ids ``(batch,)`` or ``(batch, 1)``.
        logits: scores ``(batch, K)``.
        k: 1 for top-1 accuracy, 5 for top-5.

    Returns:
        float32 scalar in [0, 1].

    Example:

    >>> float(top_k_accuracy([2, 0], [[0.1, 0.2, 0.7], [0.1, 0.2, 0.7]], k=1))
    0.5
    """
    return tf.reduce_mean(tf.cast(in_top_k(labels, logits, k), tf.float32))


def cosine_learning_rate(initial_learning_rate, total_steps, warmup_steps=0):
    """The cosine learning-rate schedule ``lr(t) = ½·lr₀·(1 + cos(π·t / T))``.

    ``t`` is the optimizer step and ``T = total_steps``; the rate reaches 0 at ``T`` and
    stays there. With ``warmup_steps = w > 0`` the rate rises linearly from 0 to ``lr₀``
    over the first ``w`` steps and then follows the cosine over the remaining ``T - w``.

    Args:
        initial_learning_rate: ``lr₀`` (> 0).
        total_steps: ``T``, the number of training steps (>= 1).
        warmup_steps: linear warm-up steps (0 <= w < T).

    Returns:
        a Keras ``LearningRateSchedule`` (``CosineDecay``).

    Example:

    >>> schedule = cosine_learning_rate(0.06, 100)
    >>> round(float(schedule(50)), 4)
    0.03
    """
    if isinstance(initial_learning_rate, bool) or not float(initial_learning_rate) > 0:
        raise ValueError(
            "`initial_learning_rate` must be > 0. Received: "
            f"initial_learning_rate={initial_learning_rate!r}"
        )
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"`total_steps` must be a positive integer. Received: total_steps={total_steps!r}")
    if (isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int)
            or not 0 <= warmup_steps < total_steps):
        raise ValueError(
            f"`warmup_steps` must be an integer in [0, total_steps={total_steps}). "
            f"Received: warmup_steps={warmup_steps!r}"
        )
    schedules = keras.optimizers.schedules
    if warmup_steps == 0:
        return schedules.CosineDecay(float(initial_learning_rate), total_steps)
    return schedules.CosineDecay(
        0.0, total_steps - warmup_steps, warmup_target=float(initial_learning_rate),
        warmup_steps=warmup_steps,
    )


def decayed_variables(model):
    """The variables weight decay applies to: every convolution and dense ``kernel``.

    Biases, batch-normalization scales and offsets and non-trainable statistics are not
    decayed.

    Args:
        model: a built Keras model.

    Returns:
        list of the model's trainable variables named ``kernel``.

    Example:

    >>> from ascendgan.models.classifiers import wide_resnet
    >>> len(decayed_variables(wide_resnet("wrn_10_1")))   # stem, 6 convs, 2 shortcuts, dense
    10
    """
    return [v for v in model.trainable_variables if compat.variable_name(v) == "kernel"]


def l2_penalty(variables, weight_decay):
    """``weight_decay / 2 · Σ‖w‖²``: the L2 term whose gradient is ``weight_decay · w``.

    This is the weight decay of the Wide-ResNet and AutoAugment reference codes (an L2 term
    in the loss, ``tf.nn.l2_loss`` scaled by the decay rate; PyTorch's SGD ``weight_decay``
    is the same update). It is *coupled*: the decay passes through momentum. Keras's
    ``SGD(weight_decay=...)`` is the decoupled variant, which is not used here.

    Args:
        variables: the variables to decay (see :func:`decayed_variables`).
        weight_decay: the decay rate (>= 0).

    Returns:
        float32 scalar.
    """
    if not variables or not weight_decay:
        return tf.constant(0.0, tf.float32)
    total = tf.add_n([tf.reduce_sum(tf.square(tf.cast(v, tf.float32))) for v in variables])
    return 0.5 * float(weight_decay) * total


def random_crop_and_flip(images, padding=4, flip=True, seed=None):
    """Per-image random crop of the zero-padded images, and random horizontal flips.

    Each image is padded with ``padding`` zeros on every side and a window of the original
    size is cut at a uniformly random offset; with ``flip`` it is mirrored left-right with
    probability ½. (Zero is mid-grey for images in [-1, 1].) This is the standard CIFAR
    augmentation that the AutoAugment policies are applied on top of.

    Args:
        images: ``(batch, height, width, channels)`` or one image ``(height, width, channels)``.
        padding: pixels of zero padding on each side (0 disables the crop).
        flip: mirror half of the images left-right.
        seed: optional op seed.

    Returns:
        images of the input's shape and dtype.
    """
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"`padding` must be an integer >= 0. Received: padding={padding!r}")
    images = tf.convert_to_tensor(images)
    single = images.shape.rank == 3
    if single:
        images = images[None]
    if images.shape.rank != 4:
        raise ValueError(
            "random_crop_and_flip expects `images` of rank 3 or 4 (channels last). "
            f"Received: images.shape={tuple(images.shape)}"
        )
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    seeds = (None, None) if seed is None else (seed, seed + 1)
    padded = tf.pad(images, [[0, 0], [padding, padding], [padding, padding], [0, 0]])
    rows = tf.range(height)[None] + tf.random.uniform(
        [batch, 1], 0, 2 * padding + 1, tf.int32, seed=seeds[0]
    )
    cols = tf.range(width)[None] + tf.random.uniform(
        [batch, 1], 0, 2 * padding + 1, tf.int32, seed=seeds[1]
    )
    if flip:
        mirrored = tf.random.uniform([batch, 1], 0, 2, tf.int32, seed=None if seed is None else seed + 2)
        cols = tf.where(mirrored > 0, tf.reverse(cols, axis=[1]), cols)
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    out = tf.gather(out, cols, axis=2, batch_dims=1)
    return out[0] if single else out


# ----------------------------------------------------------------------------- callbacks


def _optimizer_step(model):
    return int(model.optimizer.iterations.numpy())


class ClassifierCheckpoint(keras.callbacks.Callback):
    """Saves the classifier and its optimizer atomically, numbered by the optimizer step.

    A checkpoint holds the model's variables (weights and batch-norm statistics) and the
    optimizer's (momentum slots and the step counter, which also drives the learning-rate
    schedule). Writing goes through ``tf.train.CheckpointManager``: the data files are
    complete before the ``checkpoint`` index is replaced, so a crash mid-write leaves the
    previous checkpoint as the latest.

    Args:
        directory: where checkpoints go.
        every_n_steps: save every this many optimizer steps; None saves at the end of each
            epoch. The end of training always saves.
        max_to_keep: number of checkpoints kept.

    Example:

    >>> ckpt = ClassifierCheckpoint("runs/wrn/checkpoints", every_n_steps=500)  # doctest: +SKIP
    >>> model.fit(dataset, callbacks=[ckpt])                                    # doctest: +SKIP
    """

    def __init__(self, directory, every_n_steps=None, max_to_keep=1):
        super().__init__()
        if every_n_steps is not None and (
            isinstance(every_n_steps, bool) or not isinstance(every_n_steps, int) or every_n_steps < 1
        ):
            raise ValueError(
                f"`every_n_steps` must be a positive integer or None. Received: every_n_steps={every_n_steps!r}"
            )
        if isinstance(max_to_keep, bool) or not isinstance(max_to_keep, int) or max_to_keep < 1:
            raise ValueError(f"`max_to_keep` must be a positive integer. Received: max_to_keep={max_to_keep!r}")
        self.directory = str(directory)
        self.every_n_steps = every_n_steps
        self.max_to_keep = max_to_keep
        self.manager = None
        self._last_saved = None

    def _ensure_manager(self):
        if self.manager is None:
            checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.model.optimizer)
            self.manager = tf.train.CheckpointManager(
                checkpoint, self.directory, max_to_keep=self.max_to_keep
            )
        return self.manager

    def restore(self):
        """Restores the latest checkpoint, if any; returns its path or None.

        The model and its optimizer must be built (``train_classifier`` does it).
        """
        manager = self._ensure_manager()
        latest = manager.latest_checkpoint
        if latest:
            manager.checkpoint.restore(latest).assert_existing_objects_matched()
            self._last_saved = _optimizer_step(self.model)
        return latest

    def save(self):
        """Writes a checkpoint for the current step; returns its path."""
        step = _optimizer_step(self.model)
        path = self._ensure_manager().save(checkpoint_number=step)
        self._last_saved = step
        return path

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps and _optimizer_step(self.model) % self.every_n_steps == 0:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_steps is None:
            self.save()

    def on_train_end(self, logs=None):
        if _optimizer_step(self.model) != self._last_saved:
            self.save()


class _ScalarSummaries(keras.callbacks.Callback):
    """TensorBoard scalars at the optimizer step (so a resumed run continues its curves):
    the batch logs every ``every_n_steps`` steps under ``train/``, the learning rate, and
    the epoch logs (validation under ``validation/``)."""

    def __init__(self, log_dir, every_n_steps, schedule):
        super().__init__()
        self.log_dir = str(log_dir)
        self.every_n_steps = every_n_steps
        self.schedule = schedule
        self.writer = None

    def _write(self, logs, step, prefix_train):
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
                    tag = prefix_train + name
                tf.summary.scalar(tag, value, step=step)
            tf.summary.scalar("learning_rate", float(self.schedule(step)), step=step)

    def on_train_batch_end(self, batch, logs=None):
        step = _optimizer_step(self.model)
        if step % self.every_n_steps == 0:
            self._write(logs, step, "train/")

    def on_epoch_end(self, epoch, logs=None):
        self._write(logs, _optimizer_step(self.model), "epoch/")
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.flush()


# ----------------------------------------------------------------------------- training


def _check_positive_int(name, value, allow_none=False):
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        extra = " or None" if allow_none else ""
        raise ValueError(f"`{name}` must be a positive integer{extra}. Received: {name}={value!r}")


def _check_float(name, value, low, high=None, low_inclusive=True):
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok:
        ok = value >= low if low_inclusive else value > low
        if high is not None:
            ok = ok and value <= high
    if not ok:
        bound = f"{'>=' if low_inclusive else '>'} {low}" + (f" and <= {high}" if high is not None else "")
        raise ValueError(f"`{name}` must be a number {bound}. Received: {name}={value!r}")


def _check_dataset(dataset, name="dataset"):
    if not isinstance(dataset, tf.data.Dataset):
        raise ValueError(
            f"`{name}` must be a tf.data.Dataset of (images, labels) batches. "
            f"Received: {type(dataset).__name__}"
        )
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError(
            f"`{name}` must yield (images, labels) pairs. Received elements of spec {spec}"
        )
    rank = spec[0].shape.rank
    if rank is not None and rank != 4:
        raise ValueError(
            f"`{name}` must yield batches of images (batch, height, width, channels): batch it "
            f"first. Received images of shape {tuple(spec[0].shape)}"
        )
    return spec


def _batch_size(dataset):
    size = dataset.element_spec[0].shape[0]
    if size is None:  # not static: look at the first batch
        size = int(next(iter(dataset))[0].shape[0])
    return size


def _steps_per_epoch(dataset, steps_per_epoch):
    if steps_per_epoch is not None:
        return steps_per_epoch
    cardinality = int(dataset.cardinality())
    if cardinality < 1:
        raise ValueError(
            "`steps_per_epoch` is required when the data set's length is infinite or unknown "
            f"(cardinality {cardinality}). Received: steps_per_epoch=None"
        )
    return cardinality


def make_loss(model, label_smoothing=0.1, weight_decay=1e-4):
    """The training loss ``train_classifier`` compiles: label-smoothed cross-entropy plus
    :func:`l2_penalty` of the model's kernels, as a Keras loss function
    ``loss(labels, logits) -> (batch,)``.

    Args:
        model: the classifier whose kernels are decayed.
        label_smoothing: ``ε`` of :func:`label_smoothing_cross_entropy`.
        weight_decay: rate of :func:`l2_penalty` (0 disables it).

    Returns:
        the loss function (named ``classifier_loss``).

    Example:

    >>> loss = make_loss(model, label_smoothing=0.1, weight_decay=5e-4)   # doctest: +SKIP
    >>> model.compile(optimizer="sgd", loss=loss)                          # doctest: +SKIP
    """
    _check_float("label_smoothing", label_smoothing, 0.0, 1.0)
    _check_float("weight_decay", weight_decay, 0.0)
    variables = decayed_variables(model) if weight_decay else []

    def loss(labels, logits):
        per_example = label_smoothing_cross_entropy(labels, logits, label_smoothing)
        if variables:
            per_example = per_example + l2_penalty(variables, weight_decay)
        return per_example

    loss.__name__ = "classifier_loss"
    return loss


def _num_classes(model, dataset):
    classes = getattr(model, "num_classes", None)
    if isinstance(classes, int):
        return classes
    try:
        return int(model.output_shape[-1])
    except (AttributeError, ValueError, TypeError):
        images = next(iter(dataset))[0]
        return int(model(images[:1], training=False).shape[-1])


def _merge(histories):
    merged = {}
    for history in histories:
        for name, values in history.history.items():
            merged.setdefault(name, []).extend(values)
    history = histories[-1]
    history.history = merged
    return history


def train_classifier(
    model,
    dataset,
    *,
    epochs=150,
    steps_per_epoch=None,
    augment=None,
    learning_rate=0.06,
    warmup_epochs=0,
    momentum=0.9,
    nesterov=False,
    weight_decay=1e-4,
    label_smoothing=0.1,
    validation_data=None,
    validation_every=1,
    checkpoint_dir=None,
    checkpoint_every=None,
    max_to_keep=1,
    log_dir=None,
    log_every=100,
    callbacks=None,
    verbose=1,
):
    """Compiles ``model`` with the AutoAugment recipe and trains it with ``fit()``.

    The defaults are the documented AutoAugment classifier run: SGD with momentum 0.9,
    cosine learning rate from 0.06 over all steps, label smoothing 0.1, weight decay 1e-4
    and 150 epochs (batch 128 is the data set's business). Weight decay is an L2 term
    ``weight_decay/2 · Σ‖W‖²`` over every convolution and dense kernel *in the loss*, as in
    the Wide-ResNet and AutoAugment reference codes (the AutoAugment paper used 5e-4 for
    Wide-ResNets on CIFAR); see :func:`l2_penalty`.

    With ``checkpoint_dir`` the latest checkpoint there is restored first and training
    continues from its optimizer step (the step also drives the learning rate), stopping
    after ``epochs · steps_per_epoch`` steps in all; an interrupted epoch is completed with
    its remaining steps. The data order is not part of a checkpoint: a resumed run reads the
    data set afresh.

    Args:
        model: a Keras classifier ``images -> logits (batch, num_classes)``, e.g.
            :func:`ascendgan.models.classifiers.wide_resnet`. It is (re)compiled.
        dataset: ``tf.data.Dataset`` of ``(images, labels)`` *batches* (shuffled as you
            like; integer labels). It is repeated as needed.
        epochs: total epochs of the run (including those of a restored checkpoint).
        steps_per_epoch: steps per epoch; default the data set's length in batches.
        augment: optional callable ``images -> images`` applied to each training batch in
            the input pipeline (e.g. random crop + flip, an AutoAugment layer, Cutout).
        learning_rate: initial learning rate of the cosine schedule.
        warmup_epochs: epochs of linear warm-up before the cosine (0: none).
        momentum: SGD momentum.
        nesterov: Nesterov momentum (the AutoAugment code's choice; the documented run
            uses plain momentum).
        weight_decay: L2 rate (>= 0).
        label_smoothing: ``ε`` in [0, 1].
        validation_data: optional data set of ``(images, labels)`` batches evaluated
            every ``validation_every`` epochs (``val_top1``, ``val_top5`` in the logs).
        validation_every: epochs between validations.
        checkpoint_dir: directory for checkpoints (restore and save); None: none.
        checkpoint_every: optimizer steps between checkpoints; None: every epoch.
        max_to_keep: checkpoints kept.
        log_dir: TensorBoard directory; None: no summaries.
        log_every: steps between TensorBoard scalar writes.
        callbacks: more Keras callbacks (run after the built-in ones).
        verbose: ``fit``'s verbosity (1: progress bar, 2: a line per epoch, 0: silent).

    Returns:
        the Keras ``History`` of the run (``history.model`` is ``model``); histories of a
        completed partial epoch and the rest are merged. Its ``history`` dict holds
        ``loss``, ``top1``, ``top5``, ``ms_per_step``, ``images_per_s`` (and ``val_*``).

    Example:

    >>> history = train_classifier(model, train_batches, epochs=150,    # doctest: +SKIP
    ...                            augment=my_augmentation, checkpoint_dir="runs/wrn/ckpt")
    """
    _check_dataset(dataset)
    if validation_data is not None:
        _check_dataset(validation_data, "validation_data")
    _check_positive_int("epochs", epochs)
    _check_positive_int("steps_per_epoch", steps_per_epoch, allow_none=True)
    if augment is not None and not callable(augment):
        raise ValueError(f"`augment` must be a callable images -> images or None. Received: {augment!r}")
    _check_float("learning_rate", learning_rate, 0.0, low_inclusive=False)
    if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, int) or warmup_epochs < 0:
        raise ValueError(f"`warmup_epochs` must be an integer >= 0. Received: warmup_epochs={warmup_epochs!r}")
    if warmup_epochs >= epochs:
        raise ValueError(
            f"`warmup_epochs` must be smaller than `epochs` ({epochs}). Received: warmup_epochs={warmup_epochs!r}"
        )
    _check_float("momentum", momentum, 0.0, 1.0)
    _check_float("weight_decay", weight_decay, 0.0)
    _check_float("label_smoothing", label_smoothing, 0.0, 1.0)
    _check_positive_int("validation_every", validation_every)
    _check_positive_int("checkpoint_every", checkpoint_every, allow_none=True)
    _check_positive_int("log_every", log_every)
    if not model.built:
        raise ValueError(
            "`model` must be built (call it once, or `model.build((None, h, w, c))`) before "
            "train_classifier. Received an unbuilt model."
        )

    steps_per_epoch = _steps_per_epoch(dataset, steps_per_epoch)
    total_steps = epochs * steps_per_epoch
    batch_size = _batch_size(dataset)
    schedule = cosine_learning_rate(learning_rate, total_steps, warmup_epochs * steps_per_epoch)
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=momentum, nesterov=nesterov)
    num_classes = _num_classes(model, dataset)
    metrics = [
        keras.metrics.SparseCategoricalAccuracy(name="top1"),
        keras.metrics.SparseTopKCategoricalAccuracy(k=min(5, num_classes), name="top5"),
    ]
    compile_kwargs = {"jit_compile": False}
    model.compile(
        optimizer=optimizer,
        loss=make_loss(model, label_smoothing, weight_decay),
        metrics=metrics,
        **compile_kwargs,
    )
    compat.build_optimizer(model.optimizer, model.trainable_variables)

    checkpoint = None
    if checkpoint_dir is not None:
        checkpoint = ClassifierCheckpoint(checkpoint_dir, checkpoint_every, max_to_keep)
        checkpoint.set_model(model)
        restored = checkpoint.restore()
        if restored and verbose:
            print(f"restored {restored} at step {_optimizer_step(model)}")

    pipeline = dataset
    if augment is not None:

        def augment_batch(images, labels):
            return augment(images), labels

        pipeline = pipeline.map(augment_batch, num_parallel_calls=tf.data.AUTOTUNE)
    pipeline = pipeline.repeat().prefetch(tf.data.AUTOTUNE)

    all_callbacks = [Throughput(batch_size)]
    if checkpoint is not None:
        all_callbacks.append(checkpoint)
    if log_dir is not None:
        all_callbacks.append(_ScalarSummaries(log_dir, log_every, schedule))
    all_callbacks += list(callbacks or [])

    step = _optimizer_step(model)
    histories = []
    fit_kwargs = dict(
        callbacks=all_callbacks, verbose=verbose, validation_data=validation_data,
        validation_freq=validation_every, shuffle=False,
    )
    if step >= total_steps:
        if verbose:
            print(f"nothing to do: step {step} >= {total_steps} steps ({epochs} epochs)")
        history = keras.callbacks.History()
        history.set_model(model)
        history.history = {}
        return history
    initial_epoch, done = divmod(step, steps_per_epoch)
    if done:  # finish the interrupted epoch first
        histories.append(model.fit(
            pipeline, epochs=initial_epoch + 1, initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch - done, **fit_kwargs,
        ))
        initial_epoch += 1
    if initial_epoch < epochs:
        histories.append(model.fit(
            pipeline, epochs=epochs, initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch, **fit_kwargs,
        ))
    return _merge(histories)


# ----------------------------------------------------------------------------- evaluation


def restore_classifier(model, checkpoint):
    """Loads a classifier's weights from a :class:`ClassifierCheckpoint` checkpoint.

    Args:
        model: the built classifier (same architecture as the one saved).
        checkpoint: a checkpoint directory (its latest checkpoint is used) or a checkpoint
            path prefix (``.../ckpt-1170``).

    Returns:
        the checkpoint path that was loaded.

    Raises:
        FileNotFoundError: when there is no checkpoint at ``checkpoint``.
        AssertionError: when the checkpoint does not hold every variable of ``model``.
    """
    checkpoint = os.fspath(checkpoint)
    path = tf.train.latest_checkpoint(checkpoint) if tf.io.gfile.isdir(checkpoint) else checkpoint
    if not path or not tf.io.gfile.exists(path + ".index"):
        raise FileNotFoundError(
            f"No classifier checkpoint at `checkpoint`={checkpoint!r} (expected a directory "
            "written by train_classifier / ClassifierCheckpoint, or a ckpt-N prefix)."
        )
    if not model.built:
        raise ValueError("`model` must be built before restoring weights. Received an unbuilt model.")
    status = tf.train.Checkpoint(model=model).restore(path)
    status.assert_existing_objects_matched()
    status.expect_partial()  # the optimizer's slots are not needed here
    return path


def evaluate_classifier(model, dataset, *, steps=None, label_smoothing=0.0, verbose=0):
    """Top-1 / top-5 accuracy and mean cross-entropy of ``model`` over a data set.

    The model runs in inference mode (moving batch-norm statistics, no dropout). Every
    example counts once (the last, smaller batch too).

    Args:
        model: a built classifier ``images -> logits``.
        dataset: ``tf.data.Dataset`` of ``(images, labels)`` batches (finite unless
            ``steps`` is given).
        steps: evaluate only the first ``steps`` batches.
        label_smoothing: ``ε`` of the reported cross-entropy (0: the plain one).
        verbose: 1 shows a progress bar.

    Returns:
        dict with ``top1``, ``top5`` (fractions in [0, 1]), ``loss`` (mean cross-entropy),
        ``num_images``, ``seconds``, ``ms_per_step`` and ``images_per_s`` (measured from
        the second batch on, the first includes tracing).
    """
    _check_dataset(dataset)
    _check_positive_int("steps", steps, allow_none=True)
    _check_float("label_smoothing", label_smoothing, 0.0, 1.0)
    if steps is None and int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise ValueError("`steps` is required for an infinite data set. Received: steps=None")

    @tf.function
    def evaluate_batch(images, labels):
        logits = model(images, training=False)
        classes = logits.shape[-1]
        losses = label_smoothing_cross_entropy(labels, logits, label_smoothing)
        return (
            tf.reduce_sum(tf.cast(in_top_k(labels, logits, 1), tf.int64)),
            tf.reduce_sum(tf.cast(in_top_k(labels, logits, min(5, classes)), tf.int64)),
            tf.reduce_sum(tf.cast(losses, tf.float64)),
            tf.shape(labels, out_type=tf.int64)[0],
        )

    if steps is not None:
        dataset = dataset.take(steps)
    target = int(dataset.cardinality())
    progress = keras.utils.Progbar(target if target > 0 else None, stateful_metrics=["top1", "top5"]) if verbose else None
    top1 = top5 = count = 0
    total_loss = 0.0
    start = time.perf_counter()
    first_end = None
    batches = 0
    for images, labels in dataset:
        c1, c5, loss, n = (np.asarray(v) for v in evaluate_batch(images, labels))
        top1, top5, total_loss, count = top1 + int(c1), top5 + int(c5), total_loss + float(loss), count + int(n)
        batches += 1
        if first_end is None:
            first_end = time.perf_counter()
        if progress is not None:
            progress.update(batches, [("top1", top1 / max(count, 1)), ("top5", top5 / max(count, 1))])
    end = time.perf_counter()
    if count == 0:
        raise ValueError("`dataset` yielded no examples to evaluate.")
    timed_batches = batches - 1
    timed_seconds = end - (first_end or end)
    if timed_batches > 0 and timed_seconds > 0:
        ms_per_step = 1000.0 * timed_seconds / timed_batches
        images_per_s = (count * timed_batches / batches) / timed_seconds
    else:
        ms_per_step = 1000.0 * (end - start) / batches
        images_per_s = count / max(end - start, 1e-9)
    return {
        "top1": top1 / count,
        "top5": top5 / count,
        "loss": total_loss / count,
        "num_images": count,
        "seconds": end - start,
        "ms_per_step": ms_per_step,
        "images_per_s": images_per_s,
    }


__all__ = [
    "ClassifierCheckpoint",
    "cosine_learning_rate",
    "decayed_variables",
    "evaluate_classifier",
    "in_top_k",
    "l2_penalty",
    "label_smoothing_cross_entropy",
    "make_loss",
    "random_crop_and_flip",
    "restore_classifier",
    "top_k_accuracy",
    "train_classifier",
]
