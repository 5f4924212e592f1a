"""The Ascend adapter wiring, against the recording stand-in of ``_adapter.py`` (the
adapter's real module paths, names and signatures; the real adapter needs an NPU).

The reference for the optimizer chain is the documented scripts' (e.g. ModelZoo
Pix2Pix_ID0359_for_TensorFlow):

    manager = ExponentialUpdateLossScaleManager(init_loss_scale=2**32, incr_every_n_steps=1000,
                                                decr_every_n_nan_or_inf=2, decr_ratio=0.8)
    opt = NPULossScaleOptimizer(opt, manager)            # is_distributed=True if RANK_SIZE > 1
    train = npu_tf_optimizer(opt).minimize(loss)         # = NPUDistributedOptimizer(opt)
"""

import sys

import numpy as np
import pytest
import tensorflow as tf
from _adapter import install_stand_in, set_ranks
from _strategy_gans import PoisonGAN, toy_data

from ascendgan import compat
from ascendgan.strategy import (
    WrappedOptimizer,
    adapter_available,
    all_finite,
    get_strategy,
    rank_from_environment,
    wrap_graph_optimizer,
)
from ascendgan.strategy import npu as npu_lib

keras = compat.keras

#: The documented manager, with the adapter's parameter names.
DOCUMENTED_MANAGER = {"init_loss_scale": 2.0**32, "incr_every_n_steps": 1000,
                      "decr_every_n_nan_or_inf": 2, "incr_ratio": 2.0, "decr_ratio": 0.8}


@pytest.fixture
def npu_adapter(monkeypatch):
    return install_stand_in(monkeypatch)


def test_npu_without_the_adapter_raises_a_clear_error(monkeypatch):
    for name in list(sys.modules):
        if name.split(".")[0] in ("npu_device", "npu_bridge"):
            monkeypatch.delitem(sys.modules, name)
    assert not adapter_available("npu_device") and not adapter_available("npu_bridge")
    with pytest.raises(ImportError, match=r"`npu_device`.*CANN"):
        get_strategy("npu")
    with pytest.raises(ImportError, match=r"`npu_bridge`"):
        get_strategy("npu", graph_mode=True)
    assert get_strategy("auto").device == "cpu"
    assert "npu_device" not in sys.modules


# ----------------------------------------------------------------------------- TF2 (npu_device)


@pytest.mark.stand_in
def test_npu_strategy_sets_the_precision_mode_then_opens_the_device(npu_adapter):
    strategy = get_strategy("npu", precision="allow_mix_precision",
                            npu_options={"op_debug_level": 0})
    assert npu_adapter.calls == [
        ("global_options", {"precision_mode": "allow_mix_precision"}),
        ("global_options", {"op_debug_level": 0}),
        ("open", {"device_id": None}),
        ("as_default", {}),
    ]
    assert strategy.device == "npu" and strategy.num_replicas == 1
    # The adapter mixes the float32 graph itself; float16 still needs loss scaling.
    assert strategy.precision.policy == "float32" and strategy.precision.loss_scaling
    assert get_strategy("auto").device == "npu"
    override = get_strategy("npu", precision="mixed_float16",
                            npu_options={"precision_mode": "must_keep_origin_dtype"})
    assert override.precision.npu_precision_mode == "must_keep_origin_dtype"
    assert npu_adapter.calls[-3:] == [
        ("global_options", {"precision_mode": "must_keep_origin_dtype"}),
        ("open", {"device_id": None}), ("as_default", {})]
    with pytest.raises(ValueError, match="has no option no_such_option"):  # the adapter's check
        get_strategy("npu", npu_options={"no_such_option": 1})


def _eager_step(wrapped, kernel):
    with tf.GradientTape() as tape:
        scaled = wrapped.scale_loss(tf.reduce_sum(kernel))        # gradient 1 per element
    return bool(wrapped.apply_gradients(tape.gradient(scaled, [kernel]), [kernel]))


