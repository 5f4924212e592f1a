"""Classification maths as plain functions on tensors, and the top-1 / top-5 evaluation loop.

* the objective: :func:`label_smoothing_cross_entropy` and the coupled L2 weight decay
  (:func:`l2_penalty` of :func:`decayed_variables`), as in the Wide-ResNet and
  AutoAugment reference codes;
* the metrics: :func:`in_top_k`, :func:`top_k_accuracy`;
* :func:`evaluate_classifier`: top-1 / top-5 and cross-entropy of a model over a data set.

The trainer that combines them (SGD, cosine schedule, checkpoints) is the application
layer's :mod:`ascendgan.recipes.classifier`.

Example:

>>> import numpy as np
>>> logits = np.array([[0.1, 2.0, 0.3], [1.0, 0.2, 0.5]], "float32")
>>> float(top_k_accuracy([1, 2], logits, k=1)), float(top_k_accuracy([1, 2], logits, k=2))
(0.5, 1.0)

Reference:
    Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016 (arXiv:1512.00567,
    label smoothing); Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016
    (arXiv:1605.07146).
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.validation import check_int, check_number

keras = compat.keras


def _flat_labels(labels, logits):
    """Integer labels of shape ``logits.shape[:-1]`` (accepts a trailing axis of 1)."""
    labels = tf.convert_to_tensor(labels)
    if labels.dtype.is_floating:
        labels = tf.cast(tf.round(labels), tf.int32)
    return tf.reshape(tf.cast(labels, tf.int32), tf.shape(logits)[:-1])


def label_smoothing_cross_entropy(labels, logits, label_smoothing=0.0):
    """Per-example softmax cross-entropy against smoothed one-hot targets.

    The target of an example of class ``y`` among ``K`` classes is
    ``(1 - ε)·onehot(y) + ε / K``, and the loss is ``-Σ_k target_k · log softmax(logits)_k``
    (``ε = 0`` is the plain cross-entropy).

    Args:
        labels: integer class ids, shape ``(batch,)`` or ``(batch, 1)``.
        logits: unnormalized scores ``(batch, K)``, any float dtype.
        label_smoothing: ``ε`` in [0, 1].

    Returns:
        float32 losses of shape ``(batch,)``.

    Example:

    >>> import numpy as np
    >>> loss = label_smoothing_cross_entropy([0], np.zeros((1, 4), "float32"), 0.1)
    >>> round(float(loss[0]), 4)   # log 4: uniform logits
    1.3863

    Reference:
        Szegedy et al., arXiv:1512.00567, section 7.
    """
    smoothing = check_number("label_smoothing", label_smoothing, minimum=0.0, maximum=1.0)
    logits = tf.cast(logits, tf.float32)
    labels = _flat_labels(labels, logits)
    num_classes = tf.shape(logits)[-1]
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    targets = tf.one_hot(labels, num_classes, dtype=tf.float32)
    if smoothing:
        targets = targets * (1.0 - smoothing) + smoothing / tf.cast(num_classes, tf.float32)
    return -tf.reduce_sum(targets * log_probs, axis=-1)


def in_top_k(labels, logits, k=1):
    """Whether each example's true class is among its ``k`` highest logits.

    Classes are ranked by score, ties broken by class index (the lower index first, as
    ``argmax`` and a stable sort do), and an example is correct when its true class is
    among the first ``k``. For ``k = 1`` this is ``argmax(logits) == label``.

    Args:
        labels: integer class ids ``(batch,)`` or ``(batch, 1)``.
        logits: scores ``(batch, K)``.
        k: positive integer; ``k >= K`` makes every example correct.

    Returns:
        bool tensor ``(batch,)``.

    Example:

    >>> in_top_k([2, 1], [[0.1, 0.5, 0.4], [0.1, 0.5, 0.5]], k=1).numpy().tolist()
    [False, True]
    """
    k = check_int("k", k, minimum=1)
    logits = tf.cast(logits, tf.float32)
    labels = _flat_labels(labels, logits)
    true_scores = tf.gather(logits, labels, axis=-1, batch_dims=1)[..., None]
    index = tf.range(tf.shape(logits)[-1])
    ahead = (logits > true_scores) | ((logits == true_scores) & (index < labels[..., None]))
    return tf.reduce_sum(tf.cast(ahead, tf.int32), axis=-1) < k


def top_k_accuracy(labels, logits, k=1):
    """Fraction of examples whose true class is among their ``k`` highest logits.

    Args:
        labels: integer class ids ``(batch,)`` or ``(batch, 1)``.
        logits: scores ``(batch, K)``.
        k: 1 for top-1 accuracy, 5 for top-5.

    Returns:
        float32 scalar in [0, 1].

    Example:

    >>> float(top_k_accuracy([2, 0], [[0.1, 0.2, 0.7], [0.1, 0.2, 0.7]], k=1))
    0.5
    """
    return tf.reduce_mean(tf.cast(in_top_k(labels, logits, k), tf.float32))


def decayed_variables(model):
    """The variables weight decay applies to: every convolution and dense ``kernel``.

    Biases, batch-normalization scales and offsets and non-trainable statistics are not
    decayed.

    Args:
        model: a built Keras model.

    Returns:
        list of the model's trainable variables named ``kernel``.

    Example:

    >>> from ascendgan.models.classifiers import wide_resnet
    >>> len(decayed_variables(wide_resnet("wrn_10_1")))   # stem, 6 convs, 2 shortcuts, dense
    10
    """
    return [v for v in model.trainable_variables if compat.variable_name(v) == "kernel"]


def l2_penalty(variables, weight_decay):
    """``weight_decay / 2 · Σ‖w‖²``: the L2 term whose gradient is ``weight_decay · w``.

    This is the weight decay of the Wide-ResNet and AutoAugment reference codes (an L2 term
    in the loss, ``tf.nn.l2_loss`` scaled by the decay rate; PyTorch's SGD ``weight_decay``
    is the same update). It is *coupled*: the decay passes through momentum. Keras's
    ``SGD(weight_decay=...)`` is the decoupled variant.

    Args:
        variables: the variables to decay (see :func:`decayed_variables`).
        weight_decay: the decay rate (>= 0).

    Returns:
        float32 scalar.
    """
    if not variables or not weight_decay:
        return tf.constant(0.0, tf.float32)
    total = tf.add_n([tf.reduce_sum(tf.square(tf.cast(v, tf.float32))) for v in variables])
    return 0.5 * float(weight_decay) * total


def check_labeled_batches(dataset, name="dataset"):
    """Checks that ``dataset`` is a ``tf.data.Dataset`` of ``(images, labels)`` batches.

    Returns:
        its element spec.

    Raises:
        ValueError: naming ``name`` and what was received.
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise ValueError(
            f"`{name}` must be a tf.data.Dataset of (images, labels) batches. "
            f"Received: {type(dataset).__name__}"
        )
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError(f"`{name}` must yield (images, labels) pairs. Received elements of spec {spec}")
    rank = spec[0].shape.rank
    if rank is not None and rank != 4:
        raise ValueError(
            f"`{name}` must yield batches of images (batch, height, width, channels): batch it "
            f"first. Received images of shape {tuple(spec[0].shape)}"
        )
    return spec


