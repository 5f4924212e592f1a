"""DCGAN generator and discriminator against the reference architecture.

Independent references: the published parameter counts of the reference DCGAN at
64x64, parameter formulas written out from the architecture, and a forward pass
re-implemented here with raw TensorFlow ops and PyTorch-style explicit padding.
"""

import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.models import get_family
from ascendgan.models.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_presets
from ascendgan.optimizers import AdamSettings
from ascendgan.testing import run_layer_test

keras = compat.keras


def trainable_count(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def layers_of(model, class_name):
    return [layer for layer in model.layers if type(layer).__name__ == class_name]


def randomize_batch_norms(model, rng):
    """Non-trivial BN parameters and moving statistics, so inference-mode BN is not ~identity."""
    for layer in layers_of(model, "BatchNormalization"):
        shape = tuple(layer.gamma.shape)
        layer.gamma.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        layer.beta.assign(rng.normal(0.0, 0.3, shape).astype("float32"))
        layer.moving_mean.assign(rng.normal(0.0, 0.3, shape).astype("float32"))
        layer.moving_variance.assign(rng.uniform(0.5, 2.0, shape).astype("float32"))


# ----------------------------------------------------------------------------- references


def bn_inference(x, layer):
    gamma, beta = np.asarray(layer.gamma), np.asarray(layer.beta)
    mean, var = np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)
    return gamma * (x - mean) / tf.sqrt(var + 1e-5) + beta


def conv_pad1(x, kernel, stride):
    """PyTorch Conv2d(k, stride, padding=1)."""
    x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    return tf.nn.conv2d(x, kernel, stride, "VALID")


def deconv_pad1(x, kernel, stride):
    """PyTorch ConvTranspose2d(k=4, stride=2, padding=1): full transposed conv, cropped by 1."""
    n, h, w, _ = x.shape
    k = kernel.shape[0]
    out = (n, (h - 1) * stride + k, (w - 1) * stride + k, kernel.shape[2])
    y = tf.nn.conv2d_transpose(x, kernel, out, stride, "VALID")
    return y[:, 1:-1, 1:-1, :]


def reference_generator(model, z, labels=None):
    """DCGAN G: [z, onehot] -> Dense -> reshape -> (BN, ReLU, ConvT)* -> tanh."""
    denses = layers_of(model, "Dense")
    deconvs = layers_of(model, "Conv2DTranspose")
    norms = layers_of(model, "BatchNormalization")
    assert len(denses) == 1 and len(norms) == len(deconvs)
    if labels is not None:
        z = np.concatenate([z, np.eye(model.num_classes, dtype="float32")[labels]], axis=-1)
    start = {28: 7}.get(model.image_size, 4)
    x = tf.matmul(z, np.asarray(denses[0].kernel))
    x = tf.reshape(x, (len(z), start, start, -1))
    for deconv, norm in zip(deconvs, norms):
        x = deconv_pad1(tf.nn.relu(bn_inference(x, norm)), np.asarray(deconv.kernel), 2)
    return tf.tanh(x)


def reference_discriminator(model, images, labels=None):
    """DCGAN D: [x, onehot maps] -> Conv -> LReLU -> (Conv, BN, LReLU)* -> flatten -> Dense."""
    convs = layers_of(model, "Conv2D")
    norms = layers_of(model, "BatchNormalization")
    assert len(norms) == len(convs) - 1
    x = images
    if labels is not None:
        onehot = np.eye(model.num_classes, dtype="float32")[labels][:, None, None, :]
        x = np.concatenate([x, np.broadcast_to(onehot, x.shape[:3] + onehot.shape[3:])], -1)
    for i, conv in enumerate(convs):
        x = conv_pad1(x, np.asarray(conv.kernel), 2)
        if i > 0:
            x = bn_inference(x, norms[i - 1])
        x = tf.nn.leaky_relu(x, 0.2)
    x = tf.reshape(x, (len(images), -1))
    return tf.matmul(x, np.asarray(layers_of(model, "Dense")[0].kernel))


# ----------------------------------------------------------------------------- parameter counts


def test_reference_parameter_counts_at_64x64():
    generator = DCGANGenerator(image_size=64, channels=3, base_filters=64, latent_dim=100)
    generator.build((None, 100))
    discriminator = DCGANDiscriminator(image_size=64, channels=3, base_filters=64)
    discriminator.build((None, 64, 64, 3))
    assert trainable_count(generator) == 3_576_704
    assert trainable_count(discriminator) == 2_765_568
    # Layer-by-layer (G): Dense 100->4*4*512, BN 512, ConvT 512->256, BN, 256->128, BN,
    # 128->64, BN, 64->3; nothing has a bias.
    expected_g = (
        100 * 4 * 4 * 512 + 2 * 512
        + 16 * 512 * 256 + 2 * 256
        + 16 * 256 * 128 + 2 * 128
        + 16 * 128 * 64 + 2 * 64
        + 16 * 64 * 3
    )
    expected_d = (
        16 * 3 * 64
        + 16 * 64 * 128 + 2 * 128
        + 16 * 128 * 256 + 2 * 256
        + 16 * 256 * 512 + 2 * 512
        + 4 * 4 * 512
    )
    assert (expected_g, expected_d) == (3_576_704, 2_765_568)
    for model in (generator, discriminator):
        assert not [w for w in model.weights if compat.variable_name(w) == "bias"]
    # Moving statistics are non-trainable: two per BN channel.
    assert sum(np.prod(w.shape) for w in generator.non_trainable_weights) == 2 * (512 + 256 + 128 + 64)


