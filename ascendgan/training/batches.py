"""GAN batches: splitting a data-set element and regrouping batches per iteration."""

from __future__ import annotations

import tensorflow as tf


def split_batch(data):
    """``images`` | ``(images,)`` | ``(images, condition)`` -> ``(images, condition)``."""
    if isinstance(data, dict):
        return data["images"], data.get("labels", data.get("condition"))
    if isinstance(data, (tuple, list)):
        if len(data) == 1:
            return data[0], None
        if len(data) == 2:
            return data[0], data[1]
        raise ValueError(
            "GAN batches must be `images`, `(images,)` or `(images, labels)`. "
            f"Received a tuple of {len(data)} elements."
        )
    return data, None


def regroup(dataset, discriminator_steps, batch_size=None):
    """``dataset`` re-batched so one element holds ``discriminator_steps`` batches (one GAN
    iteration); the data set itself when ``discriminator_steps`` is 1."""
    k = discriminator_steps
    if k == 1:
        return dataset
    spec = dataset.element_spec
    first = spec[0] if isinstance(spec, tuple) else spec
    size = first.shape[0] if first.shape.rank else None
    if size is None:
        size = batch_size
    if size is None:
        sample = next(iter(dataset.take(1)))
        size = int((sample[0] if isinstance(sample, tuple) else sample).shape[0])
    regrouped = dataset.unbatch().batch(size * k, drop_remainder=True)
    cardinality = int(dataset.cardinality())
    if first.shape.rank and first.shape[0] is not None and cardinality >= 0:
        # every batch is full, so the number of iterations is known
        regrouped = regrouped.apply(tf.data.experimental.assert_cardinality(cardinality // k))
    return regrouped


def batched_arrays(x, y=None, batch_size=None, shuffle=True):
    """A data set of batches of the arrays ``x`` (images) and ``y`` (labels), reshuffled every
    epoch when ``shuffle`` (as Keras does with arrays); 32 per batch by default."""
    if x is None:
        raise ValueError("`x` must be a tf.data.Dataset or an array of images. Received: x=None")
    elements = (x,) if y is None else (x, y)
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        dataset = dataset.shuffle(len(elements[0]), reshuffle_each_iteration=True)
    return dataset.batch(batch_size or 32)


__all__ = ["batched_arrays", "regroup", "split_batch"]
