"""Graph mode (TF1 graph + session): the same run as eager mode, the same checkpoints, the
``--graph-mode`` / ``--npu-option`` arguments, and the clear error under Keras 3."""

import argparse

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan import strategy as strategy_lib
from ascendgan.cli.graph_options import (
    DUMP_AND_PROFILING_OPTIONS,
    NPU_OPTIONS,
    RUN_CONFIG_SESSION_OPTIONS,
    add_graph_arguments,
    graph_options_from_arguments,
)
from ascendgan.recipes import DataSource, GANRun, load_run, runs
from ascendgan.recipes.graph_run import train_graph


def _load_adapter():
    """tests/strategy/_adapter.py: the recording stand-in of Huawei's TF adapter."""
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).parents[1] / "strategy" / "_adapter.py"
    spec = importlib.util.spec_from_file_location("graph_mode_adapter_stand_in", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_adapter = _load_adapter()

legacy = pytest.mark.skipif(compat.KERAS_3, reason="graph mode needs legacy Keras (TF_USE_LEGACY_KERAS=1)")
# the eager + graph runs of the shared fixture take about 17 s on 2 cores
slow = pytest.mark.slow
STEPS = 3


def _run(out):
    # one batch per pass over the data: every Keras "epoch" is one step, so eager logs are
    # per-step values, not running means
    return GANRun("dcgan", smoke=True, steps=STEPS, out=str(out), seed=3, verbose=0, tensorboard=False,
                  strategy=strategy_lib.get_strategy("cpu", precision="float32"),
                  data=DataSource(limit=2))


class _Recorder(compat.keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append({k: float(v) for k, v in logs.items()})


@pytest.fixture(scope="module")
def both_runs(tmp_path_factory):
    """The same seeded DCGAN smoke run trained eagerly (train_gan) and in a graph."""
    root = tmp_path_factory.mktemp("graph_mode")
    recorder = _Recorder()
    original = runs.run_callbacks
    runs.run_callbacks = lambda *a, **k: original(*a, **k) + [recorder]
    try:
        eager = runs.train_gan(_run(root / "eager"))
    finally:
        runs.run_callbacks = original
    history = []
    graph = train_graph(_run(root / "graph"), runs.plan_training, runs.run_record, history=history)
    return {"root": root, "eager": eager, "eager_logs": recorder.logs, "graph": graph,
            "graph_logs": history}


@slow
@legacy
def test_graph_mode_losses_equal_eager_losses(both_runs):
    eager, graph = both_runs["eager_logs"], both_runs["graph_logs"]
    assert len(eager) == len(graph) == STEPS
    for step, (a, b) in enumerate(zip(eager, graph)):
        for name in ("d_loss", "g_loss", "d_real", "d_fake"):
            np.testing.assert_allclose(b[name], a[name], rtol=1e-4, atol=1e-6,
                                       err_msg=f"{name} at step {step + 1}")
    assert both_runs["graph"]["final_step"] == STEPS
    # a step changes the losses: the comparison is not between constants
    assert len({round(logs["d_loss"], 6) for logs in graph}) == STEPS


@slow
@legacy
def test_graph_checkpoint_has_the_eager_keys_and_values(both_runs):
    root = both_runs["root"]
    eager = tf.train.latest_checkpoint(str(root / "eager" / "checkpoints"))
    graph = tf.train.latest_checkpoint(str(root / "graph" / "checkpoints"))
    assert eager.endswith(f"ckpt-{STEPS}") and graph.endswith(f"ckpt-{STEPS}")
    eager_keys = dict(tf.train.list_variables(eager))
    graph_keys = dict(tf.train.list_variables(graph))
    assert graph_keys == eager_keys  # same names and shapes: optimizer slots and counters too
    reader_e, reader_g = tf.train.load_checkpoint(eager), tf.train.load_checkpoint(graph)
    for key in eager_keys:
        if "save_counter" in key or "seed_generator" in key or "OBJECT_GRAPH" in key:
            continue
        np.testing.assert_allclose(reader_g.get_tensor(key), reader_e.get_tensor(key),
                                   rtol=1e-3, atol=1e-5, err_msg=key)
    counter = next(k for k in eager_keys if k.startswith("generator_optimizer/_iterations"))
    assert int(reader_g.get_tensor(counter)) == STEPS


@slow
@legacy
def test_graph_checkpoint_restores_in_eager_with_the_same_samples(both_runs):
    root = both_runs["root"]
    from_graph, _ = load_run(root / "graph")
    from_eager, _ = load_run(root / "eager")
    a = from_graph.generate(4, seed=5)
    b = from_eager.generate(4, seed=5)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert float(np.std(a)) > 0


@slow
@legacy
def test_graph_run_resumes_to_the_same_step(both_runs, tmp_path):
    out = tmp_path / "resumed"
    first = _run(out)
    first.steps = 2
    train_graph(first, runs.plan_training, runs.run_record)
    history = []
    result = train_graph(_run(out), runs.plan_training, runs.run_record, history=history)
    assert result["resumed_from"] == 2 and result["final_step"] == STEPS and len(history) == 1
    np.testing.assert_allclose(history[0]["d_loss"], both_runs["graph_logs"][-1]["d_loss"], rtol=1e-4)


@legacy
def test_graph_training_uses_the_adapter_chain_on_the_npu(monkeypatch):
    adapter = _adapter.install_stand_in(monkeypatch)
    from ascendgan.models import dcgan
    from ascendgan.training.graph import GraphTraining
    strategy = strategy_lib.get_strategy("npu", precision="allow_mix_precision", graph_mode=True)
    graph = tf.Graph()
    with graph.as_default(), strategy.scope():
        gan = dcgan("mnist", base_filters=2, seed=0)
        GraphTraining(gan, strategy, tf.zeros([2, 28, 28, 1]))
    chain = [name for name in adapter.names() if name in (
        "ExponentialUpdateLossScaleManager", "NPULossScaleOptimizer", "npu_tf_optimizer",
        "NPUDistributedOptimizer")]
    one = ["ExponentialUpdateLossScaleManager", "NPULossScaleOptimizer", "npu_tf_optimizer",
           "NPUDistributedOptimizer"]
    assert chain == one * 2  # the generator's, then the discriminator's
    assert [a["is_distributed"] for a in adapter.named("NPULossScaleOptimizer")] == [False, False]


def test_graph_mode_under_keras_3_fails_in_one_line(tmp_path):
    if not compat.KERAS_3:
        pytest.skip("the Keras 3 error")
    with pytest.raises(RuntimeError) as error:
        train_graph(_run(tmp_path), runs.plan_training, runs.run_record)
    message = str(error.value)
    assert "TF_USE_LEGACY_KERAS=1" in message and "\n" not in message
    assert not (tmp_path / "checkpoints").exists()


# ----------------------------------------------------------------------------- arguments


def test_npu_options_parse_to_typed_values():
    parser = add_graph_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--graph-mode", "--npu-option", "iterations_per_loop=100",
                              "--npu-option", "hcom_parallel=true", "--npu-option", "dump_path=/tmp/d",
                              "--npu-option", "modify_mixlist=ops.json",
                              "--npu-option", "iterations_per_loop=10"])
    assert args.graph_mode is True
    assert graph_options_from_arguments(args) == {
        "iterations_per_loop": 10, "hcom_parallel": True, "dump_path": "/tmp/d",
        "modify_mixlist": "ops.json"}
    assert graph_options_from_arguments(parser.parse_args([])) == {}


