"""BigGAN networks and factory: presets, shapes, class dependence, parameter counts."""

import numpy as np
import pytest

import ascendgan
from ascendgan.models import BigGANDiscriminator, BigGANGenerator, get_family
from ascendgan.models.biggan import biggan_presets


def count(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def small(image_size=32, **kwargs):
    return get_family("biggan").preset(
        {32: "cifar10", 64: "imagenet64", 128: "imagenet128"}[image_size],
        dict(base_channels=8, latent_dim=24 if image_size != 64 else 20, num_classes=5, shared_embedding_dim=8,
             **kwargs),
    )


@pytest.mark.parametrize("image_size", [32, 64, 128])
def test_generator_images_in_range_and_class_dependent(image_size):
    row = small(image_size)
    g = BigGANGenerator(**biggan_presets.generator_kwargs(row))
    z = np.random.default_rng(0).standard_normal((2, row.network["latent_dim"])).astype("float32")
    a = np.asarray(g([z, np.array([0, 1])], training=False))
    b = np.asarray(g([z, np.array([3, 4])], training=False))
    assert a.shape == (2, image_size, image_size, 3)
    assert a.min() >= -1 and a.max() <= 1
    assert np.abs(a - b).max() > 1e-4  # the class changes the image
    d = BigGANDiscriminator(**biggan_presets.discriminator_kwargs(row))
    logits = np.asarray(d([a, np.array([0, 1])]))
    assert logits.shape == (2, 1) and np.all(np.isfinite(logits))
    assert np.abs(logits - np.asarray(d([a, np.array([2, 2])]))).max() > 0  # projection term


def test_hierarchical_latent_reaches_every_block():
    """Changing only the last latent chunk changes the output (it feeds the last block)."""
    row = small(32)
    g = BigGANGenerator(**biggan_presets.generator_kwargs(row))
    z = np.zeros((1, 24), "float32")
    z2 = z.copy()
    z2[0, -6:] = 1.0  # chunk 3 of 4 (latent 24 = 4 chunks of 6)
    labels = np.array([1])
    assert np.abs(np.asarray(g([z, labels])) - np.asarray(g([z2, labels]))).max() > 1e-5


def _expected_generator_params(row):  # row: a preset's network section
    """Parameter count of BigGANGenerator from the architecture, written independently."""
    ch, mults = row["base_channels"], row["generator_multipliers"]
    blocks = len(mults) - 1
    chunk = row["latent_dim"] // (blocks + 1)
    cond = row["shared_embedding_dim"] + chunk
    total = row["num_classes"] * row["shared_embedding_dim"]  # shared embedding
    total += chunk * 16 * mults[0] * ch + 16 * mults[0] * ch  # linear (bias)
    resolution = 4
    for i in range(blocks):
        cin, cout = mults[i] * ch, mults[i + 1] * ch
        resolution *= 2
        total += 2 * cond * cin  # CBN1 gain and bias projections (no bias, as BigGAN)
        total += 9 * cin * cout + cout  # conv1
        total += 2 * cond * cout  # CBN2
        total += 9 * cout * cout + cout  # conv2
        total += cin * cout + cout  # learnable shortcut (always: upsampling)
        if resolution in row["attention_resolutions"]:
            c = cout
            total += c * (c // 8) * 2 + c * (c // 2) + (c // 2) * c + 1  # θ, φ, g, o, γ
    c = mults[-1] * ch
    total += 2 * c  # output batch norm
    total += 9 * c * 3 + 3  # output conv
    return total


def _expected_discriminator_params(row):
    ch, mults = row["base_channels"], row["discriminator_multipliers"]
    total, cin, resolution = 0, 3, row["image_size"]
    seen = set()
    for cout_mult, down in zip(mults, row["discriminator_downsample"]):
        cout = cout_mult * ch
        total += 9 * cin * cout + cout + 9 * cout * cout + cout
        if cin != cout or down:
            total += cin * cout + cout
        resolution //= 2 if down else 1
        if resolution in row["attention_resolutions"] and resolution not in seen:
            seen.add(resolution)
            c = cout
            total += c * (c // 8) * 2 + c * (c // 2) + (c // 2) * c + 1
        cin = cout
    total += cin + 1  # linear
    total += row["num_classes"] * cin  # projection embedding
    return total


@pytest.fixture
def fast_orthogonal(monkeypatch):
    """Counting parameters needs shapes, not a QR decomposition per kernel (20 s at 128x128)."""
    import tensorflow as tf

    from ascendgan import compat

    def normal(self, shape, dtype=None, **kwargs):
        return tf.random.normal(shape, stddev=0.02, dtype=dtype or "float32")

    monkeypatch.setattr(compat.initializers.Orthogonal, "__call__", normal)


@pytest.mark.parametrize("preset", ["cifar10", "imagenet64", "imagenet128"])
def test_documented_presets_build_with_the_architecture_parameter_counts(preset, fast_orthogonal):
    row = get_family("biggan").preset(preset)
    g = BigGANGenerator(**biggan_presets.generator_kwargs(row))
    g.build()
    d = BigGANDiscriminator(**biggan_presets.discriminator_kwargs(row))
    d.build()
    assert count(g) == _expected_generator_params(row.network)
    assert count(d) == _expected_discriminator_params(row.network)
    if preset == "imagenet128":  # the BigGAN paper's 128x128 model: G 70.4M, D 88.0M parameters
        assert round(count(g) / 1e6, 1) == 70.4 and round(count(d) / 1e6, 1) == 88.0


def test_cifar10_preset_is_the_documented_configuration():
    preset = get_family("biggan").preset("cifar10")
    network, gan, optimizer = preset.network, preset.gan, preset.optimizer
    assert (network["base_channels"], network["latent_dim"], network["shared_embedding_dim"]) == (96, 120, 128)
    assert (gan["discriminator_steps"], preset.schedule.batch_size, gan["num_classes"]) == (2, 64, 10)
    assert (optimizer.generator_learning_rate, optimizer.discriminator_learning_rate) == (1e-4, 4e-4)
    assert (optimizer.beta_1, optimizer.beta_2, gan["orthogonal_regularization"]) == (0.0, 0.9, 1e-4)
    assert (gan["loss"], preset.schedule.truncation) == ("hinge", 2.0)
    assert preset.schedule.steps == 100_000 and preset.data.kind == "cifar10"


def test_factory_unknown_preset_and_key_list_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown BigGAN preset 'cifar100'.*cifar10"):
        ascendgan.models.biggan("cifar100")
    with pytest.raises(ValueError, match=r"Unknown BigGAN override key\(s\) \['width'\].*base_channels"):
        ascendgan.models.biggan("cifar10", width=3)


def test_factory_trains_a_tiny_biggan():
    gan = ascendgan.models.biggan(
        "cifar10", base_channels=2, latent_dim=8, shared_embedding_dim=4, num_classes=3,
        attention_resolutions=(16,), seed=0, ema_start=0,
    )
    gan.compile()
    assert gan.discriminator_steps == 2 and gan.generator_orthogonal == 1e-4
    assert float(gan.generator_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(gan.discriminator_optimizer.learning_rate) == pytest.approx(4e-4)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    labels = rng.integers(0, 3, 8).astype("int32")
    history = gan.fit(images, labels, batch_size=2, epochs=1, verbose=0)
    assert int(gan.generator_optimizer.iterations) == 2 and int(gan.discriminator_optimizer.iterations) == 4
    assert np.isfinite(history.history["d_loss"][0])
    samples = gan.generate(3, labels=[0, 1, 2], truncation=2.0, seed=1)
    assert samples.shape == (3, 32, 32, 3) and np.abs(samples).max() <= 1
