"""Loss-scale managers with the semantics of Ascend's (and TensorFlow 1's) managers.

Mixed float16 training multiplies the loss by a *loss scale* before differentiating, so
small gradients do not flush to zero in float16, and divides the gradients by it
before the update.  A manager holds the scale and decides how it changes:

* :class:`FixedLossScaleManager` keeps one scale;
* :class:`ExponentialUpdateLossScaleManager` grows the scale by ``incr_ratio`` after
  ``incr_every_n_steps`` consecutive finite steps and shrinks it by ``decr_ratio`` once
  ``decr_every_n_nan_or_inf`` non-finite steps have accumulated (not necessarily in a
  row), never below 1, exactly as ``npu_bridge``'s manager of the same name does.

A manager is attached to a Keras optimizer (:func:`attach_loss_scale`); ``GAN`` and
``compat.scale_loss`` / ``compat.apply_gradients`` then use it.  A step whose gradients
hold an inf or a NaN is **skipped for that optimizer**: its variables, its slots and its
``iterations`` stay as they were, and only the manager's state changes.  Each optimizer
gets its own manager, so a generator and a discriminator are scaled independently.  The
manager's variables are tracked by the optimizer, so ``tf.train.Checkpoint`` (and
``GANCheckpoint``) saves and restores them with it and a resumed run continues exactly.

Under ``tf.distribute`` all replicas agree: a step is skipped everywhere when any replica
sees a non-finite gradient.

Example:

>>> import tensorflow as tf
>>> from ascendgan import compat
>>> from ascendgan.strategy import ExponentialUpdateLossScaleManager, attach_loss_scale
>>> optimizer = attach_loss_scale(compat.keras.optimizers.SGD(0.1),
...                               ExponentialUpdateLossScaleManager(2.0**32, 1000))
>>> float(optimizer.loss_scale_manager.get_loss_scale())
4294967296.0

Reference:
    Micikevicius et al., "Mixed Precision Training", ICLR 2018 (arXiv:1710.03740);
    Ascend TF adapter ``ExponentialUpdateLossScaleManager`` / ``FixedLossScaleManager``
    (public API documentation).
"""

from __future__ import annotations

import numbers
import sys

import tensorflow as tf

from ascendgan import compat

keras = compat.keras

#: A scale is only grown while ``scale < MAX_LOSS_SCALE / incr_ratio`` (float32's range).
MAX_LOSS_SCALE = 3.4e38

#: The attribute of an optimizer that holds its manager.
ATTRIBUTE = "loss_scale_manager"


def _state_variable(value, dtype, name):
    # Written with the same value on every replica (or once, in cross-replica context).
    return tf.Variable(
        value, dtype=dtype, trainable=False, name=name,
        synchronization=tf.VariableSynchronization.ON_WRITE,
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
    )


def _values(gradient):
    return gradient.values if isinstance(gradient, tf.IndexedSlices) else gradient


def _path(variable):
    path = getattr(variable, "path", None)  # Keras 3 variables
    return path if isinstance(path, str) else variable.name.split(":")[0]


def gradient_finiteness(gradients):
    """One boolean per gradient: whether all its values are finite (``None`` counts as finite).

    Args:
        gradients: a list of tensors, ``tf.IndexedSlices`` or ``None``.

    Returns:
        a boolean tensor of shape ``(len(gradients),)``.

    Example:

    >>> gradient_finiteness([tf.constant([1.0]), tf.constant([float("inf")])]).numpy()
    array([ True, False])
    """
    flags = [
        tf.constant(True) if g is None else tf.reduce_all(tf.math.is_finite(_values(g)))
        for g in gradients
    ]
    if not flags:
        return tf.zeros((0,), tf.bool)
    return tf.stack(flags)


def all_finite(gradients):
    """True (a boolean tensor) when every gradient is free of inf and NaN.

    Example:

    >>> bool(all_finite([tf.constant([1.0, 2.0]), None]))
    True
    """
    return tf.reduce_all(gradient_finiteness(gradients))


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1. Received: {name}={value!r}")
    return int(value)


def _check_scale(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        1.0 <= float(value) <= MAX_LOSS_SCALE
    ):
        raise ValueError(
            f"`{name}` must be a number in [1, {MAX_LOSS_SCALE:g}]. Received: {name}={value!r}"
        )
    return float(value)


