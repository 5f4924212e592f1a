"""ClassifierModel: a Keras classifier whose training step goes through a strategy's wrapped
optimizer, so the same ``fit()`` runs on one device, on ``tf.distribute`` replicas and on
Ascend NPUs."""

from __future__ import annotations

import types

import tensorflow as tf

from ascendgan import compat
from ascendgan.metrics.classification import label_smoothing_cross_entropy
from ascendgan.strategy import current_strategy, loss_scale_logs, loss_scale_metrics, wrap_optimizer

keras = compat.keras

__all__ = ["ClassifierModel"]


def _cross_entropy(labels, logits):
    return label_smoothing_cross_entropy(labels, logits, 0.0)


class ClassifierModel(keras.Model):
    """A Keras model ``images -> logits`` with the training step of an ascendgan classifier.

    :meth:`compile` wraps the Keras optimizer for a :class:`~ascendgan.strategy.Strategy`
    (``strategy.wrap_optimizer``: loss scaling and, on several NPU processes, the
    adapter's gradient all-reduce), and ``fit()`` trains with it:

    * ``loss(labels, logits)`` returns one value per example; the step minimizes its mean
      over the replica's batch, which ``WrappedOptimizer.scale_loss`` divides by the
      replicas in sync (and multiplies by the loss scale), so the summed gradients of the
      replicas are the gradient of the mean over the global batch;
    * ``loss``, ``top1`` and ``top5`` (``k = min(5, classes)``) are the logs of a training
      and a validation step (and, with loss scaling, ``loss_scale`` and ``overflows``).

    ``optimizer`` stays the Keras optimizer (``iterations``, learning rate, checkpoints);
    the step goes through ``wrapped_optimizer``. Subclasses define ``__init__`` / ``call``
    like any Keras model (:class:`~ascendgan.models.classifiers.WideResNet` is one); give
    them a ``num_classes`` attribute (top-5 needs at least 5 classes, else ``k`` is their
    number).

    Example:

    >>> import numpy as np
    >>> import tensorflow as tf
    >>> class Linear(ClassifierModel):
    ...     num_classes = 3
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.dense = compat.layers.Dense(3)
    ...     def call(self, images, training=None):
    ...         return self.dense(tf.reshape(images, (-1, 4)))
    >>> model = Linear()
    >>> _ = model(np.zeros((1, 2, 2, 1), "float32"))
    >>> model.compile(compat.keras.optimizers.SGD(0.1))
    >>> sorted(model.fit(np.zeros((4, 2, 2, 1), "float32"), np.zeros(4, "int32"),
    ...                  verbose=0).history)
    ['loss', 'top1', 'top5']
    """

    def compile(self, optimizer="sgd", loss=None, strategy=None, loss_scale="auto", **kwargs):
        """Configures training.

        Args:
            optimizer: a Keras optimizer (or its name). Under the ``mixed_float16`` policy
                Keras wraps it in its ``LossScaleOptimizer``, which then scales the loss.
            loss: ``loss(labels, logits) -> (batch,)``; default the plain cross-entropy.
            strategy: an ``ascendgan.strategy.Strategy``; default the one whose ``scope()``
                is active (or none: only loss scaling applies).
            loss_scale: see ``ascendgan.strategy.get_strategy``.
            **kwargs: passed to ``keras.Model.compile`` (``jit_compile``,
                ``steps_per_execution``, ``run_eagerly``); ``metrics`` are fixed.
        """
        if "metrics" in kwargs:
            raise ValueError("A ClassifierModel reports `loss`, `top1` and `top5`; `metrics` cannot "
                             f"be given. Received: metrics={kwargs['metrics']!r}")
        if loss is not None and not callable(loss):
            raise ValueError(f"`loss` must be a callable loss(labels, logits) or None. Received: {loss!r}")
        super().compile(optimizer=optimizer, **kwargs)
        strategy = strategy if strategy is not None else current_strategy()
        if strategy is not None:
            wrapped = strategy.wrap_optimizer(self.optimizer, loss_scale)
        else:
            wrapped = wrap_optimizer(self.optimizer, None, loss_scale)
        self.wrapped_optimizer = wrapped
        self.classifier_loss = loss or _cross_entropy
        trackers = {"loss": keras.metrics.Mean(name="loss"),
                    "top1": keras.metrics.SparseCategoricalAccuracy(name="top1"),
                    "top5": keras.metrics.SparseTopKCategoricalAccuracy(k=min(5, self._classes()),
                                                                        name="top5")}
        for name, metric in loss_scale_metrics("", wrapped).items():
            trackers[name.lstrip("_")] = metric
        # a plain namespace: Keras and tf.train.Checkpoint do not track it, so checkpoints
        # hold the network and the optimizer only (as before this class existed)
        self._classifier_state = types.SimpleNamespace(trackers=trackers)

    def _classes(self):
        """``num_classes`` when the model has it, else its output width when known, else 5."""
        classes = getattr(self, "num_classes", None)
        if classes is None:
            try:
                classes = int(self.output_shape[-1])
            except (AttributeError, TypeError, ValueError, RuntimeError):
                classes = 5
        return int(classes)

    @property
    def metrics(self):
        state = getattr(self, "_classifier_state", None)
        return list(state.trackers.values()) if state is not None else []

    def _update(self, loss, labels, logits):
        trackers = self._classifier_state.trackers
        trackers["loss"].update_state(loss)
        trackers["top1"].update_state(labels, logits)
        trackers["top5"].update_state(labels, logits)
        for name, value in loss_scale_logs("", self.wrapped_optimizer).items():
            trackers[name.lstrip("_")].update_state(value)
        return {name: tracker.result() for name, tracker in trackers.items()}

    def _batch(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError("A ClassifierModel trains on (images, labels) batches. Received an "
                             f"element with structure {tf.nest.map_structure(lambda t: t.shape, data)}")
        return data[0], data[1]

    def train_step(self, data):
        images, labels = self._batch(data)
        wrapped, variables = self.wrapped_optimizer, self.trainable_variables
        with tf.GradientTape() as tape:
            logits = self(images, training=True)
            loss = tf.reduce_mean(tf.cast(self.classifier_loss(labels, logits), tf.float32))
            scaled = wrapped.scale_loss(loss)
        wrapped.apply_gradients(tape.gradient(scaled, variables), variables)
        return self._update(loss, labels, logits)

    def test_step(self, data):
        images, labels = self._batch(data)
        logits = self(images, training=False)
        loss = tf.reduce_mean(tf.cast(self.classifier_loss(labels, logits), tf.float32))
        return self._update(loss, labels, logits)
