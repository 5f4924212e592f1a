"""get_strategy, scopes, batch sizes, wrap_optimizer in GAN.compile, and a GAN under
MirroredStrategy / MultiWorkerMirroredStrategy."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from _strategy_gans import PoisonGAN

from ascendgan import compat
from ascendgan.strategy import (
    FixedLossScaleManager,
    WrappedOptimizer,
    current_strategy,
    get_strategy,
    per_replica_batch_size,
)

keras = compat.keras
HERE = pathlib.Path(__file__).resolve().parent


# ----------------------------------------------------------------------------- strategies


def test_cpu_strategy_scope_sets_and_restores_the_policy():
    strategy = get_strategy("cpu", precision="mixed_bfloat16")
    assert strategy.device == "cpu" and strategy.num_replicas == 1
    assert current_strategy() is None
    with strategy.scope() as active:
        assert active is strategy and current_strategy() is strategy
        assert compat.global_precision() == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
    assert compat.global_precision() == "float32" and current_strategy() is None
    assert layer.compute_dtype == "bfloat16"


def test_auto_picks_cpu_here():
    assert not tf.config.list_physical_devices("GPU")
    strategy = get_strategy("auto")
    assert strategy.device == "cpu" and "cpu" in repr(strategy)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(device="tpu"), ValueError, "device"),
        (dict(device="cpu", precision="half"), ValueError, "precision"),
        (dict(device="cpu", loss_scale="often"), ValueError, "loss_scale"),
        (dict(device="cpu", devices=4), ValueError, "configure_logical_cpus"),
        (dict(device="cpu", devices="two"), ValueError, "devices"),
        (dict(device="multi_worker", devices=2), ValueError, "devices"),
        (dict(device="cpu", npu_options={"precision_mode": "force_fp16"}), ValueError,
         "npu_options"),
        (dict(device="gpu"), RuntimeError, "GPU"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        get_strategy(**kwargs)


def test_batch_sizes():
    assert per_replica_batch_size(64, 8) == 8
    with pytest.raises(ValueError, match="multiple of the number of replicas"):
        per_replica_batch_size(60, 8)
    with pytest.raises(ValueError, match="num_replicas"):
        per_replica_batch_size(8, 0)
    strategy = get_strategy("cpu")
    assert strategy.per_replica_batch_size(32) == 32 and strategy.global_batch_size(16) == 16


def test_batch_dataset_batches_at_the_global_size():
    strategy = get_strategy("cpu")
    data = np.arange(10, dtype="float32")
    batches = [b.numpy().tolist() for b in strategy.batch_dataset(data, global_batch_size=4)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7]]  # drop_remainder for static shapes
    assert strategy.distribute_dataset(tf.data.Dataset.range(3)) is not None


# ----------------------------------------------------------------------------- GAN.compile


def test_compile_inside_a_float16_scope_gives_each_optimizer_its_own_manager():
    with get_strategy("cpu", precision="mixed_float16").scope():
        gan = PoisonGAN()
        gan.compile()
    d_manager = gan.wrapped_discriminator_optimizer.loss_scale_manager
    g_manager = gan.wrapped_generator_optimizer.loss_scale_manager
    assert d_manager is not None and g_manager is not None and d_manager is not g_manager
    assert d_manager.get_config()["init_loss_scale"] == 2.0**15
    assert {"d_loss_scale", "d_overflows", "g_loss_scale", "g_overflows"} <= {
        m.name for m in gan.metrics}


def test_compile_arguments_choose_the_loss_scale():
    gan = PoisonGAN()
    gan.compile(strategy=get_strategy("cpu", loss_scale="ascend"))  # explicit: even in float32
    assert gan.wrapped_generator_optimizer.loss_scale_manager.get_config()[
        "init_loss_scale"] == 2.0**32
    plain = PoisonGAN()
    plain.compile()
    assert not plain.wrapped_generator_optimizer.loss_scaled
    assert "d_loss_scale" not in {m.name for m in plain.metrics}
    fixed = PoisonGAN()
    fixed.compile(loss_scale=FixedLossScaleManager(256))
    assert fixed.wrapped_discriminator_optimizer.loss_scale_manager.state()["loss_scale"] == 256.0
    with compat.precision_scope("mixed_float16"):
        keras_own = compat.loss_scale_optimizer(keras.optimizers.Adam())
        kept = PoisonGAN()
        kept.compile(generator_optimizer=keras_own)
    assert kept.generator_optimizer is keras_own  # already scaling: left alone
    assert kept.wrapped_generator_optimizer.loss_scale_manager is None
    with pytest.raises(ValueError, match="strategy"):
        PoisonGAN().compile(strategy="cpu")


def test_compile_keeps_the_keras_optimizers_and_their_loss_scale_on_recompile():
    with get_strategy("cpu", precision="mixed_float16").scope():
        gan = PoisonGAN()
        gan.compile()
        wrapped = gan.wrapped_generator_optimizer
        assert isinstance(wrapped, WrappedOptimizer)
        assert gan.generator_optimizer is wrapped.optimizer  # the Keras optimizer
        assert hasattr(gan.generator_optimizer, "learning_rate")
        gan.compile(gan.generator_optimizer, gan.discriminator_optimizer)  # compiled again
    assert gan.wrapped_generator_optimizer is wrapped
    given = WrappedOptimizer(keras.optimizers.SGD(0.1), FixedLossScaleManager(4))
    other = PoisonGAN()
    other.compile(discriminator_optimizer=given)
    assert other.wrapped_discriminator_optimizer is given
    assert other.discriminator_optimizer is given.optimizer


# ----------------------------------------------------------------------------- replicas


def _run_script(name, env=None, timeout=300):
    result = subprocess.run(
        [sys.executable, str(HERE / name)], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}, cwd=str(HERE),
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_mirrored_gan_on_two_logical_cpus_matches_one_device():
    result = _run_script("_mirrored_gan.py")
    assert result["replicas"] == 2
    # Same global batch, same latents: two replicas (gradients all-reduced, cross-replica
    # batch norm, spectral-norm u from the first replica, generator EMA) give the
    # single-device weights, and every variable is identical on both replicas.
    assert result["max_weight_change"] > 1e-2
    assert result["max_weight_diff"] < 1e-5
    assert result["u_vectors"] == 2 and result["max_replica_spread"] == 0.0
    assert result["ema_differs_from_generator"]  # the averaged generator was compared too
    # Replica 1 alone overflowed: both replicas skipped the discriminator step.
    assert result["skip_unchanged"] and result["skip_replica_spread"] == 0.0
    assert result["skip_state"]["overflows"] == 1 and result["skip_state"]["loss_scale"] == 8.0
    assert result["history_d_loss_scale"] == 8.0 and result["g_overflows"] == 0
    # One generator pass per iteration: two replicas match one device, and the path differs
    # from the default one (the generator's batch norm moves once per iteration).
    assert result["reuse_fakes_max_weight_diff"] < 1e-5
    assert result["reuse_fakes_differs_from_default"] > 1e-4
    # FusedAdam on two replicas gives Keras's Adam on one device. Adam divides by sqrt(v),
    # so it magnifies float rounding of tiny gradients: Keras's own Adam on two replicas
    # differs from one device by 5.5e-5 here (weights move by 8e-3), hence 1e-4.
    assert result["fused_adam_type"] == "FusedAdam"
    assert result["adam_max_weight_change"] > 5e-3
    assert result["fused_adam_max_weight_diff"] < 1e-4
    assert result["fused_adam_replica_spread"] == 0.0


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
@pytest.mark.legacy_only
@pytest.mark.skipif(compat.KERAS_3, reason="Keras 3's fit does not support "
                    "MultiWorkerMirroredStrategy (keras-team/keras#20585); legacy Keras does")
def test_two_workers_from_rank_variables_train_in_sync():
    hosts = ",".join(f"localhost:{p}" for p in _free_ports(2))
    processes = [
        subprocess.Popen(
            [sys.executable, str(HERE / "_multi_worker_gan.py")], cwd=str(HERE), text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RANK_SIZE": "2",
                 "RANK_ID": str(rank), "WORKER_HOSTS": hosts},
        )
        for rank in range(2)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        assert process.returncode == 0 and lines, err[-3000:]
        results.append(json.loads(lines[-1][len("RESULT "):]))
    assert [r["replicas"] for r in results] == [2, 2]
    assert results[0]["d_state"] == results[1]["d_state"]
    assert results[0]["d_state"]["steps"] == 2 and results[0]["d_state"]["overflows"] == 0
    assert np.isfinite(results[0]["checksum"])
    assert results[0]["checksum"] == results[1]["checksum"]