class LossScaleManager(tf.Module):
    """Base class of the loss-scale managers: the scale and the overflow counters.

    Variables (created by :meth:`build`, float32 / int64 scalars, checkpointed):
    ``loss_scale``; ``steps`` (updates seen, skipped ones included); ``overflows``
    (steps skipped for a non-finite gradient); ``last_overflow_step`` (the ``steps``
    value of the latest overflow, 0 before any).

    Subclasses implement :meth:`_update` (the scale's rule) and :meth:`get_config`.

    Attributes:
        finite_fn: ``gradients -> boolean tensor`` deciding whether a step is finite;
            :func:`all_finite` by default.  The Ascend strategy replaces it with the
            NPU's float-status check (the NPU saturates instead of producing inf).
        log_overflows: print, for each skipped step, the step number, the scale and the
            paths of the variables whose gradients are not finite (to stderr).
    """

    #: Whether non-finite steps are skipped (FixedLossScaleManager can turn this off).
    skips_non_finite = True

    def __init__(self, initial_scale, log_overflows=False, name=None):
        super().__init__(name=name)
        self._initial_scale = float(initial_scale)
        self.log_overflows = bool(log_overflows)
        self.finite_fn = all_finite
        self._built = False

    # ------------------------------------------------------------------ state

    def build(self):
        """Creates the variables (once) under the current ``tf.distribute`` scope."""
        if self._built:
            return
        with tf.init_scope():
            self.loss_scale = _state_variable(self._initial_scale, tf.float32, "loss_scale")
            self.steps = _state_variable(0, tf.int64, "steps")
            self.overflows = _state_variable(0, tf.int64, "overflows")
            self.last_overflow_step = _state_variable(0, tf.int64, "last_overflow_step")
            self._build_counters()
        self._built = True

    def _build_counters(self):
        pass

    @property
    def built(self) -> bool:
        """Whether :meth:`build` has created the variables."""
        return self._built

    def get_loss_scale(self):
        """The current loss scale (a float32 scalar tensor); the Ascend / TF1 API name."""
        self.build()
        return tf.identity(self.loss_scale)

    def state(self) -> dict:
        """The variables' current values as Python numbers (for logs and tests)."""
        self.build()
        return {
            name: (float(var.numpy()) if var.dtype == tf.float32 else int(var.numpy()))
            for name, var in self._state_variables().items()
        }

    def _state_variables(self):
        return {
            "loss_scale": self.loss_scale,
            "steps": self.steps,
            "overflows": self.overflows,
            "last_overflow_step": self.last_overflow_step,
        }

    # ------------------------------------------------------------------ the rule

    def update_loss_scale(self, finite_grads):
        """Advances the state after one step (``finite_grads``: boolean scalar).

        Returns the new loss scale (a tensor that depends on every assignment, so graph
        code can run it as the update op).
        """
        self.build()
        finite = tf.convert_to_tensor(finite_grads, tf.bool)
        step = self.steps.assign_add(1)
        counted = tf.cond(
            finite,
            lambda: tf.identity(self.overflows),
            lambda: self._count_overflow(step),
        )
        with tf.control_dependencies([counted]):
            return self._update(finite)

    def _count_overflow(self, step):
        with tf.control_dependencies([self.last_overflow_step.assign(step)]):
            return self.overflows.assign_add(1)

    def _update(self, finite):
        return tf.identity(self.loss_scale)

    # ------------------------------------------------------------------ training API

    def scale_loss(self, loss):
        """``loss`` multiplied by the current scale (in ``loss``'s dtype)."""
        self.build()
        return loss * tf.cast(self.loss_scale, loss.dtype)

    def unscale(self, gradients):
        """Gradients divided by the current scale (``None`` stays ``None``)."""
        self.build()
        inverse = 1.0 / self.loss_scale

        def one(g):
            if g is None:
                return None
            if isinstance(g, tf.IndexedSlices):
                return tf.IndexedSlices(g.values * tf.cast(inverse, g.values.dtype), g.indices,
                                        g.dense_shape)
            return g * tf.cast(inverse, g.dtype)

        return [one(g) for g in gradients]

    def apply_gradients(self, optimizer, gradients, variables):
        """Unscales ``gradients`` and applies them with ``optimizer`` unless one of them
        (on any replica) is not finite; then updates the scale.

        Works eagerly, inside ``tf.function`` and in a ``tf.distribute`` replica context.

        Returns:
            a boolean scalar tensor: whether the step was applied.
        """
        self.build()
        gradients = self.unscale(list(gradients))
        variables = list(variables)
        compat.build_optimizer(optimizer, variables)  # no variable creation inside a cond
        context = tf.distribute.get_replica_context()
        distributed = tf.distribute.has_strategy() and context is not None
        finite = self.check_finite(gradients, variables)
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
                    self._apply_cross_replica, args=(optimizer, gradients, variables, finite)
                )
        return self._apply_or_skip(optimizer, gradients, variables, finite)

    def check_finite(self, gradients, variables=()):
        """Whether this step's (unscaled) gradients are all finite, by :attr:`finite_fn`;
        with :attr:`log_overflows`, prints the variables whose gradients are not."""
        flags = gradient_finiteness(gradients)
        finite = tf.reduce_all(flags) if self.finite_fn is all_finite else self.finite_fn(
            gradients)
        if self.log_overflows and len(gradients):
            variables = list(variables)
            names = ([_path(v) for v in variables] if len(variables) == len(gradients)
                     else [f"gradient {i}" for i in range(len(gradients))])
            finite = self._log(finite, flags, names)
        return finite

    def _log(self, finite, flags, names):
        names = tf.constant(names)

        def report():
            bad = tf.boolean_mask(names, tf.logical_not(flags))
            tf.print(
                "ascendgan: overflow in", self.name, "at step", self.steps + 1,
                "with loss scale", self.loss_scale, "; non-finite gradients of", bad,
                output_stream=sys.stderr,
            )
            return tf.identity(finite)

        return tf.cond(finite, lambda: tf.identity(finite), report)

    def _apply_or_skip(self, optimizer, gradients, variables, finite):
        pairs = list(zip(gradients, variables))
        if not self.skips_non_finite:
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
        with tf.control_dependencies([applied]):
            updated = self.update_loss_scale(finite)
        with tf.control_dependencies([updated]):
            return tf.identity(applied)

    def _apply_cross_replica(self, strategy, optimizer, gradients, variables, finite):
        finite = strategy.experimental_local_results(finite)[0]

        def apply_each(grads, variables):
            optimizer.apply_gradients(list(zip(grads, variables)))

        def apply():
            strategy.extended.call_for_each_replica(apply_each, args=(gradients, variables))
            return tf.constant(True)

        if self.skips_non_finite:
            applied = tf.cond(finite, apply, lambda: tf.constant(False))
        else:
            applied = apply()
        with tf.control_dependencies([applied]):
            updated = self.update_loss_scale(finite)
        with tf.control_dependencies([updated]):
            return tf.identity(applied)

    # ------------------------------------------------------------------ config

    def get_config(self) -> dict:
        """The constructor arguments (Ascend's names), for :meth:`from_config` / copies."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        """A new, unbuilt manager from :meth:`get_config`'s dictionary."""
        return cls(**config)

    def copy(self):
        """A new, unbuilt manager with the same configuration (fresh state)."""
        return type(self).from_config(self.get_config())


