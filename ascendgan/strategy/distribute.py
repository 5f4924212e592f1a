"""Devices and data parallelism: :func:`get_strategy` and the :class:`Strategy` it returns.

One training script runs on a CPU, on one or several GPUs, on several machines and on
Ascend NPUs::

    strategy = get_strategy(args.device, precision=args.precision)
    with strategy.scope():                       # dtype policy + tf.distribute scope
        gan = ascendgan.models.dcgan("mnist")
        gan.compile()                            # optimizers wrapped by the strategy
        gan.fit(strategy.batch_dataset(images, global_batch_size=64), epochs=25)

* ``"cpu"`` / ``"gpu"``: one device, or ``tf.distribute.MirroredStrategy`` over several
  (``devices=``); several CPU replicas need ``configure_logical_cpus`` at start-up.
* ``"multi_worker"``: ``tf.distribute.MultiWorkerMirroredStrategy`` with the cluster from
  ``TF_CONFIG``, or from Ascend-style ``RANK_SIZE`` / ``RANK_ID`` (+ ``RANK_TABLE_FILE`` or
  ``WORKER_HOSTS``), see ``ascendgan.strategy.cluster``.
* ``"npu"``: the Ascend adapter (imported now, not before): one NPU per process, data
  parallel over ``RANK_SIZE`` processes with the adapter's all-reduce.
* ``"auto"``: ``"npu"`` when the adapter is installed, ``"multi_worker"`` when
  ``TF_CONFIG`` is set, ``"gpu"`` when a GPU is visible, else ``"cpu"``.

:func:`wrap_optimizer` prepares a Keras optimizer for a strategy (the one place that
does): a loss-scale manager and, on NPUs, the adapter's gradient all-reduce outside it
(the documented ``npu_tf_optimizer(NPULossScaleOptimizer(...))`` order), in a
:class:`~ascendgan.strategy.WrappedOptimizer`.
"""

from __future__ import annotations

import contextlib
import os
import threading

import tensorflow as tf

from ascendgan import compat
from ascendgan.strategy import npu as npu_lib
from ascendgan.strategy.cluster import local_strategy, multi_worker_strategy
from ascendgan.strategy.loss_scale import make_loss_scale_manager, resolve_loss_scale
from ascendgan.strategy.optimizer import WrappedOptimizer
from ascendgan.strategy.precision import PRECISIONS, Precision, resolve_precision
from ascendgan.strategy.session import DEVICES as SESSION_DEVICES
from ascendgan.strategy.session import session as open_session
from ascendgan.strategy.session import session_config as make_session_config
from ascendgan.strategy.session import wrap_graph_optimizer as make_graph_optimizer
from ascendgan.validation import check_int

DEVICES = ("auto", "cpu", "gpu", "npu", "multi_worker")

_ACTIVE = threading.local()


def current_strategy():
    """The innermost :class:`Strategy` whose :meth:`Strategy.scope` is active, or ``None``."""
    stack = getattr(_ACTIVE, "stack", None)
    return stack[-1] if stack else None


# ----------------------------------------------------------------------------- batch sizes


def per_replica_batch_size(global_batch_size: int, num_replicas: int) -> int:
    """The batch each replica sees when ``global_batch_size`` is split over ``num_replicas``.

    Raises:
        ValueError: unless ``global_batch_size`` is a positive multiple of ``num_replicas``.

    Example:

    >>> per_replica_batch_size(64, 8)
    8
    """
    global_batch_size = check_int("global_batch_size", global_batch_size, minimum=1)
    num_replicas = check_int("num_replicas", num_replicas, minimum=1)
    if global_batch_size % num_replicas:
        raise ValueError(
            f"`global_batch_size` must be a multiple of the number of replicas ({num_replicas}). "
            f"Received: global_batch_size={global_batch_size}"
        )
    return global_batch_size // num_replicas


# ----------------------------------------------------------------------------- Strategy


