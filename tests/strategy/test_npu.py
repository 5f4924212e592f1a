"""The Ascend adapter wiring, against stand-in ``npu_device`` / ``npu_bridge`` modules that
record every call (the real adapter needs an NPU)."""

import importlib.machinery
import sys
import types

import numpy as np
import pytest
import tensorflow as tf
from _strategy_gans import PoisonGAN, toy_data

from ascendgan import compat
from ascendgan.strategy import (
    WrappedOptimizer,
    adapter_available,
    all_finite,
    get_strategy,
    rank_from_environment,
)
from ascendgan.strategy import npu as npu_lib

keras = compat.keras


def _module(name):
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    return module


class StandInAdapter:
    """Recording stand-ins for ``npu_device`` (TF2) and ``npu_bridge`` (TF1)."""

    def __init__(self):
        self.calls = []
        self.overflow = False
        calls = self.calls

        class Options:
            def __setattr__(self, name, value):
                calls.append(("global_options", name, value))
                object.__setattr__(self, name, value)

        options = Options()

        class Handle:
            def as_default(self):
                calls.append(("as_default",))
                return self

        device = _module("npu_device")
        device.global_options = lambda: options
        device.open = lambda: calls.append(("open",)) or Handle()
        device.is_inf_nan_enabled = lambda: False
        distribute = _module("npu_device.distribute")

        def keras_wrapper(optimizer):
            calls.append(("npu_distributed_keras_optimizer_wrapper", type(optimizer).__name__))
            return optimizer

        def all_reduce(value, reduction="mean"):
            calls.append(("all_reduce", reduction))
            return value

        distribute.npu_distributed_keras_optimizer_wrapper = keras_wrapper
        distribute.all_reduce = all_reduce
        distribute.broadcast = lambda variables, root_rank=0: calls.append(
            ("broadcast", len(variables), root_rank))
        device.distribute = distribute
        ops = _module("npu_device.gen_npu_ops")
        adapter = self

        def alloc():
            calls.append(("npu_alloc_float_status",))
            return tf.ones([8]) if adapter.overflow else tf.zeros([8])

        def read(status):
            calls.append(("npu_get_float_status",))
            return status

        def clear(status):
            calls.append(("npu_clear_float_status",))
            return tf.zeros([8])

        ops.npu_alloc_float_status, ops.npu_get_float_status = alloc, read
        ops.npu_clear_float_status = clear
        device.gen_npu_ops = ops
        self.device = device

        bridge = _module("npu_bridge")
        init = _module("npu_bridge.npu_init")

        def recorder(name, result=None):
            def make(*args, **kwargs):
                calls.append((name, args, kwargs))
                return ("made", name) if result is None else result(*args, **kwargs)
            return make

        init.ExponentialUpdateLossScaleManager = recorder("ExponentialUpdateLossScaleManager")
        init.FixedLossScaleManager = recorder("FixedLossScaleManager")
        init.NPULossScaleOptimizer = recorder("NPULossScaleOptimizer")
        init.npu_distributed_optimizer_wrapper = recorder(
            "npu_distributed_optimizer_wrapper", result=lambda optimizer: optimizer)
        bridge.npu_init = init
        self.bridge, self.init = bridge, init

    def install(self, monkeypatch):
        for name, module in (("npu_device", self.device), ("npu_bridge", self.bridge),
                             ("npu_bridge.npu_init", self.init)):
            monkeypatch.setitem(sys.modules, name, module)
        return self

    def names(self):
        return [call[0] for call in self.calls]


@pytest.fixture
def adapter(monkeypatch):
    for name in ("RANK_SIZE", "RANK_ID", "RANK_TABLE_FILE"):
        monkeypatch.delenv(name, raising=False)
    return StandInAdapter().install(monkeypatch)


