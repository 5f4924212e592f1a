"""A Keras optimizer prepared for a device: :class:`WrappedOptimizer`.

A training step goes through one object per optimizer::

    wrapped = ascendgan.strategy.wrap_optimizer(keras.optimizers.Adam(2e-4), strategy)
    with tf.GradientTape() as tape:
        scaled = wrapped.scale_loss(loss)            # / replicas, × loss scale
    wrapped.apply_gradients(tape.gradient(scaled, variables), variables)
    # unscaled; skipped (on every replica) when a gradient is not finite

``wrap_optimizer`` (``GAN.compile`` calls it) builds it with the strategy's pieces, in
the order of the documented Ascend scripts (``npu_tf_optimizer(NPULossScaleOptimizer(opt,
manager))``): the loss is scaled, the gradients unscaled, then all-reduced over the NPU
processes, then checked (the NPU's float status), applied or skipped, and the scale
updated.  The Keras optimizer itself stays
a plain Keras optimizer (``iterations``, ``learning_rate``, ``build``, checkpoints and
``GAN.generator_optimizer`` are unchanged); the manager's variables are tracked by it
under :data:`CHECKPOINT_KEY`, so a checkpoint of the optimizer holds the loss-scale state.

Example:

>>> import tensorflow as tf
>>> from ascendgan import compat
>>> from ascendgan.strategy import FixedLossScaleManager
>>> wrapped = WrappedOptimizer(compat.keras.optimizers.SGD(0.5), FixedLossScaleManager(8))
>>> kernel = tf.Variable([1.0])
>>> with tf.GradientTape() as tape:
...     scaled = wrapped.scale_loss(2.0 * kernel[0])          # 2 · 8
>>> bool(wrapped.apply_gradients(tape.gradient(scaled, [kernel]), [kernel]))
True
>>> float(kernel[0]), wrapped.loss_scale_manager.state()["steps"]   # 1 - 0.5 · 2
(0.0, 1)
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.strategy.loss_scale import LossScaleManager

keras = compat.keras

#: The name under which a Keras optimizer tracks its loss-scale manager: checkpoint keys
#: read ``<optimizer>/loss_scale_manager/loss_scale`` (unchanged since the first release,
#: so older checkpoints restore).
CHECKPOINT_KEY = "loss_scale_manager"


class WrappedOptimizer:
    """A Keras optimizer with what a device needs around it: loss scaling, the skipping
    of non-finite steps and (on NPUs) the gradient all-reduce between processes.

    Build it with :func:`~ascendgan.strategy.wrap_optimizer`, or directly with a manager
    of your choice; ``GAN.compile`` accepts either a Keras optimizer or one of these.

    Args:
        optimizer: a Keras optimizer (Keras's own ``LossScaleOptimizer`` too, when
            ``loss_scale_manager`` is ``None``).
        loss_scale_manager: a :class:`~ascendgan.strategy.LossScaleManager` for this
            optimizer only, or ``None``.  Its variables are created now (under the
            current ``tf.distribute`` scope) and tracked by ``optimizer``.
        all_reduce: ``list of gradients -> list of gradients`` averaged over the processes
            of a data-parallel job, or ``None``.  It gets the unscaled gradients, before
            the overflow check (``wrap_optimizer`` passes the NPU adapter's, see
            ``ascendgan.strategy.npu.gradient_all_reduce``; ``tf.distribute`` strategies
            need none).

    Attributes:
        optimizer: the Keras optimizer that updates the variables.
        loss_scale_manager: the manager, or ``None``.
        all_reduce: the gradient all-reduce, or ``None``.

    Raises:
        ValueError: for a manager with Keras's ``LossScaleOptimizer`` (it scales itself),
            for an optimizer that already tracks a manager, or for a manager that scales
            another optimizer.
    """

    def __init__(self, optimizer, loss_scale_manager=None, all_reduce=None):
        if isinstance(optimizer, WrappedOptimizer):
            raise ValueError("`optimizer` is already a WrappedOptimizer; use it as it is.")
        if all_reduce is not None and not callable(all_reduce):
            raise ValueError(
                "`all_reduce` must be a callable (gradients -> gradients) or None. Received: "
                f"{type(all_reduce).__name__}")
        if loss_scale_manager is not None:
            if not isinstance(loss_scale_manager, LossScaleManager):
                raise ValueError(
                    "`loss_scale_manager` must be a LossScaleManager or None. Received: "
                    f"{type(loss_scale_manager).__name__}"
                )
            if compat.is_loss_scale_optimizer(optimizer):
                raise ValueError(
                    "`optimizer` is Keras's LossScaleOptimizer, which scales its loss itself; "
                    "give a manager to a plain optimizer instead. Received: "
                    f"{type(optimizer).__name__}"
                )
            tracked = getattr(optimizer, CHECKPOINT_KEY, None)
            if tracked is not None and tracked is not loss_scale_manager:
                raise ValueError(
                    "`optimizer` already has a loss-scale manager (it was wrapped before); "
                    "give each optimizer one, or use the WrappedOptimizer made for it."
                )
            loss_scale_manager.bind(optimizer)
            loss_scale_manager.build()
            # A checkpoint dependency of the Keras optimizer (saved and restored with it).
            setattr(optimizer, CHECKPOINT_KEY, loss_scale_manager)
        self.optimizer = optimizer
        self.loss_scale_manager = loss_scale_manager
        self.all_reduce = all_reduce

    def __repr__(self):
        manager = self.loss_scale_manager
        reduce = ", all_reduce" if self.all_reduce is not None else ""
        return (f"WrappedOptimizer({type(self.optimizer).__name__}, "
                f"loss_scale_manager={type(manager).__name__ if manager else None}{reduce})")

    @property
    def loss_scaled(self) -> bool:
        """Whether the loss is scaled: a manager, or Keras's own ``LossScaleOptimizer``."""
        return self.loss_scale_manager is not None or compat.is_loss_scale_optimizer(
            self.optimizer)

    # ------------------------------------------------------------------ the step

    def scale_loss(self, loss):
        """The loss to differentiate: ``loss`` divided by the replicas in sync (in a
        ``tf.distribute`` replica context; optimizers sum the replicas' gradients) and
        multiplied by the loss scale (identity without loss scaling)."""
        loss = compat.scale_loss(self.optimizer, loss)
        if self.loss_scale_manager is None:
            return loss
        return self.loss_scale_manager.scale_loss(loss)

    def apply_gradients(self, gradients, variables):
        """Applies the gradients of a :meth:`scale_loss` loss.

        With a manager: unscales them, all-reduces them (with :attr:`all_reduce`), and
        applies them unless one of them (on any replica) is not finite; then updates the
        scale.  A skipped step leaves the variables, the slots and ``iterations`` as they
        were.  Works eagerly, inside ``tf.function`` and in a ``tf.distribute`` replica
        context.

        Returns:
            a boolean scalar tensor: whether the step was applied.
        """
        gradients, variables = list(gradients), list(variables)
        manager = self.loss_scale_manager
        if manager is None:
            compat.apply_gradients(self.optimizer, self._reduce(gradients), variables)
            return tf.constant(True)
        gradients = self._reduce(manager.unscale(gradients))
        compat.build_optimizer(self.optimizer, variables)  # no variable creation inside a cond
        context = tf.distribute.get_replica_context()
        distributed = tf.distribute.has_strategy() and context is not None
        finite = manager.check_finite(gradients, variables)
        if distributed:
            if context.num_replicas_in_sync > 1:
                non_finite = context.all_reduce(
                    tf.distribute.ReduceOp.SUM, tf.cast(tf.logical_not(finite), tf.float32)
                )
                finite = tf.equal(non_finite, 0.0)
            if not tf.__internal__.distribute.strategy_supports_no_merge_call():
                # A cond whose branch calls merge_call (apply_gradients does) must run in
                # cross-replica context.
                return context.merge_call(
                    self._apply_cross_replica, args=(gradients, variables, finite))
        return self._apply_or_skip(gradients, variables, finite)

    def _reduce(self, gradients):
        return gradients if self.all_reduce is None else list(self.all_reduce(gradients))

    def _apply_or_skip(self, gradients, variables, finite):
        manager, optimizer = self.loss_scale_manager, self.optimizer
        pairs = list(zip(gradients, variables))
        if not manager.skips_non_finite:
            optimizer.apply_gradients(pairs)
            applied = tf.constant(True)
        elif tf.executing_eagerly():
            if bool(finite):
                optimizer.apply_gradients(pairs)
            applied = tf.identity(finite)
        else:
            def apply():
                optimizer.apply_gradients(pairs)
                return tf.constant(True)

            applied = tf.cond(finite, apply, lambda: tf.constant(False))
        return self._update_scale(applied, finite)

    def _apply_cross_replica(self, strategy, gradients, variables, finite):
        finite = strategy.experimental_local_results(finite)[0]

        def apply_each(grads, variables):
            self.optimizer.apply_gradients(list(zip(grads, variables)))

        def apply():
            strategy.extended.call_for_each_replica(apply_each, args=(gradients, variables))
            return tf.constant(True)

        if self.loss_scale_manager.skips_non_finite:
            applied = tf.cond(finite, apply, lambda: tf.constant(False))
        else:
            applied = apply()
        return self._update_scale(applied, finite)

    def _update_scale(self, applied, finite):
        with tf.control_dependencies([applied]):
            updated = self.loss_scale_manager.update_loss_scale(finite)
        with tf.control_dependencies([updated]):
            return tf.identity(applied)


