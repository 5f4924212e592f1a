"""A recording stand-in for Huawei's TensorFlow adapter (CANN "TF Adapter"), for tests.

The real adapter needs an Ascend NPU, so tests install these modules in ``sys.modules``
instead.  Every module path, class, function, parameter name and default below is the
adapter's own, read from its source (facts only; no code was copied):

* ``hicann/tensorflow`` @ 4f8aa5a7e9a6d5558cb54aa4cb16845f87c0d990 (the newest stored):
  ``tf_adapter/python/npu_bridge/npu_init.py`` (the exports; ``npu_tf_optimizer(opt)`` is
  ``NPUDistributedOptimizer(opt)``, ``npu_keras_optimizer(opt)`` is
  ``KerasDistributeOptimizer(opt)``), ``.../estimator/npu/npu_config.py``
  (``NPURunConfig``), ``tf_adapter_2.x/python/npu_device/{__init__.py, npu_device.py,
  distribute/hccl.py, _api/distribute/__init__.py, _api/train/optimizer/__init__.py,
  train/optimizer/npu_loss_scale_optimizer.py, configs/npu_config.py,
  configs/option_base.py}``;
* ``Ascend/tensorflow``: ``tf_adapter/python/npu_bridge/estimator/npu/npu_optimizer.py``
  (``NPUDistributedOptimizer``, ``NPUOptimizer``, ``KerasDistributeOptimizer``,
  ``npu_distributed_optimizer_wrapper``), ``npu_loss_scale_optimizer.py``
  (``NPULossScaleOptimizer(opt, loss_scale_manager, is_distributed=False)``),
  ``npu_loss_scale_manager.py``; ``npu_init.py`` @ 7dd9a070 (an older adapter whose
  ``npu_init`` has no ``npu_tf_optimizer``: ``with_npu_tf_optimizer=False``);
  ``tf_adapter_2.x/.../npu_loss_scale_optimizer.py`` @ 05320fd3 (the float-status ops
  before ``*_v2``: ``float_status="v1"``).

Each call is recorded as ``(name, {parameter: value})`` with the adapter's defaults
filled in, so a wrong keyword raises ``TypeError`` exactly as the adapter would.  The
optimizer wrappers are ``tf.compat.v1.train.Optimizer`` subclasses that delegate to the
optimizer they wrap (no scaling, no all-reduce): a chain built from them trains in a CPU
graph.  ``all_reduce`` is the identity unless ``reduce_fn`` is set.

Use ``adapter = install_stand_in(monkeypatch)`` (in a fixture) or
``StandInAdapter(...).install(monkeypatch)``.
"""

from __future__ import annotations

import functools
import importlib.machinery
import inspect
import os
import sys
import types

import tensorflow as tf

# NPURunConfig.__init__'s parameters and defaults (npu_config.py, hicann @ 4f8aa5a7).
RUN_CONFIG_PARAMETERS = (
    ("iterations_per_loop", 1), ("profiling_config", None), ("model_dir", None),
    ("tf_random_seed", None), ("save_summary_steps", 0), ("save_checkpoints_steps", None),
    ("save_checkpoints_secs", None), ("session_config", None), ("keep_checkpoint_max", 5),
    ("keep_checkpoint_every_n_hours", 10000), ("log_step_count_steps", 100),
    ("distribute", None), ("enable_data_pre_proc", True), ("precision_mode", None),
    ("enable_reduce_precision", False), ("variable_format_optimize", None),
    ("mix_compile_mode", False), ("hcom_parallel", True), ("graph_memory_max_size", None),
    ("variable_memory_max_size", None), ("dump_config", None),
    ("stream_max_parallel_num", None), ("is_tailing_optimization", False),
    ("horovod_mode", False), ("graph_run_mode", 1), ("op_debug_level", None),
    ("enable_scope_fusion_passes", None), ("enable_exception_dump", 2),
    ("op_select_implmode", None), ("optypelist_for_implmode", None),
    ("dynamic_input_config", None), ("aoe_mode", None), ("work_path", None),
    ("buffer_optimize", "l2_optimize"), ("enable_small_channel", 0),
    ("fusion_switch_file", None), ("enable_compress_weight", False),
    ("compress_weight_conf", None), ("op_compiler_cache_mode", None),
    ("op_compiler_cache_dir", None), ("debug_dir", None), ("hcom_multi_mode", False),
    ("dynamic_input", None), ("dynamic_graph_execute_mode", "dynamic_execute"),
    ("dynamic_inputs_shape_range", None), ("train_distribute", None),
    ("eval_distribute", None), ("local_rank_id", None), ("local_device_list", None),
    ("session_device_id", None), ("distribute_config", None), ("modify_mixlist", None),
    ("op_precision_mode", None), ("device_type", "default_device_type"),
    ("soc_config", None), ("hccl_timeout", None), ("op_wait_timeout", None),
    ("op_execute_timeout", None), ("HCCL_algorithm", None), ("customize_dtypes", None),
    ("op_debug_config", None), ("memory_config", None), ("experimental_config", None),
    ("topo_sorting_mode", None), ("aoe_config_file", None), ("insert_op_file", None),
    ("stream_sync_timeout", -1), ("event_sync_timeout", -1), ("external_weight", False),
    ("deterministic", 0), ("frozen_variable", False), ("variable_placement", "Device"),
    ("jit_compile", "auto"), ("precision_mode_v2", None), ("ac_parallel_enable", None),
    ("quant_dumpable", None), ("input_fusion_size", 131072), ("compile_dynamic_mode", None),
    ("graph_max_parallel_model_num", 1), ("export_compile_stat", 1), ("aicore_num", None),
    ("oo_constant_folding", True), ("input_batch_cpy", False),
    ("shape_generalization_mode", "STRICT"), ("all_tensor_not_empty", False),
    ("auto_multistream_parallel_mode", None), ("oo_level", "O3"),
    ("optimization_switch", None),
)
RUN_CONFIG_SIGNATURE = inspect.Signature([
    inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
    for name, default in RUN_CONFIG_PARAMETERS])