def test_npu_without_the_adapter_raises_a_clear_error(monkeypatch):
    for name in ("npu_device", "npu_bridge", "npu_bridge.npu_init"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert not adapter_available("npu_device") and not adapter_available("npu_bridge")
    with pytest.raises(ImportError, match=r"`npu_device`.*CANN"):
        get_strategy("npu")
    with pytest.raises(ImportError, match=r"`npu_bridge`"):
        get_strategy("npu", graph_mode=True)
    assert get_strategy("auto").device == "cpu"
    assert "npu_device" not in sys.modules


@pytest.mark.stand_in
def test_npu_strategy_sets_the_precision_mode_then_opens_the_device(adapter):
    strategy = get_strategy("npu", precision="allow_mix_precision",
                            npu_options={"op_debug_level": 0})
    assert adapter.calls == [
        ("global_options", "precision_mode", "allow_mix_precision"),
        ("global_options", "op_debug_level", 0),
        ("open",),
        ("as_default",),
    ]
    assert strategy.device == "npu" and strategy.num_replicas == 1
    # The adapter mixes the float32 graph itself; float16 still needs loss scaling.
    assert strategy.precision.policy == "float32" and strategy.precision.loss_scaling
    assert get_strategy("auto").device == "npu"
    override = get_strategy("npu", precision="mixed_float16",
                            npu_options={"precision_mode": "must_keep_origin_dtype"})
    assert override.precision.npu_precision_mode == "must_keep_origin_dtype"
    assert adapter.calls[-3:] == [("global_options", "precision_mode", "must_keep_origin_dtype"),
                                  ("open",), ("as_default",)]


@pytest.mark.stand_in
def test_eight_ranks_wrap_optimizers_shard_data_and_broadcast(adapter, monkeypatch):
    monkeypatch.setenv("RANK_SIZE", "8")
    monkeypatch.setenv("RANK_ID", "3")
    strategy = get_strategy("npu", precision="allow_mix_precision")
    assert strategy.num_replicas == 8 and strategy.per_replica_batch_size(64) == 8
    wrapped = strategy.wrap_optimizer(keras.optimizers.Adam())
    assert isinstance(wrapped, WrappedOptimizer)
    assert ("npu_distributed_keras_optimizer_wrapper", "Adam") in adapter.calls
    manager = wrapped.loss_scale_manager
    assert manager is not None and manager.get_config()["init_loss_scale"] == 2.0**15
    assert manager.finite_fn is not all_finite  # the NPU's float-status check
    assert strategy.wrap_optimizer(wrapped) is wrapped  # not wrapped twice
    assert adapter.names().count("npu_distributed_keras_optimizer_wrapper") == 1
    batches = list(strategy.batch_dataset(np.arange(64), global_batch_size=16))
    assert [b.numpy().tolist() for b in batches] == [[3, 11], [19, 27], [35, 43], [51, 59]]
    strategy.broadcast_variables([tf.Variable(1.0), tf.Variable(2.0)])
    assert adapter.calls[-1] == ("broadcast", 2, 0)


@pytest.mark.stand_in
def test_overflow_check_reads_the_float_status_and_all_reduces(adapter):
    check = npu_lib.finite_check(adapter.device, rank_size=8)
    grads = [tf.constant([1.0, 2.0]), None]
    assert bool(check(grads))
    assert adapter.names() == ["npu_alloc_float_status", "npu_get_float_status",
                               "npu_clear_float_status", "all_reduce"]
    adapter.overflow = True  # saturation mode: finite values, but the status flags overflow
    assert not bool(check(grads))
    adapter.overflow = False
    assert not bool(check([tf.constant([np.inf])]))


@pytest.mark.stand_in
def test_a_gan_trains_through_the_npu_strategy(adapter):
    strategy = get_strategy("npu", precision="allow_mix_precision", loss_scale=64)
    with strategy.scope():
        gan = PoisonGAN()
        gan.compile()
        history = gan.fit(toy_data(8), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])
    assert history.history["d_loss_scale"][-1] == 64.0
    assert "npu_alloc_float_status" in adapter.names()  # traced into the train step
    assert "npu_distributed_keras_optimizer_wrapper" not in adapter.names()  # one rank


@pytest.mark.stand_in
def test_graph_mode_uses_npu_bridge(adapter, monkeypatch):
    monkeypatch.setenv("RANK_SIZE", "8")
    strategy = get_strategy("npu", graph_mode=True, precision="allow_mix_precision",
                            loss_scale="ascend", npu_options={"iterations_per_loop": 10})
    assert "open" not in adapter.names()  # the TF2 device is not opened in graph mode
    config = strategy.session_config()
    (custom_op,) = config.graph_options.rewrite_options.custom_optimizers
    assert custom_op.name == "NpuOptimizer"
    assert custom_op.parameter_map["precision_mode"].s == b"allow_mix_precision"
    assert custom_op.parameter_map["use_off_line"].b
    assert custom_op.parameter_map["iterations_per_loop"].i == 10
    assert config.graph_options.rewrite_options.remapping == 2  # RewriterConfig.OFF
    assert config.graph_options.rewrite_options.memory_optimization == 2
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.1)
    wrapped = strategy.wrap_graph_optimizer(optimizer)
    assert adapter.calls[-3:] == [
        ("npu_distributed_optimizer_wrapper", (optimizer,), {}),
        ("ExponentialUpdateLossScaleManager", (), {
            "init_loss_scale": 2.0**32, "incr_every_n_steps": 1000,
            "decr_every_n_nan_or_inf": 2, "incr_ratio": 2.0, "decr_ratio": 0.8}),
        ("NPULossScaleOptimizer", (optimizer, ("made", "ExponentialUpdateLossScaleManager")),
         {"is_distributed": True}),
    ]
    assert wrapped == ("made", "NPULossScaleOptimizer")
    strategy.wrap_graph_optimizer(optimizer, loss_scale=512)
    assert adapter.calls[-2][0] == "FixedLossScaleManager"
    assert adapter.calls[-2][2] == {"loss_scale": 512.0, "enable_overflow_check": True}
    with strategy.session(graph=tf.Graph()) as sess:
        assert sess is not None


def test_rank_environment_defaults_and_values():
    assert rank_from_environment({}) == npu_lib.RankInfo(1, 0, None, None)
    info = rank_from_environment({"RANK_SIZE": "8", "RANK_ID": "7", "ASCEND_DEVICE_ID": "7"})
    assert (info.rank_size, info.rank_id, info.device_id) == (8, 7, 7)