class FixedLossScaleManager(LossScaleManager):
    """A constant loss scale (Ascend's / TF1's ``FixedLossScaleManager``).

    Args:
        loss_scale: the scale, a number in [1, 3.4e38].
        enable_overflow_check: skip steps with non-finite gradients (True, Ascend's
            default); False applies every step as it is.
        log_overflows: print each skipped step (see :class:`LossScaleManager`).
        name: the module name (checkpoint keys use the optimizer's attribute instead).

    Example:

    >>> manager = FixedLossScaleManager(1024)
    >>> float(manager.get_loss_scale())
    1024.0
    """

    def __init__(self, loss_scale, enable_overflow_check=True, log_overflows=False,
                 name="fixed_loss_scale"):
        self._fixed = _check_scale("loss_scale", loss_scale)
        if not isinstance(enable_overflow_check, bool):
            raise ValueError(
                "`enable_overflow_check` must be True or False. Received: "
                f"enable_overflow_check={enable_overflow_check!r}"
            )
        self.enable_overflow_check = enable_overflow_check
        super().__init__(self._fixed, log_overflows=log_overflows, name=name)

    @property
    def skips_non_finite(self):
        return self.enable_overflow_check

    def get_config(self):
        return {"loss_scale": self._fixed, "enable_overflow_check": self.enable_overflow_check,
                "log_overflows": self.log_overflows}


