"""GANMetrics: evaluation during fit, logs, and the best checkpoint (atomic, resumable)."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.metrics import (
    EvaluationResult,
    EvaluationSettings,
    FeatureExtractor,
    GANMetrics,
    evaluate,
)
from ascendgan.metrics import callbacks as callbacks_module
from ascendgan.training import GAN, restore_latest

keras = compat.keras


def tiny_gan(seed=0):
    compat.set_random_seed(seed)
    generator = keras.Sequential([
        keras.Input((3,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Reshape((4, 4, 1)),
    ])
    discriminator = keras.Sequential([
        keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1),
    ])
    gan = GAN(generator, discriminator, latent_dim=3, seed=seed)
    gan.compile(keras.optimizers.Adam(5e-2, beta_1=0.5), keras.optimizers.Adam(5e-2, beta_1=0.5),
                loss="non_saturating")
    return gan


def pixels():
    return FeatureExtractor(lambda x: np.reshape(x, (len(x), -1)), name="pixels")


def real_images(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0.5, 0.2, (n, 4, 4, 1)), -1, 1).astype("float32")


class Recording(GANMetrics):
    """Keeps the generator's weights at every evaluation."""

    def evaluate_now(self):
        result = super().evaluate_now()
        self.snapshots = getattr(self, "snapshots", []) + [self.model.generator.get_weights()]
        return result


def test_evaluates_every_n_steps_and_keeps_the_best_checkpoint(tmp_path):
    gan, data = tiny_gan(), real_images()
    best = str(tmp_path / "best")
    settings = EvaluationSettings(metrics=["fid"], num_samples=32, extractor=pixels(), batch_size=16)
    callback = Recording(data, settings, every_n_steps=2, every_n_epochs=None,
                         best_directory=best, verbose=0)
    gan.fit(data, batch_size=8, epochs=1, verbose=0, callbacks=[callback])   # 8 steps
    steps = [entry["step"] for entry in callback.history]
    assert steps == [2, 4, 6, 8]
    fids = [entry["fid"] for entry in callback.history]
    # the logged number is the real FID of the generator at that step: check the last one
    direct = evaluate(gan, data, num_samples=32, extractor=pixels(), batch_size=16, seed=0)
    assert fids[-1] == pytest.approx(direct["fid"], rel=1e-9)
    # the best/ checkpoint holds the generator of the lowest FID
    best_index = int(np.argmin(fids))
    assert callback.best == pytest.approx(fids[best_index])
    fresh = tiny_gan(seed=5)
    path = restore_latest(fresh, best)
    assert path.endswith(f"ckpt-{steps[best_index]}")
    for restored, saved in zip(fresh.generator.get_weights(), callback.snapshots[best_index]):
        np.testing.assert_array_equal(restored, saved)
    record = json.loads(open(os.path.join(best, "best.json")).read())
    assert record["best"] == pytest.approx(fids[best_index]) and record["step"] == steps[best_index]
    assert record["protocol"]["num_samples"] == 32 and record["best_metric"] == "fid"


def test_epoch_mode_adds_the_numbers_to_the_logs():
    gan, data = tiny_gan(), real_images(32)
    settings = EvaluationSettings(metrics=["fid", "kid"], num_samples=16, extractor=pixels(),
                                  kid_subsets=3, kid_subset_size=16)
    callback = GANMetrics(data, settings, every_n_epochs=1, verbose=0)
    history = gan.fit(data, batch_size=16, epochs=2, verbose=0, callbacks=[callback])
    assert len(history.history["fid"]) == 2 and len(history.history["kid"]) == 2
    assert history.history["fid"] == [entry["fid"] for entry in callback.history]
    assert [entry["epoch"] for entry in callback.history] == [0, 1]


def scripted(values, calls, snapshots=None):
    """A stand-in for evaluate() that returns the scripted FIDs in order."""
    values = iter(values)

    def fake_evaluate(gan, reference, settings):
        calls.append(int(gan.generator_optimizer.iterations.numpy()))
        if snapshots is not None:
            snapshots.append(gan.generator.get_weights())
        return EvaluationResult({"fid": next(values)}, {"num_samples": settings.num_samples})

    return fake_evaluate