def evaluate_classifier(model, dataset, *, steps=None, label_smoothing=0.0, verbose=0):
    """Top-1 / top-5 accuracy and mean cross-entropy of ``model`` over a data set.

    The model runs in inference mode (moving batch-norm statistics, no dropout). Every
    example counts once (the last, smaller batch too).

    Args:
        model: a built classifier ``images -> logits``.
        dataset: ``tf.data.Dataset`` of ``(images, labels)`` batches (finite unless
            ``steps`` is given).
        steps: evaluate only the first ``steps`` batches.
        label_smoothing: ``ε`` of the reported cross-entropy (0: the plain one).
        verbose: 1 shows a progress bar.

    Returns:
        dict with ``top1``, ``top5`` (fractions in [0, 1]), ``loss`` (mean cross-entropy),
        ``num_images``, ``seconds``, ``ms_per_step`` and ``images_per_s`` (measured from
        the second batch on, the first includes tracing).

    Example:

    >>> results = evaluate_classifier(model, test_batches)   # doctest: +SKIP
    >>> results["top1"], results["top5"]                     # doctest: +SKIP
    """
    check_labeled_batches(dataset)
    steps = check_int("steps", steps, minimum=1, allow_none=True)
    check_number("label_smoothing", label_smoothing, minimum=0.0, maximum=1.0)
    if steps is None and int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise ValueError("`steps` is required for an infinite data set. Received: steps=None")

    @tf.function
    def evaluate_batch(images, labels):
        logits = model(images, training=False)
        classes = logits.shape[-1]
        losses = label_smoothing_cross_entropy(labels, logits, label_smoothing)
        return (
            tf.reduce_sum(tf.cast(in_top_k(labels, logits, 1), tf.int64)),
            tf.reduce_sum(tf.cast(in_top_k(labels, logits, min(5, classes)), tf.int64)),
            tf.reduce_sum(tf.cast(losses, tf.float64)),
            tf.shape(labels, out_type=tf.int64)[0],
        )

    if steps is not None:
        dataset = dataset.take(steps)
    target = int(dataset.cardinality())
    progress = None
    if verbose:
        progress = keras.utils.Progbar(target if target > 0 else None, stateful_metrics=["top1", "top5"])
    top1 = top5 = count = batches = 0
    total_loss = 0.0
    start = time.perf_counter()
    first_end = None
    for images, labels in dataset:
        c1, c5, loss, n = (np.asarray(v) for v in evaluate_batch(images, labels))
        top1, top5, count = top1 + int(c1), top5 + int(c5), count + int(n)
        total_loss += float(loss)
        batches += 1
        if first_end is None:
            first_end = time.perf_counter()
        if progress is not None:
            progress.update(batches, [("top1", top1 / max(count, 1)), ("top5", top5 / max(count, 1))])
    end = time.perf_counter()
    if count == 0:
        raise ValueError("`dataset` yielded no examples to evaluate.")
    timed_batches = batches - 1
    timed_seconds = end - (first_end or end)
    if timed_batches > 0 and timed_seconds > 0:
        ms_per_step = 1000.0 * timed_seconds / timed_batches
        images_per_s = (count * timed_batches / batches) / timed_seconds
    else:
        ms_per_step = 1000.0 * (end - start) / batches
        images_per_s = count / max(end - start, 1e-9)
    return {
        "top1": top1 / count,
        "top5": top5 / count,
        "loss": total_loss / count,
        "num_images": count,
        "seconds": end - start,
        "ms_per_step": ms_per_step,
        "images_per_s": images_per_s,
    }


__all__ = [
    "check_labeled_batches",
    "decayed_variables",
    "evaluate_classifier",
    "in_top_k",
    "l2_penalty",
    "label_smoothing_cross_entropy",
    "top_k_accuracy",
]
