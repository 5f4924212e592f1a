"""TF1-style graph code: session configs, and graph-mode loss scaling on CPU."""

import numpy as np
import pytest
import tensorflow as tf
from _strategy_gans import ReferenceExponentialManager

from ascendgan.strategy import (
    ExponentialUpdateLossScaleManager,
    GraphLossScaleOptimizer,
    get_strategy,
    session,
    session_config,
    wrap_graph_optimizer,
)


def test_cpu_session_config_is_plain():
    base = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=2)
    config = session_config("cpu", precision="mixed_float16", config=base)
    assert not config.graph_options.rewrite_options.custom_optimizers
    assert config.allow_soft_placement and config.intra_op_parallelism_threads == 2
    assert not base.allow_soft_placement  # copied, not modified
    assert get_strategy("cpu").session_config() == session_config("cpu")
    with pytest.raises(ValueError, match="npu_options"):
        session_config("cpu", npu_options={"precision_mode": "force_fp16"})
    with pytest.raises(ValueError, match="device"):
        session_config("tpu")


def test_npu_session_config_without_the_adapter():
    # Only the protocol buffer: building it needs no adapter.
    config = session_config("npu", precision="force_fp16", npu_options={"enable_dump": True})
    (op,) = config.graph_options.rewrite_options.custom_optimizers
    assert (op.name, op.parameter_map["precision_mode"].s) == ("NpuOptimizer", b"force_fp16")
    assert op.parameter_map["use_off_line"].b and op.parameter_map["enable_dump"].b
    with pytest.raises(ValueError, match="NPU option"):
        session_config("npu", npu_options={"bad": [1]})


def test_graph_mode_loss_scaling_skips_poisoned_steps_on_cpu():
    config = dict(init_loss_scale=8.0, incr_every_n_steps=2, decr_every_n_nan_or_inf=1,
                  decr_ratio=0.5)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, (None, 2))
        y = tf.compat.v1.placeholder(tf.float32, (None,))
        poison = tf.compat.v1.placeholder(tf.float32, ())
        w = tf.Variable([0.5, -0.5])
        loss = tf.reduce_mean(tf.square(tf.linalg.matvec(x, w) - y)) * poison
        optimizer = wrap_graph_optimizer(tf.compat.v1.train.GradientDescentOptimizer(0.1),
                                         "cpu", loss_scale=ExponentialUpdateLossScaleManager(**config))
        assert isinstance(optimizer, GraphLossScaleOptimizer)
        train = optimizer.minimize(loss, var_list=[w])
        manager = optimizer.manager
        init = tf.compat.v1.global_variables_initializer()
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((4, 2)).astype("float32"), rng.standard_normal(4).astype("float32")
    reference, weights = ReferenceExponentialManager(**config), np.array([0.5, -0.5], "float32")
    with session("cpu", graph=graph) as sess:
        sess.run(init)
        for poisoned in (False, True, False, False, True, False):
            sess.run(train, {x: xs, y: ys, poison: np.inf if poisoned else 1.0})
            if not poisoned:  # plain gradient descent on the mean squared error
                weights = weights - 0.1 * (2 * xs.T @ (xs @ weights - ys) / len(ys))
            reference.update(not poisoned)
            np.testing.assert_allclose(sess.run(w), weights, rtol=1e-5)
            scale, good, overflows = sess.run([manager.loss_scale, manager.good_steps,
                                               manager.overflows])
            assert (float(scale), int(good), int(overflows)) == (
                reference.state()["loss_scale"], reference.good, reference.overflows)


def test_float32_graph_optimizer_is_left_alone():
    optimizer = tf.compat.v1.train.AdamOptimizer()
    assert wrap_graph_optimizer(optimizer, "cpu") is optimizer
    assert isinstance(wrap_graph_optimizer(optimizer, "gpu", precision="allow_mix_precision"),
                      GraphLossScaleOptimizer)
    with pytest.raises(ValueError, match="tf.compat.v1.train.Optimizer"):
        GraphLossScaleOptimizer(object(), ExponentialUpdateLossScaleManager(2.0, 2))
