"""DCGAN and Pix2Pix factories and the Pix2Pix model."""

import numpy as np
import pytest
import tensorflow as tf

import ascendgan
from ascendgan import compat, losses
from ascendgan.models import Pix2Pix


def count(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_dcgan_celeba_factory_has_the_reference_parameter_counts():
    gan = ascendgan.models.dcgan("celeba")
    assert count(gan.generator) == 3_576_704
    assert count(gan.discriminator) == 2_765_568
    assert gan.latent_dim == 100 and gan.latent_distribution == "uniform_signed"
    gan.compile()
    assert float(gan.generator_optimizer.learning_rate) == pytest.approx(2e-4)
    assert float(gan.generator_optimizer.beta_1) == pytest.approx(0.5)
    assert gan.loss_pair.name == "non_saturating"


@pytest.mark.parametrize("distribution", ["uniform_signed", "uniform_unsigned", "normal01"])
def test_dcgan_mnist_trains_with_each_latent_distribution(distribution):
    gan = ascendgan.models.dcgan("mnist", base_filters=4, latent_distribution=distribution, seed=0)
    gan.compile()
    images = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
    before = [np.array(w) for w in gan.generator.trainable_weights]
    history = gan.fit(images, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(before, gan.generator.trainable_weights))
    z = np.asarray(gan.sample_latents(2000))
    low = {"uniform_signed": -1, "uniform_unsigned": 0, "normal01": -np.inf}[distribution]
    assert z.min() >= low and gan.generate(2, seed=0).shape == (2, 28, 28, 1)


def test_dcgan_factory_errors_list_valid_names():
    with pytest.raises(ValueError, match=r"Unknown DCGAN preset 'imagenet'.*celeba.*mnist"):
        ascendgan.models.dcgan("imagenet")
    with pytest.raises(ValueError, match=r"override key\(s\) \['filters'\].*base_filters"):
        ascendgan.models.dcgan("mnist", filters=8)


def tiny_pix2pix(**kwargs):
    return ascendgan.models.pix2pix(
        "facades", image_size=32, num_downsamplings=5, base_filters=2, discriminator_base_filters=2,
        seed=0, **kwargs,
    )


def test_pix2pix_generator_loss_is_gan_plus_l1():
    gan = tiny_pix2pix()
    assert isinstance(gan, Pix2Pix) and gan.l1_weight == 100.0
    gan.compile()
    rng = np.random.default_rng(0)
    logits = tf.constant(rng.standard_normal((2, 3, 3, 1)), tf.float32)
    fake = tf.constant(rng.uniform(-1, 1, (2, 32, 32, 3)), tf.float32)
    real = tf.constant(rng.uniform(-1, 1, (2, 32, 32, 3)), tf.float32)
    loss, logs = gan.compute_generator_loss(logits, fake, real, None)
    softplus = np.log1p(np.exp(-logits.numpy()))
    expected_l1 = np.abs(real.numpy() - fake.numpy()).mean()
    np.testing.assert_allclose(float(logs["l1"]), expected_l1, rtol=1e-6)
    np.testing.assert_allclose(float(loss), softplus.mean() + 100.0 * expected_l1, rtol=1e-5)


def test_pix2pix_trains_and_reports_l1():
    gan = tiny_pix2pix()
    adam = compat.keras.optimizers.Adam
    gan.compile(adam(2e-3, beta_1=0.5), adam(2e-3, beta_1=0.5))
    rng = np.random.default_rng(1)
    source = rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    target = -source  # a learnable mapping
    data = tf.data.Dataset.from_tensor_slices((source, target)).batch(1)
    history = gan.fit(data, epochs=3, verbose=0)
    assert history.history["l1"][-1] < history.history["l1"][0]
    assert int(gan.generator_optimizer.iterations) == 12


def test_pix2pix_test_mode_chooses_batch_norm_and_dropout_mode():
    source = np.random.default_rng(2).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    paper = tiny_pix2pix(test_mode="train")
    a, b = np.asarray(paper.translate(source)), np.asarray(paper.translate(source))
    assert not np.array_equal(a, b)  # dropout active, as in the paper's test phase
    inference = tiny_pix2pix(test_mode="inference")
    a, b = np.asarray(inference.translate(source)), np.asarray(inference.translate(source))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.asarray(inference.translate(source, training=True)), a)
    with pytest.raises(ValueError, match="test_mode='eval'"):
        tiny_pix2pix(test_mode="eval")


