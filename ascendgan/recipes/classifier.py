"""The AutoAugment classifier trainer: a run object, data-parallel compile / fit with
exact-step resume, checkpoints, logs, evaluation of checkpoints and fine-tuning.

A :class:`~ascendgan.recipes.classifier_run.ClassifierRun` names a structured preset
(``autoaugment_cifar10`` or ``autoaugment_imagenet``: network, optimizer, data and
schedule sections), flat overrides, the data and the output directory.
:func:`train_classifier` runs it in visible steps that ``examples/autoaugment_cifar.py``
takes too:

1. strategy and precision: ``ascendgan.strategy.get_strategy`` (one device,
   ``tf.distribute`` replicas, or Ascend NPU processes);
2. data: :func:`classifier_datasets` (batches in [-1, 1] for this process, its shard on
   NPUs) and :func:`make_augmentation` (random crop + flip, an AutoAugment policy, Cutout);
3. the network, compiled for the strategy: :func:`start_classifier` (``wide_resnet``,
   :func:`compile_classifier`: SGD + momentum through ``strategy.wrap_optimizer``, the
   :class:`~ascendgan.schedules.CosineDecay` learning rate with warm-up, label-smoothed
   cross-entropy plus coupled L2 weight decay; fine-tuning weights; NPU broadcast);
4. callbacks: :func:`classifier_callbacks` (``Throughput``, :class:`ClassifierCheckpoint`,
   ``TrainingScalars``, the ``StepLog`` line);
5. fit: :func:`fit_classifier` (restores the latest checkpoint, continues from its step);
6. evaluate: ``ascendgan.metrics.classification.evaluate_classifier``;
   :func:`evaluate_checkpoints` scores a list of checkpoints.

A run directory holds ``checkpoints/`` (atomic, resumed when the run is started again),
``logs/`` (TensorBoard), ``model.json`` (the network's config) and ``results.json``.

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
from ascendgan.models.classifiers import ClassifierModel, WideResNet, restore_weights
from ascendgan.recipes.classifier_run import (
    TEST_SPLITS,
    StepLog,
    TrainingScalars,
    build_classifier,
    classifier_datasets,
    format_results,
    make_augmentation,
    split_batches,
    training_summary,
)
from ascendgan.schedules import CosineDecay
from ascendgan.strategy import get_strategy
from ascendgan.training.callbacks import Throughput
from ascendgan.training.checkpoints import PeriodicCheckpoint, find_checkpoints, restore_into
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


def compile_classifier(model, optimizer, learning_rate=None, strategy=None, loss_scale="auto"):
    """Compiles ``model`` with SGD + momentum and :func:`make_loss`, wrapped for a strategy;
    ``fit()`` reports ``loss``, ``top1`` and ``top5``.

    Args:
        model: a built :class:`~ascendgan.models.classifiers.ClassifierModel` (a
            ``WideResNet``, or your network subclassing it).
        optimizer: an :class:`~ascendgan.models.classifiers.classifier_presets.SGDSettings`.
        learning_rate: a schedule (e.g. :class:`~ascendgan.schedules.CosineDecay`) or a
            number; default the constant ``optimizer.learning_rate``.
        strategy: an ``ascendgan.strategy.Strategy`` (default: the one whose scope is
            active): the step goes through ``strategy.wrap_optimizer(sgd)`` (loss scaling,
            the NPU processes' gradient all-reduce).
        loss_scale: see ``ascendgan.strategy.get_strategy``.
    """
    if not isinstance(model, ClassifierModel):
        raise ValueError("`model` must be an ascendgan.models.classifiers.ClassifierModel (a "
                         "WideResNet, or a network subclassing ClassifierModel). Received: "
                         f"{type(model).__name__}")
    if not model.built:
        raise ValueError("`model` must be built (call it once, or `model.build((None, h, w, c))`) "
                         "before compiling. Received an unbuilt model.")
    if getattr(strategy, "graph_mode", False):
        raise ValueError("`strategy` is a graph-mode (TF1 session) strategy; the classifier trains "
                         "with Keras fit(): use get_strategy(..., graph_mode=False). Received: "
                         f"{strategy!r}")
    sgd = keras.optimizers.SGD(
        learning_rate=optimizer.learning_rate if learning_rate is None else learning_rate,
        momentum=optimizer.momentum, nesterov=optimizer.nesterov,
    )
    model.compile(optimizer=sgd, loss=make_loss(model, optimizer.label_smoothing, optimizer.weight_decay),
                  strategy=strategy, loss_scale=loss_scale, jit_compile=False)
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
        chief: write checkpoints; False on the other processes of a data-parallel job
            (they restore the chief's checkpoints but never write).
    """

    def __init__(self, directory, every_n_steps=None, max_to_keep=1, restore=True, chief=True):
        super().__init__(directory, every_n_steps=every_n_steps, max_to_keep=max_to_keep,
                         restore=restore)
        self.chief = bool(chief)
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
        if not self.chief:
            return None
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


def classifier_callbacks(run, learning_rate=None, config=None, strategy=None, total_steps=None):
    """The callbacks of a run, in order: ``Throughput`` (ms/step and images/s over all
    replicas in the logs), :class:`ClassifierCheckpoint` in ``<out>/checkpoints``, and on
    the chief process (rank 0) :class:`TrainingScalars` in ``<out>/logs`` and, when
    ``run.verbose``, the :class:`~ascendgan.recipes.classifier_run.StepLog` line every
    ``log_every`` steps."""
    schedule = (config or run.config()).schedule
    replicas = strategy.num_replicas if strategy is not None else 1
    chief = strategy is None or strategy.rank.rank_id == 0
    callbacks = [
        Throughput(schedule.batch_size * replicas),
        ClassifierCheckpoint(run.path("checkpoints"), schedule.checkpoint_every, schedule.max_checkpoints,
                             chief=chief),
    ]
    if chief:
        callbacks.append(TrainingScalars(run.path("logs"), schedule.log_every, learning_rate))
        if run.verbose:
            callbacks.append(StepLog(schedule.log_every, total_steps, learning_rate))
    return callbacks


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
        dataset: ``tf.data.Dataset`` of ``(images, labels)`` batches; a finite one is
            repeated as needed, an endless one read on (give ``steps_per_epoch``).
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
    if int(pipeline.cardinality()) != int(tf.data.INFINITE_CARDINALITY):
        pipeline = pipeline.repeat()
    pipeline = pipeline.prefetch(tf.data.AUTOTUNE)
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


def start_classifier(run, strategy, config, steps):
    """Builds and compiles a run's network inside ``strategy.scope()`` (call it there):
    ``model.json`` on the chief, the cosine schedule with warm-up, the wrapped SGD, the
    fine-tuning weights of ``run.restore_path`` when the run has no checkpoint of its own,
    and the chief's weights on every NPU process. Returns ``(model, schedule)``."""
    model = build_classifier(config)
    if strategy.rank.rank_id == 0:
        write_json(run.path("model.json"), model.get_config())
    schedule = CosineDecay.from_epochs(config.optimizer.learning_rate, config.schedule.epochs,
                                       steps, config.schedule.warmup_epochs)
    compile_classifier(model, config.optimizer, schedule, strategy=strategy)
    if run.restore_path and not find_checkpoints(run.path("checkpoints")):
        loaded = restore_weights(model, run.restore_path, run.restore_exclude)
        if run.verbose:
            print(f"fine-tuning from {loaded['checkpoint']}: {len(loaded['restored'])} weights "
                  f"restored, {len(loaded['excluded'])} excluded {loaded['excluded']}")
    strategy.broadcast_variables(model.variables)
    return model, schedule


def train_classifier(run, strategy=None):
    """Trains a ``ClassifierRun`` (resuming its checkpoints) and evaluates it on the
    test split; the chief process writes ``model.json`` and ``results.json``.

    Data parallelism comes from the strategy: under ``tf.distribute`` (``get_strategy("cpu"
    / "gpu", devices=n)``) every step trains on ``n`` replicas of ``batch_size`` examples;
    on Ascend NPUs each of the ``RANK_SIZE`` processes trains on its shard in batches of
    ``batch_size`` and the adapter all-reduces the gradients (``strategy.wrap_optimizer``).

    Args:
        run: a :class:`~ascendgan.recipes.classifier_run.ClassifierRun`.
        strategy: an ``ascendgan.strategy.Strategy``; default
            ``get_strategy(run.device, precision=run.precision)``.

    Returns:
        dict with the Keras ``history``, the trained ``model`` and the test ``results``.
    """
    config = run.config()
    compat.set_random_seed(run.seed)
    strategy = strategy or get_strategy(run.device, precision=run.precision)
    train_data, test_data, epoch = classifier_datasets(run, config, strategy)
    augment = make_augmentation(config.data)
    steps = config.schedule.steps_per_epoch or epoch
    if not steps:
        raise ValueError(
            "`steps_per_epoch` is required: the length of TFRecord data is not known without "
            f"reading it (ImageNet: 1,281,167 training images, so steps_per_epoch=1281167 // "
            f"(batch_size x replicas) = {1281167 // (config.schedule.batch_size * strategy.num_replicas)}"
            f" here), and a shard of {epoch} full batches is too short. Received: steps_per_epoch=None")
    with strategy.scope():
        model, schedule = start_classifier(run, strategy, config, steps)
        if run.verbose:
            parameters = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
            print(f"{config.network.model}: {parameters:,} parameters; batch "
                  f"{config.schedule.batch_size} per device x {strategy.num_replicas}, "
                  f"{config.schedule.epochs} epochs, {strategy}")
        start = time.perf_counter()
        history = fit_classifier(
            model, train_data, epochs=config.schedule.epochs, steps_per_epoch=steps, augment=augment,
            validation_data=test_data if config.schedule.validate_every else None,
            validation_every=max(config.schedule.validate_every, 1), verbose=run.verbose,
            callbacks=classifier_callbacks(run, schedule, config, strategy, config.schedule.epochs * steps),
        )
        seconds = time.perf_counter() - start
        results = evaluate_classifier(model, test_data)
    results.update(training_summary(model, history, seconds))
    if strategy.rank.rank_id == 0:
        write_json(run.path("results.json"), results)
    if run.verbose:
        print(format_results(results, prefix="test: "))
    return {"history": history, "model": model, "results": results}


def _saved_network(run, config):
    saved = run.path("model.json")
    if tf.io.gfile.exists(saved):
        with tf.io.gfile.GFile(saved) as handle:
            model = WideResNet.from_config(json.load(handle))
        model.build((None, *config.data.input_shape))
        return model
    return build_classifier(config)


def evaluate_checkpoints(run, checkpoints=None, strategy=None):
    """Top-1 / top-5 of several checkpoints of a run on its test split (the documented
    scripts' evaluation of a list of checkpoints).

    The network is rebuilt once from ``<out>/model.json`` (else from the preset); each
    checkpoint is loaded into it and evaluated.

    Args:
        run: a :class:`~ascendgan.recipes.classifier_run.ClassifierRun`.
        checkpoints: ``ckpt-N`` prefixes or directories (a directory stands for its latest
            checkpoint); default every checkpoint in ``<out>/checkpoints``, oldest first.
        strategy: default ``get_strategy(run.device, precision=run.precision)``.

    Returns:
        one :func:`~ascendgan.metrics.classification.evaluate_classifier` dict per
        checkpoint, in order, each with ``checkpoint`` (the path loaded).

    Raises:
        FileNotFoundError: no checkpoint given or found.
    """
    config = run.config()
    if checkpoints is None:
        checkpoints = find_checkpoints(run.path("checkpoints"))[::-1]
    elif isinstance(checkpoints, (str, os.PathLike)):
        checkpoints = [checkpoints]
    if not checkpoints:
        raise FileNotFoundError(f"No classifier checkpoint at `checkpoint`={run.path('checkpoints')!r} "
                                "(expected checkpoints written by train_classifier).")
    strategy = strategy or get_strategy(run.device, precision=run.precision)
    test, _ = split_batches(run, config, TEST_SPLITS[config.data.dataset], config.schedule.eval_batch_size)
    outcomes = []
    with strategy.scope():
        model = _saved_network(run, config)
        for checkpoint in checkpoints:
            path = restore_classifier(model, checkpoint)
            results = evaluate_classifier(model, test, verbose=1 if run.verbose == 1 else 0)
            results["checkpoint"] = path
            if run.verbose:
                print(format_results(results, prefix=f"{os.path.basename(path)}: "))
            outcomes.append(results)
    return outcomes


def evaluate_run(run, checkpoint=None, strategy=None):
    """Top-1 / top-5 of a run's checkpoint on the test split (:func:`evaluate_checkpoints`
    of ``checkpoint``, default ``<out>/checkpoints``: its latest checkpoint).

    Returns:
        :func:`~ascendgan.metrics.classification.evaluate_classifier`'s dict plus
        ``checkpoint``, the path loaded.
    """
    return evaluate_checkpoints(run, [checkpoint or run.path("checkpoints")], strategy)[0]


__all__ = [
    "ClassifierCheckpoint",
    "classifier_callbacks",
    "compile_classifier",
    "count_steps",
    "evaluate_checkpoints",
    "evaluate_run",
    "fit_classifier",
    "make_loss",
    "restore_classifier",
    "start_classifier",
    "train_classifier",
]
