"""Devices, precision, loss scaling, data parallelism and the Ascend adapter.

``get_strategy(device, precision=...)`` returns a :class:`Strategy`; build and compile
inside ``strategy.scope()`` and ``GAN.compile`` wraps its optimizers for the device with
:func:`wrap_optimizer` (a :class:`WrappedOptimizer`: loss-scale managers for float16 —
on NPUs the documented Ascend one — and the NPU's gradient all-reduce outside them, the
order of the documented ``npu_tf_optimizer(NPULossScaleOptimizer(...))``).  The same script runs on a CPU, on GPUs, on several workers
and on Ascend NPUs; the Ascend adapter is imported only when ``device="npu"`` is asked
for (or ``"auto"`` finds it installed).

Modules: ``distribute`` (:class:`Strategy`, :func:`get_strategy`, :func:`wrap_optimizer`),
``optimizer`` (:class:`WrappedOptimizer`, the loss-scale metrics), ``loss_scale`` (the
managers, ``loss_scale=`` specifications), ``finite`` (overflow checks), ``cluster``
(logical CPUs, rank tables, multi-worker clusters), ``precision``, ``npu`` (the adapter),
``session`` (TF1 graphs), ``debugging``.  The command-line options live in
``ascendgan.cli.strategy_options``.

See ``docs/strategy.md``.
"""

from ascendgan.strategy.cluster import (
    RANK_TABLE_FORMATS,
    RankTable,
    RankTableDevice,
    cluster_from_rank_environment,
    configure_logical_cpus,
    local_strategy,
    multi_worker_strategy,
    read_rank_table,
)
from ascendgan.strategy.debugging import (
    NonFiniteMonitor,
    ProfilerCallback,
    non_finite_names,
    numerics_check,
)
from ascendgan.strategy.distribute import (
    DEVICES,
    Strategy,
    current_strategy,
    get_strategy,
    per_replica_batch_size,
    wrap_optimizer,
)
from ascendgan.strategy.finite import all_finite, gradient_finiteness
from ascendgan.strategy.loss_scale import (
    ExponentialUpdateLossScaleManager,
    FixedLossScaleManager,
    LossScaleManager,
    make_loss_scale_manager,
    resolve_loss_scale,
)
from ascendgan.strategy.npu import RankInfo, adapter_available, rank_from_environment
from ascendgan.strategy.optimizer import (
    LastValue,
    WrappedOptimizer,
    loss_scale_logs,
    loss_scale_metrics,
)
from ascendgan.strategy.precision import (
    ASCEND_PRECISION_MODES,
    PRECISIONS,
    Precision,
    auto_precision,
    precision_policy,
    resolve_precision,
)
from ascendgan.strategy.session import (
    GraphLossScaleOptimizer,
    session,
    session_config,
    wrap_graph_optimizer,
)

__all__ = [
    "ASCEND_PRECISION_MODES",
    "DEVICES",
    "ExponentialUpdateLossScaleManager",
    "FixedLossScaleManager",
    "GraphLossScaleOptimizer",
    "LastValue",
    "LossScaleManager",
    "NonFiniteMonitor",
    "PRECISIONS",
    "Precision",
    "ProfilerCallback",
    "RankInfo",
    "Strategy",
    "WrappedOptimizer",
    "adapter_available",
    "all_finite",
    "RANK_TABLE_FORMATS",
    "RankTable",
    "RankTableDevice",
    "cluster_from_rank_environment",
    "read_rank_table",
    "configure_logical_cpus",
    "current_strategy",
    "get_strategy",
    "gradient_finiteness",
    "local_strategy",
    "loss_scale_logs",
    "loss_scale_metrics",
    "make_loss_scale_manager",
    "multi_worker_strategy",
    "non_finite_names",
    "numerics_check",
    "per_replica_batch_size",
    "auto_precision",
    "precision_policy",
    "rank_from_environment",
    "resolve_loss_scale",
    "resolve_precision",
    "session",
    "session_config",
    "wrap_graph_optimizer",
    "wrap_optimizer",
]
