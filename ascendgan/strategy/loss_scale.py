"""Loss-scale managers with the semantics of Ascend's (and TensorFlow 1's) managers.

Mixed float16 training multiplies the loss by a *loss scale* before differentiating, so
small gradients do not flush to zero in float16, and divides the gradients by it
before the update.  A manager holds the scale and decides how it changes:

* :class:`FixedLossScaleManager` keeps one scale;
* :class:`ExponentialUpdateLossScaleManager` grows the scale by ``incr_ratio`` after
  ``incr_every_n_steps`` consecutive finite steps and shrinks it by ``decr_ratio`` once
  ``decr_every_n_nan_or_inf`` non-finite steps have accumulated (not necessarily in a
  row), never below 1, exactly as ``npu_bridge``'s manager of the same name does.

A manager scales one optimizer: :func:`~ascendgan.strategy.wrap_optimizer` (what
``GAN.compile`` calls) gives each optimizer its own, in a
:class:`~ascendgan.strategy.WrappedOptimizer` that scales the loss, unscales the
gradients and skips the steps whose gradients are not finite.  :func:`resolve_loss_scale`
is the one place that decides what ``loss_scale="auto"`` means.

Example:

>>> manager = ExponentialUpdateLossScaleManager(2.0**32, 1000)
>>> float(manager.get_loss_scale())
4294967296.0

Reference:
    Micikevicius et al., "Mixed Precision Training", ICLR 2018 (arXiv:1710.03740);
    Ascend TF adapter ``ExponentialUpdateLossScaleManager`` / ``FixedLossScaleManager``
    (public API documentation).
"""

from __future__ import annotations

import numbers

import tensorflow as tf

from ascendgan.strategy.finite import all_finite, gradient_finiteness, report_non_finite
from ascendgan.validation import check_bool, check_int, check_number

#: A scale is only grown while ``scale < MAX_LOSS_SCALE / incr_ratio`` (float32's range).
MAX_LOSS_SCALE = 3.4e38


def _state_variable(value, dtype, name):
    # Written with the same value on every replica (or once, in cross-replica context).
    return tf.Variable(
        value, dtype=dtype, trainable=False, name=name,
        synchronization=tf.VariableSynchronization.ON_WRITE,
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
    )


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
        self._owner = None  # id() of the optimizer this manager scales (see bind)

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

    def bind(self, optimizer):
        """Makes this manager ``optimizer``'s: a manager scales one optimizer, so the
        generator's and the discriminator's scales (and skipped steps) stay independent.

        Raises:
            ValueError: when the manager already scales another optimizer (use
                :meth:`copy`).
        """
        if self._owner not in (None, id(optimizer)):
            raise ValueError(
                "This loss-scale manager scales another optimizer; use `manager.copy()` "
                "so the two optimizers are scaled independently."
            )
        self._owner = id(optimizer)

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

    def check_finite(self, gradients, variables=()):
        """Whether this step's (unscaled) gradients are all finite, by :attr:`finite_fn`;
        with :attr:`log_overflows`, prints the variables whose gradients are not."""
        flags = gradient_finiteness(gradients)
        finite = tf.reduce_all(flags) if self.finite_fn is all_finite else self.finite_fn(
            gradients)
        if self.log_overflows and len(gradients):
            finite = report_non_finite(
                finite, flags, list(variables),
                lambda: ("ascendgan: overflow in", self.name, "at step", self.steps + 1,
                         "with loss scale", self.loss_scale))
        return finite

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
        name: the module name (checkpoint keys use the optimizer's key instead).

    Example:

    >>> manager = FixedLossScaleManager(1024)
    >>> float(manager.get_loss_scale())
    1024.0
    """

    def __init__(self, loss_scale, enable_overflow_check=True, log_overflows=False,
                 name="fixed_loss_scale"):
        self._fixed = check_number("loss_scale", loss_scale, minimum=1.0,
                                   maximum=MAX_LOSS_SCALE)
        self.enable_overflow_check = check_bool("enable_overflow_check", enable_overflow_check)
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
        self.init_loss_scale = check_number("init_loss_scale", init_loss_scale, minimum=1.0,
                                            maximum=MAX_LOSS_SCALE)
        self.incr_every_n_steps = check_int("incr_every_n_steps", incr_every_n_steps, minimum=1)
        self.decr_every_n_nan_or_inf = check_int(
            "decr_every_n_nan_or_inf", decr_every_n_nan_or_inf, minimum=1)
        self.incr_ratio = check_number("incr_ratio", incr_ratio, minimum=1, min_inclusive=False)
        self.decr_ratio = check_number("decr_ratio", decr_ratio, minimum=0, maximum=1,
                                       min_inclusive=False, max_inclusive=False)
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



def resolve_loss_scale(loss_scale, float16: bool, default="auto", device=None):
    """The specification ``loss_scale="auto"`` stands for: the one place it is decided.

    Args:
        loss_scale: a specification (see :func:`make_loss_scale_manager`) or ``"auto"``.
        float16: whether the computation runs in float16, so gradients can underflow
            (the precision's ``loss_scaling``, or the ``mixed_float16`` Keras policy).
        default: what ``"auto"`` defers to first: a strategy's own ``loss_scale``
            (itself possibly ``"auto"``).
        device: the strategy's device (``"npu"``, ``"cpu"``, ...) or ``None``.

    Returns:
        ``loss_scale`` when it is not ``"auto"``; else ``default`` when that is not
        ``"auto"``; else, when computing in float16, ``"ascend"`` on an NPU (the
        documented Ascend runs' ``ExponentialUpdateLossScaleManager(2**32, 1000, 2,
        decr_ratio=0.8)``, :data:`ASCEND`) and ``"dynamic"`` elsewhere (Keras's rule,
        :data:`DYNAMIC`); ``None`` when not computing in float16.

    Example:

    >>> resolve_loss_scale("auto", float16=True), resolve_loss_scale("auto", float16=False)
    ('dynamic', None)
    >>> resolve_loss_scale("auto", float16=True, device="npu")
    'ascend'
    >>> resolve_loss_scale("auto", float16=True, default=64, device="npu")
    64
    """
    for spec in (loss_scale, default):
        if not (isinstance(spec, str) and spec == "auto"):
            return spec
    if not float16:
        return None
    return "ascend" if device == "npu" else "dynamic"


__all__ = [
    "ASCEND",
    "DYNAMIC",
    "ExponentialUpdateLossScaleManager",
    "FixedLossScaleManager",
    "LOSS_SCALE_SPECS",
    "LossScaleManager",
    "MAX_LOSS_SCALE",
    "make_loss_scale_manager",
    "resolve_loss_scale",
]