# npu_device.global_options() (an NpuConfig): its options; others raise ValueError.
GLOBAL_OPTIONS = (
    "graph_run_mode", "graph_memory_max_size", "variable_memory_max_size",
    "variable_format_optimize", "enable_scope_fusion_passes", "fusion_switch_file",
    "precision_mode", "op_select_implmode", "optypelist_for_implmode",
    "op_compiler_cache_mode", "op_compiler_cache_dir", "stream_max_parallel_num",
    "ac_parallel_enable", "quant_dumpable", "hcom_parallel", "hcom_multi_mode",
    "is_tailing_optimization", "op_debug_level", "op_debug_config", "debug_dir",
    "modify_mixlist", "enable_exception_dump", "dump_config", "aoe_config",
    "profiling_config", "enable_small_channel", "deterministic", "op_precision_mode",
    "graph_exec_timeout", "topo_sorting_mode", "customize_dtypes", "overflow_flag",
    "stream_sync_timeout", "event_sync_timeout", "execute_times", "external_weight",
    "memory_config", "jit_compile", "graph_compiler_cache_dir", "input_fusion_size",
    "compile_dynamic_mode", "experimental", "precision_mode_v2", "export_compile_stat",
    "aicore_num", "oo_constant_folding", "input_batch_cpy", "shape_generalization_mode",
    "all_tensor_not_empty", "auto_multistream_parallel_mode", "oo_level",
    "optimization_switch",
)
PRECISION_MODES = ("force_fp32", "allow_fp32_to_fp16", "force_fp16", "must_keep_origin_dtype",
                   "allow_mix_precision", "cube_fp16in_fp32out", "allow_mix_precision_fp16",
                   "allow_mix_precision_bf16", "allow_fp32_to_bf16")


def _module(name, **attributes):
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attributes)
    return module


def _recording(record):
    """A decorator factory: ``@recorded(name)`` records each call of the decorated
    function (or ``__init__``) as ``(name, bound arguments with defaults, minus self)``."""
    def recorded(name):
        def decorate(function):
            signature = inspect.signature(function)

            @functools.wraps(function)
            def call(*args, **kwargs):
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                record(name, {k: v for k, v in bound.arguments.items() if k != "self"})
                return function(*args, **kwargs)

            return call
        return decorate
    return recorded


