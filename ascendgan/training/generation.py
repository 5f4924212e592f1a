"""Sampling from a ``GAN``: ``generate`` and BigGAN's standing statistics."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.latents import batch_seeds
from ascendgan.validation import check_class_ids, check_int

keras = compat.keras


def generate(gan, n, labels=None, truncation=None, seed=None, batch_size=64, use_ema=True,
             training=False):
    """``n`` images from ``gan`` (numpy, in [-1, 1]); see ``GAN.generate``."""
    n = check_int("n", n, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    gan.build_models()
    rng = np.random.default_rng(seed)
    if gan.num_classes is not None and labels is None:
        labels = rng.integers(0, gan.num_classes, size=n)
    labels = check_class_ids("labels", labels, n, gan.num_classes)
    model = gan.sampling_generator(use_ema)
    if seed is not None:
        chunks = batch_seeds(seed, n, batch_size)
    else:
        chunks = [(start, min(batch_size, n - start), None) for start in range(0, n, batch_size)]
    images = []
    for start, count, stateless in chunks:
        z = gan.sample_latents(count, seed=stateless, truncation=truncation)
        inputs = z
        if labels is not None:
            inputs = [z, tf.constant(labels[start:start + count])]
        images.append(np.asarray(tf.cast(model(inputs, training=training), tf.float32)))
    return np.concatenate(images, axis=0)


def recompute_generator_statistics(gan, num_batches=16, batch_size=64, use_ema=True):
    """BigGAN's standing statistics; see ``GAN.recompute_generator_statistics``."""
    model = gan.sampling_generator(use_ema)
    norms = [layer for layer in all_layers(model) if hasattr(layer, "moving_mean") and hasattr(layer, "momentum")]
    saved = [layer.momentum for layer in norms]
    try:
        for i in range(num_batches):
            for layer in norms:
                layer.momentum = i / (i + 1.0)
            z = gan.sample_latents(batch_size)
            inputs = z
            if gan.num_classes:
                inputs = [z, tf.random.uniform((batch_size,), 0, gan.num_classes, tf.int32)]
            model(inputs, training=True)
    finally:
        for layer, momentum in zip(norms, saved):
            layer.momentum = momentum


def all_layers(model):
    """Every layer of ``model``, nested ones included (layers held in attributes and lists)."""
    seen, stack, out = set(), [model], []
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        out.append(layer)
        stack.extend(getattr(layer, "layers", []) or [])
        for value in vars(layer).values():
            if isinstance(value, keras.layers.Layer):
                stack.append(value)
            elif isinstance(value, (list, tuple)):
                stack.extend(v for v in value if isinstance(v, keras.layers.Layer))
    return out


__all__ = ["all_layers", "generate", "recompute_generator_statistics"]