def dcgan_formula(image_size, channels, base, latent, num_classes, k):
    """Trainable parameters of both networks, from the architecture description."""
    start = 7 if image_size == 28 else 4
    steps = int(np.log2(image_size // start))
    widths = [base * 2**i for i in range(steps)]  # D's convolutions; G mirrors them
    extra = num_classes or 0
    g = (latent + extra) * start * start * widths[-1] + 2 * widths[-1]
    for wide, narrow in zip(widths[::-1][:-1], widths[::-1][1:]):
        g += k * k * wide * narrow + 2 * narrow
    g += k * k * widths[0] * channels
    d = k * k * (channels + extra) * widths[0]
    for narrow, wide in zip(widths[:-1], widths[1:]):
        d += k * k * narrow * wide + 2 * wide
    d += start * start * widths[-1]
    return g, d


@pytest.mark.parametrize(
    "image_size, channels, base, latent, num_classes, k",
    [(32, 3, 4, 8, None, 4), (28, 1, 4, 8, 10, 4), (16, 2, 3, 5, None, 5), (64, 3, 2, 4, 3, 4)],
)
def test_parameter_formula_for_tiny_configs(image_size, channels, base, latent, num_classes, k):
    generator = DCGANGenerator(
        image_size=image_size, channels=channels, base_filters=base, latent_dim=latent,
        num_classes=num_classes, kernel_size=k,
    )
    discriminator = DCGANDiscriminator(
        image_size=image_size, channels=channels, base_filters=base, num_classes=num_classes,
        kernel_size=k,
    )
    if num_classes:
        generator.build([(None, latent), (None,)])
        discriminator.build([(None, image_size, image_size, channels), (None,)])
    else:
        generator.build((None, latent))
        discriminator.build((None, image_size, image_size, channels))
    assert (trainable_count(generator), trainable_count(discriminator)) == dcgan_formula(
        image_size, channels, base, latent, num_classes, k
    )


def test_formula_worked_example():
    # 32x32x3, base 4, z 8: Dense 8->4*4*16 (2048) + BN 32; ConvT 16->8 (2048) + BN 16;
    # ConvT 8->4 (512) + BN 8; ConvT 4->3 (192).
    assert dcgan_formula(32, 3, 4, 8, None, 4)[0] == 2048 + 32 + 2048 + 16 + 512 + 8 + 192


# ----------------------------------------------------------------------------- forward passes


@pytest.mark.parametrize("image_size, channels", [(28, 1), (32, 3), (64, 3)])
def test_generator_shapes_range_and_reference(image_size, channels, rng):
    generator = DCGANGenerator(
        image_size=image_size, channels=channels, base_filters=4, latent_dim=6
    )
    z = rng.uniform(-1, 1, (3, 6)).astype("float32")
    generator(z)
    randomize_batch_norms(generator, rng)
    images = np.asarray(generator(z, training=False))
    assert images.shape == (3, image_size, image_size, channels)
    np.testing.assert_allclose(images, reference_generator(generator, z), rtol=1e-4, atol=1e-5)
    # tanh output: a huge output kernel saturates the image, which stays in [-1, 1].
    output_conv = layers_of(generator, "Conv2DTranspose")[-1]
    output_conv.kernel.assign(1e4 * np.asarray(output_conv.kernel))
    big = np.asarray(generator(z, training=False))
    assert np.all(np.abs(big) <= 1.0) and big.min() < -0.99 and big.max() > 0.99


@pytest.mark.parametrize("image_size, channels", [(28, 1), (32, 3), (64, 3)])
def test_discriminator_shapes_and_reference(image_size, channels, rng):
    discriminator = DCGANDiscriminator(image_size=image_size, channels=channels, base_filters=4)
    images = rng.uniform(-1, 1, (3, image_size, image_size, channels)).astype("float32")
    discriminator(images)
    randomize_batch_norms(discriminator, rng)
    logits = np.asarray(discriminator(images, training=False))
    assert logits.shape == (3, 1)
    np.testing.assert_allclose(
        logits, reference_discriminator(discriminator, images), rtol=1e-4, atol=1e-5
    )


def test_class_conditioning_matches_reference_and_uses_labels(rng):
    generator = DCGANGenerator(image_size=16, base_filters=4, latent_dim=6, num_classes=5)
    discriminator = DCGANDiscriminator(image_size=16, base_filters=4, num_classes=5)
    z = rng.standard_normal((4, 6)).astype("float32")
    labels = np.array([0, 1, 4, 2], "int32")
    images = np.asarray(generator([z, labels]))
    discriminator([images, labels])
    randomize_batch_norms(generator, rng)
    randomize_batch_norms(discriminator, rng)
    images = np.asarray(generator([z, labels]))
    np.testing.assert_allclose(images, reference_generator(generator, z, labels), rtol=1e-4, atol=1e-5)
    logits = np.asarray(discriminator([images, labels]))
    np.testing.assert_allclose(
        logits, reference_discriminator(discriminator, images, labels), rtol=1e-4, atol=1e-5
    )
    # Labels of shape (batch, 1) work too; other labels give other outputs.
    np.testing.assert_allclose(np.asarray(generator([z, labels[:, None]])), images, atol=1e-6)
    other = (labels + 1) % 5
    assert not np.allclose(np.asarray(generator([z, other])), images)
    assert not np.allclose(np.asarray(discriminator([images, other])), logits)
    # The first D convolution sees channels + num_classes inputs.
    assert layers_of(discriminator, "Conv2D")[0].kernel.shape[2] == 3 + 5


def test_batch_norm_follows_training_flag(rng):
    generator = DCGANGenerator(image_size=16, base_filters=4, latent_dim=6)
    z = rng.standard_normal((8, 6)).astype("float32")
    inference = np.asarray(generator(z, training=False))
    norm = layers_of(generator, "BatchNormalization")[0]
    before = np.asarray(norm.moving_mean).copy()
    training = np.asarray(generator(z, training=True))
    assert not np.allclose(training, inference)
    assert not np.allclose(np.asarray(norm.moving_mean), before)
    np.testing.assert_allclose(np.asarray(generator(z, training=False)), np.asarray(generator(z)))


# ----------------------------------------------------------------------------- serialization


@pytest.mark.parametrize(
    "cls, kwargs, input_shape, input_dtype, output_shape",
    [
        (DCGANGenerator, {"image_size": 16, "base_filters": 4, "latent_dim": 8}, (2, 8),
         "float32", (2, 16, 16, 3)),
        (DCGANGenerator, {"image_size": 28, "channels": 1, "base_filters": 4, "latent_dim": 8,
                          "num_classes": 3}, [(2, 8), (2,)], ["float32", "int32"], (2, 28, 28, 1)),
        (DCGANDiscriminator, {"image_size": 16, "base_filters": 4}, (2, 16, 16, 3), "float32",
         (2, 1)),
        (DCGANDiscriminator, {"image_size": 16, "base_filters": 4, "num_classes": 3},
         [(2, 16, 16, 3), (2,)], ["float32", "int32"], (2, 1)),
    ],
)
def test_run_layer_test(cls, kwargs, input_shape, input_dtype, output_shape):
    run_layer_test(
        cls, kwargs, input_shape=input_shape, input_dtype=input_dtype,
        expected_output_shape=output_shape,
    )


@pytest.mark.parametrize("conditional", [False, True])
def test_network_save_load_and_config_round_trip(conditional, rng):
    num_classes = 3 if conditional else None
    generator = DCGANGenerator(image_size=16, base_filters=4, latent_dim=8, num_classes=num_classes)
    discriminator = DCGANDiscriminator(image_size=16, base_filters=4, num_classes=num_classes)
    z = rng.standard_normal((2, 8)).astype("float32")
    labels = np.array([2, 0], "int32")
    g_in = [z, labels] if conditional else z
    generator(g_in, training=True)  # moves the BN statistics away from their initial values
    images = np.asarray(generator(g_in))
    d_in = [images, labels] if conditional else images
    discriminator(d_in, training=True)
    for model, inputs in ((generator, g_in), (discriminator, d_in)):
        config = model.get_config()
        clone = type(model).from_config(config)
        assert clone.get_config() == config
        assert config["num_classes"] == num_classes
        expected = np.asarray(model(inputs, training=False))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "network.keras")
            model.save(path)
            restored = keras.models.load_model(path)
        assert type(restored) is type(model)
        np.testing.assert_array_equal(np.asarray(restored(inputs, training=False)), expected)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "cls, kwargs, fragment",
    [
        (DCGANGenerator, {"image_size": 48}, "image_size=48"),
        (DCGANDiscriminator, {"image_size": 100}, "image_size=100"),
        (DCGANGenerator, {"base_filters": 0}, "base_filters=0"),
        (DCGANGenerator, {"latent_dim": -1}, "latent_dim=-1"),
        (DCGANGenerator, {"num_classes": 0}, "num_classes=0"),
        (DCGANDiscriminator, {"channels": 2.0}, "channels=2.0"),
        (DCGANDiscriminator, {"kernel_size": True}, "kernel_size=True"),
    ],
)
def test_bad_constructor_arguments(cls, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace(".", r"\.")) as info:
        cls(**kwargs)
    assert f"`{fragment.split('=')[0]}`" in str(info.value)