@pytest.mark.stand_in
@pytest.mark.parametrize("ranks", [1, 8])
def test_tf2_chain_all_reduces_the_unscaled_gradients_before_the_overflow_check(
        npu_adapter, monkeypatch, tmp_path, ranks):
    set_ranks(monkeypatch, tmp_path, ranks, rank=ranks - 1)
    strategy = get_strategy("npu", precision="allow_mix_precision")
    sgd = keras.optimizers.SGD(0.5)
    wrapped = strategy.wrap_optimizer(sgd)
    # loss_scale="auto" on the NPU is the documented manager; the Keras optimizer stays plain.
    config = wrapped.loss_scale_manager.get_config()
    assert {k: config[k] for k in DOCUMENTED_MANAGER} == DOCUMENTED_MANAGER
    assert wrapped.optimizer is sgd and wrapped.loss_scale_manager.finite_fn is not all_finite
    assert "npu_distributed_keras_optimizer_wrapper" not in npu_adapter.names()

    kernel = tf.Variable([1.0, 2.0])
    npu_adapter.calls.clear()
    npu_adapter.reduce_fn = lambda value, reduction: value + 1.0 if reduction == "mean" else value
    assert _eager_step(wrapped, kernel)
    mean, *rest = npu_adapter.calls
    assert mean[0] == "all_reduce"
    assert {k: v for k, v in mean[1].items() if k != "values"} == {
        "reduction": "mean", "fusion": 1, "fusion_id": -1, "group": "hccl_world_group"}
    np.testing.assert_array_equal(mean[1]["values"][0].numpy(), [1.0, 1.0])  # unscaled (÷2**32)
    status = ["npu_get_float_status_v2", "npu_clear_float_status_v2"]
    verdict = [("all_reduce", "sum", 0)] if ranks > 1 else []
    assert [call[0] for call in rest] == status + [v[0] for v in verdict]
    assert [(n, a["reduction"], a["fusion"]) for n, a in rest[2:]] == verdict
    np.testing.assert_array_equal(kernel.numpy(), [0.0, 1.0])  # the all-reduced gradient 2 applied

    npu_adapter.overflow = True  # saturation mode: the float status reports the overflow
    assert not _eager_step(wrapped, kernel)
    npu_adapter.overflow = False
    # Another rank's overflow reaches this rank through the gradient all-reduce, which runs
    # before the check: the step is skipped here too.
    npu_adapter.reduce_fn = lambda value, reduction: value * np.inf if reduction == "mean" else value
    assert not _eager_step(wrapped, kernel)
    np.testing.assert_array_equal(kernel.numpy(), [0.0, 1.0])
    state = wrapped.loss_scale_manager.state()
    assert (state["steps"], state["overflows"], state["bad_steps"]) == (3, 2, 0)
    assert state["loss_scale"] == pytest.approx(2.0**32 * 0.8)  # 2 overflows: ×0.8


@pytest.mark.stand_in
def test_tf2_chain_without_loss_scaling_still_all_reduces(npu_adapter):
    wrapped = get_strategy("npu", precision="float32").wrap_optimizer(keras.optimizers.SGD(1.0))
    assert wrapped.loss_scale_manager is None and wrapped.all_reduce is not None
    kernel = tf.Variable([1.0])
    npu_adapter.reduce_fn = lambda value, reduction: value * 3.0
    assert _eager_step(wrapped, kernel)
    np.testing.assert_array_equal(kernel.numpy(), [-2.0])  # 1 - 1.0 · 3
    assert npu_adapter.names()[-1] == "all_reduce"
    assert "npu_get_float_status_v2" not in npu_adapter.names()


