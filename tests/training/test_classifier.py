"""The classifier engine: losses, accuracies, schedule and weight decay against numpy and
closed forms; augmentation; training, TensorBoard, checkpoints, resume and evaluation."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.models.classifiers import wide_resnet
from ascendgan.training.classifier import (
    ClassifierCheckpoint,
    cosine_learning_rate,
    decayed_variables,
    evaluate_classifier,
    in_top_k,
    l2_penalty,
    label_smoothing_cross_entropy,
    make_loss,
    random_crop_and_flip,
    restore_classifier,
    top_k_accuracy,
    train_classifier,
)

keras = compat.keras

# Fixed logits with distinct values in each row; true classes chosen so that the true class
# ranks 1st, 2nd, 3rd, 5th, 6th in the rows.
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


# ----------------------------------------------------------------------------- maths


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
def test_label_smoothing_cross_entropy_against_numpy(eps):
    expected = numpy_smoothed_ce(LABELS, LOGITS, eps)
    actual = label_smoothing_cross_entropy(LABELS, LOGITS, eps)
    assert actual.dtype == tf.float32 and actual.shape == (5,)
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-5)
    # labels with a trailing axis (as Keras hands them over) and bfloat16 logits
    np.testing.assert_allclose(
        label_smoothing_cross_entropy(LABELS[:, None], tf.cast(LOGITS, tf.bfloat16), eps).numpy(),
        expected, rtol=2e-2, atol=2e-2,
    )


def test_label_smoothing_matches_keras_categorical_cross_entropy():
    keras_loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    expected = float(keras_loss(np.eye(6, dtype="float32")[LABELS], LOGITS))
    assert float(tf.reduce_mean(label_smoothing_cross_entropy(LABELS, LOGITS, 0.1))) == pytest.approx(expected, rel=1e-5)


def test_label_smoothing_hand_value():
    # two classes, logits (0, log 3): p = (1/4, 3/4); eps 0.2 -> targets (0.1, 0.9) for class 1
    loss = label_smoothing_cross_entropy([1], [[0.0, np.log(3.0)]], 0.2)
    assert float(loss[0]) == pytest.approx(-(0.1 * np.log(0.25) + 0.9 * np.log(0.75)), rel=1e-6)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 6])
def test_top_k_against_numpy(k):
    expected = numpy_top_k(LABELS, LOGITS, k)
    np.testing.assert_array_equal(in_top_k(LABELS, LOGITS, k).numpy(), expected)
    assert float(top_k_accuracy(LABELS, LOGITS, k)) == pytest.approx(expected.mean())


def test_top_k_known_values_and_ties():
    # ranks of the true classes: 1, 2, 3, 5, 6
    assert [float(top_k_accuracy(LABELS, LOGITS, k)) for k in (1, 2, 3, 4, 5, 6)] == pytest.approx(
        [0.2, 0.4, 0.6, 0.6, 0.8, 1.0])
    # ties rank the lower class index first, as argmax and a stable sort do
    tied = np.array([[1.0, 1.0, 0.0, 1.0]], "float32")
    assert [bool(in_top_k([c], tied, 1)[0]) for c in range(4)] == [True, False, False, False]
    assert [bool(in_top_k([c], tied, 2)[0]) for c in range(4)] == [True, True, False, False]
    assert [bool(in_top_k([c], tied, 3)[0]) for c in range(4)] == [True, True, False, True]
    stable = np.argsort(-tied[0], kind="stable")
    for k in (1, 2, 3, 4):
        assert [bool(in_top_k([c], tied, k)[0]) for c in range(4)] == [c in stable[:k] for c in range(4)]


def test_cosine_schedule_against_closed_form():
    lr0, total = 0.06, 1000
    schedule = cosine_learning_rate(lr0, total)
    for t in (0, 1, 250, 500, 999, 1000, 1500):
        expected = 0.5 * lr0 * (1 + np.cos(np.pi * min(t, total) / total))
        assert float(schedule(t)) == pytest.approx(expected, rel=1e-5, abs=1e-9)


def test_cosine_schedule_with_warmup():
    schedule = cosine_learning_rate(0.1, 110, warmup_steps=10)
    assert float(schedule(0)) == pytest.approx(0.0, abs=1e-9)
    assert float(schedule(5)) == pytest.approx(0.05, rel=1e-5)
    assert float(schedule(10)) == pytest.approx(0.1, rel=1e-5)
    assert float(schedule(60)) == pytest.approx(0.05, rel=1e-5)  # halfway through the cosine
    assert float(schedule(110)) == pytest.approx(0.0, abs=1e-7)


def test_l2_penalty_and_decayed_variables_against_numpy():
    model = wide_resnet("wrn_10_1", input_shape=(8, 8, 3))
    kernels = decayed_variables(model)
    # stem + 3 blocks x 2 convolutions + 2 shortcuts + dense
    assert len(kernels) == 1 + 6 + 2 + 1
    assert all(compat.variable_name(v) == "kernel" for v in kernels)
    total = sum(float(np.sum(np.asarray(v, np.float64) ** 2)) for v in kernels)
    assert float(l2_penalty(kernels, 1e-4)) == pytest.approx(0.5 * 1e-4 * total, rel=1e-5)
    assert float(l2_penalty(kernels, 0.0)) == 0.0
    # the gradient of the penalty is weight_decay * w (coupled L2, as in the reference codes)
    with tf.GradientTape() as tape:
        penalty = l2_penalty(kernels, 5e-4)
    gradients = tape.gradient(penalty, kernels)
    np.testing.assert_allclose(np.asarray(gradients[0]), 5e-4 * np.asarray(kernels[0]), rtol=1e-5)


def test_make_loss_is_smoothed_cross_entropy_plus_l2(rng):
    model = wide_resnet("wrn_10_1", input_shape=(8, 8, 3), num_classes=6)
    loss = make_loss(model, label_smoothing=0.1, weight_decay=1e-3)
    total = sum(float(np.sum(np.asarray(v, np.float64) ** 2)) for v in decayed_variables(model))
    expected = numpy_smoothed_ce(LABELS, LOGITS, 0.1) + 0.5e-3 * total
    np.testing.assert_allclose(loss(LABELS, LOGITS).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(make_loss(model, 0.0, 0.0)(LABELS, LOGITS).numpy(),
                               numpy_smoothed_ce(LABELS, LOGITS, 0.0), rtol=1e-5)


def test_random_crop_and_flip_outputs_are_padded_crops(rng):
    images = rng.uniform(-1, 1, (64, 6, 5, 2)).astype("float32")
    out = random_crop_and_flip(images, padding=2, seed=3).numpy()
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    offsets, flips = set(), 0
    for i in range(len(images)):
        matches = [(dy, dx, f) for dy in range(5) for dx in range(5) for f in (0, 1)
                   if np.array_equal(out[i], (lambda c: c[:, ::-1] if f else c)(padded[i, dy:dy + 6, dx:dx + 5]))]
        assert matches, f"image {i} is not a (mirrored) crop of its padded input"
        offsets.add(matches[0][:2])
        flips += matches[0][2]
    assert len(offsets) > 10 and 10 < flips < 54  # offsets and flips really vary
    np.testing.assert_array_equal(random_crop_and_flip(images, padding=0, flip=False).numpy(), images)
    single = random_crop_and_flip(images[0], padding=1)
    assert single.shape == images[0].shape


# ----------------------------------------------------------------------------- training


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


def test_training_decreases_the_loss_and_learns(tmp_path):
    images, labels = learnable_data()
    data = batches(images, labels, 16)
    model = tiny_model()
    before = evaluate_classifier(model, data)
    history = train_classifier(model, data, epochs=8, learning_rate=0.1, verbose=0,
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
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
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

    train_classifier(model, batches(images, labels, 8), epochs=2, steps_per_epoch=3, learning_rate=lr0,
                     momentum=0.0, weight_decay=wd, label_smoothing=eps, verbose=0,
                     callbacks=[CheckUpdate()])
    assert checked == list(range(total))


def test_tensorboard_scalars_at_optimizer_steps(tmp_path):
    images, labels = learnable_data(32)
    logs = tmp_path / "logs"
    train_classifier(tiny_model(), batches(images, labels, 8), epochs=2, learning_rate=0.1, verbose=0,
                     log_dir=str(logs), log_every=2, validation_data=batches(images, labels, 16))
    scalars = {}
    for path in glob.glob(str(logs / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append(
                    (event.step, float(tf.make_ndarray(value.tensor))))
    assert [s for s, _ in scalars["train/loss"]] == [2, 4, 6, 8]
    assert {"train/top1", "train/top5", "performance/images_per_s", "validation/top1",
            "validation/top5", "epoch/loss"} <= set(scalars)
    schedule = cosine_learning_rate(0.1, 8)
    for step, rate in scalars["learning_rate"]:
        assert rate == pytest.approx(float(schedule(step)), rel=1e-5, abs=1e-9)


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


def test_resume_continues_at_the_checkpointed_step_exactly(tmp_path):
    kwargs = dict(epochs=3, steps_per_epoch=3, learning_rate=0.1, verbose=0)
    compat.set_random_seed(7)
    reference = tiny_model()
    initial = reference.get_weights()
    train_classifier(reference, _fixed_batch(), **kwargs)

    compat.set_random_seed(7)
    interrupted = tiny_model()
    interrupted.set_weights(initial)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_classifier(interrupted, _fixed_batch(), checkpoint_dir=str(tmp_path), checkpoint_every=2,
                         callbacks=[_CrashAt(5)], **kwargs)
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-4")

    steps = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append(int(self.model.optimizer.iterations.numpy()))

    resumed = tiny_model()  # fresh weights: everything comes from the checkpoint
    history = train_classifier(resumed, _fixed_batch(), checkpoint_dir=str(tmp_path), checkpoint_every=2,
                               callbacks=[Record()], **kwargs)
    assert steps == [5, 6, 7, 8, 9]  # the rest of epoch 2 (steps 5-6), then epoch 3
    assert len(history.history["loss"]) == 2
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-9")
    # running again has nothing left to do
    again = tiny_model()
    assert train_classifier(again, _fixed_batch(), checkpoint_dir=str(tmp_path), **kwargs).history == {}
    assert int(again.optimizer.iterations.numpy()) == 9


def test_checkpoint_every_epoch_and_max_to_keep(tmp_path):
    images, labels = learnable_data(32)
    train_classifier(tiny_model(), batches(images, labels, 8), epochs=3, verbose=0,
                     checkpoint_dir=str(tmp_path), max_to_keep=2)
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == ["ckpt-8", "ckpt-12"]


def test_evaluate_against_numpy_and_from_a_checkpoint(tmp_path):
    images, labels = learnable_data(50, classes=7)
    model = tiny_model(classes=7)
    train_classifier(model, batches(images, labels, 10), epochs=2, learning_rate=0.1, verbose=0,
                     checkpoint_dir=str(tmp_path / "ckpt"))
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
        history = train_classifier(model, batches(images, labels, 8), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(w.dtype == tf.float32 for w in model.weights)


# ----------------------------------------------------------------------------- errors


def test_bad_arguments_give_clear_errors(tmp_path):
    images, labels = learnable_data(16)
    data = batches(images, labels, 8)
    model = tiny_model()
    with pytest.raises(ValueError, match=r"`dataset` must be a tf.data.Dataset.*ndarray"):
        train_classifier(model, images)
    with pytest.raises(ValueError, match=r"must yield batches of images.*\(8, 8, 3\)"):
        train_classifier(model, tf.data.Dataset.from_tensor_slices((images, labels)))
    with pytest.raises(ValueError, match=r"must yield \(images, labels\) pairs"):
        train_classifier(model, tf.data.Dataset.from_tensor_slices(images).batch(4))
    with pytest.raises(ValueError, match=r"`steps_per_epoch` is required.*infinite"):
        train_classifier(model, data.repeat(), verbose=0)
    with pytest.raises(ValueError, match=r"`warmup_epochs` must be smaller than `epochs` \(2\)"):
        train_classifier(model, data, epochs=2, warmup_epochs=2)
    with pytest.raises(ValueError, match=r"`weight_decay` must be a number >= 0.*-0.0001"):
        train_classifier(model, data, weight_decay=-1e-4)
    with pytest.raises(ValueError, match=r"`label_smoothing` must be a number >= 0.0 and <= 1.0.*1.5"):
        train_classifier(model, data, label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"`learning_rate` must be a number > 0"):
        train_classifier(model, data, learning_rate=0.0)
    with pytest.raises(ValueError, match=r"`augment` must be a callable"):
        train_classifier(model, data, augment="autoaugment")
    with pytest.raises(ValueError, match=r"`epochs` must be a positive integer.*0"):
        train_classifier(model, data, epochs=0)
    with pytest.raises(ValueError, match=r"`model` must be built"):
        train_classifier(compat.keras.Sequential([compat.layers.Dense(2)]), data)
    with pytest.raises(FileNotFoundError, match=r"No classifier checkpoint at `checkpoint`="):
        restore_classifier(model, tmp_path / "missing")
    with pytest.raises(ValueError, match=r"`k` must be a positive integer"):
        in_top_k(LABELS, LOGITS, 0)
    with pytest.raises(ValueError, match=r"`total_steps` must be a positive integer"):
        cosine_learning_rate(0.1, 0)
    with pytest.raises(ValueError, match=r"`padding` must be an integer >= 0"):
        random_crop_and_flip(images, padding=-1)
    with pytest.raises(ValueError, match=r"`every_n_steps` must be a positive integer or None"):
        ClassifierCheckpoint(str(tmp_path), every_n_steps=0)
    with pytest.raises(ValueError, match=r"`steps` is required for an infinite data set"):
        evaluate_classifier(model, data.repeat())
