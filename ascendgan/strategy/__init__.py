"""Devices, precision, loss scaling, data parallelism and the Ascend adapter.

``get_strategy(device, precision=...)`` returns a :class:`Strategy`; build and compile
inside ``strategy.scope()`` and ``GAN.compile`` wraps its optimizers for the device
(loss-scale managers for float16, the NPU's gradient all-reduce).  The same script runs
on a CPU, on GPUs, on several workers and on Ascend NPUs; the Ascend adapter is
imported only when ``device="npu"`` is asked for (or ``"auto"`` finds it installed).

See ``docs/strategy.md``.
"""

from ascendgan.strategy.debugging import (
    NonFiniteMonitor,
    ProfilerCallback,
    non_finite_names,
    numerics_check,
)
from ascendgan.strategy.distribute import (
    DEVICES,
    Strategy,
    add_strategy_arguments,
    cluster_from_rank_environment,
    configure_logical_cpus,
    current_strategy,
    get_strategy,
    per_replica_batch_size,
    prepare_optimizer,
    strategy_from_arguments,
)
from ascendgan.strategy.loss_scale import (
    ExponentialUpdateLossScaleManager,
    FixedLossScaleManager,
    LastValue,
    LossScaleManager,
    all_finite,
    attach_loss_scale,
    get_loss_scale_manager,
    is_loss_scaled,
    loss_scale_logs,
    loss_scale_metrics,
    make_loss_scale_manager,
)
from ascendgan.strategy.npu import RankInfo, adapter_available, rank_from_environment
from ascendgan.strategy.precision import (
    ASCEND_PRECISION_MODES,
    PRECISIONS,
    Precision,
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
    "adapter_available",
    "add_strategy_arguments",
    "all_finite",
    "attach_loss_scale",
    "cluster_from_rank_environment",
    "configure_logical_cpus",
    "current_strategy",
    "get_loss_scale_manager",
    "get_strategy",
    "is_loss_scaled",
    "loss_scale_logs",
    "loss_scale_metrics",
    "make_loss_scale_manager",
    "non_finite_names",
    "numerics_check",
    "per_replica_batch_size",
    "precision_policy",
    "prepare_optimizer",
    "rank_from_environment",
    "resolve_precision",
    "session",
    "session_config",
    "strategy_from_arguments",
    "wrap_graph_optimizer",
]
