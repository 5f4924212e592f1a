"""The classifier trainer (ascendgan.recipes.classifier): the compiled loss and SGD updates
against closed forms, learning, TensorBoard, checkpoints (also in the format written before
the refactor), exact-step resume, evaluation from a checkpoint, and argument errors. The
data-parallel, NPU, logging, fine-tuning and ImageNet parts of a run are in
test_classifier_strategy.py and test_classifier_distributed.py."""

import glob
import json
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.augment import random_crop_and_flip
from ascendgan.metrics.classification import (
    decayed_variables,
    evaluate_classifier,
    label_smoothing_cross_entropy,
)
from ascendgan.models.classifiers import ClassifierModel, wide_resnet
from ascendgan.models.classifiers.classifier_presets import SGDSettings
from ascendgan.recipes.classifier import (
    ClassifierCheckpoint,
    compile_classifier,
    count_steps,
    evaluate_run,
    fit_classifier,
    make_loss,
    restore_classifier,
    train_classifier,
)
from ascendgan.recipes.classifier_run import ClassifierRun, TrainingScalars
from ascendgan.schedules import CosineDecay
from ascendgan.strategy import get_strategy
from ascendgan.training.callbacks import Throughput
from ascendgan.training.checkpoints import PeriodicCheckpoint

keras = compat.keras