# ----------------------------------------------------------------------------- metrics


class LastValue(keras.metrics.Metric):
    """A metric whose result is the last value given to ``update_state`` (for counters
    and scales that are reported as they are, not averaged).

    Example:

    >>> metric = LastValue("scale")
    >>> metric.update_state(4.0); metric.update_state(8.0)
    >>> float(metric.result())
    8.0
    """

    def __init__(self, name="last_value", dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        if compat.KERAS_3:
            self.value = self.add_variable(shape=(), initializer="zeros", dtype=dtype,
                                           aggregation="only_first_replica", name="value")
        else:
            self.value = self.add_weight(name="value", shape=(), initializer="zeros",
                                         aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def update_state(self, value, sample_weight=None):
        self.value.assign(tf.cast(value, self.value.dtype))

    def result(self):
        return tf.identity(self.value)

    def reset_state(self):
        self.value.assign(tf.zeros_like(self.value))


def loss_scale_metrics(prefix, wrapped) -> dict:
    """Metrics reporting a :class:`WrappedOptimizer`'s loss scale and overflow count
    (empty without a manager): ``{prefix}_loss_scale`` and ``{prefix}_overflows``.

    ``GAN.compile`` adds these for ``"d"`` and ``"g"``.
    """
    if wrapped.loss_scale_manager is None:
        return {}
    return {name: LastValue(name) for name in (f"{prefix}_loss_scale", f"{prefix}_overflows")}


def loss_scale_logs(prefix, wrapped) -> dict:
    """The current values for :func:`loss_scale_metrics` (empty without a manager)."""
    manager = wrapped.loss_scale_manager
    if manager is None:
        return {}
    return {f"{prefix}_loss_scale": tf.identity(manager.loss_scale),
            f"{prefix}_overflows": tf.cast(manager.overflows, tf.float32)}


__all__ = [
    "CHECKPOINT_KEY",
    "LastValue",
    "WrappedOptimizer",
    "loss_scale_logs",
    "loss_scale_metrics",
]
