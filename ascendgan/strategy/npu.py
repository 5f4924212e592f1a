"""The Ascend NPU adapter, imported only when an NPU is asked for.

Huawei's TensorFlow adapter comes in two packages (both installed with CANN's "TF
Adapter"; neither is on PyPI):

* ``npu_device`` (TF 2.x, eager and ``tf.function``): ``npu_device.global_options()``
  holds the device options (``precision_mode``, ...), ``npu_device.open().as_default()``
  registers the NPU as TensorFlow's default device, ``npu_device.distribute.all_reduce``
  / ``broadcast`` synchronize the processes of a data-parallel job, and
  ``npu_device.gen_npu_ops`` reads the NPU's floating-point status (the NPU saturates
  overflowing float16 values instead of producing inf, so overflow is detected from
  that status);
* ``npu_bridge`` (TF 1.x graphs and sessions): ``from npu_bridge.npu_init import *``
  registers the ``NpuOptimizer`` graph optimizer and provides ``NPULossScaleOptimizer``,
  ``ExponentialUpdateLossScaleManager``, ``FixedLossScaleManager``,
  ``NPUDistributedOptimizer`` and ``npu_tf_optimizer``.

The documented Ascend scripts build their optimizer as
``npu_tf_optimizer(NPULossScaleOptimizer(opt, manager, is_distributed=RANK_SIZE > 1))``:
loss scaling inside (scale the loss, unscale the gradients, check the float status,
apply or skip, update the scale), the gradient all-reduce outside (so the overflow check
sees the all-reduced gradients).  :func:`graph_optimizer` builds exactly that chain;
:func:`gradient_all_reduce` and :func:`finite_check` are its ``npu_device`` steps, used
by :class:`~ascendgan.strategy.WrappedOptimizer` in the same order.

Nothing here imports either package at module import time; every function that needs
one imports it and raises an ``ImportError`` naming the package when it is missing.

Data parallelism on Ascend runs one process per NPU; each process reads ``RANK_SIZE``
(the number of processes), ``RANK_ID`` (its rank) and ``RANK_TABLE_FILE`` (the JSON rank
table describing the devices), see :func:`rank_from_environment`.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os

import tensorflow as tf

from ascendgan.strategy.finite import all_finite
from ascendgan.strategy.loss_scale import (
    ExponentialUpdateLossScaleManager,
    FixedLossScaleManager,
)

TF2_PACKAGE = "npu_device"
TF1_PACKAGE = "npu_bridge"

_WHERE = (
    "It is part of Huawei CANN's TensorFlow adapter (TF Adapter), installed with the CANN "
    "toolkit on machines with Ascend NPUs (it is not on PyPI); see the Ascend documentation "
    "'TensorFlow model migration', and make sure CANN's set_env.sh has been sourced."
)


def adapter_available(package: str = TF2_PACKAGE) -> bool:
    """Whether the adapter ``package`` (``"npu_device"`` or ``"npu_bridge"``) can be imported,
    without importing it.

    Example:

    >>> adapter_available("npu_device") in (True, False)
    True
    """
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def import_adapter(package: str = TF2_PACKAGE):
    """Imports and returns an adapter module (``"npu_device"``, ``"npu_bridge"`` or
    ``"npu_bridge.npu_init"``).

    Raises:
        ImportError: naming the missing package and where it comes from.
    """
    try:
        return importlib.import_module(package)
    except ImportError as error:
        top = package.split(".")[0]
        raise ImportError(
            f"device='npu' needs the Ascend TensorFlow adapter package `{top}`, which is not "
            f"installed ({error}). {_WHERE}"
        ) from error


@dataclasses.dataclass(frozen=True)
class RankInfo:
    """Where this process sits in an Ascend-style data-parallel job.

    Attributes:
        rank_size: number of processes (``RANK_SIZE``, 1 when unset).
        rank_id: this process's rank (``RANK_ID``, 0 when unset).
        rank_table_file: path of the rank table (``RANK_TABLE_FILE``) or ``None``.
        device_id: the local device (``ASCEND_DEVICE_ID`` / ``DEVICE_ID``) or ``None``.
    """

    rank_size: int = 1
    rank_id: int = 0
    rank_table_file: str | None = None
    device_id: int | None = None


def _int_variable(environ, name, default):
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"The environment variable {name} must be an integer. Received: {name}={raw!r}"
        ) from None


def rank_from_environment(environ=None) -> RankInfo:
    """Reads ``RANK_SIZE``, ``RANK_ID``, ``RANK_TABLE_FILE`` and the device id.

    Args:
        environ: a mapping (default ``os.environ``).

    Raises:
        ValueError: naming the variable when a value is not an integer, ``RANK_SIZE < 1``
            or ``RANK_ID`` is outside ``[0, RANK_SIZE)``; FileNotFoundError when
            ``RANK_TABLE_FILE`` names a missing file.

    Example:

    >>> rank_from_environment({"RANK_SIZE": "8", "RANK_ID": "3"}).rank_id
    3
    """
    environ = os.environ if environ is None else environ
    size = _int_variable(environ, "RANK_SIZE", 1)
    rank = _int_variable(environ, "RANK_ID", 0)
    if size < 1:
        raise ValueError(f"The environment variable RANK_SIZE must be >= 1. Received: RANK_SIZE={size}")
    if not 0 <= rank < size:
        raise ValueError(
            f"The environment variable RANK_ID must be in [0, RANK_SIZE={size}). Received: "
            f"RANK_ID={rank}"
        )
    table = environ.get("RANK_TABLE_FILE") or None
    if table is not None and not os.path.exists(table):
        raise FileNotFoundError(
            f"The environment variable RANK_TABLE_FILE names a file that does not exist: {table!r}"
        )
    device = _int_variable(environ, "ASCEND_DEVICE_ID", _int_variable(environ, "DEVICE_ID", None))
    return RankInfo(rank_size=size, rank_id=rank, rank_table_file=table, device_id=device)


def open_device(precision_mode: str, options=None):
    """Configures and opens the NPU for TF2 eager / ``tf.function`` code.

    Sets ``npu_device.global_options().precision_mode`` (and any other option given),
    then calls ``npu_device.open()`` and ``.as_default()`` on the handle.

    Args:
        precision_mode: the adapter's precision mode (``"allow_mix_precision"``, ...).
        options: ``{option: value}`` set on ``npu_device.global_options()`` as attributes.

    Returns:
        ``(npu_device module, device handle)``.
    """
    npu = import_adapter(TF2_PACKAGE)
    settings = npu.global_options()
    settings.precision_mode = precision_mode
    for name, value in (options or {}).items():
        setattr(settings, name, value)
    handle = npu.open()
    handle.as_default()
    return npu, handle


def gradient_all_reduce(npu):
    """The TF2 step of ``npu_tf_optimizer``: ``gradients -> gradients`` averaged over the
    processes of a data-parallel job with ``npu_device.distribute.all_reduce(gradients,
    "mean")`` (the call ``npu_distributed_keras_optimizer_wrapper`` makes inside a Keras
    optimizer's ``apply_gradients``; the adapter returns the values unchanged in a
    one-process job).  ``None`` gradients stay ``None``; ``IndexedSlices`` are made dense
    first.

    :class:`~ascendgan.strategy.WrappedOptimizer` applies it to the unscaled gradients,
    before the overflow check, as the documented chain does.
    """
    def reduce(gradients):
        dense = [g if g is None else tf.convert_to_tensor(g) for g in gradients]
        return list(npu.distribute.all_reduce(dense, "mean"))

    return reduce


def broadcast(npu, variables, root_rank=0):
    """Copies ``variables`` from process ``root_rank`` to every process
    (``npu_device.distribute.broadcast``), so all ranks start from the same weights."""
    npu.distribute.broadcast(list(variables), root_rank=root_rank)


def _float_status_finite(ops, gradients):
    """Whether the NPU's float status reports no overflow since it was last cleared, read
    after ``gradients`` are computed, then cleared."""
    tensors = [g for g in gradients if g is not None]
    if hasattr(ops, "npu_get_float_status_v2"):  # newer adapters
        with tf.control_dependencies(tensors):
            status = ops.npu_get_float_status_v2()
        with tf.control_dependencies([status]):
            cleared = ops.npu_clear_float_status_v2()
        with tf.control_dependencies([cleared]):
            return tf.reduce_all(tf.equal(status, 0))
    with tf.control_dependencies(tensors):
        status = ops.npu_alloc_float_status()
    read = ops.npu_get_float_status(status)
    cleared = ops.npu_clear_float_status(read)
    return tf.reduce_all(tf.equal(status, cleared))


def finite_check(npu, rank_size: int):
    """A ``gradients -> boolean`` overflow check for the NPU (what the adapter's loss-scale
    optimizers check).

    Combines TensorFlow's inf / NaN test with the NPU's floating-point status
    (``npu_get_float_status_v2`` / ``npu_clear_float_status_v2`` from
    ``npu_device.gen_npu_ops``, or ``npu_alloc_float_status`` / ``npu_get_float_status`` /
    ``npu_clear_float_status`` on adapters without them), which is what reports an
    overflow when the NPU runs in saturation mode (skipped when
    ``npu_device.is_inf_nan_enabled()``).  With several processes the verdict is
    all-reduced (``"sum"``, ``fusion=0``, as the adapter does with the status), so every
    rank skips the same steps.
    """
    inf_nan_mode = getattr(npu, "is_inf_nan_enabled", None)

    def check(gradients):
        finite = all_finite(gradients)
        if inf_nan_mode is None or not inf_nan_mode():
            finite = tf.logical_and(finite, _float_status_finite(npu.gen_npu_ops, gradients))
        if rank_size > 1:
            overflowed = npu.distribute.all_reduce(
                tf.cast(tf.logical_not(finite), tf.float32), "sum", fusion=0)
            finite = tf.equal(overflowed, 0.0)
        return finite

    return check


def graph_loss_scale_manager(npu_init, manager):
    """The ``npu_bridge`` manager equivalent to an ascendgan manager (same arguments)."""
    config = manager.get_config()
    config.pop("log_overflows", None)
    if isinstance(manager, ExponentialUpdateLossScaleManager):
        return npu_init.ExponentialUpdateLossScaleManager(**config)
    if isinstance(manager, FixedLossScaleManager):
        return npu_init.FixedLossScaleManager(**config)
    raise ValueError(
        "Only FixedLossScaleManager and ExponentialUpdateLossScaleManager have an npu_bridge "
        f"equivalent. Received: {type(manager).__name__}"
    )


def tf_optimizer(npu_init, optimizer):
    """``npu_init.npu_tf_optimizer(optimizer)`` (the adapter's ``NPUDistributedOptimizer``:
    it all-reduces the gradients when ``RANK_SIZE > 1`` and is a pass-through otherwise).
    Adapters whose ``npu_init`` predates ``npu_tf_optimizer`` get
    ``NPUDistributedOptimizer(optimizer)`` directly, which is what it does."""
    wrap = getattr(npu_init, "npu_tf_optimizer", None)
    if wrap is None:
        return npu_init.NPUDistributedOptimizer(optimizer)
    return wrap(optimizer)


def graph_optimizer(optimizer, manager, rank_size: int):
    """Wraps a TF1 optimizer for a graph on the NPU (``npu_bridge``), as the documented
    scripts do, for every ``rank_size``::

        npu_tf_optimizer(NPULossScaleOptimizer(optimizer, <npu manager>,
                                               is_distributed=rank_size > 1))

    Without a ``manager`` (no loss scaling) only ``npu_tf_optimizer(optimizer)``.
    """
    npu_init = import_adapter(TF1_PACKAGE + ".npu_init")
    if manager is not None:
        optimizer = npu_init.NPULossScaleOptimizer(
            optimizer, graph_loss_scale_manager(npu_init, manager), is_distributed=rank_size > 1
        )
    return tf_optimizer(npu_init, optimizer)


__all__ = [
    "RankInfo",
    "TF1_PACKAGE",
    "TF2_PACKAGE",
    "adapter_available",
    "broadcast",
    "finite_check",
    "gradient_all_reduce",
    "graph_loss_scale_manager",
    "graph_optimizer",
    "import_adapter",
    "open_device",
    "rank_from_environment",
    "tf_optimizer",
]
