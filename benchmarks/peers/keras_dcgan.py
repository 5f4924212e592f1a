"""A plain-Keras DCGAN for MNIST, written here as TensorFlow's DCGAN tutorial describes it.

The tutorial (tensorflow.org/tutorials/generative/dcgan) trains on the 60,000 MNIST train
digits scaled to [-1, 1], batch 256, latents N(0, 1) of size 100, both networks with Adam
1e-4 (Keras's defaults otherwise), binary cross-entropy on logits, one generator pass per
step shared by the two losses, both gradients from the same forward pass:

- generator: Dense(7·7·256, no bias) → BN → LeakyReLU → reshape 7x7x256 →
  Conv2DTranspose(128, 5, stride 1, no bias) → BN → LeakyReLU →
  Conv2DTranspose(64, 5, stride 2, no bias) → BN → LeakyReLU →
  Conv2DTranspose(1, 5, stride 2, no bias, tanh); all ``padding="same"``.
- discriminator: Conv2D(64, 5, stride 2) → LeakyReLU → Dropout(0.3) →
  Conv2D(128, 5, stride 2) → LeakyReLU → Dropout(0.3) → Flatten → Dense(1).

This is the script a user copies instead of using ascendgan; ``benchmarks/fidelity.py``
trains it beside ``ascendgan train dcgan`` for the same wall-clock time. Only the Keras
module comes from ascendgan (``ascendgan.compat``, the project's one Keras import, so the
peer runs under Keras 3 and legacy Keras alike) and the MNIST IDX reader; the model, loss,
optimizers and loop are the tutorial's.

Run: ``python -m benchmarks.peers.keras_dcgan --data ../shared/data/mnist --out DIR``. It
trains until ``--steps`` or until killed, and writes the generator's weights to
``DIR/snapshots/step_NNNNNNN.npz`` every ``--snapshot-seconds`` (atomically: a killed run
leaves whole snapshots only); ``DIR/peer.json`` records the settings.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import tensorflow as tf

from ascendgan.compat import keras

LATENT_DIM = 100
BATCH_SIZE = 256
LEARNING_RATE = 1e-4


def make_generator():
    layers = keras.layers
    return keras.Sequential([
        keras.Input((LATENT_DIM,)),
        layers.Dense(7 * 7 * 256, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh",
                               dtype="float32"),
    ], name="tutorial_generator")


def make_discriminator():
    layers = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(1, dtype="float32"),
    ], name="tutorial_discriminator")


def parameter_counts():
    """(generator, discriminator) parameter counts, for the tests."""
    return make_generator().count_params(), make_discriminator().count_params()


def mnist_train(data):
    """The train digits in [-1, 1], float32 ``(60000, 28, 28, 1)``."""
    from ascendgan.data import mnist_arrays

    images, _ = mnist_arrays(data, split="train")
    return (images.astype("float32") - 127.5) / 127.5


def _save(generator, folder, step):
    path = os.path.join(folder, f"step_{step:07d}.npz")
    temporary = path + ".tmp.npz"
    np.savez(temporary, *generator.get_weights())
    os.replace(temporary, path)
    return path


def load_generator(path):
    """The tutorial generator with a snapshot's weights."""
    generator = make_generator()
    with np.load(path) as arrays:
        generator.set_weights([arrays[f"arr_{i}"] for i in range(len(arrays.files))])
    return generator


def train(data, out, steps=None, snapshot_seconds=30.0, precision="float32", seed=0, batch_size=BATCH_SIZE):
    if precision != "float32":
        keras.mixed_precision.set_global_policy(precision)
    tf.random.set_seed(seed)
    images = mnist_train(data)
    dataset = (tf.data.Dataset.from_tensor_slices(images).shuffle(60_000, seed=seed)
               .batch(batch_size).repeat().prefetch(2))
    generator, discriminator = make_generator(), make_discriminator()
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer = keras.optimizers.Adam(LEARNING_RATE)
    discriminator_optimizer = keras.optimizers.Adam(LEARNING_RATE)
    if precision == "mixed_float16":
        generator_optimizer = keras.mixed_precision.LossScaleOptimizer(generator_optimizer)
        discriminator_optimizer = keras.mixed_precision.LossScaleOptimizer(discriminator_optimizer)

    @tf.function
    def train_step(real):
        noise = tf.random.normal([tf.shape(real)[0], LATENT_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            fake = generator(noise, training=True)
            real_output = discriminator(real, training=True)
            fake_output = discriminator(fake, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                         + cross_entropy(tf.zeros_like(fake_output), fake_output))
        generator_optimizer.apply_gradients(zip(
            gen_tape.gradient(gen_loss, generator.trainable_variables), generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(
            disc_tape.gradient(disc_loss, discriminator.trainable_variables),
            discriminator.trainable_variables))
        return gen_loss, disc_loss

    folder = os.path.join(out, "snapshots")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(out, "peer.json"), "w") as handle:
        json.dump({"peer": "keras_dcgan (TensorFlow DCGAN tutorial)", "batch_size": batch_size,
                   "learning_rate": LEARNING_RATE, "precision": precision, "seed": seed,
                   "data": os.path.abspath(data) if data else None}, handle, indent=1)
    last = time.monotonic()
    step = 0
    for real in dataset:
        train_step(real)
        step += 1
        if time.monotonic() - last >= snapshot_seconds:
            _save(generator, folder, step)
            last = time.monotonic()
        if steps is not None and step >= steps:
            break
    return _save(generator, folder, step)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="MNIST IDX folder (train split) or mnist.npz")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--snapshot-seconds", type=float, default=30.0)
    parser.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16", "mixed_float16"))
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(train(args.data, args.out, args.steps, args.snapshot_seconds, args.precision, args.seed,
                args.batch_size))


if __name__ == "__main__":
    main()