class StandInAdapter:
    """Recording ``npu_bridge`` (TF1) and ``npu_device`` (TF2) packages.

    Args:
        float_status: which float-status ops ``npu_device.gen_npu_ops`` has: ``"v1"``
            (``npu_alloc_float_status`` / ``npu_get_float_status`` /
            ``npu_clear_float_status``), ``"v2"`` (``npu_get_float_status_v2`` /
            ``npu_clear_float_status_v2``) or ``"both"``.
        with_npu_tf_optimizer: whether ``npu_bridge.npu_init`` defines ``npu_tf_optimizer``.

    Attributes:
        calls: the recorded ``(name, arguments)`` pairs, in order.
        overflow: the float-status ops report an overflow while True.
        inf_nan: what ``npu_device.is_inf_nan_enabled()`` returns.
        reduce_fn: ``(tensor, reduction) -> tensor`` applied by ``all_reduce`` (identity
            when ``None``), to stand in for the other ranks.
    """

    def __init__(self, float_status="both", with_npu_tf_optimizer=True):
        self.calls = []
        self.overflow = False
        self.inf_nan = False
        self.reduce_fn = None
        self.modules = {**_bridge_modules(self.record, with_npu_tf_optimizer),
                        **_device_modules(self, float_status)}

    def record(self, name, arguments):
        self.calls.append((name, arguments))

    def names(self):
        return [name for name, _ in self.calls]

    def named(self, name):
        """The arguments of every call to ``name``."""
        return [arguments for called, arguments in self.calls if called == name]

    def reduce(self, values, reduction):
        if self.reduce_fn is None:
            return values
        one = not isinstance(values, (list, tuple))
        reduced = [None if v is None else self.reduce_fn(v, reduction)
                   for v in ([values] if one else values)]
        return reduced[0] if one else reduced

    def install(self, monkeypatch):
        for name, module in self.modules.items():
            monkeypatch.setitem(sys.modules, name, module)
        return self