class Strategy:
    """A device, a precision and a ``tf.distribute`` strategy, used together.

    Build and compile models inside :meth:`scope`; ``GAN.compile`` wraps its optimizers
    for it with :func:`wrap_optimizer` (loss scaling for float16, the NPU's gradient
    all-reduce).

    Attributes:
        device: ``"cpu"``, ``"gpu"``, ``"npu"`` or ``"multi_worker"``.
        precision: the resolved :class:`~ascendgan.strategy.precision.Precision`.
        distribute: the ``tf.distribute.Strategy`` (the default strategy for one device
            and on NPUs, whose processes synchronize through the adapter).
        loss_scale: the loss-scale specification (``"auto"``: for float16, the documented
            Ascend manager on NPUs, Keras's dynamic rule elsewhere).
        rank: the :class:`~ascendgan.strategy.npu.RankInfo` of an NPU process.
        npu: the ``npu_device`` module on NPUs, else ``None``.

    Example:

    >>> strategy = get_strategy("cpu", precision="mixed_bfloat16")
    >>> with strategy.scope():
    ...     dense = compat.keras.layers.Dense(2)
    >>> dense.compute_dtype, strategy.num_replicas
    ('bfloat16', 1)
    """

    def __init__(self, device, distribute, precision: Precision, loss_scale="auto", rank=None,
                 npu=None, graph_mode=False):
        self.device = device
        self.distribute = distribute
        self.precision = precision
        self.loss_scale = loss_scale
        self.rank = rank or npu_lib.RankInfo()
        self.npu = npu
        self.graph_mode = graph_mode
        self.npu_options = {}

    def __repr__(self):
        return (f"Strategy(device={self.device!r}, precision={self.precision.name!r}, "
                f"replicas={self.num_replicas}, distribute={type(self.distribute).__name__})")

    # ------------------------------------------------------------------ replicas

    @property
    def num_replicas(self) -> int:
        """Replicas sharing one global batch (NPU processes count as replicas)."""
        return self.distribute.num_replicas_in_sync * (
            self.rank.rank_size if self.device == "npu" else 1)

    def per_replica_batch_size(self, global_batch_size: int) -> int:
        """``global_batch_size`` split over :attr:`num_replicas` (must divide evenly)."""
        return per_replica_batch_size(global_batch_size, self.num_replicas)

    def global_batch_size(self, per_replica: int) -> int:
        """The global batch of ``per_replica`` examples on each replica."""
        return check_int("per_replica", per_replica, minimum=1) * self.num_replicas

    # ------------------------------------------------------------------ scope

    @contextlib.contextmanager
    def scope(self):
        """Sets the Keras dtype policy and enters the ``tf.distribute`` scope.

        Create, compile and fit models inside it (variables become mirrored, optimizer
        state is created in the right place); the previous policy is restored on exit.
        """
        stack = getattr(_ACTIVE, "stack", None)
        if stack is None:
            stack = _ACTIVE.stack = []
        stack.append(self)
        try:
            with self.distribute.scope(), compat.precision_scope(self.precision.policy):
                yield self
        finally:
            stack.pop()

    # ------------------------------------------------------------------ optimizers

    def wrap_optimizer(self, optimizer, loss_scale="auto"):
        """``wrap_optimizer(optimizer, self, loss_scale)``: a
        :class:`~ascendgan.strategy.WrappedOptimizer` for this strategy."""
        return wrap_optimizer(optimizer, self, loss_scale)

    def broadcast_variables(self, variables, root_rank: int = 0):
        """Makes every NPU process start from process ``root_rank``'s values (call it once
        after building the models).  A no-op elsewhere: ``tf.distribute`` mirrors variables
        itself."""
        if self.device == "npu" and self.rank.rank_size > 1:
            npu_lib.broadcast(self.npu, variables, root_rank)

    # ------------------------------------------------------------------ data

    def batch_dataset(self, data, global_batch_size: int, drop_remainder: bool = True,
                      shuffle: int | None = None, seed: int | None = None):
        """Batches ``data`` (a ``tf.data.Dataset`` of examples, or arrays) for ``fit``.

        Under ``tf.distribute`` the batch is the global one (Keras splits it over the
        replicas).  On several NPU processes each process keeps its shard of the examples
        (``dataset.shard(RANK_SIZE, RANK_ID)``) and batches ``global_batch_size /
        RANK_SIZE`` of them, as ``npu_device.distribute.shard_and_rebatch_dataset`` does.

        Args:
            data: a dataset of single examples, an array, or a tuple of arrays.
            global_batch_size: examples per step over all replicas.
            drop_remainder: drop a last partial batch (static shapes, even splits).
            shuffle: shuffle-buffer size (``None``: no shuffling).
            seed: shuffle seed.
        """
        self.per_replica_batch_size(global_batch_size)  # validates divisibility
        dataset = data if isinstance(data, tf.data.Dataset) else tf.data.Dataset.from_tensor_slices(data)
        batch = global_batch_size
        if self.device == "npu" and self.rank.rank_size > 1:
            dataset = dataset.shard(self.rank.rank_size, self.rank.rank_id)
            batch = global_batch_size // self.rank.rank_size
        if shuffle:
            dataset = dataset.shuffle(shuffle, seed=seed, reshuffle_each_iteration=True)
        return dataset.batch(batch, drop_remainder=drop_remainder)

    def distribute_dataset(self, dataset):
        """``experimental_distribute_dataset`` for custom training loops (a dataset batched
        at the global batch size becomes per-replica batches); the dataset itself on one
        replica."""
        if self.distribute.num_replicas_in_sync == 1:
            return dataset
        return self.distribute.experimental_distribute_dataset(dataset)

    def run(self, fn, args=(), kwargs=None):
        """Runs ``fn`` on every replica (``tf.distribute.Strategy.run``)."""
        return self.distribute.run(fn, args=args, kwargs=kwargs)

    # ------------------------------------------------------------------ TF1 graphs

    def session_config(self, npu_options=None, config=None):
        """``session_config`` for this strategy's device and precision."""
        return make_session_config(self._session_device(), self.precision.name,
                                          npu_options=self._npu_options(npu_options),
                                          config=config)

    def session(self, graph=None, npu_options=None, config=None):
        """A ``tf.compat.v1.Session`` for TF1-style graph code on this device."""
        return open_session(self._session_device(), self.precision.name, graph=graph,
                                   npu_options=self._npu_options(npu_options), config=config)

    def wrap_graph_optimizer(self, optimizer, loss_scale="auto"):
        """``wrap_graph_optimizer`` for a ``tf.compat.v1.train`` optimizer on this device."""
        spec = resolve_loss_scale(loss_scale, self.precision.loss_scaling, default=self.loss_scale,
                                  device=self.device)
        return make_graph_optimizer(
            optimizer, self._session_device(), self.precision.name, loss_scale=spec,
            rank_size=self.rank.rank_size)

    def _npu_options(self, extra):
        if self.device != "npu":
            return extra
        options = {"precision_mode": self.precision.npu_precision_mode, **self.npu_options}
        options.update(extra or {})
        return options

    def _session_device(self):
        return self.device if self.device in SESSION_DEVICES else "cpu"