class ExponentialUpdateLossScaleManager(LossScaleManager):
    """A dynamic loss scale (Ascend's / TF1's ``ExponentialUpdateLossScaleManager``).

    After each step:

    * finite gradients: if this makes ``incr_every_n_steps`` finite steps in a row, the
      scale is multiplied by ``incr_ratio`` (unless that would leave float32's range)
      and both counters reset; otherwise the good-step counter grows;
    * non-finite gradients: the step is skipped; if this makes
      ``decr_every_n_nan_or_inf`` non-finite steps since the last change, the scale
      becomes ``max(1, scale · decr_ratio)`` and both counters reset; otherwise the
      bad-step counter grows and the good-step counter resets.

    The documented Ascend runs use ``ExponentialUpdateLossScaleManager(2**32, 1000)``
    (grow ×2 after 1000 good steps, shrink ×0.8 after 2 overflows).

    Args:
        init_loss_scale: the initial scale, in [1, 3.4e38].
        incr_every_n_steps: consecutive finite steps before the scale grows (>= 1).
        decr_every_n_nan_or_inf: accumulated non-finite steps before it shrinks (>= 1).
        incr_ratio: growth factor (> 1). Default 2.
        decr_ratio: shrink factor in (0, 1). Default 0.8.
        log_overflows: print each skipped step (see :class:`LossScaleManager`).
        name: the module name.

    Extra variables: ``good_steps`` and ``bad_steps`` (int64, checkpointed).

    Example:

    >>> manager = ExponentialUpdateLossScaleManager(8.0, incr_every_n_steps=2)
    >>> for finite in (True, True, False, False):
    ...     _ = manager.update_loss_scale(finite)
    >>> manager.state()["loss_scale"]                      # 8 -> 16 -> 16 * 0.8
    12.800000190734863

    Reference:
        Ascend TF adapter API, ``ExponentialUpdateLossScaleManager``;
        ``tf.contrib.mixed_precision.ExponentialUpdateLossScaleManager`` (TF 1.15).
    """

    def __init__(self, init_loss_scale, incr_every_n_steps, decr_every_n_nan_or_inf=2,
                 incr_ratio=2.0, decr_ratio=0.8, log_overflows=False,
                 name="exponential_update_loss_scale"):
        self.init_loss_scale = _check_scale("init_loss_scale", init_loss_scale)
        self.incr_every_n_steps = _check_positive_int("incr_every_n_steps", incr_every_n_steps)
        self.decr_every_n_nan_or_inf = _check_positive_int(
            "decr_every_n_nan_or_inf", decr_every_n_nan_or_inf)
        if isinstance(incr_ratio, bool) or not isinstance(incr_ratio, numbers.Real) or not (
            incr_ratio > 1
        ):
            raise ValueError(f"`incr_ratio` must be a number > 1. Received: incr_ratio={incr_ratio!r}")
        if isinstance(decr_ratio, bool) or not isinstance(decr_ratio, numbers.Real) or not (
            0 < decr_ratio < 1
        ):
            raise ValueError(
                f"`decr_ratio` must be a number in (0, 1). Received: decr_ratio={decr_ratio!r}")
        self.incr_ratio = float(incr_ratio)
        self.decr_ratio = float(decr_ratio)
        super().__init__(self.init_loss_scale, log_overflows=log_overflows, name=name)

    def _build_counters(self):
        self.good_steps = _state_variable(0, tf.int64, "good_steps")
        self.bad_steps = _state_variable(0, tf.int64, "bad_steps")

    def _state_variables(self):
        return {**super()._state_variables(), "good_steps": self.good_steps,
                "bad_steps": self.bad_steps}

    def _reset(self, new_scale):
        assigns = [self.loss_scale.assign(new_scale), self.good_steps.assign(0),
                   self.bad_steps.assign(0)]
        with tf.control_dependencies(assigns):
            return tf.identity(self.loss_scale)

    def _update(self, finite):
        scale = tf.identity(self.loss_scale)

        def grow():
            room = scale < MAX_LOSS_SCALE / self.incr_ratio
            return self._reset(tf.where(room, scale * self.incr_ratio, scale))

        def count_good():
            with tf.control_dependencies([self.good_steps.assign_add(1)]):
                return tf.identity(self.loss_scale)

        def shrink():
            return self._reset(tf.maximum(1.0, scale * self.decr_ratio))

        def count_bad():
            with tf.control_dependencies([self.bad_steps.assign_add(1),
                                          self.good_steps.assign(0)]):
                return tf.identity(self.loss_scale)

        def on_finite():
            return tf.cond(self.good_steps + 1 >= self.incr_every_n_steps, grow, count_good)

        def on_overflow():
            return tf.cond(self.bad_steps + 1 >= self.decr_every_n_nan_or_inf, shrink, count_bad)

        return tf.cond(finite, on_finite, on_overflow)

    def get_config(self):
        return {
            "init_loss_scale": self.init_loss_scale,
            "incr_every_n_steps": self.incr_every_n_steps,
            "decr_every_n_nan_or_inf": self.decr_every_n_nan_or_inf,
            "incr_ratio": self.incr_ratio,
            "decr_ratio": self.decr_ratio,
            "log_overflows": self.log_overflows,
        }


