"""Overflow / NaN detection and the profiler callback."""

import numpy as np
import pytest
import tensorflow as tf
from _strategy_gans import PoisonGAN, Recorder, toy_data

from ascendgan import compat
from ascendgan.strategy import (
    ExponentialUpdateLossScaleManager,
    NonFiniteMonitor,
    ProfilerCallback,
    WrappedOptimizer,
    non_finite_names,
    numerics_check,
)

keras = compat.keras


def test_non_finite_names():
    tensors = {"ok": tf.constant([1.0]), "nan": tf.constant([np.nan]), "none": None,
               "inf16": tf.constant([np.inf], tf.float16),
               "sparse": tf.IndexedSlices(tf.constant([[np.inf]]), tf.constant([0]))}
    assert non_finite_names(tensors) == ["nan", "inf16", "sparse"]


def test_numerics_check_names_the_operation():
    with numerics_check():
        with pytest.raises(tf.errors.InvalidArgumentError, match="Log"):
            tf.math.log(tf.constant([-1.0]))
    assert np.isnan(tf.math.log(tf.constant([-1.0])).numpy()[0])  # off again


def test_monitor_reports_the_overflowing_optimizer_and_step_and_stops_on_nan():
    compat.set_random_seed(0)
    gan = PoisonGAN()
    d_optimizer = WrappedOptimizer(keras.optimizers.Adam(1e-2),
                                   ExponentialUpdateLossScaleManager(4.0, 100, decr_ratio=0.5))
    gan.compile(discriminator_optimizer=d_optimizer, loss="hinge")
    recorder = Recorder(d_flags=[0, 0, 1])
    monitor = NonFiniteMonitor(stop_on_nan=True)
    gan.fit(toy_data(24), batch_size=4, epochs=1, shuffle=False, verbose=0,
            callbacks=[recorder, monitor])
    assert recorder.step == 3  # stopped after the step whose loss was not finite
    overflows = [e for e in monitor.events if e["kind"] == "overflow"]
    assert overflows == [{"step": 3, "kind": "overflow", "name": "discriminator", "value": 4.0}]
    assert {"step": 3, "kind": "non_finite", "name": "d_loss"} in [
        {k: e[k] for k in ("step", "kind", "name")} for e in monitor.events]
    assert all(e["step"] == 3 for e in monitor.events)


def test_overflow_log_names_the_variables(capfd):
    good, bad = tf.Variable([1.0], name="good_kernel"), tf.Variable([2.0], name="bad_kernel")
    manager = ExponentialUpdateLossScaleManager(8.0, 10, log_overflows=True)
    wrapped = WrappedOptimizer(keras.optimizers.SGD(0.1), manager)
    wrapped.apply_gradients([tf.constant([1.0]), tf.constant([np.inf])], [good, bad])
    err = capfd.readouterr().err
    assert "overflow" in err and "bad_kernel" in err and "good_kernel" not in err
    assert "step 1" in err


def test_profiler_traces_the_chosen_steps(tmp_path):
    compat.set_random_seed(0)
    gan = PoisonGAN()
    gan.compile(loss="hinge")
    profiler = ProfilerCallback(tmp_path / "logs", start_step=2, stop_step=3)
    gan.fit(toy_data(16), batch_size=4, epochs=1, verbose=0, callbacks=[profiler])
    assert profiler.traced_steps == [2, 3] and not profiler.active
    traces = list((tmp_path / "logs").rglob("*.xplane.pb"))
    assert traces and traces[0].stat().st_size > 0
    with pytest.raises(ValueError, match="stop_step"):
        ProfilerCallback(tmp_path, start_step=5, stop_step=4)
    with pytest.raises(ValueError, match="start_step"):
        ProfilerCallback(tmp_path, start_step=0)
