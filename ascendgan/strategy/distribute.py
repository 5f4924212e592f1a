"""Devices and data parallelism: :func:`get_strategy` and the :class:`Strategy` it returns.

One training script runs on a CPU, on one or several GPUs, on several machines and on
Ascend NPUs::

    strategy = get_strategy(args.device, precision=args.precision)
    with strategy.scope():                       # dtype policy + tf.distribute scope
        gan = ascendgan.models.dcgan("mnist")
        gan.compile()                            # optimizers wrapped by the strategy
        gan.fit(strategy.batch_dataset(images, global_batch_size=64), epochs=25)

* ``"cpu"`` / ``"gpu"``: one device, or ``tf.distribute.MirroredStrategy`` over several
  (``devices=``); several CPU replicas need :func:`configure_logical_cpus` at start-up.
* ``"multi_worker"``: ``tf.distribute.MultiWorkerMirroredStrategy`` with the cluster from
  ``TF_CONFIG``, or from Ascend-style ``RANK_SIZE`` / ``RANK_ID`` (+ ``RANK_TABLE_FILE`` or
  ``WORKER_HOSTS``), see :func:`cluster_from_rank_environment`.
* ``"npu"``: the Ascend adapter (imported now, not before): one NPU per process, data
  parallel over ``RANK_SIZE`` processes with the adapter's all-reduce.
* ``"auto"``: ``"npu"`` when the adapter is installed, ``"multi_worker"`` when
  ``TF_CONFIG`` is set, ``"gpu"`` when a GPU is visible, else ``"cpu"``.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading

import tensorflow as tf

from ascendgan import compat
from ascendgan.strategy import loss_scale as loss_scale_lib
from ascendgan.strategy import npu as npu_lib
from ascendgan.strategy.precision import PRECISIONS, Precision, resolve_precision
from ascendgan.strategy.session import DEVICES as SESSION_DEVICES
from ascendgan.strategy.session import session as open_session
from ascendgan.strategy.session import session_config as make_session_config
from ascendgan.strategy.session import wrap_graph_optimizer as make_graph_optimizer

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
    for name, value in (("global_batch_size", global_batch_size), ("num_replicas", num_replicas)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    if global_batch_size % num_replicas:
        raise ValueError(
            f"`global_batch_size` must be a multiple of the number of replicas ({num_replicas}). "
            f"Received: global_batch_size={global_batch_size}"
        )
    return global_batch_size // num_replicas


# ----------------------------------------------------------------------------- clusters


def configure_logical_cpus(count: int):
    """Splits the CPU into ``count`` logical devices (``/cpu:0`` ... ``/cpu:{count-1}``), so
    ``MirroredStrategy`` can run several replicas on one CPU (tests, rehearsing a multi-GPU
    run).  Call it before TensorFlow runs anything.

    Returns:
        the device names.

    Raises:
        RuntimeError: when TensorFlow has already initialized its devices.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"`count` must be a positive integer. Received: count={count!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if not (current and len(current) == count):
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
        except RuntimeError as error:
            raise RuntimeError(
                f"configure_logical_cpus({count}) must run before TensorFlow initializes its "
                "devices: call it at the start of the program, before any model or tensor is "
                f"created (or run the work in a fresh process). TensorFlow said: {error}"
            ) from error
    return [f"/cpu:{i}" for i in range(count)]


def _rank_table_hosts(path, base_port):
    try:
        with open(path, encoding="utf-8") as handle:
            table = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"RANK_TABLE_FILE {path!r} is not a readable JSON rank table: {error}") from None
    servers = table.get("server_list") if isinstance(table, dict) else None
    if not isinstance(servers, list):
        raise ValueError(
            f"RANK_TABLE_FILE {path!r} has no 'server_list' (expected the version 1.0 rank "
            "table format: server_list[].server_id and server_list[].device[].rank_id)"
        )
    ranks = {}
    for server in servers:
        host = server.get("server_id") or server.get("host_ip")
        for local, device in enumerate(server.get("device", [])):
            try:
                rank = int(device["rank_id"])
            except (KeyError, TypeError, ValueError):
                raise ValueError(
                    f"RANK_TABLE_FILE {path!r}: every device needs an integer 'rank_id'. "
                    f"Received: {device!r}"
                ) from None
            ranks[rank] = f"{host}:{base_port + local}"
    return [ranks[rank] for rank in sorted(ranks)]