def _bridge_modules(record, with_npu_tf_optimizer):
    recorded = _recording(record)

    class LossScaleManager:
        """tf.contrib.mixed_precision's base class (what NPULossScaleOptimizer checks)."""

        def get_loss_scale(self):
            return tf.constant(float(self._initial), tf.float32)

        def update_loss_scale(self, finite_grads):
            return tf.no_op()

    class FixedLossScaleManager(LossScaleManager):
        @recorded("FixedLossScaleManager")
        def __init__(self, loss_scale, enable_overflow_check=True):
            if loss_scale < 1:
                raise ValueError("loss scale must be at least 1.")
            self._initial, self._enable_overflow_check = loss_scale, enable_overflow_check

        def get_enable_overflow_check(self):
            return self._enable_overflow_check

    class ExponentialUpdateLossScaleManager(LossScaleManager):
        @recorded("ExponentialUpdateLossScaleManager")
        def __init__(self, init_loss_scale, incr_every_n_steps, decr_every_n_nan_or_inf=2,
                     incr_ratio=2, decr_ratio=0.8):
            self._initial = init_loss_scale

    class _Delegating(tf.compat.v1.train.Optimizer):
        def compute_gradients(self, *args, **kwargs):
            return self._inner.compute_gradients(*args, **kwargs)

        def apply_gradients(self, grads_and_vars, global_step=None, name=None):
            return self._inner.apply_gradients(grads_and_vars, global_step, name)

        def get_slot(self, *args, **kwargs):
            return self._inner.get_slot(*args, **kwargs)

        def get_slot_names(self, *args, **kwargs):
            return self._inner.get_slot_names(*args, **kwargs)

        def variables(self, *args, **kwargs):
            return self._inner.variables(*args, **kwargs)

    class NPULossScaleOptimizer(_Delegating):
        @recorded("NPULossScaleOptimizer")
        def __init__(self, opt, loss_scale_manager, is_distributed=False):
            # The contrib LossScaleOptimizer it extends checks both arguments.
            if not isinstance(opt, tf.compat.v1.train.Optimizer):
                raise ValueError(f'"opt" must be an instance of Optimizer, but got: {type(opt)}')
            if not isinstance(loss_scale_manager, LossScaleManager):
                raise ValueError('"loss_scale_manager" must be an instance of '
                                 f"LossScaleManager, but got: {type(loss_scale_manager)}")
            super().__init__(use_locking=False, name="NPULossScaleOptimizer")
            self._inner, self._opt, self._loss_scale_manager = opt, opt, loss_scale_manager
            self._is_distributed = is_distributed

    class NPUDistributedOptimizer(_Delegating):
        @recorded("NPUDistributedOptimizer")
        def __init__(self, optimizer, is_weight_update_sharding=False, name=None):
            super().__init__(use_locking=False,
                             name=name or f"Distributed{type(optimizer).__name__}")
            self._inner, self._optimizer = optimizer, optimizer

    class NPUOptimizer(_Delegating):
        @recorded("NPUOptimizer")
        def __init__(self, opt, loss_scale_manager=None, is_distributed=False,
                     is_loss_scale=False, is_tailing_optimization=False, name=None):
            super().__init__(use_locking=False, name=name or f"NPUOptimizer{type(opt).__name__}")
            self._inner = opt

    class KerasDistributeOptimizer:
        @recorded("KerasDistributeOptimizer")
        def __init__(self, optimizer, name="NpuKerasOptimizer", **kwargs):
            self._optimizer = optimizer

    @recorded("npu_distributed_optimizer_wrapper")
    def npu_distributed_optimizer_wrapper(optimizer):
        return optimizer

    @recorded("npu_allreduce")
    def npu_allreduce(values, reduction="mean", fusion=1, fusion_id=-1, group="hccl_world_group"):
        return values

    @recorded("npu_tf_optimizer")
    def npu_tf_optimizer(opt):
        return NPUDistributedOptimizer(opt)

    @recorded("npu_keras_optimizer")
    def npu_keras_optimizer(opt):
        return KerasDistributeOptimizer(opt)

    class NPURunConfig:
        __signature__ = RUN_CONFIG_SIGNATURE

        def __init__(self, *args, **kwargs):
            bound = RUN_CONFIG_SIGNATURE.bind(*args, **kwargs)
            bound.apply_defaults()
            record("NPURunConfig", dict(bound.arguments))
            self.__dict__.update(bound.arguments)

    prefix = "npu_bridge.estimator.npu."
    optimizer = _module(prefix + "npu_optimizer", NPUDistributedOptimizer=NPUDistributedOptimizer,
                        NPUOptimizer=NPUOptimizer, KerasDistributeOptimizer=KerasDistributeOptimizer,
                        npu_distributed_optimizer_wrapper=npu_distributed_optimizer_wrapper,
                        npu_allreduce=npu_allreduce)
    scale_optimizer = _module(prefix + "npu_loss_scale_optimizer",
                              NPULossScaleOptimizer=NPULossScaleOptimizer)
    managers = _module(prefix + "npu_loss_scale_manager", FixedLossScaleManager=FixedLossScaleManager,
                       ExponentialUpdateLossScaleManager=ExponentialUpdateLossScaleManager)
    config = _module(prefix + "npu_config", NPURunConfig=NPURunConfig)
    exports = {**vars(optimizer), **vars(scale_optimizer), **vars(managers), **vars(config)}
    exports = {k: v for k, v in exports.items() if not k.startswith("__")}
    if with_npu_tf_optimizer:
        exports.update(npu_tf_optimizer=npu_tf_optimizer, npu_keras_optimizer=npu_keras_optimizer)
    init = _module("npu_bridge.npu_init", **exports)
    npu = _module("npu_bridge.estimator.npu", npu_optimizer=optimizer,
                  npu_loss_scale_optimizer=scale_optimizer, npu_loss_scale_manager=managers,
                  npu_config=config)
    estimator = _module("npu_bridge.estimator", npu=npu)
    bridge = _module("npu_bridge", npu_init=init, estimator=estimator)
    return {module.__name__: module for module in
            (bridge, init, estimator, npu, optimizer, scale_optimizer, managers, config)}


class _NpuConfig:
    """npu_device.global_options(): fixed option names, ``precision_mode`` checked."""

    def __init__(self, record):
        object.__setattr__(self, "_record", record)

    def __setattr__(self, key, value):
        if key not in GLOBAL_OPTIONS:
            raise ValueError(f"NpuConfig has no option {key}, all options {list(GLOBAL_OPTIONS)}")
        if key == "precision_mode" and value not in PRECISION_MODES:
            raise ValueError(f"'{value}' not in optional list {list(PRECISION_MODES)}")
        self._record("global_options", {key: value})
        object.__setattr__(self, key, value)


class _Handle:
    def __init__(self, record, workers_num, worker_id):
        self._record, self.workers_num, self.worker_id = record, workers_num, worker_id

    def is_cluster_worker(self):
        return self.workers_num > 1 and self.workers_num > self.worker_id >= 0

    def as_default(self):
        self._record("as_default", {})
        return self