def get_strategy(device: str = "auto", precision: str = "float32", loss_scale="auto",
                 devices=None, graph_mode: bool = False, npu_options=None) -> Strategy:
    """Returns the :class:`Strategy` for a device.

    Args:
        device: ``"auto"``, ``"cpu"``, ``"gpu"``, ``"npu"`` or ``"multi_worker"`` (see the
            module documentation).
        precision: ``"float32"``, ``"mixed_float16"``, ``"mixed_bfloat16"`` or an Ascend
            ``precision_mode`` name (``"allow_mix_precision"``, ``"force_fp16"``,
            ``"allow_fp32_to_fp16"``, ``"must_keep_origin_dtype"``, ...).
        loss_scale: ``"auto"`` (when the precision computes in float16: ``"ascend"`` on an
            NPU, as the documented Ascend runs, ``"dynamic"`` elsewhere; none otherwise),
            ``"dynamic"`` (Keras's rule: 2**15, ×2 after 2000 good steps, ×0.5 at every
            overflow), ``"ascend"`` (2**32, ×2 after 1000 good steps, ×0.8 after 2
            overflows), a number (fixed), a loss-scale manager (a template: each optimizer
            gets a copy) or ``None``.
        devices: ``"cpu"`` / ``"gpu"`` only: how many devices (an int) or which (a list
            of names); several give a ``MirroredStrategy``. Default: one CPU, all GPUs.
        graph_mode: ``"npu"`` only: use the TF1 adapter ``npu_bridge`` (sessions) instead of
            opening the device with ``npu_device`` (eager / ``tf.function``).
        npu_options: ``"npu"`` only: adapter options (``precision_mode`` overrides the one
            derived from ``precision``); set on ``npu_device.global_options()``, or used as
            ``NpuOptimizer`` parameters by :meth:`Strategy.session_config` in graph mode.

    Raises:
        ValueError: for an unknown device / precision / loss scale, or impossible devices.
        ImportError: ``"npu"`` without the Ascend adapter (naming the package).
        RuntimeError: ``"gpu"`` without a visible GPU.

    Example:

    >>> get_strategy("cpu").num_replicas
    1
    """
    if device not in DEVICES:
        raise ValueError(f"`device` must be one of {DEVICES}. Received: device={device!r}")
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: precision={precision!r}")
    if loss_scale != "auto":
        make_loss_scale_manager(loss_scale)  # validates the specification
    if devices is not None and device not in ("cpu", "gpu"):
        raise ValueError(f"`devices` only applies to device='cpu' or 'gpu'. Received: device={device!r}")
    if npu_options and device not in ("npu", "auto"):
        raise ValueError(f"`npu_options` only apply to device='npu'. Received: device={device!r}")
    if device == "auto":
        if npu_lib.adapter_available(npu_lib.TF1_PACKAGE if graph_mode else npu_lib.TF2_PACKAGE):
            device = "npu"
        elif os.environ.get("TF_CONFIG"):
            device = "multi_worker"
        elif tf.config.list_physical_devices("GPU"):
            device = "gpu"
        else:
            device = "cpu"
    if device == "npu":
        return _npu_strategy(precision, loss_scale, graph_mode, dict(npu_options or {}))
    resolved = resolve_precision(precision, device=device)
    if device == "multi_worker":
        distribute = multi_worker_strategy()
    elif device == "gpu":
        if not tf.config.list_physical_devices("GPU"):
            raise RuntimeError("device='gpu' but TensorFlow sees no GPU; use device='cpu' or 'auto'.")
        distribute = local_strategy("gpu", devices)
    else:
        distribute = local_strategy("cpu", devices)
    return Strategy(device, distribute, resolved, loss_scale=loss_scale)


