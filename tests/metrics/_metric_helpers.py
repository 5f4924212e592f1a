"""Shared pieces of the streaming-evaluation tests: a pixel extractor whose logits are a
fixed linear map, toy images and a tiny GAN."""

import numpy as np

from ascendgan import compat
from ascendgan.metrics import FeatureExtractor
from ascendgan.training import GAN

keras = compat.keras

PROJECTION = np.random.default_rng(42).normal(size=(16, 5))


def pixel_features(images):
    """Features = pixels, logits = a fixed linear map of them (an independent reference)."""
    flat = np.reshape(np.asarray(images, np.float64), (len(images), -1))
    return flat.astype("float32"), (flat @ PROJECTION).astype("float32")


class Counting:
    """A pixel extractor that counts its calls."""

    def __init__(self):
        self.calls = 0
        self.__name__ = "pixels"

    def __call__(self, images):
        self.calls += 1
        return pixel_features(images)


def pixels(name="pixels"):
    return FeatureExtractor(Counting(), name=name, value_range=(-1.0, 1.0))


def images(rng, n, shift=0.0):
    return np.clip(rng.normal(shift, 0.3, size=(n, 4, 4, 1)), -1, 1).astype("float32")


def tiny_gan(num_classes=None, ema_decay=None):
    compat.set_random_seed(3)
    z = keras.Input((2,))
    inputs, h = z, keras.layers.Dense(16)(z)
    if num_classes:
        y = keras.Input((), dtype="int32")
        inputs = [z, y]
        # the image is the label's embedding alone, so the image reveals the label
        h = keras.layers.Embedding(num_classes, 16, embeddings_initializer="identity")(y)
        h = keras.layers.Lambda(lambda t: 0.0 * t)(keras.layers.Dense(16)(z)) + h * 0.5
    out = keras.layers.Reshape((4, 4, 1))(keras.layers.Activation("tanh")(h))
    generator = keras.Model(inputs, out)
    x = keras.Input((4, 4, 1))
    disc_inputs = x if not num_classes else [x, keras.Input((), dtype="int32")]
    discriminator = keras.Model(disc_inputs, keras.layers.Dense(1)(keras.layers.Flatten()(x)))
    return GAN(generator, discriminator, latent_dim=2, num_classes=num_classes, seed=0,
               ema_decay=ema_decay)


def small_classifier(channels=1):
    inputs = keras.Input((4, 4, channels))
    h = keras.layers.Flatten()(inputs)
    h = keras.layers.Dense(6, activation="relu", name="feat")(h)
    return keras.Model(inputs, keras.layers.Dense(3, name="logits")(h), name="small")


def uniform_images(n, size=4, channels=1, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)).astype("float32")