LOGITS = np.array([
    [0.1, 2.0, -1.0, 0.5, 0.3, -0.2],
    [1.5, 0.2, 0.9, -0.3, 0.0, 0.4],
    [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
    [3.0, -2.0, 1.0, 0.8, 0.7, 0.9],
    [-1.0, 0.6, 0.2, 0.3, 0.4, 0.5],
], "float32")
LABELS = np.array([1, 2, 3, 4, 0], "int32")


def numpy_top_k(labels, logits, k):
    order = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return np.array([label in row for label, row in zip(labels, order)])


def numpy_smoothed_ce(labels, logits, eps):
    logits = logits.astype(np.float64)
    k = logits.shape[1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    targets = np.full_like(logits, eps / k)
    targets[np.arange(len(labels)), labels] += 1 - eps
    return -(targets * log_probs).sum(axis=1)


def learnable_data(n=96, size=8, classes=4, seed=0):
    """Class k brightens channel 0 by a class-dependent amount: easy to learn."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n).astype("int32")
    images = rng.normal(0, 0.3, (n, size, size, 3)).astype("float32")
    images[..., 0] += (labels[:, None, None] - (classes - 1) / 2) * 0.6
    return images, labels


def batches(images, labels, batch_size, drop_remainder=True):
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size, drop_remainder=drop_remainder)


def tiny_model(classes=4, size=8):
    return wide_resnet("wrn_10_1", input_shape=(size, size, 3), num_classes=classes)


def train(model, data, *, epochs, steps_per_epoch=None, learning_rate=0.06, warmup_epochs=0,
          callbacks=(), augment=None, validation_data=None, **sgd):
    """What the trainer does for a model: the cosine schedule, compile, then fit."""
    steps = count_steps(data, steps_per_epoch)
    schedule = CosineDecay.from_epochs(learning_rate, epochs, steps, warmup_epochs)
    compile_classifier(model, SGDSettings(learning_rate=learning_rate, **sgd), schedule)
    return fit_classifier(model, data, epochs=epochs, steps_per_epoch=steps, augment=augment,
                          validation_data=validation_data, callbacks=list(callbacks), verbose=0)


# ----------------------------------------------------------------------------- compile


def test_make_loss_is_smoothed_cross_entropy_plus_l2():
    model = wide_resnet("wrn_10_1", input_shape=(8, 8, 3), num_classes=6)
    loss = make_loss(model, label_smoothing=0.1, weight_decay=1e-3)
    total = sum(float(np.sum(np.asarray(v, np.float64) ** 2)) for v in decayed_variables(model))
    expected = numpy_smoothed_ce(LABELS, LOGITS, 0.1) + 0.5e-3 * total
    np.testing.assert_allclose(loss(LABELS, LOGITS).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(make_loss(model, 0.0, 0.0)(LABELS, LOGITS).numpy(),
                               numpy_smoothed_ce(LABELS, LOGITS, 0.0), rtol=1e-5)


def test_compile_uses_the_documented_optimizer_by_default():
    model = compile_classifier(tiny_model(), SGDSettings())
    assert float(model.optimizer.momentum) == pytest.approx(0.9) and not model.optimizer.nesterov
    assert float(np.asarray(model.optimizer.learning_rate)) == pytest.approx(0.06)


# ----------------------------------------------------------------------------- training


def test_training_decreases_the_loss_and_learns():
    images, labels = learnable_data()
    data = batches(images, labels, 16)
    model = tiny_model()
    before = evaluate_classifier(model, data)
    history = train(model, data, epochs=8, learning_rate=0.1, callbacks=[Throughput(16)],
                    augment=lambda x: random_crop_and_flip(x, padding=1))
    losses = history.history["loss"]
    assert len(losses) == 8 and losses[-1] < 0.7 * losses[0]
    assert history.model is model and int(model.optimizer.iterations.numpy()) == 8 * 6
    after = evaluate_classifier(model, data)
    assert after["top1"] > max(0.8, before["top1"] + 0.3)
    assert after["loss"] < before["loss"]
    # the compiled optimizer is the documented SGD
    assert float(model.optimizer.momentum) == pytest.approx(0.9)
    # progress-bar values: images/s is batch / ms_per_step
    ms, ips = history.history["ms_per_step"][-1], history.history["images_per_s"][-1]
    assert ips == pytest.approx(1000.0 * 16 / ms, rel=1e-6)


def test_each_sgd_step_is_minus_cosine_rate_times_smoothed_ce_plus_l2_gradient():
    """With momentum 0 every update is w <- w - lr(t)·(∇CE_ε + wd·w_kernel): checks the
    schedule (read from the actual updates), label smoothing and the coupled L2 together."""
    images, labels = learnable_data(8, size=4, classes=3)

    class Linear(ClassifierModel):
        num_classes = 3

        def __init__(self):
            super().__init__()
            self.flatten = keras.layers.Flatten()
            self.dense = keras.layers.Dense(3)

        def call(self, inputs, training=None):
            return self.dense(self.flatten(inputs))

    model = Linear()
    model(images)
    wd, eps, lr0, total = 0.05, 0.1, 0.5, 6
    checked = []

    class CheckUpdate(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.step = int(self.model.optimizer.iterations.numpy())
            self.before = [np.array(w) for w in self.model.trainable_weights]
            with tf.GradientTape() as tape:
                logits = self.model(images, training=True)
                loss = tf.reduce_mean(label_smoothing_cross_entropy(labels, logits, eps))
            self.gradients = [np.array(g) for g in tape.gradient(loss, self.model.trainable_weights)]

        def on_train_batch_end(self, batch, logs=None):
            rate = 0.5 * lr0 * (1 + np.cos(np.pi * self.step / total))
            kernel, bias = self.before
            expected_kernel = kernel - rate * (self.gradients[0] + wd * kernel)
            expected_bias = bias - rate * self.gradients[1]  # biases are not decayed
            after = [np.array(w) for w in self.model.trainable_weights]
            np.testing.assert_allclose(after[0], expected_kernel, rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(after[1], expected_bias, rtol=1e-4, atol=1e-6)
            checked.append(self.step)

    train(model, batches(images, labels, 8), epochs=2, steps_per_epoch=3, learning_rate=lr0,
          momentum=0.0, weight_decay=wd, label_smoothing=eps, callbacks=[CheckUpdate()])
    assert checked == list(range(total))


def test_warmup_epochs_reach_the_optimizer(tmp_path):
    run = ClassifierRun(out=str(tmp_path), smoke=True, verbose=0, precision="float32",
                        overrides={"epochs": 3, "warmup_epochs": 1, "policy": "none"})
    model = train_classifier(run)["model"]
    schedule = model.optimizer.get_config()["learning_rate"]
    assert schedule["registered_name"] == "ascendgan>CosineDecay"
    assert schedule["config"] == {"learning_rate": 0.06, "total_steps": 6, "warmup_steps": 2, "name": None}


def test_tensorboard_scalars_at_optimizer_steps(tmp_path):
    images, labels = learnable_data(32)
    logs = tmp_path / "logs"
    schedule = CosineDecay(0.1, 8)
    train(tiny_model(), batches(images, labels, 8), epochs=2, learning_rate=0.1,
          callbacks=[Throughput(8), TrainingScalars(str(logs), 2, schedule)],
          validation_data=batches(images, labels, 16))
    scalars = {}
    for path in glob.glob(str(logs / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append(
                    (event.step, float(tf.make_ndarray(value.tensor))))
    assert [s for s, _ in scalars["train/loss"]] == [2, 4, 6, 8]
    assert {"train/top1", "train/top5", "performance/images_per_s", "validation/top1",
            "validation/top5", "epoch/loss"} <= set(scalars)
    for step, rate in scalars["learning_rate"]:
        assert rate == pytest.approx(float(schedule(step)), rel=1e-5, abs=1e-9)


# ----------------------------------------------------------------------------- checkpoints


def _fixed_batch():
    images, labels = learnable_data(8, seed=1)
    return batches(images, labels, 8)  # one batch, repeated: every step sees the same data


class _CrashAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.step:
            raise RuntimeError("simulated crash")


def test_checkpoint_is_a_periodic_checkpoint_of_model_and_optimizer(tmp_path):
    checkpoint = ClassifierCheckpoint(str(tmp_path), every_n_steps=2)
    assert isinstance(checkpoint, PeriodicCheckpoint)
    train(tiny_model(), _fixed_batch(), epochs=1, steps_per_epoch=3, callbacks=[checkpoint])
    assert [os.path.basename(p) for p in tf.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths] \
        == ["ckpt-3"]  # max_to_keep 1; step 2, then the end of training
    names = [name for name, _ in tf.train.list_variables(str(tmp_path / "ckpt-3"))]
    assert any(n.startswith("model/") for n in names) and any(n.startswith("optimizer/") for n in names)


def test_resume_continues_at_the_checkpointed_step_exactly(tmp_path):
    kwargs = dict(epochs=3, steps_per_epoch=3, learning_rate=0.1)
    compat.set_random_seed(7)
    reference = tiny_model()
    initial = reference.get_weights()
    train(reference, _fixed_batch(), **kwargs)

    compat.set_random_seed(7)
    interrupted = tiny_model()
    interrupted.set_weights(initial)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(interrupted, _fixed_batch(), callbacks=[ClassifierCheckpoint(str(tmp_path), 2), _CrashAt(5)],
              **kwargs)
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-4")

    steps = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append(int(self.model.optimizer.iterations.numpy()))

    resumed = tiny_model()  # fresh weights: everything comes from the checkpoint
    history = train(resumed, _fixed_batch(), callbacks=[ClassifierCheckpoint(str(tmp_path), 2), Record()],
                    **kwargs)
    assert steps == [5, 6, 7, 8, 9]  # the rest of epoch 2 (steps 5-6), then epoch 3
    assert len(history.history["loss"]) == 2
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-9")
    # running again has nothing left to do
    again = tiny_model()
    assert train(again, _fixed_batch(), callbacks=[ClassifierCheckpoint(str(tmp_path))], **kwargs).history == {}
    assert int(again.optimizer.iterations.numpy()) == 9


def test_resumes_a_checkpoint_in_the_format_written_before_the_refactor(tmp_path):
    """training/classifier.py saved tf.train.Checkpoint(model=..., optimizer=...) through a
    CheckpointManager numbered by the optimizer step; such a run directory still resumes."""
    kwargs = dict(epochs=2, steps_per_epoch=3, learning_rate=0.1)
    old = tiny_model()
    compile_classifier(old, SGDSettings(learning_rate=0.1), CosineDecay.from_epochs(0.1, 2, 3))
    old.fit(_fixed_batch().repeat(), epochs=1, steps_per_epoch=4, verbose=0, shuffle=False)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=old, optimizer=old.optimizer),
                                         str(tmp_path), max_to_keep=1)
    manager.save(checkpoint_number=4)
    resumed = tiny_model()
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(int(self.model.optimizer.iterations.numpy()))

    train(resumed, _fixed_batch(), callbacks=[ClassifierCheckpoint(str(tmp_path)), Record()], **kwargs)
    assert seen == [5, 6]
    fresh = tiny_model()
    assert restore_classifier(fresh, tmp_path).endswith("ckpt-6")


def test_checkpoint_every_epoch_and_max_to_keep(tmp_path):
    images, labels = learnable_data(32)
    train(tiny_model(), batches(images, labels, 8), epochs=3,
          callbacks=[ClassifierCheckpoint(str(tmp_path), max_to_keep=2)])
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == ["ckpt-8", "ckpt-12"]


def test_evaluate_against_numpy_and_from_a_checkpoint(tmp_path):
    images, labels = learnable_data(50, classes=7)
    model = tiny_model(classes=7)
    train(model, batches(images, labels, 10), epochs=2, learning_rate=0.1,
          callbacks=[ClassifierCheckpoint(str(tmp_path / "ckpt"))])
    data = batches(images, labels, 16, drop_remainder=False)  # 16, 16, 16, 2: the last batch counts
    results = evaluate_classifier(model, data)
    logits = model(images, training=False).numpy()
    assert results["num_images"] == 50
    assert results["top1"] == pytest.approx(numpy_top_k(labels, logits, 1).mean())
    assert results["top5"] == pytest.approx(numpy_top_k(labels, logits, 5).mean())
    assert results["loss"] == pytest.approx(numpy_smoothed_ce(labels, logits, 0.0).mean(), rel=1e-4)
    assert results["images_per_s"] > 0

    fresh = tiny_model(classes=7)
    path = restore_classifier(fresh, tmp_path / "ckpt")
    assert path.endswith("ckpt-10")
    restored = evaluate_classifier(fresh, data)
    assert (restored["top1"], restored["top5"]) == (results["top1"], results["top5"])
    assert restored["loss"] == pytest.approx(results["loss"], rel=1e-6)
    assert evaluate_classifier(fresh, data, steps=1)["num_images"] == 16


def test_mixed_bfloat16_training_runs():
    images, labels = learnable_data(32)
    with compat.precision_scope("mixed_bfloat16"):
        model = tiny_model()
        history = train(model, batches(images, labels, 8), epochs=1)
    assert np.isfinite(history.history["loss"][0])
    assert all(w.dtype == tf.float32 for w in model.weights)


# ----------------------------------------------------------------------------- errors


def test_bad_arguments_give_clear_errors(tmp_path):
    images, labels = learnable_data(16)
    data = batches(images, labels, 8)
    model = compile_classifier(tiny_model(), SGDSettings())
    with pytest.raises(ValueError, match=r"`dataset` must be a tf.data.Dataset.*ndarray"):
        fit_classifier(model, images, epochs=1)
    with pytest.raises(ValueError, match=r"must yield batches of images.*\(8, 8, 3\)"):
        fit_classifier(model, tf.data.Dataset.from_tensor_slices((images, labels)), epochs=1)
    with pytest.raises(ValueError, match=r"must yield \(images, labels\) pairs"):
        fit_classifier(model, tf.data.Dataset.from_tensor_slices(images).batch(4), epochs=1)
    with pytest.raises(ValueError, match=r"`steps_per_epoch` is required.*infinite"):
        fit_classifier(model, data.repeat(), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"`augment` must be a callable"):
        fit_classifier(model, data, epochs=1, augment="autoaugment")
    with pytest.raises(ValueError, match=r"`epochs` must be an integer >= 1.*0"):
        fit_classifier(model, data, epochs=0)
    with pytest.raises(ValueError, match=r"`model` must be compiled"):
        fit_classifier(tiny_model(), data, epochs=1)
    with pytest.raises(ValueError, match=r"`model` must be an ascendgan.models.classifiers.ClassifierModel.*Sequential"):
        compile_classifier(compat.keras.Sequential([compat.layers.Dense(2)]), SGDSettings())
    with pytest.raises(ValueError, match=r"`model` must be built"):
        compile_classifier(ClassifierModel(), SGDSettings())
    with pytest.raises(ValueError, match=r"`metrics` cannot be given.*top1"):
        tiny_model().compile(compat.keras.optimizers.SGD(0.1), metrics=["top1"])
    with pytest.raises(ValueError, match=r"`weight_decay` must be a number >= 0.*-0.0001"):
        SGDSettings(weight_decay=-1e-4)
    with pytest.raises(ValueError, match=r"`label_smoothing` must be a number >= 0.0 and <= 1.0.*1.5"):
        SGDSettings(label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"`learning_rate` must be a number > 0"):
        SGDSettings(learning_rate=0.0)
    with pytest.raises(ValueError, match=r"`weight_decay` must be a number >= 0"):
        make_loss(model, weight_decay=-1.0)
    with pytest.raises(FileNotFoundError, match=r"No classifier checkpoint at `checkpoint`="):
        restore_classifier(model, tmp_path / "missing")
    with pytest.raises(ValueError, match=r"`every_n_steps` must be an integer >= 1 or None"):
        ClassifierCheckpoint(str(tmp_path), every_n_steps=0)
    with pytest.raises(ValueError, match=r"`every_n_steps` must be an integer >= 1"):
        TrainingScalars(str(tmp_path), every_n_steps=0)


# ----------------------------------------------------------------------------- runs


def test_train_and_evaluate_a_smoke_run(tmp_path):
    run = ClassifierRun(out=str(tmp_path / "run"), smoke=True, verbose=0, precision="float32",
                        overrides={"policy": "svhn"})
    outcome = train_classifier(run, strategy=get_strategy("cpu"))
    history, model, results = outcome["history"], outcome["model"], outcome["results"]
    assert set(history.history) >= {"loss", "top1", "top5", "ms_per_step", "images_per_s"}
    assert results["step"] == 2 and results["num_images"] == 16
    assert model.name == "wrn_10_1"
    assert tf.train.latest_checkpoint(run.path("checkpoints")).endswith("ckpt-2")
    assert glob.glob(run.path("logs", "events.out.tfevents.*"))
    saved = json.loads(pathlib.Path(run.path("results.json")).read_text())
    assert saved["top1"] == results["top1"] and saved["train_seconds"] > 0
    assert json.loads(pathlib.Path(run.path("model.json")).read_text())["depth"] == 10

    evaluated = evaluate_run(run)
    assert evaluated["checkpoint"].endswith("ckpt-2")
    assert (evaluated["top1"], evaluated["top5"]) == (results["top1"], results["top5"])
    assert evaluated["loss"] == pytest.approx(results["loss"], rel=1e-6)

    # a longer run in the same directory resumes at step 2
    longer = ClassifierRun(out=run.out, smoke=True, verbose=0, precision="float32",
                           overrides={"epochs": 2, "policy": "none"})
    assert train_classifier(longer)["results"]["step"] == 4


def test_evaluate_run_without_a_checkpoint_names_the_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No classifier checkpoint at `checkpoint`=.*checkpoints"):
        evaluate_run(ClassifierRun(out=str(tmp_path), smoke=True, verbose=0))
