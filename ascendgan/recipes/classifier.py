"""The AutoAugment classifier trainer: a run object, compile / fit with exact-step resume,
checkpoints and TensorBoard scalars.

A :class:`~ascendgan.recipes.classifier_run.ClassifierRun` names a structured preset
(:func:`~ascendgan.models.classifiers.classifier_preset`: network, optimizer, data and
schedule sections), flat overrides, the data folder and the output directory.
:func:`train_classifier` runs it in seven visible steps, each a function of this module or
of :mod:`~ascendgan.recipes.classifier_run` or of the library that
``examples/autoaugment_cifar.py`` calls too:

1. data: :func:`classifier_datasets` (CIFAR-10 batches in [-1, 1]) and
   :func:`make_augmentation` (random crop + flip, an AutoAugment policy, Cutout);
2. strategy and precision: ``ascendgan.strategy.get_strategy``;
3. the network: ``ascendgan.models.wide_resnet`` (:func:`build_classifier`);
4. compile: :func:`compile_classifier` (SGD + momentum, the
   :class:`~ascendgan.schedules.CosineDecay` learning rate, label-smoothed cross-entropy
   plus coupled L2 weight decay, top-1 / top-5);
5. callbacks: :func:`classifier_callbacks` (``Throughput``, :class:`ClassifierCheckpoint`,
   :class:`~ascendgan.recipes.classifier_run.TrainingScalars`);
6. fit: :func:`fit_classifier` (restores the latest checkpoint and continues from its
   optimizer step);
7. evaluate: :func:`~ascendgan.metrics.classification.evaluate_classifier`.

A run directory holds ``checkpoints/`` (atomic, resumed when the run is started again),
``logs/`` (TensorBoard), ``model.json`` (the network's config, used by
:func:`evaluate_run`) and ``results.json`` (test top-1 / top-5, throughput).

Example:

>>> from ascendgan.recipes.classifier_run import ClassifierRun
>>> run = ClassifierRun(out="runs/autoaugment", data="/data/cifar10")   # doctest: +SKIP
>>> outcome = train_classifier(run)                                     # doctest: +SKIP
>>> evaluate_run(run)["top1"]                                           # doctest: +SKIP

Reference:
    Cubuk et al., "AutoAugment: Learning Augmentation Policies from Data", CVPR 2019
    (arXiv:1805.09501).
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.files import write_json
from ascendgan.metrics.classification import (
    check_labeled_batches,
    decayed_variables,
    evaluate_classifier,
    l2_penalty,
    label_smoothing_cross_entropy,
)
from ascendgan.models.classifiers import WideResNet
from ascendgan.recipes.classifier_run import (
    TrainingScalars,
    build_classifier,
    classifier_datasets,
    format_results,
    image_batches,
    load_images,
    make_augmentation,
    training_summary,
)
from ascendgan.schedules import CosineDecay
from ascendgan.strategy import get_strategy
from ascendgan.training.callbacks import Throughput
from ascendgan.training.checkpoints import PeriodicCheckpoint, restore_into
from ascendgan.validation import check_int, check_number

keras = compat.keras


# ----------------------------------------------------------------------------- compile


def make_loss(model, label_smoothing=0.1, weight_decay=1e-4):
    """Label-smoothed cross-entropy plus the coupled L2 penalty of ``model``'s kernels, as
    a Keras loss ``loss(labels, logits) -> (batch,)`` named ``classifier_loss``."""
    check_number("label_smoothing", label_smoothing, minimum=0.0, maximum=1.0)
    weight_decay = check_number("weight_decay", weight_decay, minimum=0)
    variables = decayed_variables(model) if weight_decay else []

    def loss(labels, logits):
        per_example = label_smoothing_cross_entropy(labels, logits, label_smoothing)
        if variables:
            per_example = per_example + l2_penalty(variables, weight_decay)
        return per_example

    loss.__name__ = "classifier_loss"
    return loss


def compile_classifier(model, optimizer, learning_rate=None):
    """Compiles ``model`` with SGD + momentum, :func:`make_loss` and ``top1`` / ``top5``.

    Args:
        model: a built classifier ``images -> logits``.
        optimizer: an :class:`~ascendgan.models.classifiers.classifier_presets.SGDSettings`.
        learning_rate: a schedule (e.g. :class:`~ascendgan.schedules.CosineDecay`) or a
            number; default the constant ``optimizer.learning_rate``.
    """
    if not model.built:
        raise ValueError("`model` must be built (call it once, or `model.build((None, h, w, c))`) "
                         "before compiling. Received an unbuilt model.")
    sgd = keras.optimizers.SGD(
        learning_rate=optimizer.learning_rate if learning_rate is None else learning_rate,
        momentum=optimizer.momentum, nesterov=optimizer.nesterov,
    )
    classes = getattr(model, "num_classes", None) or int(model.output_shape[-1])
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="top1"),
               keras.metrics.SparseTopKCategoricalAccuracy(k=min(5, classes), name="top5")]
    model.compile(optimizer=sgd, loss=make_loss(model, optimizer.label_smoothing, optimizer.weight_decay),
                  metrics=metrics, jit_compile=False)
    compat.build_optimizer(model.optimizer, model.trainable_variables)
    return model


# ----------------------------------------------------------------------------- callbacks


def _optimizer_step(model):
    return int(model.optimizer.iterations.numpy())


class ClassifierCheckpoint(PeriodicCheckpoint):
    """Saves a classifier and its optimizer, numbered by the optimizer step.

    A checkpoint holds the model's variables (weights, batch-norm statistics) as ``model``
    and the optimizer's (momentum slots and the step counter, which drives the learning
    rate) as ``optimizer``. It is written every ``every_n_steps`` steps (or every epoch)
    and at the end of training; the latest one is restored once, by :func:`fit_classifier`
    before it computes where to continue, or when training begins.

    Args:
        directory: where checkpoints go.
        every_n_steps: optimizer steps between checkpoints; None: every epoch.
        max_to_keep: checkpoints kept.
        restore: restore the latest checkpoint before training.
    """

    def __init__(self, directory, every_n_steps=None, max_to_keep=1, restore=True):
        super().__init__(directory, every_n_steps=every_n_steps, max_to_keep=max_to_keep,
                         restore=restore)
        self._last_saved = None
        self._restore_done = False

    def make_checkpoint(self):
        return tf.train.Checkpoint(model=self.model, optimizer=self.model.optimizer)

    def step_counter(self):
        return self.model.optimizer.iterations

    def restore_latest(self):
        self._restore_done = True
        path = super().restore_latest()
        if path:
            self._last_saved = self._step()
        return path

    def save(self):
        path = super().save()
        self._last_saved = self._step()
        return path

    def on_train_begin(self, logs=None):
        if self.restore and not self._restore_done:
            self.restore_latest()
        self._ensure_manager()

    def on_train_end(self, logs=None):
        if self._step() != self._last_saved:
            self.save()


def classifier_callbacks(run, learning_rate=None, config=None):
    """The callbacks of a run, in order: ``Throughput`` (ms/step and images/s in the
    logs), :class:`ClassifierCheckpoint` in ``<out>/checkpoints`` and
    :class:`TrainingScalars` in ``<out>/logs``."""
    schedule = (config or run.config()).schedule
    return [
        Throughput(schedule.batch_size),
        ClassifierCheckpoint(run.path("checkpoints"), schedule.checkpoint_every, schedule.max_checkpoints),
        TrainingScalars(run.path("logs"), schedule.log_every, learning_rate),
    ]


# ----------------------------------------------------------------------------- fit


def count_steps(dataset, steps_per_epoch=None):
    """``steps_per_epoch``, or the data set's length in batches when it is None."""
    if steps_per_epoch is not None:
        return check_int("steps_per_epoch", steps_per_epoch, minimum=1)
    cardinality = int(dataset.cardinality())
    if cardinality < 1:
        raise ValueError("`steps_per_epoch` is required when the data set's length is infinite or "
                         f"unknown (cardinality {cardinality}). Received: steps_per_epoch=None")
    return cardinality


