"""Finding overflows and NaNs, and profiling a window of training steps.

* :class:`NonFiniteMonitor` (a Keras callback) records, per training step, every
  non-finite logged value (which metric, which step) and every step a loss-scale manager
  skipped (which optimizer, which step, the scale after it); it can stop training at the
  first NaN.
* ``LossScaleManager(log_overflows=True)`` prints the variables whose gradients
  overflowed, with the manager's step.
* :func:`numerics_check` turns on TensorFlow's own check: the first operation that
  produces an inf or NaN raises an error naming that operation (and its stack).
* :func:`non_finite_names` lists which named tensors hold an inf or NaN.
* :class:`ProfilerCallback` traces training steps ``start_step .. stop_step`` with
  ``tf.profiler.experimental`` (view them in TensorBoard's Profile tab).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.strategy.optimizer import WrappedOptimizer
from ascendgan.validation import check_int

keras = compat.keras


def non_finite_names(tensors) -> list:
    """Names of the tensors holding an inf or a NaN.

    Args:
        tensors: a mapping ``name -> tensor`` (``None`` values are ignored), e.g.
            ``dict(zip(variable_paths, gradients))``.

    Returns:
        the names, in the mapping's order.

    Example:

    >>> non_finite_names({"a": tf.constant([1.0]), "b": tf.constant([float("nan")])})
    ['b']
    """
    names = []
    for name, tensor in tensors.items():
        if tensor is None:
            continue
        values = tensor.values if isinstance(tensor, tf.IndexedSlices) else tensor
        if not bool(tf.reduce_all(tf.math.is_finite(tf.cast(values, tf.float32)))):
            names.append(name)
    return names


@contextlib.contextmanager
def numerics_check(stack_height_limit: int = 30):
    """Within this context every float operation is checked: the first one that produces
    an inf or NaN raises ``tf.errors.InvalidArgumentError`` naming the operation (eager)
    or its graph node and the Python stack that created it (``tf.function``).  Slow:
    use it to locate a problem, not to train.

    Example:

    >>> with numerics_check():
    ...     tf.math.log(tf.constant([1.0])).numpy()
    array([0.], dtype=float32)
    """
    tf.debugging.enable_check_numerics(stack_height_limit=stack_height_limit)
    try:
        yield
    finally:
        tf.debugging.disable_check_numerics()


def _managers(model):
    found = {}
    for attribute, label in (("wrapped_discriminator_optimizer", "discriminator"),
                             ("wrapped_generator_optimizer", "generator")):
        wrapped = getattr(model, attribute, None)
        manager = wrapped.loss_scale_manager if isinstance(wrapped, WrappedOptimizer) else None
        if manager is not None and all(manager is not m for m in found.values()):
            found[label] = manager
    return found


class NonFiniteMonitor(keras.callbacks.Callback):
    """Records non-finite training values and skipped (overflowing) steps.

    After each training batch it checks the logged values and the overflow counters of
    the model's loss-scale managers (those of a ``GAN``'s ``wrapped_generator_optimizer``
    and ``wrapped_discriminator_optimizer``).  Steps are counted from 1 over the whole ``fit`` call.

    Args:
        stop_on_nan: stop training at the first non-finite logged value.
        verbose: print each event.

    Attributes:
        events: a list of dicts ``{"step", "kind", "name", "value"}``; ``kind`` is
            ``"non_finite"`` (``name``: the metric, ``value``: its value) or ``"overflow"``
            (``name``: the optimizer, ``value``: its loss scale after the skipped step).

    Example:

    >>> monitor = NonFiniteMonitor(stop_on_nan=True)
    >>> gan.fit(dataset, callbacks=[monitor])             # doctest: +SKIP
    >>> [e for e in monitor.events if e["kind"] == "overflow"]   # doctest: +SKIP
    """

    def __init__(self, stop_on_nan: bool = False, verbose: bool = False):
        super().__init__()
        self.stop_on_nan = bool(stop_on_nan)
        self.verbose = bool(verbose)
        self.events = []
        self._step = 0
        self._overflows = {}

    def on_train_begin(self, logs=None):
        self._step = 0
        self._overflows = {name: int(manager.overflows.numpy())
                           for name, manager in _managers(self.model).items()}

    def _record(self, kind, name, value):
        event = {"step": self._step, "kind": kind, "name": name, "value": value}
        self.events.append(event)
        if self.verbose:
            print(f"ascendgan: step {self._step}: {kind} in {name} ({value})")

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        for name, value in (logs or {}).items():
            try:
                number = float(np.asarray(value))
            except (TypeError, ValueError):
                continue
            if not math.isfinite(number):
                self._record("non_finite", name, number)
                if self.stop_on_nan:
                    self.model.stop_training = True
        for name, manager in _managers(self.model).items():
            count = int(manager.overflows.numpy())
            if count > self._overflows.get(name, 0):
                self._record("overflow", name, float(manager.loss_scale.numpy()))
            self._overflows[name] = count


class ProfilerCallback(keras.callbacks.Callback):
    """Traces training steps ``start_step`` to ``stop_step`` (inclusive, counted from 1
    over the whole ``fit`` call) with ``tf.profiler.experimental.start`` / ``stop``.

    The trace lands in ``log_dir/plugins/profile/<run>/``; open ``log_dir`` with
    TensorBoard's Profile tab.  Skip the first steps (tracing, warm-up) for timings.

    Args:
        log_dir: directory for the trace.
        start_step: first traced step (>= 1).
        stop_step: last traced step (>= start_step).

    Example:

    >>> gan.fit(dataset, callbacks=[ProfilerCallback("logs", 10, 20)])   # doctest: +SKIP
    """

    def __init__(self, log_dir, start_step: int = 2, stop_step: int = 4):
        super().__init__()
        start_step = check_int("start_step", start_step, minimum=1)
        stop_step = check_int("stop_step", stop_step, minimum=1)
        if stop_step < start_step:
            raise ValueError(
                f"`stop_step` must be >= `start_step`. Received: start_step={start_step}, "
                f"stop_step={stop_step}"
            )
        self.log_dir = str(log_dir)
        self.start_step = start_step
        self.stop_step = stop_step
        self.active = False
        self.traced_steps = []
        self._step = 0

    def on_train_begin(self, logs=None):
        self._step = 0
        self.traced_steps = []

    def on_train_batch_begin(self, batch, logs=None):
        self._step += 1
        if self._step == self.start_step and not self.active:
            tf.profiler.experimental.start(self.log_dir)
            self.active = True

    def on_train_batch_end(self, batch, logs=None):
        if self.active:
            self.traced_steps.append(self._step)
            if self._step >= self.stop_step:
                self._stop()

    def on_train_end(self, logs=None):
        if self.active:
            self._stop()

    def _stop(self):
        tf.profiler.experimental.stop()
        self.active = False


__all__ = ["NonFiniteMonitor", "ProfilerCallback", "non_finite_names", "numerics_check"]