def test_unknown_npu_option_is_a_one_line_error_listing_the_keys(capsys):
    parser = add_graph_arguments(argparse.ArgumentParser(prog="train"))
    with pytest.raises(SystemExit):
        parser.parse_args(["--npu-option", "iterations_per_lop=10"])
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--npu-option key must be one of" in message and "'iterations_per_lop'" in message
    assert "iterations_per_loop" in message and "op_select_implmode" in message
    with pytest.raises(SystemExit):
        parser.parse_args(["--npu-option", "enable_dump"])
    assert "key=value" in capsys.readouterr().err


def test_npu_option_keys_are_the_adapters():
    signature = {name for name, _ in _adapter.RUN_CONFIG_PARAMETERS}
    assert set(RUN_CONFIG_SESSION_OPTIONS) <= signature
    # every NPURunConfig parameter is either a session option, an Estimator setting or one
    # of the config objects whose flat session keys DUMP_AND_PROFILING_OPTIONS lists
    estimator = {"model_dir", "tf_random_seed", "save_summary_steps", "save_checkpoints_steps",
                 "save_checkpoints_secs", "session_config", "keep_checkpoint_max",
                 "keep_checkpoint_every_n_hours", "log_step_count_steps", "distribute",
                 "train_distribute", "eval_distribute", "distribute_config"}
    objects = {"dump_config", "profiling_config"}
    assert signature - set(RUN_CONFIG_SESSION_OPTIONS) == estimator | objects
    assert set(NPU_OPTIONS) == set(RUN_CONFIG_SESSION_OPTIONS) | set(DUMP_AND_PROFILING_OPTIONS)


def test_npu_options_reach_the_session_config(monkeypatch):
    _adapter.install_stand_in(monkeypatch)
    parser = add_graph_arguments(argparse.ArgumentParser())
    options = graph_options_from_arguments(parser.parse_args(
        ["--npu-option", "iterations_per_loop=10", "--npu-option", "enable_dump=true",
         "--npu-option", "op_select_implmode=high_precision"]))
    strategy = strategy_lib.get_strategy("npu", precision="allow_mix_precision", graph_mode=True,
                                         npu_options=options)
    op = strategy.session_config().graph_options.rewrite_options.custom_optimizers[0]
    assert op.name == "NpuOptimizer"
    assert op.parameter_map["iterations_per_loop"].i == 10
    assert op.parameter_map["enable_dump"].b is True
    assert op.parameter_map["op_select_implmode"].s == b"high_precision"
    assert op.parameter_map["precision_mode"].s == b"allow_mix_precision"