# ----------------------------------------------------------------------------- specs

#: ``loss_scale="dynamic"``: the same rule as Keras's own dynamic loss scaling (start at
#: 2**15, double after 2000 finite steps, halve on every overflow).
DYNAMIC = {"init_loss_scale": 2.0**15, "incr_every_n_steps": 2000,
           "decr_every_n_nan_or_inf": 1, "incr_ratio": 2.0, "decr_ratio": 0.5}

#: ``loss_scale="ascend"``: the documented Ascend runs (2**32, ×2 after 1000 finite steps,
#: ×0.8 after 2 overflows).
ASCEND = {"init_loss_scale": 2.0**32, "incr_every_n_steps": 1000,
          "decr_every_n_nan_or_inf": 2, "incr_ratio": 2.0, "decr_ratio": 0.8}

LOSS_SCALE_SPECS = ("dynamic", "ascend", "a number", "a LossScaleManager", "a callable", "None")


def make_loss_scale_manager(spec):
    """A fresh manager from a loss-scale specification.

    Args:
        spec: ``"dynamic"`` (Keras's rule, :data:`DYNAMIC`), ``"ascend"`` (the documented
            Ascend runs, :data:`ASCEND`), a number (a :class:`FixedLossScaleManager`), a
            :class:`LossScaleManager` (used as a template: a copy with fresh state is
            returned, so one spec serves several optimizers), a callable returning a
            manager, or ``None`` (no loss scaling; returns ``None``).

    Example:

    >>> make_loss_scale_manager(128).get_config()["loss_scale"]
    128.0
    """
    if spec is None:
        return None
    if isinstance(spec, LossScaleManager):
        return spec.copy()
    if isinstance(spec, str):
        if spec == "dynamic":
            return ExponentialUpdateLossScaleManager(**DYNAMIC)
        if spec == "ascend":
            return ExponentialUpdateLossScaleManager(**ASCEND)
    elif isinstance(spec, numbers.Real) and not isinstance(spec, bool):
        return FixedLossScaleManager(spec)
    elif callable(spec):
        manager = spec()
        if not isinstance(manager, LossScaleManager):
            raise ValueError(
                "A `loss_scale` callable must return a LossScaleManager. Received: "
                f"{type(manager).__name__}"
            )
        return manager
    raise ValueError(f"`loss_scale` must be one of {LOSS_SCALE_SPECS}. Received: loss_scale={spec!r}")


# ----------------------------------------------------------------------------- optimizers


def get_loss_scale_manager(optimizer):
    """The manager attached to ``optimizer`` by :func:`attach_loss_scale`, or ``None``."""
    manager = getattr(optimizer, ATTRIBUTE, None)
    return manager if isinstance(manager, LossScaleManager) else None