def test_bad_call_inputs(rng):
    generator = DCGANGenerator(image_size=16, base_filters=2, latent_dim=8)
    with pytest.raises(ValueError, match="latent_dim=8"):
        generator(np.zeros((2, 7), "float32"))
    discriminator = DCGANDiscriminator(image_size=16, base_filters=2)
    with pytest.raises(ValueError, match=r"shape=\(2, 32, 32, 3\)"):
        discriminator(np.zeros((2, 32, 32, 3), "float32"))
    conditional = DCGANGenerator(image_size=16, base_filters=2, latent_dim=8, num_classes=4)
    with pytest.raises(ValueError, match="num_classes=4"):
        conditional(np.zeros((2, 8), "float32"))
    unconditional = DCGANGenerator(image_size=16, base_filters=2, latent_dim=8)
    unconditional(np.zeros((2, 8), "float32"))
    with pytest.raises(ValueError, match="num_classes=None"):
        unconditional([np.zeros((2, 8), "float32"), np.zeros((2,), "int32")])


# ----------------------------------------------------------------------------- presets


def test_presets_hold_the_documented_configuration():
    presets = dcgan_presets.DCGAN_PRESETS
    assert set(presets) >= {"mnist", "celeba", "cifar10"}
    assert (presets["mnist"].data.image_size, presets["mnist"].data.channels) == (28, 1)
    assert (presets["celeba"].data.image_size, presets["celeba"].data.crop_size) == (64, 108)
    assert (presets["cifar10"].data.image_size, presets["cifar10"].data.channels) == (32, 3)
    for preset in presets.values():
        assert preset.schedule.batch_size == 64 and preset.schedule.epochs == 25
        assert preset.optimizer == AdamSettings(2e-4, 2e-4, beta_1=0.5, beta_2=0.999)
        assert preset.network["latent_dim"] == preset.gan["latent_dim"] == 100
        assert preset.network["base_filters"] == 64
        assert preset.gan["latent_distribution"] in dcgan_presets.LATENT_DISTRIBUTIONS
        assert preset.schedule.sample_every == preset.schedule.checkpoint_every == 200
        assert preset.schedule.max_checkpoints == 1


