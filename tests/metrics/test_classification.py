"""ascendgan.metrics.classification: label-smoothed cross-entropy, top-k accuracy and the
coupled L2 penalty against numpy and closed forms; the evaluation loop against numpy."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.metrics import classification
from ascendgan.metrics.classification import (
    check_labeled_batches,
    decayed_variables,
    evaluate_classifier,
    in_top_k,
    l2_penalty,
    label_smoothing_cross_entropy,
    top_k_accuracy,
)
from ascendgan.models.classifiers import wide_resnet

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


def test_evaluate_against_numpy(rng):
    images = rng.normal(0, 0.5, (50, 8, 8, 3)).astype("float32")
    labels = rng.integers(0, 7, 50).astype("int32")
    model = wide_resnet("wrn_10_1", input_shape=(8, 8, 3), num_classes=7)
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16)  # 16, 16, 16, 2
    results = evaluate_classifier(model, data)
    logits = model(images, training=False).numpy()
    assert results["num_images"] == 50
    assert results["top1"] == pytest.approx(numpy_top_k(labels, logits, 1).mean())
    assert results["top5"] == pytest.approx(numpy_top_k(labels, logits, 5).mean())
    assert results["loss"] == pytest.approx(numpy_smoothed_ce(labels, logits, 0.0).mean(), rel=1e-4)
    assert results["images_per_s"] > 0 and results["ms_per_step"] > 0
    assert evaluate_classifier(model, data, steps=1)["num_images"] == 16
    smoothed = evaluate_classifier(model, data, label_smoothing=0.1)["loss"]
    assert smoothed == pytest.approx(numpy_smoothed_ce(labels, logits, 0.1).mean(), rel=1e-4)


def test_bad_arguments_give_clear_errors(rng):
    images = rng.normal(size=(8, 8, 8, 3)).astype("float32")
    labels = np.zeros(8, "int32")
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    with pytest.raises(ValueError, match=r"`k` must be an integer >= 1"):
        in_top_k(LABELS, LOGITS, 0)
    with pytest.raises(ValueError, match=r"`label_smoothing` must be a number >= 0.0 and <= 1.0"):
        label_smoothing_cross_entropy(LABELS, LOGITS, 1.5)
    with pytest.raises(ValueError, match=r"`dataset` must be a tf.data.Dataset.*ndarray"):
        check_labeled_batches(images)
    with pytest.raises(ValueError, match=r"must yield batches of images.*\(8, 8, 3\)"):
        check_labeled_batches(tf.data.Dataset.from_tensor_slices((images, labels)))
    with pytest.raises(ValueError, match=r"must yield \(images, labels\) pairs"):
        check_labeled_batches(tf.data.Dataset.from_tensor_slices(images).batch(4))
    model = wide_resnet("wrn_10_1", input_shape=(8, 8, 3))
    with pytest.raises(ValueError, match=r"`steps` is required for an infinite data set"):
        evaluate_classifier(model, data.repeat())
    with pytest.raises(ValueError, match=r"yielded no examples"):
        evaluate_classifier(model, data.take(0))


def test_module_exports():
    assert set(classification.__all__) <= set(dir(classification))