@pytest.mark.stand_in
@pytest.mark.parametrize("ops, names", [
    ("v2", ["npu_get_float_status_v2", "npu_clear_float_status_v2"]),
    ("v1", ["npu_alloc_float_status", "npu_get_float_status", "npu_clear_float_status"]),
])
def test_overflow_check_reads_the_float_status_and_all_reduces(monkeypatch, ops, names):
    adapter = install_stand_in(monkeypatch, float_status=ops)
    check = npu_lib.finite_check(sys.modules["npu_device"], rank_size=8)
    grads = [tf.constant([1.0, 2.0]), None]
    assert bool(check(grads))
    assert adapter.names() == names + ["all_reduce"]
    assert adapter.named("all_reduce")[0]["reduction"] == "sum"
    adapter.overflow = True  # finite values, but the status flags an overflow
    assert not bool(check(grads))
    adapter.overflow = False
    assert not bool(check([tf.constant([np.inf])]))
    adapter.inf_nan, adapter.overflow = True, True  # INF/NaN mode: the status is not read
    adapter.calls.clear()
    assert bool(check(grads)) and adapter.names() == ["all_reduce"]


@pytest.mark.stand_in
def test_eight_ranks_shard_data_and_broadcast(npu_adapter, monkeypatch, tmp_path):
    set_ranks(monkeypatch, tmp_path, 8, rank=3)
    strategy = get_strategy("npu", precision="allow_mix_precision")
    assert strategy.num_replicas == 8 and strategy.per_replica_batch_size(64) == 8
    wrapped = strategy.wrap_optimizer(keras.optimizers.Adam())
    assert isinstance(wrapped, WrappedOptimizer) and strategy.wrap_optimizer(wrapped) is wrapped
    batches = list(strategy.batch_dataset(np.arange(64), global_batch_size=16))
    assert [b.numpy().tolist() for b in batches] == [[3, 11], [19, 27], [35, 43], [51, 59]]
    variables = [tf.Variable(1.0), tf.Variable(2.0)]
    strategy.broadcast_variables(variables)
    name, arguments = npu_adapter.calls[-1]
    assert name == "broadcast" and arguments["values"] == variables
    assert (arguments["root_rank"], arguments["fusion"], arguments["group"]) == (
        0, 2, "hccl_world_group")


@pytest.mark.stand_in
def test_a_gan_trains_through_the_npu_strategy(npu_adapter):
    strategy = get_strategy("npu", precision="allow_mix_precision", loss_scale=64)
    with strategy.scope():
        gan = PoisonGAN()
        gan.compile()
        history = gan.fit(toy_data(8), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])
    assert history.history["d_loss_scale"][-1] == 64.0
    names = npu_adapter.names()  # traced into the train step, for both optimizers
    assert names.count("npu_get_float_status_v2") >= 2
    assert [a["reduction"] for a in npu_adapter.named("all_reduce")].count("mean") >= 2
    assert "npu_distributed_keras_optimizer_wrapper" not in names


# ----------------------------------------------------------------------------- TF1 (npu_bridge)


def _graph_chain(strategy, **kwargs):
    graph = tf.Graph()
    with graph.as_default():
        optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.25)
        wrapped = strategy.wrap_graph_optimizer(optimizer, **kwargs)
    return graph, optimizer, wrapped


@pytest.mark.stand_in
@pytest.mark.parametrize("ranks", [1, 2, 8])
def test_graph_mode_builds_npu_tf_optimizer_around_npu_loss_scale_optimizer(
        npu_adapter, monkeypatch, tmp_path, ranks):
    set_ranks(monkeypatch, tmp_path, ranks)
    strategy = get_strategy("npu", graph_mode=True, precision="allow_mix_precision")
    assert "open" not in npu_adapter.names()  # the TF2 device is not opened in graph mode
    npu_adapter.calls.clear()
    graph, optimizer, wrapped = _graph_chain(strategy)
    init = sys.modules["npu_bridge.npu_init"]
    scaled = wrapped._optimizer
    assert type(wrapped) is init.NPUDistributedOptimizer
    assert type(scaled) is init.NPULossScaleOptimizer and scaled._opt is optimizer
    manager = scaled._loss_scale_manager
    assert type(manager) is init.ExponentialUpdateLossScaleManager
    assert npu_adapter.calls == [
        ("ExponentialUpdateLossScaleManager", DOCUMENTED_MANAGER),
        ("NPULossScaleOptimizer", {"opt": optimizer, "loss_scale_manager": manager,
                                   "is_distributed": ranks > 1}),
        ("npu_tf_optimizer", {"opt": scaled}),
        ("NPUDistributedOptimizer", {"optimizer": scaled, "is_weight_update_sharding": False,
                                     "name": None}),
    ]
    # The chain is a tf.compat.v1 optimizer: minimize builds a training op.
    with graph.as_default():
        w = tf.Variable(1.0)
        train = wrapped.minimize(tf.square(w))
        init_op = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init_op)
        sess.run(train)
        assert sess.run(w) == pytest.approx(0.5)  # 1 - 0.25 · 2


