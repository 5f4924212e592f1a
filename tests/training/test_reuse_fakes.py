"""``GAN(reuse_fakes=True)``: one generator pass per iteration, checked against the same
iteration written out with one plain tape per network, and against the default path."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat, regularizers
from ascendgan.models import dcgan, pix2pix
from ascendgan.training import GAN

keras = compat.keras
Z = np.random.default_rng(3).normal(size=(4, 3)).astype("float32")
LR = 0.1


def mlp(inputs, outputs, seed):
    init = keras.initializers.GlorotUniform
    x = keras.Input((inputs,))
    h = keras.layers.Dense(6, activation="tanh", kernel_initializer=init(seed=seed))(x)
    return keras.Model(x, keras.layers.Dense(outputs, kernel_initializer=init(seed=seed + 1))(h))


class FixedLatentGAN(GAN):
    """Draws the same latents every time, so both paths see identical fakes."""

    def sample_latents(self, batch_size, seed=None, truncation=None):
        return tf.constant(Z)


def make(reuse_fakes, loss_scale=None):
    gan = FixedLatentGAN(mlp(3, 2, 1), mlp(2, 1, 5), latent_dim=3, reuse_fakes=reuse_fakes,
                         generator_orthogonal=0.05, seed=0)
    gan.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), loss="non_saturating",
                loss_scale=loss_scale)
    return gan


def reference(real):
    """The iteration by hand: D step on G(z), then the G step through the updated D."""
    generator, discriminator = mlp(3, 2, 1), mlp(2, 1, 5)
    fakes = generator(Z)
    with tf.GradientTape() as tape:
        d_loss = tf.reduce_mean(tf.nn.softplus(-discriminator(real))) + tf.reduce_mean(
            tf.nn.softplus(discriminator(fakes)))
    for w, g in zip(discriminator.trainable_variables,
                    tape.gradient(d_loss, discriminator.trainable_variables)):
        w.assign_sub(LR * g)
    with tf.GradientTape() as tape:
        g_loss = tf.reduce_mean(tf.nn.softplus(-discriminator(generator(Z))))
        g_loss += regularizers.orthogonal_regularization(generator, 0.05)
    for w, g in zip(generator.trainable_variables,
                    tape.gradient(g_loss, generator.trainable_variables)):
        w.assign_sub(LR * g)
    return generator, discriminator, float(g_loss)


def weights(model):
    return [np.asarray(w) for w in model.trainable_weights]


@pytest.mark.parametrize("loss_scale", [None, 8.0], ids=["unscaled", "loss_scale_8"])
def test_one_iteration_matches_the_hand_written_one(loss_scale):
    real = np.random.default_rng(4).normal(2.0, 0.5, (4, 2)).astype("float32")
    generator, discriminator, g_loss = reference(real)
    for reuse in (True, False):
        gan = make(reuse, loss_scale)
        before = weights(gan.generator)
        history = gan.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)
        for ours, theirs in ((gan.generator, generator), (gan.discriminator, discriminator)):
            for a, b in zip(weights(ours), weights(theirs)):
                np.testing.assert_allclose(a, b, atol=1e-6)
        assert max(np.abs(a - b).max() for a, b in zip(weights(gan.generator), before)) > 1e-3
        np.testing.assert_allclose(history.history["g_loss"][-1], g_loss, rtol=1e-5)


def test_generator_runs_once_per_iteration():
    calls = []

    class Counting(FixedLatentGAN):
        def make_fakes(self, condition, batch_size, training):
            calls.append(1)  # counted at trace time: once per generator pass in the step
            return super().make_fakes(condition, batch_size, training)

    for reuse, expected in ((True, 1), (False, 2)):
        calls.clear()
        gan = Counting(mlp(3, 2, 1), mlp(2, 1, 5), latent_dim=3, reuse_fakes=reuse, seed=0)
        gan.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR))
        gan.fit(np.ones((4, 2), "float32"), batch_size=4, epochs=1, verbose=0)
        assert len(calls) == expected


def test_pix2pix_l1_term_and_one_batch_norm_update():
    """Pix2Pix (extra L1 metric) without dropout: the same weights both ways, and the
    generator's batch-norm statistics moved once, not twice, in the iteration."""
    rng = np.random.default_rng(0)
    pairs = (rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32"),
             rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32"))
    small = dict(image_size=32, num_downsamplings=5, base_filters=2,
                 discriminator_base_filters=2, dropout=0.0)
    results = {}
    for reuse in (True, False):
        compat.set_random_seed(1)
        gan = pix2pix("facades_128", reuse_fakes=reuse, seed=0, **small)
        gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
        history = gan.fit(tf.data.Dataset.from_tensors(pairs), epochs=1, verbose=0)
        bn = next(layer for layer in gan.generator._flatten_layers()
                  if isinstance(layer, keras.layers.BatchNormalization))
        results[reuse] = (weights(gan.generator), weights(gan.discriminator),
                          np.asarray(bn.moving_mean), history.history)
    for a, b in zip(results[True][0] + results[True][1], results[False][0] + results[False][1]):
        np.testing.assert_allclose(a, b, atol=2e-5)
    assert results[True][3]["l1"][0] == pytest.approx(results[False][3]["l1"][0], rel=1e-5)
    # moving = 0.9 * moving + 0.1 * batch_mean, from 0: once gives 0.1 m, twice 0.19 m
    np.testing.assert_allclose(results[False][2], 1.9 * results[True][2], rtol=1e-4, atol=1e-7)
    assert np.abs(results[True][2]).max() > 1e-4


def test_presets_and_errors():
    assert dcgan("mnist", base_filters=4).reuse_fakes is True
    assert dcgan("mnist", base_filters=4, reuse_fakes=False).reuse_fakes is False
    restored = GAN.from_config(make(True).get_config())
    assert restored.reuse_fakes is True
    with pytest.raises(ValueError, match="`reuse_fakes=True` needs discriminator_steps=1"):
        GAN(mlp(3, 2, 1), mlp(2, 1, 5), latent_dim=3, reuse_fakes=True, discriminator_steps=2)
    with pytest.raises(ValueError, match="`reuse_fakes` must be True or False. Received: reuse_fakes=1"):
        GAN(mlp(3, 2, 1), mlp(2, 1, 5), latent_dim=3, reuse_fakes=1)
