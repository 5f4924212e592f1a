"""ascendgan.schedules.CosineDecay: the closed form, warm-up, Keras equivalence, config
round trip, use in an optimizer, and argument errors."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.schedules import CosineDecay

keras = compat.keras


def test_cosine_schedule_against_closed_form():
    lr0, total = 0.06, 1000
    schedule = CosineDecay(lr0, total)
    for t in (0, 1, 250, 500, 999, 1000, 1500):
        expected = 0.5 * lr0 * (1 + np.cos(np.pi * min(t, total) / total))
        assert float(schedule(t)) == pytest.approx(expected, rel=1e-5, abs=1e-9)


def test_cosine_schedule_with_warmup():
    schedule = CosineDecay(0.1, 110, warmup_steps=10)
    assert float(schedule(0)) == pytest.approx(0.0, abs=1e-9)
    assert float(schedule(5)) == pytest.approx(0.05, rel=1e-5)
    assert float(schedule(10)) == pytest.approx(0.1, rel=1e-5)
    assert float(schedule(60)) == pytest.approx(0.05, rel=1e-5)  # halfway through the cosine
    assert float(schedule(110)) == pytest.approx(0.0, abs=1e-7)
    # the closed form at every step: linear, then the cosine over the remaining steps
    for t in range(0, 130, 7):
        expected = 0.1 * t / 10 if t < 10 else 0.05 * (1 + np.cos(np.pi * min(t - 10, 100) / 100))
        assert float(schedule(t)) == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_from_epochs_counts_steps():
    schedule = CosineDecay.from_epochs(0.06, epochs=150, steps_per_epoch=390, warmup_epochs=5)
    assert (schedule.total_steps, schedule.warmup_steps) == (58_500, 1_950)


@pytest.mark.parametrize("warmup", [0, 10])
def test_same_values_as_the_keras_schedule_it_replaces(warmup):
    """The schedule ``train_classifier`` compiled before (Keras's CosineDecay)."""
    ours = CosineDecay(0.06, 100, warmup_steps=warmup)
    if warmup:
        theirs = keras.optimizers.schedules.CosineDecay(0.0, 100 - warmup, warmup_target=0.06,
                                                        warmup_steps=warmup)
    else:
        theirs = keras.optimizers.schedules.CosineDecay(0.06, 100)
    for t in range(0, 120, 3):
        assert float(ours(t)) == pytest.approx(float(theirs(t)), rel=1e-5, abs=1e-8)


def test_config_round_trip_and_registration():
    schedule = CosineDecay(0.06, 1000, warmup_steps=50, name="lr")
    config = schedule.get_config()
    assert config == {"learning_rate": 0.06, "total_steps": 1000, "warmup_steps": 50, "name": "lr"}
    restored = CosineDecay.from_config(config)
    assert float(restored(300)) == float(schedule(300))
    revived = compat.deserialize(compat.serialize(schedule))
    assert isinstance(revived, CosineDecay) and revived.get_config() == config


def test_drives_an_optimizer_and_survives_its_config():
    """Plain SGD on a gradient of 1: after 3 steps the weight moved by lr(0) + lr(1) + lr(2)."""
    optimizer = keras.optimizers.SGD(learning_rate=CosineDecay(0.5, 10))
    layer = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")
    layer.build((None, 1))
    for _ in range(3):
        optimizer.apply_gradients([(tf.ones((1, 1)), layer.kernel)])
    expected = 1.0 - sum(0.25 * (1 + np.cos(np.pi * t / 10)) for t in range(3))
    assert float(np.asarray(layer.kernel)[0, 0]) == pytest.approx(expected, rel=1e-5)
    clone = keras.optimizers.SGD.from_config(optimizer.get_config())
    assert float(np.asarray(clone.learning_rate)) == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs, message", [
    ({"learning_rate": 0.0, "total_steps": 10}, r"`learning_rate` must be a number > 0"),
    ({"learning_rate": 0.1, "total_steps": 0}, r"`total_steps` must be an integer >= 1"),
    ({"learning_rate": 0.1, "total_steps": 10, "warmup_steps": 10},
     r"`warmup_steps` must be an integer in \[0, total_steps=10\)"),
    ({"learning_rate": 0.1, "total_steps": 2.5}, r"`total_steps` must be an integer"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CosineDecay(**kwargs)