def _npu_strategy(precision, loss_scale, graph_mode, options):
    resolved = resolve_precision(precision, device="npu")
    mode = options.pop("precision_mode", resolved.npu_precision_mode)
    if mode != resolved.npu_precision_mode:
        resolved = Precision(resolved.name, resolved.policy, mode, resolved.loss_scaling, "npu")
    rank = npu_lib.rank_from_environment()
    if graph_mode:
        npu_lib.import_adapter(npu_lib.TF1_PACKAGE + ".npu_init")
        strategy = Strategy("npu", tf.distribute.get_strategy(), resolved, loss_scale=loss_scale,
                            rank=rank, graph_mode=True)
        strategy.npu_options = options
        return strategy
    module, _ = npu_lib.open_device(mode, options)
    return Strategy("npu", tf.distribute.get_strategy(), resolved, loss_scale=loss_scale,
                    rank=rank, npu=module)



def wrap_optimizer(optimizer, strategy=None, loss_scale="auto") -> WrappedOptimizer:
    """Prepares a Keras optimizer for a device: what ``GAN.compile`` does to each optimizer.

    With a strategy (the argument, or the one whose :meth:`Strategy.scope` is active), in
    the order of the documented Ascend scripts (``npu_tf_optimizer(NPULossScaleOptimizer(
    opt, manager, is_distributed=RANK_SIZE > 1))``):

    * loss scaling: a fresh manager from ``loss_scale`` (``"auto"``: the strategy's
      ``loss_scale``, which by default is, when the precision computes in float16 or
      under the global ``mixed_float16`` policy, ``"ascend"`` on an NPU and ``"dynamic"``
      elsewhere, and none otherwise), built under the strategy's scope; on NPUs its
      overflow check reads the NPU's float status and is all-reduced over the processes
      when ``RANK_SIZE > 1``.  Keras's own ``LossScaleOptimizer`` scales itself and gets no
      manager;
    * on NPUs, for every ``RANK_SIZE``, outside it: the gradient all-reduce
      (``npu_device.distribute.all_reduce(gradients, "mean")``, see
      ``ascendgan.strategy.npu.gradient_all_reduce``) on the unscaled gradients, before
      the overflow check.  The Keras optimizer itself is not wrapped.

    Without a strategy only loss scaling applies (``"auto"``: dynamic under the global
    ``mixed_float16`` policy).

    Args:
        optimizer: a Keras optimizer, or a :class:`~ascendgan.strategy.WrappedOptimizer`
            (returned as it is).
        strategy: a :class:`Strategy` or ``None``.
        loss_scale: see :func:`get_strategy` (a manager is a template: each optimizer gets
            a copy).

    Returns:
        a :class:`~ascendgan.strategy.WrappedOptimizer`; wrap each Keras optimizer once.

    Example:

    >>> wrapped = wrap_optimizer(compat.keras.optimizers.Adam(), get_strategy("cpu"),
    ...                          loss_scale="ascend")
    >>> wrapped.loss_scale_manager.get_config()["init_loss_scale"]
    4294967296.0
    """
    if isinstance(optimizer, WrappedOptimizer):
        return optimizer
    strategy = strategy if strategy is not None else current_strategy()
    if strategy is not None and not isinstance(strategy, Strategy):
        raise ValueError(
            "`strategy` must be an ascendgan.strategy.Strategy (from get_strategy). "
            f"Received: {type(strategy).__name__}"
        )
    float16 = compat.global_precision() == "mixed_float16"
    if strategy is None:
        spec = resolve_loss_scale(loss_scale, float16)
        scope, npu = contextlib.nullcontext(), None
    else:
        spec = resolve_loss_scale(loss_scale, strategy.precision.loss_scaling or float16,
                                  default=strategy.loss_scale, device=strategy.device)
        scope = strategy.distribute.scope()
        npu = strategy.npu if strategy.device == "npu" else None
    manager = None
    if not compat.is_loss_scale_optimizer(optimizer):
        manager = make_loss_scale_manager(spec)
    all_reduce = None
    if npu is not None:
        all_reduce = npu_lib.gradient_all_reduce(npu)
        if manager is not None:
            manager.finite_fn = npu_lib.finite_check(npu, strategy.rank.rank_size)
    with scope:
        return WrappedOptimizer(optimizer, manager, all_reduce=all_reduce)


__all__ = [
    "DEVICES",
    "Strategy",
    "current_strategy",
    "get_strategy",
    "per_replica_batch_size",
    "wrap_optimizer",
]
