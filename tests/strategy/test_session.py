"""TF1-style graph code: session configs (on the NPU, byte for byte those of the documented
Ascend scripts), and graph-mode loss scaling on CPU."""

import numpy as np
import pytest
import tensorflow as tf
from _strategy_gans import ReferenceExponentialManager
from tensorflow.core.protobuf import rewriter_config_pb2

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


def _script_config(parameters):
    """A ConfigProto as the documented Ascend scripts build it: a fresh ConfigProto, one
    "NpuOptimizer" custom optimizer with ``parameters`` (bool -> .b, str -> .s), and the
    remapping and memory_optimization rewrites OFF; nothing else."""
    config = tf.compat.v1.ConfigProto()
    rewrites = config.graph_options.rewrite_options
    custom_op = rewrites.custom_optimizers.add()
    custom_op.name = "NpuOptimizer"
    for name, value in parameters.items():
        if isinstance(value, bool):
            custom_op.parameter_map[name].b = value
        else:
            custom_op.parameter_map[name].s = tf.compat.as_bytes(value)
    rewrites.remapping = rewriter_config_pb2.RewriterConfig.OFF
    rewrites.memory_optimization = rewriter_config_pb2.RewriterConfig.OFF
    return config


def _same_bytes(a, b):
    # Map entries serialize in key order with deterministic=True.
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


def test_npu_session_config_is_the_documented_scripts_byte_for_byte():
    # DCGAN_ID0686_for_TensorFlow main.py: use_off_line, precision_mode allow_mix_precision.
    dcgan = _script_config({"use_off_line": True, "precision_mode": "allow_mix_precision"})
    ours = session_config("npu", precision="allow_mix_precision")
    assert ours == dcgan and _same_bytes(ours, dcgan)
    assert not ours.allow_soft_placement  # the scripts do not set it
    # Pix2Pix_ID0359_for_TensorFlow main.py: precision_mode, modify_mixlist (it leaves
    # use_off_line at the adapter's default, "1" in tf_adapter/util/npu_attrs.cc).
    pix2pix = _script_config({"precision_mode": "allow_mix_precision",
                              "modify_mixlist": "./ops_info.json", "use_off_line": True})
    ours = session_config("npu", precision="allow_mix_precision",
                          npu_options={"modify_mixlist": "./ops_info.json"})
    assert _same_bytes(ours, pix2pix)
    # BigGAN (utils.session_config, --chip npu --use_fp16 --profiling).
    profiling = '{"output":"/tmp/profiling","task_trace":"on","aicpu":"on"}'
    biggan = _script_config({"precision_mode": "allow_mix_precision",
                             "fusion_switch_file": "fusion_switch.cfg", "use_off_line": True,
                             "profiling_mode": True, "profiling_options": profiling})
    ours = session_config("npu", precision="allow_mix_precision", npu_options={
        "fusion_switch_file": "fusion_switch.cfg", "profiling_mode": True,
        "profiling_options": profiling})
    assert _same_bytes(ours, biggan)
    # Other precisions change only precision_mode; a given config keeps its own fields.
    base = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=2)
    ours = session_config("npu", precision="must_keep_origin_dtype", config=base)
    reference = _script_config({"use_off_line": True, "precision_mode": "must_keep_origin_dtype"})
    reference.intra_op_parallelism_threads = 2
    assert _same_bytes(ours, reference)


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