def _merge(histories):
    merged = {}
    for history in histories:
        for name, values in history.history.items():
            merged.setdefault(name, []).extend(values)
    history = histories[-1]
    history.history = merged
    return history


def fit_classifier(model, dataset, *, epochs, steps_per_epoch=None, augment=None,
                   validation_data=None, validation_every=1, callbacks=None, verbose=1):
    """Trains a compiled classifier with ``fit()`` for ``epochs · steps_per_epoch`` optimizer
    steps in all, continuing from the optimizer's step.

    A :class:`ClassifierCheckpoint` among ``callbacks`` is restored first, so a restarted
    run continues at its checkpointed step (which also drives the learning rate): an
    interrupted epoch is completed with its remaining steps, and a finished run does
    nothing. The data order is not part of a checkpoint.

    Args:
        model: a classifier compiled by :func:`compile_classifier`.
        dataset: ``tf.data.Dataset`` of ``(images, labels)`` batches; repeated as needed.
        epochs: epochs of the whole run.
        steps_per_epoch: steps per epoch; default the data set's length in batches.
        augment: optional callable ``images -> images`` mapped over the training batches.
        validation_data: optional ``(images, labels)`` batches evaluated every
            ``validation_every`` epochs (``val_top1``, ``val_top5`` in the logs).
        validation_every: epochs between validations.
        callbacks: Keras callbacks (put ``Throughput`` first: others read its logs).
        verbose: ``fit``'s verbosity.

    Returns:
        the Keras ``History`` (``history.model`` is ``model``); the histories of a
        completed partial epoch and of the rest are merged.
    """
    check_labeled_batches(dataset)
    if validation_data is not None:
        check_labeled_batches(validation_data, "validation_data")
    epochs = check_int("epochs", epochs, minimum=1)
    steps_per_epoch = count_steps(dataset, steps_per_epoch)
    if augment is not None and not callable(augment):
        raise ValueError(f"`augment` must be a callable images -> images or None. Received: {augment!r}")
    validation_every = check_int("validation_every", validation_every, minimum=1)
    if getattr(model, "optimizer", None) is None:
        raise ValueError("`model` must be compiled (compile_classifier) before fit_classifier.")
    callbacks = list(callbacks or [])
    for callback in callbacks:
        if isinstance(callback, ClassifierCheckpoint) and callback.restore:
            callback.set_model(model)
            restored = callback.restore_latest()
            if restored and verbose:
                print(f"restored {restored} at step {_optimizer_step(model)}")

    pipeline = dataset
    if augment is not None:
        pipeline = pipeline.map(lambda images, labels: (augment(images), labels),
                                num_parallel_calls=tf.data.AUTOTUNE)
    pipeline = pipeline.repeat().prefetch(tf.data.AUTOTUNE)
    step, total_steps = _optimizer_step(model), epochs * steps_per_epoch
    if step >= total_steps:
        if verbose:
            print(f"nothing to do: step {step} >= {total_steps} steps ({epochs} epochs)")
        history = keras.callbacks.History()
        history.set_model(model)
        history.history = {}
        return history
    fit_kwargs = dict(callbacks=callbacks, verbose=verbose, validation_data=validation_data,
                      validation_freq=validation_every, shuffle=False)
    histories = []
    initial_epoch, done = divmod(step, steps_per_epoch)
    if done:  # finish the interrupted epoch first
        histories.append(model.fit(pipeline, epochs=initial_epoch + 1, initial_epoch=initial_epoch,
                                   steps_per_epoch=steps_per_epoch - done, **fit_kwargs))
        initial_epoch += 1
    if initial_epoch < epochs:
        histories.append(model.fit(pipeline, epochs=epochs, initial_epoch=initial_epoch,
                                   steps_per_epoch=steps_per_epoch, **fit_kwargs))
    return _merge(histories)


