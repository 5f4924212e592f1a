"""Tiny GANs and a reference model shared by the strategy tests."""

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.layers import SNDense
from ascendgan.layers._batch_norm import batch_norm
from ascendgan.layers.batch_normalization import FusedBatchNormalization
from ascendgan.training import GAN

keras = compat.keras


def mlp(inputs, outputs, seed):
    init = keras.initializers.GlorotUniform
    x = keras.Input((inputs,))
    h = keras.layers.Dense(8, activation="relu", kernel_initializer=init(seed=seed))(x)
    return keras.Model(x, keras.layers.Dense(outputs, kernel_initializer=init(seed=seed + 1))(h))


class PoisonGAN(GAN):
    """A 2-layer GAN whose discriminator / generator losses become inf on demand
    (``d_poison`` / ``g_poison`` > 0), forcing an overflow in that optimizer only."""

    def __init__(self, **kwargs):
        super().__init__(mlp(3, 2, seed=1), mlp(2, 1, seed=3), latent_dim=3, seed=5, **kwargs)
        self.d_poison = tf.Variable(0.0, trainable=False)
        self.g_poison = tf.Variable(0.0, trainable=False)

    def compute_discriminator_loss(self, real_logits, fake_logits, real_images=None,
                                   fake_images=None, condition=None):
        loss = super().compute_discriminator_loss(real_logits, fake_logits)
        return loss * tf.where(self.d_poison > 0, np.inf, 1.0)

    def compute_generator_loss(self, fake_logits, fake_images=None, real_images=None,
                               condition=None):
        loss = super().compute_generator_loss(fake_logits)
        return loss * tf.where(self.g_poison > 0, np.inf, 1.0)


def toy_data(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 2)) * 0.3 + 2.0).astype("float32")


class Recorder(keras.callbacks.Callback):
    """Poisons steps on a schedule and records trainable weights and manager states."""

    def __init__(self, d_flags=(), g_flags=(), managers=None):
        super().__init__()
        self.d_flags, self.g_flags = list(d_flags), list(g_flags)
        self.managers = managers or {}
        self.step = 0
        self.d_weights, self.g_weights, self.states = [], [], []

    def snapshot(self, gan):
        self.d_weights.append([np.asarray(v).copy() for v in gan.discriminator.trainable_weights])
        self.g_weights.append([np.asarray(v).copy() for v in gan.generator.trainable_weights])
        self.states.append({name: m().state() for name, m in self.managers.items()})

    def on_train_batch_begin(self, batch, logs=None):
        flag = lambda flags: 1.0 if self.step < len(flags) and flags[self.step] else 0.0  # noqa: E731
        self.model.d_poison.assign(flag(self.d_flags))
        self.model.g_poison.assign(flag(self.g_flags))

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.snapshot(self.model)


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


class ReferenceExponentialManager:
    """An independent Python model of ExponentialUpdateLossScaleManager (float32 maths)."""

    def __init__(self, init_loss_scale, incr_every_n_steps, decr_every_n_nan_or_inf=2,
                 incr_ratio=2.0, decr_ratio=0.8):
        self.scale = np.float32(init_loss_scale)
        self.incr_n, self.decr_n = incr_every_n_steps, decr_every_n_nan_or_inf
        self.incr_ratio, self.decr_ratio = np.float32(incr_ratio), np.float32(decr_ratio)
        self.good = self.bad = self.overflows = self.steps = 0

    def update(self, finite):
        self.steps += 1
        if finite:
            self.good += 1
            if self.good >= self.incr_n:
                if self.scale < np.float32(3.4e38) / self.incr_ratio:
                    self.scale = np.float32(self.scale * self.incr_ratio)
                self.good = self.bad = 0
        else:
            self.overflows += 1
            self.bad += 1
            self.good = 0
            if self.bad >= self.decr_n:
                self.scale = np.float32(max(np.float32(1.0), self.scale * self.decr_ratio))
                self.good = self.bad = 0

    def state(self):
        return {"loss_scale": float(self.scale), "good_steps": self.good,
                "bad_steps": self.bad, "overflows": self.overflows, "steps": self.steps}


@compat.register(package="ascendgan_tests")
class SyncBatchNorm(FusedBatchNormalization):
    """Batch norm with cross-replica statistics (the `synchronized` option)."""

    def call(self, inputs, training=None):
        return batch_norm(
            inputs, training, self.moving_mean, self.moving_variance, self.momentum,
            self.epsilon, scale=tf.cast(compat.full_precision(self.gamma), tf.float32),
            offset=tf.cast(compat.full_precision(self.beta), tf.float32), synchronized=True,
        )


class DataLatentGAN(GAN):
    """Latents come with the data (element = (images, z)), so one device and two replicas
    see exactly the same numbers; replica 1 can be made to overflow on demand."""

    def build_models(self, image_shape=None):
        # Pending in GAN itself: build optimizer state inside the model's strategy scope
        # and mark the model built (Keras 3 otherwise traces GAN.call on the images).
        with self.distribute_strategy.scope():
            super().build_models(image_shape)
        self.built = True

    def make_fakes(self, condition, batch_size, training):
        return self.generator(condition, training=training)

    def discriminate(self, images, condition, training):
        return self.discriminator(images, training=training)

    def compute_discriminator_loss(self, real_logits, fake_logits, real_images=None,
                                   fake_images=None, condition=None):
        loss = super().compute_discriminator_loss(real_logits, fake_logits)
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        poisoned = tf.logical_and(tf.equal(replica, self.poison_replica),
                                  tf.greater(self.poison, 0.0))
        return loss * tf.where(poisoned, np.inf, 1.0)


def make_data_latent_gan(ema_decay=None, reuse_fakes=False):
    init = keras.initializers.GlorotUniform
    z = keras.Input((3,))
    h = keras.layers.Dense(8, kernel_initializer=init(seed=1))(z)
    h = keras.layers.Activation("relu")(SyncBatchNorm()(h))
    generator = keras.Model(z, keras.layers.Dense(2, kernel_initializer=init(seed=2))(h))
    x = keras.Input((2,))
    h = SNDense(8, activation="relu", kernel_initializer=init(seed=3))(x)
    discriminator = keras.Model(x, SNDense(1, kernel_initializer=init(seed=4))(h))
    gan = DataLatentGAN(generator, discriminator, latent_dim=None, ema_decay=ema_decay,
                        reuse_fakes=reuse_fakes)
    gan.poison = tf.Variable(0.0, trainable=False)
    gan.poison_replica = tf.Variable(1, trainable=False)
    return gan


def data_latent_dataset(global_batch=8):
    rng = np.random.default_rng(0)
    images = (rng.standard_normal((32, 2)) * 0.5 + 2.0).astype("float32")
    latents = rng.standard_normal((32, 3)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((images, latents)).batch(global_batch)