def cluster_from_rank_environment(environ=None, base_port: int = 20000) -> dict:
    """A ``TF_CONFIG``-style dictionary from Ascend-style rank variables.

    Ascend launches one process per device with ``RANK_SIZE`` (processes), ``RANK_ID``
    (this process) and ``RANK_TABLE_FILE`` (a JSON table of the servers and devices).
    ``MultiWorkerMirroredStrategy`` needs ``host:port`` of every worker instead.  They come
    from, in order:

    1. ``WORKER_HOSTS``: comma-separated ``host:port``, one per rank;
    2. ``RANK_TABLE_FILE``: rank ``r`` on server ``S`` at position ``k`` of its device list
       listens on ``S:{base_port + k}``;
    3. otherwise every rank runs on this machine: ``localhost:{base_port + r}``.

    Args:
        environ: a mapping (default ``os.environ``).
        base_port: first port of a machine's workers.

    Returns:
        ``{"cluster": {"worker": [...]}, "task": {"type": "worker", "index": RANK_ID}}``.

    Example:

    >>> cluster_from_rank_environment({"RANK_SIZE": "2", "RANK_ID": "1"})["cluster"]
    {'worker': ['localhost:20000', 'localhost:20001']}
    """
    environ = os.environ if environ is None else environ
    rank = npu_lib.rank_from_environment(environ)
    hosts = environ.get("WORKER_HOSTS")
    if hosts:
        workers = [h.strip() for h in hosts.split(",") if h.strip()]
        source = "WORKER_HOSTS"
    elif rank.rank_table_file:
        workers = _rank_table_hosts(rank.rank_table_file, base_port)
        source = f"RANK_TABLE_FILE ({rank.rank_table_file})"
    else:
        workers = [f"localhost:{base_port + r}" for r in range(rank.rank_size)]
        source = None
    if source is not None and len(workers) != rank.rank_size:
        raise ValueError(
            f"{source} lists {len(workers)} workers but RANK_SIZE={rank.rank_size}; they must "
            "agree."
        )
    return {"cluster": {"worker": workers}, "task": {"type": "worker", "index": rank.rank_id}}


def _multi_worker(environ=None):
    environ = os.environ if environ is None else environ
    if environ.get("TF_CONFIG"):
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    elif environ.get("RANK_SIZE"):
        config = cluster_from_rank_environment(environ)
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec(config["cluster"]), task_type="worker",
            task_id=config["task"]["index"], rpc_layer="grpc",
        )
    else:
        resolver = None  # a single local worker
    return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)


# ----------------------------------------------------------------------------- Strategy


class Strategy:
    """A device, a precision and a ``tf.distribute`` strategy, used together.

    Build and compile models inside :meth:`scope`; ``GAN.compile`` wraps its optimizers
    with :meth:`wrap_optimizer` (loss scaling for float16, the NPU's gradient all-reduce).

    Attributes:
        device: ``"cpu"``, ``"gpu"``, ``"npu"`` or ``"multi_worker"``.
        precision: the resolved :class:`~ascendgan.strategy.precision.Precision`.
        distribute: the ``tf.distribute.Strategy`` (the default strategy for one device
            and on NPUs, whose processes synchronize through the adapter).
        loss_scale: the loss-scale specification (``"auto"``: dynamic for float16).
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
        if isinstance(per_replica, bool) or not isinstance(per_replica, int) or per_replica < 1:
            raise ValueError(
                f"`per_replica` must be a positive integer. Received: per_replica={per_replica!r}")
        return per_replica * self.num_replicas

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
        """Prepares a Keras optimizer for this strategy and returns it.

        * on several NPU processes: the adapter's distributed optimizer wrapper;
        * loss scaling: a fresh manager from ``loss_scale`` (``"auto"``: the strategy's
          ``loss_scale``, which by default is ``"dynamic"`` when the precision computes in
          float16 and none otherwise), attached under this strategy's scope; on NPUs its
          overflow check reads the NPU's float status.  Optimizers that already scale
          their loss are left as they are.
        """
        if self.device == "npu" and self.rank.rank_size > 1 and not getattr(
                optimizer, "_ascendgan_npu_distributed", False):
            optimizer = npu_lib.distributed_keras_optimizer(self.npu, optimizer)
            optimizer._ascendgan_npu_distributed = True
        if loss_scale_lib.is_loss_scaled(optimizer):
            return optimizer
        spec = self.loss_scale if loss_scale == "auto" else loss_scale
        if spec == "auto":
            half = self.precision.loss_scaling or compat.global_precision() == "mixed_float16"
            spec = "dynamic" if half else None
        manager = loss_scale_lib.make_loss_scale_manager(spec)
        if manager is None:
            return optimizer
        if self.device == "npu":
            manager.finite_fn = npu_lib.finite_check(self.npu, self.rank.rank_size)
        with self.distribute.scope():
            return loss_scale_lib.attach_loss_scale(optimizer, manager)

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
        spec = self.loss_scale if loss_scale == "auto" else loss_scale
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


def _single_or_mirrored(kind, devices):
    names = [d.name for d in tf.config.list_logical_devices(kind.upper())]
    if devices is None:
        chosen = names[:1] if kind == "cpu" else names
    elif isinstance(devices, int) and not isinstance(devices, bool):
        if devices < 1 or devices > len(names):
            hint = (" Call ascendgan.strategy.configure_logical_cpus(n) at start-up to split the "
                    "CPU into n devices." if kind == "cpu" else "")
            raise ValueError(
                f"`devices` asks for {devices} {kind.upper()} device(s); visible: "
                f"{len(names)}.{hint}"
            )
        chosen = names[:devices]
    elif isinstance(devices, (list, tuple)) and devices:
        chosen = list(devices)
    else:
        raise ValueError(
            f"`devices` must be None, a positive integer or a list of device names. "
            f"Received: devices={devices!r}"
        )
    if len(chosen) <= 1:
        if kind == "cpu" and tf.config.list_logical_devices("GPU"):
            return tf.distribute.OneDeviceStrategy(chosen[0] if chosen else "/cpu:0")
        return tf.distribute.get_strategy()  # one device: TensorFlow's default, no overhead
    cross_device_ops = tf.distribute.ReductionToOneDevice() if kind == "cpu" else None
    return tf.distribute.MirroredStrategy(chosen, cross_device_ops=cross_device_ops)


def get_strategy(device: str = "auto", precision: str = "float32", loss_scale="auto",
                 devices=None, graph_mode: bool = False, npu_options=None) -> Strategy:
    """Returns the :class:`Strategy` for a device.

    Args:
        device: ``"auto"``, ``"cpu"``, ``"gpu"``, ``"npu"`` or ``"multi_worker"`` (see the
            module documentation).
        precision: ``"float32"``, ``"mixed_float16"``, ``"mixed_bfloat16"`` or an Ascend
            ``precision_mode`` name (``"allow_mix_precision"``, ``"force_fp16"``,
            ``"allow_fp32_to_fp16"``, ``"must_keep_origin_dtype"``, ...).
        loss_scale: ``"auto"`` (dynamic loss scaling when the precision computes in float16,
            none otherwise), ``"dynamic"``, ``"ascend"`` (2**32, ×2 after 1000 good steps,
            ×0.8 after 2 overflows), a number (fixed), a loss-scale manager (a template:
            each optimizer gets a copy) or ``None``.
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
        loss_scale_lib.make_loss_scale_manager(loss_scale)  # validates the specification
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
        distribute = _multi_worker()
    elif device == "gpu":
        if not tf.config.list_physical_devices("GPU"):
            raise RuntimeError("device='gpu' but TensorFlow sees no GPU; use device='cpu' or 'auto'.")
        distribute = _single_or_mirrored("gpu", devices)
    else:
        distribute = _single_or_mirrored("cpu", devices)
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