def restore_classifier(model, checkpoint):
    """Loads a classifier's weights from a :class:`ClassifierCheckpoint` checkpoint: a
    directory (its latest checkpoint) or a ``ckpt-N`` prefix; returns the path loaded.

    Raises:
        FileNotFoundError: when there is no checkpoint at ``checkpoint``.
        CheckpointError: when the checkpoint cannot be read or does not hold every variable
            of ``model`` (naming the file).
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
    # the optimizer's slots in the file are not needed here
    return restore_into(tf.train.Checkpoint(model=model), path, "weights")


# ----------------------------------------------------------------------------- runs


def train_classifier(run, strategy=None):
    """Trains a ``ClassifierRun`` (resuming its checkpoints) and evaluates it on the
    test split; writes ``model.json`` and ``results.json``.

    Args:
        run: a :class:`~ascendgan.recipes.classifier_run.ClassifierRun`.
        strategy: an ``ascendgan.strategy.Strategy``; default
            ``get_strategy(run.device, precision=run.precision)``.

    Returns:
        dict with the Keras ``history``, the trained ``model`` and the test ``results``.
    """
    config = run.config()
    compat.set_random_seed(run.seed)
    train_data, test_data = classifier_datasets(run, config)
    augment = make_augmentation(config.data)
    steps = count_steps(train_data, config.schedule.steps_per_epoch)
    strategy = strategy or get_strategy(run.device, precision=run.precision)
    with strategy.scope():
        model = build_classifier(config)
        write_json(run.path("model.json"), model.get_config())
        schedule = CosineDecay.from_epochs(config.optimizer.learning_rate, config.schedule.epochs,
                                           steps, config.schedule.warmup_epochs)
        compile_classifier(model, config.optimizer, schedule)
        if run.verbose:
            parameters = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
            print(f"{config.network.model}: {parameters:,} parameters; batch "
                  f"{config.schedule.batch_size}, {config.schedule.epochs} epochs, {strategy}")
        start = time.perf_counter()
        history = fit_classifier(
            model, train_data, epochs=config.schedule.epochs, steps_per_epoch=steps, augment=augment,
            validation_data=test_data if config.schedule.validate_every else None,
            validation_every=max(config.schedule.validate_every, 1),
            callbacks=classifier_callbacks(run, schedule, config), verbose=run.verbose,
        )
        seconds = time.perf_counter() - start
        results = evaluate_classifier(model, test_data)
    results.update(training_summary(model, history, seconds))
    write_json(run.path("results.json"), results)
    if run.verbose:
        print(format_results(results, prefix="test: "))
    return {"history": history, "model": model, "results": results}


def evaluate_run(run, checkpoint=None, strategy=None):
    """Top-1 / top-5 of a run's checkpoint on the test split.

    The network is rebuilt from ``<out>/model.json`` (else from the preset) and loaded from
    ``checkpoint`` (default ``<out>/checkpoints``, its latest checkpoint).

    Returns:
        :func:`~ascendgan.metrics.classification.evaluate_classifier`'s dict plus
        ``checkpoint``, the path loaded.
    """
    config = run.config()
    strategy = strategy or get_strategy(run.device, precision=run.precision)
    with strategy.scope():
        saved = run.path("model.json")
        if tf.io.gfile.exists(saved):
            with tf.io.gfile.GFile(saved) as handle:
                model = WideResNet.from_config(json.load(handle))
            model.build((None, *config.data.input_shape))
        else:
            model = build_classifier(config)
        path = restore_classifier(model, checkpoint or run.path("checkpoints"))
        test = image_batches(*load_images(run, "test"), config.schedule.eval_batch_size)
        results = evaluate_classifier(model, test, verbose=1 if run.verbose == 1 else 0)
    results["checkpoint"] = path
    if run.verbose:
        print(format_results(results, prefix=f"{os.path.basename(path)}: "))
    return results


__all__ = [
    "ClassifierCheckpoint",
    "classifier_callbacks",
    "compile_classifier",
    "count_steps",
    "evaluate_run",
    "fit_classifier",
    "make_loss",
    "restore_classifier",
    "train_classifier",
]
