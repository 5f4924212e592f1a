"""DCGAN-64 written by hand in plain Keras, the way TensorFlow's DCGAN tutorial writes its
loop: two ``Sequential`` models, Keras layers and Adam, and a ``tf.function`` step with
``GradientTape``s (issue 15's second peer: the library's overhead over hand-written Keras).

The networks are ``ascendgan.models.dcgan("celeba")``'s (generator 3,576,704, discriminator
2,765,568 trainable parameters, checked by a test) and one iteration does the library's
maths: one generator pass; a discriminator step on those fakes (non-saturating loss); a
generator step through the updated discriminator's verdict on the same fakes; Adam 2e-4,
β (0.5, 0.999); latents U[-1, 1]. What differs is only how it is written: Keras's
``BatchNormalization``, ``Conv2DTranspose`` and ``Adam``, no ``fit()``.

Example::

    generator, discriminator, train_iteration = build(64, precision="mixed_bfloat16")
    d_loss, g_loss = train_iteration(images)   # images (64, 64, 64, 3) in [-1, 1]
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.compat import keras

LATENT_DIM = 100
BASE_FILTERS = 64
PRECISIONS = ("float32", "mixed_bfloat16")


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def make_generator():
    layers = keras.layers
    model = [keras.Input((LATENT_DIM,)),
             layers.Dense(4 * 4 * BASE_FILTERS * 8, use_bias=False, kernel_initializer=_init()),
             layers.Reshape((4, 4, BASE_FILTERS * 8)),
             layers.BatchNormalization(momentum=0.9, epsilon=1e-5),
             layers.ReLU()]
    for filters in (BASE_FILTERS * 4, BASE_FILTERS * 2, BASE_FILTERS):
        model += [layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False,
                                         kernel_initializer=_init()),
                  layers.BatchNormalization(momentum=0.9, epsilon=1e-5),
                  layers.ReLU()]
    model += [layers.Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=False,
                                     kernel_initializer=_init()),
              layers.Activation("tanh", dtype="float32")]
    return keras.Sequential(model, name="plain_generator")


def make_discriminator():
    layers = keras.layers
    model = [keras.Input((64, 64, 3))]
    for i in range(4):
        model.append(layers.Conv2D(BASE_FILTERS * 2**i, 4, strides=2, padding="same",
                                   use_bias=False, kernel_initializer=_init()))
        if i > 0:
            model.append(layers.BatchNormalization(momentum=0.9, epsilon=1e-5))
        model.append(layers.LeakyReLU(0.2))
    model += [layers.Flatten(),
              layers.Dense(1, use_bias=False, kernel_initializer=_init(), dtype="float32")]
    return keras.Sequential(model, name="plain_discriminator")


def parameter_counts(generator, discriminator):
    """``(generator, discriminator)`` trainable parameter counts."""
    from benchmarks.subjects import parameter_count

    return parameter_count(generator), parameter_count(discriminator)


def build(batch_size, precision="float32", seed=0):
    """The networks and one training iteration (a ``tf.function``).

    Args:
        batch_size: images per iteration.
        precision: ``"float32"`` or ``"mixed_bfloat16"`` (the global Keras dtype policy,
            left set: the caller's process is this peer's).
        seed: seeds the weights and the latents.

    Returns:
        ``(generator, discriminator, train_iteration)``; ``train_iteration(images)`` takes
        ``(batch_size, 64, 64, 3)`` float32 images and returns ``(d_loss, g_loss)``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: precision={precision!r}")
    compat.set_precision(precision)
    compat.set_random_seed(seed)
    generator, discriminator = make_generator(), make_discriminator()
    g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)
    d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_iteration(images):
        z = tf.random.uniform((batch_size, LATENT_DIM), -1.0, 1.0)
        with tf.GradientTape() as g_tape:
            fakes = generator(z, training=True)
            with g_tape.stop_recording(), tf.GradientTape() as d_tape:
                real_logits = discriminator(images, training=True)
                fake_logits = discriminator(tf.stop_gradient(fakes), training=True)
                d_loss = (cross_entropy(tf.ones_like(real_logits), real_logits)
                          + cross_entropy(tf.zeros_like(fake_logits), fake_logits))
            d_gradients = d_tape.gradient(d_loss, discriminator.trainable_variables)
            d_optimizer.apply_gradients(zip(d_gradients, discriminator.trainable_variables))
            verdict = discriminator(fakes, training=True)
            g_loss = cross_entropy(tf.ones_like(verdict), verdict)
        g_gradients = g_tape.gradient(g_loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(g_gradients, generator.trainable_variables))
        return d_loss, g_loss

    return generator, discriminator, train_iteration


__all__ = ["build", "make_discriminator", "make_generator", "parameter_counts"]