@pytest.mark.stand_in
def test_graph_mode_managers_and_no_loss_scaling(npu_adapter):
    from ascendgan.strategy import FixedLossScaleManager

    strategy = get_strategy("npu", graph_mode=True, precision="allow_mix_precision")
    npu_adapter.calls.clear()
    _, optimizer, _ = _graph_chain(strategy, loss_scale=512)
    assert npu_adapter.calls[0] == ("FixedLossScaleManager",
                                    {"loss_scale": 512.0, "enable_overflow_check": True})
    assert npu_adapter.calls[1][1]["is_distributed"] is False
    npu_adapter.calls.clear()
    _graph_chain(strategy, loss_scale=FixedLossScaleManager(8, enable_overflow_check=False))
    assert npu_adapter.calls[0][1] == {"loss_scale": 8.0, "enable_overflow_check": False}

    # float32 (must_keep_origin_dtype): no loss scaling, still npu_tf_optimizer.
    plain = get_strategy("npu", graph_mode=True, precision="float32")
    npu_adapter.calls.clear()
    _, optimizer, wrapped = _graph_chain(plain)
    assert npu_adapter.names() == ["npu_tf_optimizer", "NPUDistributedOptimizer"]
    assert npu_adapter.calls[0][1] == {"opt": optimizer} and wrapped._optimizer is optimizer


@pytest.mark.stand_in
def test_graph_optimizer_on_an_adapter_without_npu_tf_optimizer(monkeypatch):
    adapter = install_stand_in(monkeypatch, with_npu_tf_optimizer=False)
    graph = tf.Graph()
    with graph.as_default():
        optimizer = tf.compat.v1.train.AdamOptimizer()
        wrapped = wrap_graph_optimizer(optimizer, "npu", precision="allow_mix_precision",
                                       rank_size=4)
    assert adapter.names() == ["ExponentialUpdateLossScaleManager", "NPULossScaleOptimizer",
                               "NPUDistributedOptimizer"]
    assert adapter.named("NPULossScaleOptimizer")[0]["is_distributed"] is True
    assert wrapped._optimizer._opt is optimizer


@pytest.mark.stand_in
def test_graph_mode_session_is_the_documented_one(npu_adapter):
    strategy = get_strategy("npu", graph_mode=True, precision="allow_mix_precision",
                            npu_options={"iterations_per_loop": 10})
    config = strategy.session_config()
    (custom_op,) = config.graph_options.rewrite_options.custom_optimizers
    assert custom_op.name == "NpuOptimizer"
    assert custom_op.parameter_map["precision_mode"].s == b"allow_mix_precision"
    assert custom_op.parameter_map["iterations_per_loop"].i == 10
    assert custom_op.parameter_map["use_off_line"].b
    with strategy.session(graph=tf.Graph()) as sess:
        assert sess is not None


def test_rank_environment_defaults_and_values():
    assert rank_from_environment({}) == npu_lib.RankInfo(1, 0, None, None)
    info = rank_from_environment({"RANK_SIZE": "8", "RANK_ID": "7", "ASCEND_DEVICE_ID": "7"})
    assert (info.rank_size, info.rank_id, info.device_id) == (8, 7, 7)
