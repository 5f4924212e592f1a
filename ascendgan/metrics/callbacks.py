"""``GANMetrics``: evaluate FID / KID / IS / precision-recall during training, keep the best."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.files import write_json
from ascendgan.metrics.evaluation import evaluate
from ascendgan.metrics.inception_v3 import inception_v3_extractor
from ascendgan.metrics.reference import resolve_reference
from ascendgan.metrics.settings import EvaluationSettings, base_value_name, value_name
from ascendgan.training.checkpoints import checkpoint_manager
from ascendgan.validation import check_int

keras = compat.keras

#: Whether a larger value is better, by value name.
HIGHER_IS_BETTER = {"fid": False, "kid": False, "is": True, "precision": True, "recall": True}
_VALUE_VARIABLE = "best_metric_value"
_NAME_VARIABLE = "best_metric_name"


class GANMetrics(keras.callbacks.Callback):
    """Evaluates a ``GAN`` during ``fit`` and keeps the checkpoint with the best metric.

    Every ``every_n_steps`` generator steps, or every ``every_n_epochs`` epochs, it runs
    :func:`ascendgan.metrics.evaluate` with ``settings`` on images from ``gan.generate``
    (the averaged generator when there is one, unless ``settings.use_ema`` is False;
    fixed ``settings.seed``, so successive evaluations see the same latents and
    training's random state is untouched). The numbers are printed (``verbose``),
    appended to :attr:`history` and added to the epoch's logs (so ``History``,
    ``CSVLogger`` and ``TensorBoard`` see them).

    With ``best_directory`` set, when ``best_metric`` improves, ``gan.checkpoint()``
    (networks, averaged generator, optimizers, random state) is written there through
    :func:`ascendgan.training.checkpoints.checkpoint_manager` keeping one checkpoint: the
    data files are complete before the ``checkpoint`` index is replaced atomically. The
    best value and the metric's name are saved inside the checkpoint, so a resumed run
    only replaces it with a better one; ``best.json`` next to it (written atomically)
    holds the numbers and their protocol for people. Restore with
    ``ascendgan.training.restore_latest(gan, best_directory)``.

    Reference statistics are computed once, at the beginning of training (or given
    ready, or loaded from ``settings.cache_dir``), with the same extractor.

    Args:
        reference: reference images (a data set, an array, ...),
            :class:`~ascendgan.metrics.ReferenceStatistics` or the path of a saved ``.npz``.
        settings: the :class:`~ascendgan.metrics.EvaluationSettings` of every evaluation
            (default ``EvaluationSettings()``). Without an extractor, ImageNet InceptionV3
            is built once, at the beginning of training (missing weights fail then).
        every_n_steps: evaluate every this many generator steps (``None``: off).
        every_n_epochs: evaluate every this many epochs (``None``: off).
        best_metric: the value that picks the best checkpoint (``"fid"``, ``"kid"``,
            ``"is"``, ``"precision"``, ``"recall"``; with a domain extractor also
            ``"fid_mnist_cnn"``, ...); default: the first metric's.
        best_directory: where the best checkpoint goes; ``None`` keeps none.
        log_dir: also write every value as a TensorBoard scalar at its generator step, in
            ``log_dir/metrics`` (a learning curve beside the losses of ``log_dir/train``).
        verbose: print each evaluation.

    Example:

    >>> settings = EvaluationSettings(metrics=["fid", "kid"], num_samples=10_000,
    ...                               reference_name="cifar10", reference_split="train",
    ...                               cache_dir="runs/fid_stats")
    >>> metrics = GANMetrics(real_images, settings, every_n_steps=5000,
    ...                      best_directory="runs/biggan/best")      # doctest: +SKIP
    >>> gan.fit(dataset, epochs=100, callbacks=[metrics])             # doctest: +SKIP
    """

    def __init__(
        self,
        reference,
        settings=None,
        every_n_steps=None,
        every_n_epochs=1,
        best_metric=None,
        best_directory=None,
        log_dir=None,
        verbose=1,
    ):
        super().__init__()
        if settings is None:
            settings = EvaluationSettings()
        if not isinstance(settings, EvaluationSettings):
            raise TypeError(f"`settings` must be an EvaluationSettings. Received: {type(settings).__name__}")
        self.every_n_steps = check_int("every_n_steps", every_n_steps, minimum=1, allow_none=True)
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs, minimum=1, allow_none=True)
        if every_n_steps is None and every_n_epochs is None:
            raise ValueError("Set `every_n_steps` or `every_n_epochs`; both are None.")
        produced = [value for value in settings.values if not value.endswith("_std")]
        suffix = getattr(settings.extractor, "metric_suffix", None)
        best_metric = best_metric or produced[0]
        if best_metric not in produced and value_name(best_metric, suffix) in produced:
            best_metric = value_name(best_metric, suffix)  # "fid" with a domain extractor
        if best_metric not in produced:
            raise ValueError(
                f"`best_metric` must be one of the computed values {produced}. Received: {best_metric!r}"
            )
        self.reference = reference
        self.settings = settings
        self.best_metric = best_metric
        self.higher_is_better = HIGHER_IS_BETTER[base_value_name(best_metric, suffix)]
        self.best_directory = None if best_directory is None else os.fspath(best_directory)
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self._writer = None
        self.verbose = verbose
        #: One dict per evaluation: ``{"step", "epoch", **values}``.
        self.history = []
        #: The last :class:`~ascendgan.metrics.EvaluationResult`.
        self.last_result = None
        #: The best value so far (``None`` before the first evaluation).
        self.best = None
        self.best_path = None
        self._reference_stats = None
        self._manager = None
        self._epoch = 0
        self._evaluated_this_epoch = False

    # ------------------------------------------------------------------ helpers

    def _step(self):
        return int(self.model.generator_optimizer.iterations.numpy())

    def _is_better(self, value):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.best is None:
            return True
        return value > self.best if self.higher_is_better else value < self.best

    def _ensure_manager(self):
        if self._manager is None:
            checkpoint = self.model.checkpoint()
            self._best_value = tf.Variable(np.nan, dtype=tf.float64, trainable=False)
            self._best_name = tf.Variable(self.best_metric, dtype=tf.string, trainable=False)
            setattr(checkpoint, _VALUE_VARIABLE, self._best_value)
            setattr(checkpoint, _NAME_VARIABLE, self._best_name)
            self._manager = checkpoint_manager(
                checkpoint, self.best_directory, max_to_keep=1,
                step_counter=self.model.generator_optimizer.iterations,
            )
        return self._manager

    def _read_previous_best(self):
        latest = tf.train.latest_checkpoint(self.best_directory)
        if not latest:
            return
        try:
            name = tf.train.load_variable(latest, f"{_NAME_VARIABLE}/.ATTRIBUTES/VARIABLE_VALUE")
            value = tf.train.load_variable(latest, f"{_VALUE_VARIABLE}/.ATTRIBUTES/VARIABLE_VALUE")
        except (tf.errors.NotFoundError, ValueError):
            warnings.warn(f"{latest} holds no best-metric record; it will be replaced by the "
                          "first evaluation.", stacklevel=2)
            return
        name = name.decode() if isinstance(name, bytes) else str(name)
        if name != self.best_metric:
            warnings.warn(
                f"The best checkpoint in {self.best_directory} was chosen by {name!r}, not "
                f"{self.best_metric!r}; it will be replaced by the first evaluation.", stacklevel=2,
            )
            return
        self.best = float(value)
        self.best_path = latest

    def _write_json(self, result, step, path):
        record = {"best_metric": self.best_metric, "best": self.best, "step": step,
                  "checkpoint": path, **result.as_dict()}
        write_json(os.path.join(self.best_directory, "best.json"), record, default=str)

    # ------------------------------------------------------------------ evaluation

    def evaluate_now(self):
        """Runs one evaluation now; returns its :class:`~ascendgan.metrics.EvaluationResult`."""
        self._prepare()
        step = self._step()
        result = evaluate(self.model, self._reference_stats, self.settings)
        self.last_result = result
        self.history.append({"step": step, "epoch": self._epoch, **result.values})
        self._evaluated_this_epoch = True
        if self.log_dir is not None:
            self._log(result, step)
        if self.verbose:
            print(f"GANMetrics step {step}: {result}")
        value = result.values[self.best_metric]
        if self._is_better(value):
            self.best = float(value)
            if self.best_directory is not None:
                manager = self._ensure_manager()
                self._best_value.assign(self.best)
                self._best_name.assign(self.best_metric)
                self.best_path = manager.save(checkpoint_number=step)
                self._write_json(result, step, self.best_path)
                if self.verbose:
                    print(f"GANMetrics: new best {self.best_metric} {self.best:.4g}, saved {self.best_path}")
        return result

    def _log(self, result, step):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "metrics"))
        # record_if(True): Keras's TensorBoard callback limits recording to its update_freq
        with self._writer.as_default(), tf.summary.record_if(True):
            for name, value in result.values.items():
                tf.summary.scalar(name, value, step=step)
        self._writer.flush()

    def _prepare(self):
        if self.settings.extractor is None:
            self.settings = self.settings.replace(extractor=inception_v3_extractor())
        if self._reference_stats is None:
            self._reference_stats = resolve_reference(self.reference, self.settings,
                                                      self.settings.extractor)

    # ------------------------------------------------------------------ Keras hooks

    def on_train_begin(self, logs=None):
        self._prepare()
        if self.best_directory is not None and self.best is None:
            self._read_previous_best()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._evaluated_this_epoch = False

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps and self._step() % self.every_n_steps == 0:
            self.evaluate_now()

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0:
            if not (self._evaluated_this_epoch and self.history and
                    self.history[-1]["step"] == self._step()):
                self.evaluate_now()
        if logs is not None and self._evaluated_this_epoch and self.last_result is not None:
            logs.update(self.last_result.values)


__all__ = ["GANMetrics", "HIGHER_IS_BETTER"]
