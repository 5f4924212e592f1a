"""The GAN model: iterations, EMA, resume, truncation, errors."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.training import GAN, GANCheckpoint, latent_prior

keras = compat.keras


def mlp_generator(latent_dim=3, out=2, num_classes=None):
    z = keras.Input((latent_dim,))
    inputs, h = z, z
    if num_classes:
        y = keras.Input((), dtype="int32")
        inputs = [z, y]
        h = keras.layers.Concatenate()([z, keras.layers.Embedding(num_classes, 2)(y)])
    h = keras.layers.Dense(8, activation="relu")(h)
    return keras.Model(inputs, keras.layers.Dense(out)(h))


def mlp_discriminator(features=2, num_classes=None):
    x = keras.Input((features,))
    inputs, h = x, x
    if num_classes:
        y = keras.Input((), dtype="int32")
        inputs = [x, y]
        h = keras.layers.Concatenate()([x, keras.layers.Embedding(num_classes, 2)(y)])
    h = keras.layers.Dense(8, activation="relu")(h)
    return keras.Model(inputs, keras.layers.Dense(1)(h))


def toy_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 2)) * 0.1 + 3.0).astype("float32")


def make_gan(**kwargs):
    compat.set_random_seed(7)
    num_classes = kwargs.get("num_classes")
    return GAN(mlp_generator(num_classes=num_classes), mlp_discriminator(num_classes=num_classes),
               latent_dim=3, seed=11, **kwargs)


def compile_gan(gan, lr=1e-2, loss="non_saturating"):
    gan.compile(keras.optimizers.Adam(lr, beta_1=0.5), keras.optimizers.Adam(lr, beta_1=0.5), loss=loss)
    return gan


def test_generator_moves_towards_the_data():
    gan = compile_gan(make_gan(), lr=3e-2)
    data = toy_data(256)
    before = gan.generate(256, seed=0).mean(axis=0)
    history = gan.fit(data, batch_size=32, epochs=6, verbose=0)
    after = gan.generate(256, seed=0).mean(axis=0)
    assert np.all(np.abs(after - 3.0) < np.abs(before - 3.0) - 1.0), (before, after)
    assert set(history.history) >= {"d_loss", "g_loss", "d_real", "d_fake"}
    assert np.all(np.isfinite(history.history["d_loss"]))


class CountingGAN(GAN):
    """Records the sum of every real image the discriminator sees."""

    def build_models(self, image_shape=None):
        super().build_models(image_shape)
        if not hasattr(self, "seen"):
            self.seen = tf.Variable(0.0, trainable=False)
            self.real_calls = tf.Variable(0, trainable=False)

    def compute_discriminator_loss(self, real_logits, fake_logits, real_images=None, fake_images=None,
                                   condition=None):
        self.seen.assign_add(tf.reduce_sum(real_images))
        self.real_calls.assign_add(1)
        return super().compute_discriminator_loss(real_logits, fake_logits)


def test_discriminator_steps_consume_one_real_batch_each():
    gan = CountingGAN(mlp_generator(), mlp_discriminator(), latent_dim=3, discriminator_steps=2, seed=1)
    compile_gan(gan)
    data = np.arange(16 * 2, dtype="float32").reshape(16, 2)
    dataset = tf.data.Dataset.from_tensor_slices(data).batch(4)  # 4 batches
    gan.fit(dataset, epochs=1, verbose=0)
    assert int(gan.generator_optimizer.iterations) == 2  # 4 batches / 2 D steps
    assert int(gan.discriminator_optimizer.iterations) == 4
    assert int(gan.real_calls) == 4
    np.testing.assert_allclose(float(gan.seen), data.sum())  # every batch seen exactly once


def test_ema_follows_the_formula():
    gan = compile_gan(make_gan(ema_decay=0.9))
    gan.build_models((2,))
    w0 = [np.array(w) for w in gan.generator.trainable_variables]
    np.testing.assert_array_equal(np.array(gan.ema_generator.trainable_variables[0]), w0[0])
    gan.fit(toy_data(8), batch_size=8, epochs=1, verbose=0)  # exactly one G step
    w1 = [np.array(w) for w in gan.generator.trainable_variables]
    for average, a, b in zip(gan.ema_generator.trainable_variables, w0, w1):
        np.testing.assert_allclose(np.array(average), 0.9 * a + 0.1 * b, rtol=1e-6, atol=1e-7)
    assert any(not np.allclose(np.array(e), w) for e, w in zip(gan.ema_generator.trainable_variables, w1))


def test_ema_start_copies_raw_weights_until_then():
    gan = compile_gan(make_gan(ema_decay=0.5, ema_start=2))
    gan.fit(toy_data(16), batch_size=8, epochs=1, verbose=0)  # 2 G steps, both <= ema_start
    for average, weight in zip(gan.ema_generator.trainable_variables, gan.generator.trainable_variables):
        np.testing.assert_array_equal(np.array(average), np.array(weight))


def _train(tmp_path, epochs, restore_from=None, initial_epoch=0):
    gan = compile_gan(make_gan(ema_decay=0.9, discriminator_steps=2))
    dataset = tf.data.Dataset.from_tensor_slices(toy_data(32)).batch(4)
    callback = GANCheckpoint(tmp_path, every_n_steps=None, max_to_keep=1, restore=restore_from is not None)
    history = gan.fit(dataset, epochs=epochs, initial_epoch=initial_epoch, verbose=0, callbacks=[callback])
    return gan, history.history


def test_resume_continues_bit_identically(tmp_path):
    straight, straight_history = _train(tmp_path / "a", epochs=3)
    _train(tmp_path / "b", epochs=1)
    resumed, resumed_history = _train(tmp_path / "b", epochs=3, restore_from=True, initial_epoch=1)
    for key in ("d_loss", "g_loss"):
        assert resumed_history[key] == straight_history[key][1:]
    for model in ("generator", "discriminator", "ema_generator"):
        for a, b in zip(getattr(straight, model).weights, getattr(resumed, model).weights):
            np.testing.assert_array_equal(np.array(a), np.array(b))
    assert int(resumed.generator_optimizer.iterations) == int(straight.generator_optimizer.iterations) == 12


def test_checkpoint_keeps_max_to_keep(tmp_path):
    gan = compile_gan(make_gan())
    callback = GANCheckpoint(tmp_path, every_n_steps=1, max_to_keep=2)
    gan.fit(toy_data(32), batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    assert len(callback.manager.checkpoints) == 2
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("-4")


@pytest.mark.parametrize("name", ["normal", "uniform_signed", "uniform_unsigned"])
def test_truncation_bounds_every_component(name):
    gan = GAN(mlp_generator(), mlp_discriminator(), latent_dim=3, latent_distribution=name, seed=0)
    z = np.asarray(gan.sample_latents(4096, truncation=0.5))
    assert np.all(np.abs(z) <= 0.5)
    assert z.std() > 0.1  # not degenerate
    if name == "uniform_unsigned":
        assert z.min() >= 0.0


def test_latent_priors_have_the_documented_moments():
    samples = np.asarray(latent_prior("uniform_signed").sample(20000, seed=(1, 2)))
    assert samples.min() >= -1 and samples.max() < 1 and abs(samples.mean()) < 0.03
    samples = np.asarray(latent_prior("normal01").sample(20000, seed=(1, 2)))
    assert abs(samples.std() - 1.0) < 0.03
    truncated = np.asarray(latent_prior("normal", truncation=1.0).sample(20000, seed=(3, 4)))
    # std of N(0,1) truncated to [-1, 1]: sqrt(1 - 2 φ(1) / (2Φ(1) - 1))
    from scipy.stats import norm

    expected = np.sqrt(1 - 2 * norm.pdf(1) / (2 * norm.cdf(1) - 1))
    assert abs(truncated.std() - expected) < 0.01


def test_generate_is_reproducible_with_a_seed():
    gan = make_gan()
    a, b = gan.generate(5, seed=3), gan.generate(5, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, gan.generate(5, seed=4))


def test_conditional_generate_validates_labels():
    gan = make_gan(num_classes=3)
    assert gan.generate(4, labels=[0, 1, 2, 1]).shape == (4, 2)
    with pytest.raises(ValueError, match=r"labels.*\[0, 3\).*\[0, 5\]"):
        gan.generate(2, labels=[0, 5])
    with pytest.raises(ValueError, match="labels.*2 class ids"):
        gan.generate(2, labels=[0])
    unconditional = make_gan()
    with pytest.raises(ValueError, match="unconditional"):
        unconditional.generate(2, labels=[0, 1])


def test_conditional_training_needs_labels():
    gan = compile_gan(make_gan(num_classes=3))
    with pytest.raises(ValueError, match="num_classes=3.*labels"):
        gan.fit(toy_data(8), batch_size=4, epochs=1, verbose=0)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1], "int32")
    gan.fit(toy_data(8), labels, batch_size=4, epochs=1, verbose=0)
    assert int(gan.generator_optimizer.iterations) == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"discriminator_steps": 0}, "discriminator_steps=0"),
        ({"latent_distribution": "gaussian"}, "latent_distribution='gaussian'"),
        ({"ema_decay": 1.0}, "ema_decay=1.0"),
        ({"gradient_penalty": -1.0}, "gradient_penalty=-1.0"),
        ({"num_classes": 0}, "num_classes=0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GAN(mlp_generator(), mlp_discriminator(), latent_dim=3, **kwargs)


def test_gradient_penalty_and_r1_are_reported():
    gan = compile_gan(make_gan(gradient_penalty=10.0, r1_penalty=1.0), loss="wasserstein")
    history = gan.fit(toy_data(16), batch_size=8, epochs=1, verbose=0)
    assert history.history["gradient_penalty"][0] > 0
    assert history.history["r1_penalty"][0] > 0


def test_a_crash_while_writing_leaves_the_previous_checkpoint_latest(tmp_path, monkeypatch):
    from tensorflow.python.lib.io import file_io

    from ascendgan.training import restore_latest

    gan = compile_gan(make_gan())
    callback = GANCheckpoint(tmp_path, every_n_steps=1, max_to_keep=3)
    gan.fit(toy_data(16), batch_size=8, epochs=1, verbose=0, callbacks=[callback])  # ckpt-1, ckpt-2
    saved = [np.array(w) for w in gan.generator.weights]

    def crash(*args, **kwargs):
        raise OSError("simulated crash while writing the checkpoint index")

    monkeypatch.setattr(file_io, "atomic_write_string_to_file", crash)
    with pytest.raises(OSError, match="simulated crash"):
        gan.fit(toy_data(8), batch_size=8, epochs=1, verbose=0, callbacks=[callback])  # step 3 dies
    monkeypatch.undo()
    (tmp_path / "ckpt-3.index").write_bytes(b"\x00partial")  # debris of the interrupted write
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-2")
    fresh = compile_gan(make_gan())
    assert restore_latest(fresh, tmp_path).endswith("ckpt-2")
    for a, b in zip(saved, fresh.generator.weights):
        np.testing.assert_array_equal(a, np.array(b))


@pytest.mark.parametrize("family", ["dcgan", "biggan"])
def test_checkpoint_restores_every_weight_in_a_new_model(family, tmp_path):
    """Batch-norm statistics, spectral-norm vectors and the averaged generator come back too."""
    from ascendgan import models

    def build():
        if family == "dcgan":
            gan = models.dcgan("mnist", base_filters=2, seed=1)
        else:
            gan = models.biggan("cifar10", base_channels=8, shared_embedding_dim=8, latent_dim=20,
                                ema_start=0, seed=1)
        gan.compile()
        return gan

    gan = build()
    shape = (28, 28, 1) if family == "dcgan" else (32, 32, 3)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, *shape)).astype("float32")
    data = images if family == "dcgan" else (images, rng.integers(0, 10, 8).astype("int32"))
    x, y = (data, None) if family == "dcgan" else data
    gan.fit(x, y, batch_size=4 if family == "dcgan" else 2, epochs=1, verbose=0)
    path = gan.checkpoint().save(str(tmp_path / "ckpt"))

    compat.clear_session()
    fresh = build()
    fresh.build_models(shape)
    fresh.checkpoint().restore(path).assert_consumed()
    pairs = [(gan.generator, fresh.generator), (gan.discriminator, fresh.discriminator)]
    if gan.ema_generator is not None:
        pairs.append((gan.ema_generator, fresh.ema_generator))
    for old, new in pairs:
        assert len(old.non_trainable_weights) > 0
        for a, b in zip(old.weights, new.weights):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=compat.variable_path(a))