def _device_modules(adapter, float_status):
    record = adapter.record
    recorded = _recording(record)
    options = _NpuConfig(record)

    def global_options():
        return options

    @recorded("open")
    def open(device_id=None):  # noqa: A001 - the adapter's name
        workers = int(os.environ.get("RANK_SIZE", "1"))
        if workers > 1 and not (os.environ.get("CM_CHIEF_IP") or os.environ.get("RANK_TABLE_FILE")):
            raise RuntimeError("CM_CHIEF_IP and RANK_TABLE_FILE are all not be configured.")
        return _Handle(record, workers, int(os.environ.get("RANK_ID", "0")))

    def is_inf_nan_enabled():
        return adapter.inf_nan

    def status():
        return tf.ones([8]) if adapter.overflow else tf.zeros([8])

    ops = {}
    if float_status in ("v1", "both"):
        def npu_alloc_float_status():
            record("npu_alloc_float_status", {})
            return status()

        def npu_get_float_status(x):
            record("npu_get_float_status", {})
            return x

        def npu_clear_float_status(x):
            record("npu_clear_float_status", {})
            return tf.zeros([8])

        ops.update(npu_alloc_float_status=npu_alloc_float_status,
                   npu_get_float_status=npu_get_float_status,
                   npu_clear_float_status=npu_clear_float_status)
    if float_status in ("v2", "both"):
        def npu_get_float_status_v2():
            record("npu_get_float_status_v2", {})
            return status()

        def npu_clear_float_status_v2():
            record("npu_clear_float_status_v2", {})
            return tf.zeros([8])

        ops.update(npu_get_float_status_v2=npu_get_float_status_v2,
                   npu_clear_float_status_v2=npu_clear_float_status_v2)

    @recorded("all_reduce")
    def all_reduce(values, reduction="mean", fusion=1, fusion_id=-1, group="hccl_world_group"):
        return adapter.reduce(values, reduction)

    @recorded("broadcast")
    def broadcast(values, root_rank=0, fusion=2, fusion_id=0, group="hccl_world_group"):
        return None

    @recorded("npu_distributed_keras_optimizer_wrapper")
    def npu_distributed_keras_optimizer_wrapper(optimizer, reduce_reduction="mean", fusion=1,
                                                fusion_id=-1, group="hccl_world_group"):
        return optimizer

    @recorded("shard_and_rebatch_dataset")
    def shard_and_rebatch_dataset(dataset, global_bs):
        return dataset, global_bs

    class NpuLossScaleOptimizer:
        @recorded("NpuLossScaleOptimizer")
        def __init__(self, inner_optimizer, dynamic=True, initial_scale=None,
                     dynamic_growth_steps=None):
            self.inner_optimizer = inner_optimizer

    distribute = _module("npu_device.distribute", all_reduce=all_reduce, broadcast=broadcast,
                         npu_distributed_keras_optimizer_wrapper=npu_distributed_keras_optimizer_wrapper,
                         shard_and_rebatch_dataset=shard_and_rebatch_dataset)
    train_optimizer = _module("npu_device.train.optimizer", NpuLossScaleOptimizer=NpuLossScaleOptimizer)
    train = _module("npu_device.train", optimizer=train_optimizer)
    device = _module("npu_device", open=open, global_options=global_options,
                     is_inf_nan_enabled=is_inf_nan_enabled,
                     gen_npu_ops=types.SimpleNamespace(**ops), distribute=distribute, train=train)
    return {module.__name__: module for module in (device, distribute, train, train_optimizer)}


def install_stand_in(monkeypatch, **options):
    """A fresh :class:`StandInAdapter` (``options``: its arguments) installed for one test,
    in one process: ``RANK_SIZE`` & co. unset (see :func:`set_ranks`).  Wrap it in a
    fixture::

        @pytest.fixture
        def npu_adapter(monkeypatch):
            return install_stand_in(monkeypatch)
    """
    for name in ("RANK_SIZE", "RANK_ID", "RANK_TABLE_FILE", "ASCEND_DEVICE_ID", "DEVICE_ID"):
        monkeypatch.delenv(name, raising=False)
    return StandInAdapter(**options).install(monkeypatch)


def set_ranks(monkeypatch, tmp_path, size, rank=0):
    """``RANK_SIZE`` / ``RANK_ID`` and (for ``size > 1``) a ``RANK_TABLE_FILE``, which
    ``npu_device.open`` requires for a data-parallel job."""
    monkeypatch.setenv("RANK_SIZE", str(size))
    monkeypatch.setenv("RANK_ID", str(rank))
    if size > 1:
        table = tmp_path / "rank_table.json"
        table.write_text("{}")
        monkeypatch.setenv("RANK_TABLE_FILE", str(table))