@pytest.mark.stand_in
def test_best_survives_a_restart_and_is_only_replaced_by_a_better_value(tmp_path, monkeypatch):
    best = str(tmp_path / "best")
    data = real_images(16)
    calls, snapshots = [], []
    monkeypatch.setattr(callbacks_module, "evaluate", scripted([5.0, 2.0, 4.0, 3.0], calls, snapshots))
    gan = tiny_gan()
    settings = EvaluationSettings(num_samples=8, extractor=pixels())
    first = GANMetrics(data, settings, every_n_steps=1, every_n_epochs=None, best_directory=best,
                       verbose=0)
    gan.fit(data, batch_size=4, epochs=1, verbose=0, callbacks=[first])   # 4 steps, then epoch end
    assert calls == [1, 2, 3, 4]
    assert first.best == 2.0 and tf.train.latest_checkpoint(best).endswith("ckpt-2")
    assert not [name for name in os.listdir(best) if name.startswith("ckpt-1.")]   # one kept
    # the checkpoint holds the step-2 generator, not the final one
    fresh = tiny_gan(seed=9)
    restore_latest(fresh, best)
    for restored, saved in zip(fresh.generator.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(restored, saved)
    assert not all(np.array_equal(a, b) for a, b in zip(snapshots[1], gan.generator.get_weights()))

    # a new run on the same directory: 2.5 is worse than the stored 2.0, 1.0 is better
    calls.clear()
    monkeypatch.setattr(callbacks_module, "evaluate", scripted([2.5, 1.0], calls))
    second = GANMetrics(data, settings, every_n_steps=2, every_n_epochs=None, best_directory=best,
                        verbose=0)
    gan.fit(data, batch_size=4, epochs=1, verbose=0, callbacks=[second])  # steps 5..8
    assert calls == [6, 8]
    assert second.best == 1.0 and tf.train.latest_checkpoint(best).endswith("ckpt-8")
    record = json.loads(open(os.path.join(best, "best.json")).read())
    assert record["best"] == 1.0 and record["step"] == 8


@pytest.mark.stand_in
def test_a_worse_first_value_after_restart_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    best = str(tmp_path / "best")
    data = real_images(16)
    calls = []
    monkeypatch.setattr(callbacks_module, "evaluate", scripted([1.0], calls))
    gan = tiny_gan()
    gan.fit(data, batch_size=16, epochs=1, verbose=0,
            callbacks=[GANMetrics(data, EvaluationSettings(extractor=pixels()), best_directory=best,
                                  verbose=0)])
    monkeypatch.setattr(callbacks_module, "evaluate", scripted([3.0], calls))
    again = GANMetrics(data, EvaluationSettings(extractor=pixels()), best_directory=best, verbose=0)
    gan.fit(data, batch_size=16, epochs=1, verbose=0, callbacks=[again])
    assert again.best == 1.0 and tf.train.latest_checkpoint(best).endswith("ckpt-1")


def test_higher_is_better_for_the_inception_score():
    callback = GANMetrics(None, EvaluationSettings(metrics=["is"], extractor=pixels()))
    assert callback.best_metric == "is" and callback.higher_is_better
    assert callback._is_better(2.0)
    callback.best = 2.0
    assert callback._is_better(3.0) and not callback._is_better(1.5)


def test_argument_errors():
    fid = EvaluationSettings(metrics=["fid"], extractor=pixels())
    with pytest.raises(ValueError, match="every_n_steps"):
        GANMetrics(None, fid, every_n_steps=None, every_n_epochs=None)
    with pytest.raises(ValueError, match="best_metric"):
        GANMetrics(None, fid, best_metric="recall")
    with pytest.raises(ValueError, match="every_n_steps"):
        GANMetrics(None, fid, every_n_steps=0)
    with pytest.raises(TypeError, match="extractor"):
        GANMetrics(None, EvaluationSettings(extractor=lambda x: x))
    with pytest.raises(TypeError, match="settings"):
        GANMetrics(None, {"metrics": ["fid"]})
    callback = GANMetrics(None, fid)
    callback.set_model(tiny_gan())
    with pytest.raises(ValueError, match="`reference` is required"):
        callback.on_train_begin()