@pytest.mark.parametrize("name", sorted(dcgan_presets.DCGAN_PRESETS))
def test_presets_build_networks(name):
    # keep the test small; the other sizes are the preset's
    preset = get_family("dcgan").preset(name, {"base_filters": 2})
    generator = DCGANGenerator(**dcgan_presets.generator_kwargs(preset))
    discriminator = DCGANDiscriminator(**dcgan_presets.discriminator_kwargs(preset))
    images = generator(np.zeros((1, preset.network["latent_dim"]), "float32"))
    size, channels = preset.data.image_size, preset.data.channels
    assert tuple(images.shape) == (1, size, size, channels)
    assert tuple(discriminator(images).shape) == (1, 1)


def test_celeba_preset_is_the_reference_network():
    preset = get_family("dcgan").preset("celeba")
    generator = DCGANGenerator(**dcgan_presets.generator_kwargs(preset))
    generator.build((None, preset.network["latent_dim"]))
    assert trainable_count(generator) == 3_576_704


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown DCGAN preset 'svhn'.*celeba.*cifar10.*mnist"):
        get_family("dcgan").preset("svhn")
    changed = get_family("dcgan").preset("mnist", {"channels": 3})
    assert changed.network["channels"] == changed.data.channels == 3  # both sections
    assert dcgan_presets.DCGAN_PRESETS["mnist"].network["channels"] == 1  # the table is unchanged
    with pytest.raises(TypeError):
        changed.network["channels"] = 1  # read-only sections


def test_tiny_generator_output_is_differentiable(rng):
    """Gradients reach every trainable weight of both networks (a fit-style step)."""
    generator = DCGANGenerator(image_size=16, base_filters=2, latent_dim=4)
    discriminator = DCGANDiscriminator(image_size=16, base_filters=2)
    z = rng.standard_normal((4, 4)).astype("float32")
    with tf.GradientTape() as tape:
        logits = discriminator(generator(z, training=True), training=True)
        loss = tf.reduce_mean(logits)
    weights = generator.trainable_weights + discriminator.trainable_weights
    grads = tape.gradient(loss, weights)
    assert all(g is not None and np.any(np.asarray(g) != 0) for g in grads)