def prepare_optimizer(optimizer, strategy=None, loss_scale="auto"):
    """What ``GAN.compile`` does to each optimizer.

    With a strategy (the argument, or the one whose :meth:`Strategy.scope` is active):
    :meth:`Strategy.wrap_optimizer`.  Without one: loss scaling (``"auto"`` means dynamic
    under the global ``mixed_float16`` policy) unless the optimizer already scales.
    """
    strategy = strategy if strategy is not None else current_strategy()
    if strategy is not None:
        if not isinstance(strategy, Strategy):
            raise ValueError(
                "`strategy` must be an ascendgan.strategy.Strategy (from get_strategy). "
                f"Received: {type(strategy).__name__}"
            )
        return strategy.wrap_optimizer(optimizer, loss_scale)
    if loss_scale_lib.is_loss_scaled(optimizer):
        return optimizer
    if loss_scale == "auto":
        loss_scale = "dynamic" if compat.global_precision() == "mixed_float16" else None
    manager = loss_scale_lib.make_loss_scale_manager(loss_scale)
    return optimizer if manager is None else loss_scale_lib.attach_loss_scale(optimizer, manager)


# ----------------------------------------------------------------------------- command line


def add_strategy_arguments(parser):
    """Adds ``--device``, ``--precision``, ``--loss-scale`` and ``--devices`` to an
    ``argparse`` parser (the ``ascendgan`` command and the examples use them)."""
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where to train (default: auto)")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="Keras policy or Ascend precision_mode (default: float32)")
    parser.add_argument("--loss-scale", default="auto",
                        help="auto | dynamic | ascend | none | a number (default: auto)")
    parser.add_argument("--devices", type=int, default=None,
                        help="number of CPU / GPU replicas (default: 1 CPU, all GPUs)")
    return parser


def strategy_from_arguments(args) -> Strategy:
    """The :class:`Strategy` for arguments parsed with :func:`add_strategy_arguments`."""
    spec = args.loss_scale
    if spec == "none":
        spec = None
    elif spec not in ("auto", "dynamic", "ascend"):
        try:
            spec = float(spec)
        except ValueError:
            raise ValueError(
                "--loss-scale must be auto, dynamic, ascend, none or a number. Received: "
                f"{args.loss_scale!r}"
            ) from None
    return get_strategy(args.device, precision=args.precision, loss_scale=spec,
                        devices=getattr(args, "devices", None))


__all__ = [
    "DEVICES",
    "Strategy",
    "add_strategy_arguments",
    "cluster_from_rank_environment",
    "configure_logical_cpus",
    "current_strategy",
    "get_strategy",
    "per_replica_batch_size",
    "prepare_optimizer",
    "strategy_from_arguments",
]