def test_pix2pix_needs_pairs():
    gan = tiny_pix2pix()
    gan.compile()
    with pytest.raises(ValueError, match=r"\(source, target\)"):
        gan.unpack_batch(tf.zeros((1, 32, 32, 3)))


def test_generator_keras_format_round_trip(tmp_path):
    gan = ascendgan.models.biggan(
        "cifar10", base_channels=8, latent_dim=8, shared_embedding_dim=4, num_classes=3, seed=0
    )
    generator = gan.generator
    inputs = [tf.random.normal((2, 8), seed=1), tf.constant([0, 2])]
    generator(inputs, training=True)  # advance spectral-norm vectors and batch-norm statistics
    before = np.asarray(generator(inputs, training=False))
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    reloaded = compat.keras.models.load_model(path)
    np.testing.assert_array_equal(np.asarray(reloaded(inputs, training=False)), before)


def test_recompute_generator_statistics_averages_over_batches():
    """With momentum i/(i+1) the moving mean equals the plain average of the batch means."""
    keras = compat.keras
    z = keras.Input((3,))
    norm = keras.layers.BatchNormalization(momentum=0.99)
    generator = keras.Model(z, norm(keras.layers.Dense(2)(z)))
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    gan = ascendgan.training.GAN(generator, discriminator, latent_dim=3, seed=5)
    seeds = tf.random.Generator.from_state(gan.seed_generator.state.numpy(), alg=gan.seed_generator.algorithm)
    expected = []
    replay = ascendgan.training.GAN(generator, discriminator, latent_dim=3)
    replay.seed_generator = seeds
    for _ in range(4):
        hidden = generator.layers[1](replay.sample_latents(8))
        expected.append(np.asarray(hidden).mean(axis=0))
    gan.recompute_generator_statistics(num_batches=4, batch_size=8)
    np.testing.assert_allclose(np.asarray(norm.moving_mean), np.mean(expected, axis=0), rtol=1e-5, atol=1e-6)
    assert norm.momentum == 0.99  # restored


def test_gan_config_round_trip():
    gan = ascendgan.models.dcgan("mnist", base_filters=4, seed=3)
    clone = ascendgan.training.GAN.from_config(gan.get_config())
    assert clone.latent_dim == 100 and gan.name == "dcgan_mnist"
    assert clone.default_optimizers == gan.default_optimizers == ascendgan.optimizers.AdamSettings(2e-4, 2e-4, 0.5, 0.999)
    assert clone.default_loss == gan.default_loss == "non_saturating"
    assert clone.generator.get_config() == gan.generator.get_config()
    loss = losses.get("hinge")
    assert loss.name == "hinge"


def test_dcgan_generator_average_is_an_option_off_by_default():
    from ascendgan.models import dcgan

    plain = dcgan("mnist", base_filters=4)
    assert plain.ema_generator is None and plain.ema_decay is None  # the paper's DCGAN
    averaged = dcgan("mnist", base_filters=4, ema_decay=0.999, ema_start=10)
    assert (averaged.ema_decay, averaged.ema_start) == (0.999, 10)
    assert averaged.sampling_generator() is averaged.ema_generator is not None
    assert plain.sampling_generator() is plain.generator
    with pytest.raises(ValueError, match="ema_decay"):
        dcgan("mnist", base_filters=4, ema_decay=1.5)