def is_loss_scaled(optimizer) -> bool:
    """Whether ``optimizer`` scales its loss: an ascendgan manager is attached, or it is
    Keras's own loss-scale optimizer.

    Example:

    >>> is_loss_scaled(compat.keras.optimizers.SGD(0.1))
    False
    """
    return get_loss_scale_manager(optimizer) is not None or compat.is_loss_scale_optimizer(optimizer)


def attach_loss_scale(optimizer, manager):
    """Attaches a loss-scale manager to a Keras optimizer and returns the optimizer.

    The optimizer stays a plain Keras optimizer (``iterations``, ``learning_rate``,
    ``build`` work as before); ``compat.scale_loss`` / ``compat.apply_gradients`` (and so
    ``GAN``) dispatch to the manager.  Its variables are created now, under the current
    ``tf.distribute`` scope, and are checkpointed with the optimizer.

    Args:
        optimizer: a Keras optimizer (not Keras's own ``LossScaleOptimizer``).
        manager: a :class:`LossScaleManager` not attached elsewhere.

    Returns:
        ``optimizer``.

    Example:

    >>> opt = attach_loss_scale(compat.keras.optimizers.Adam(), FixedLossScaleManager(8))
    >>> is_loss_scaled(opt)
    True
    """
    if not isinstance(manager, LossScaleManager):
        raise ValueError(
            f"`manager` must be a LossScaleManager. Received: {type(manager).__name__}")
    if compat.is_loss_scale_optimizer(optimizer):
        raise ValueError(
            "`optimizer` is already Keras's LossScaleOptimizer; attach a manager to a plain "
            f"optimizer instead. Received: {type(optimizer).__name__}"
        )
    existing = get_loss_scale_manager(optimizer)
    if existing is not None and existing is not manager:
        raise ValueError("`optimizer` already has a loss-scale manager; give each optimizer one.")
    if getattr(manager, "_owner", None) not in (None, id(optimizer)):
        raise ValueError(
            "This loss-scale manager is attached to another optimizer; use `manager.copy()` "
            "so the two optimizers are scaled independently."
        )
    manager._owner = id(optimizer)
    manager.build()
    setattr(optimizer, ATTRIBUTE, manager)
    return optimizer


def scale_loss(optimizer, loss):
    """``loss`` times the optimizer's loss scale (``loss`` itself without a manager)."""
    manager = get_loss_scale_manager(optimizer)
    return loss if manager is None else manager.scale_loss(loss)


def apply_gradients(optimizer, gradients, variables):
    """Applies gradients of a scaled loss through the optimizer's manager (see
    :meth:`LossScaleManager.apply_gradients`); a plain ``apply_gradients`` without one.

    Returns:
        a boolean tensor: whether the step was applied.
    """
    manager = get_loss_scale_manager(optimizer)
    if manager is None:
        optimizer.apply_gradients(list(zip(gradients, variables)))
        return tf.constant(True)
    return manager.apply_gradients(optimizer, gradients, variables)


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


def loss_scale_metrics(prefix, optimizer) -> dict:
    """Metrics reporting an optimizer's loss scale and overflow count (empty without a
    manager): ``{prefix}_loss_scale`` and ``{prefix}_overflows``.

    ``GAN.compile`` adds these for ``"d"`` and ``"g"``.
    """
    if get_loss_scale_manager(optimizer) is None:
        return {}
    return {name: LastValue(name) for name in (f"{prefix}_loss_scale", f"{prefix}_overflows")}


def loss_scale_logs(prefix, optimizer) -> dict:
    """The current values for :func:`loss_scale_metrics` (empty without a manager)."""
    manager = get_loss_scale_manager(optimizer)
    if manager is None:
        return {}
    return {f"{prefix}_loss_scale": tf.identity(manager.loss_scale),
            f"{prefix}_overflows": tf.cast(manager.overflows, tf.float32)}


__all__ = [
    "ASCEND",
    "DYNAMIC",
    "ExponentialUpdateLossScaleManager",
    "FixedLossScaleManager",
    "LastValue",
    "LossScaleManager",
    "MAX_LOSS_SCALE",
    "all_finite",
    "apply_gradients",
    "attach_loss_scale",
    "get_loss_scale_manager",
    "gradient_finiteness",
    "is_loss_scaled",
    "loss_scale_logs",
    "loss_scale_metrics",
    "make_loss_scale_manager",
    "scale_loss",
]
