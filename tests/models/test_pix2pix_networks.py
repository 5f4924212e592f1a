"""U-Net generator and PatchGAN discriminator against the pix2pix reference architecture.

Independent references: the authors' parameter counts (unet_256, the 3-layer
NLayerDiscriminator), formulas written out from the paper's layer lists, forward passes
re-implemented here with raw TensorFlow ops and PyTorch-style explicit padding, and the
receptive field measured from input gradients.
"""

import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.models import get_family
from ascendgan.models.pix2pix import (
    PatchGANDiscriminator,
    UNetGenerator,
    patchgan_receptive_field,
    pix2pix_presets,
)
from ascendgan.testing import run_layer_test

keras = compat.keras


def trainable_count(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def layers_of(model, class_name):
    return [layer for layer in model.layers if type(layer).__name__ == class_name]


def randomize_batch_norms(model, rng):
    for layer in layers_of(model, "BatchNormalization"):
        shape = tuple(layer.gamma.shape)
        layer.gamma.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        layer.beta.assign(rng.normal(0.0, 0.3, shape).astype("float32"))
        layer.moving_mean.assign(rng.normal(0.0, 0.3, shape).astype("float32"))
        layer.moving_variance.assign(rng.uniform(0.5, 2.0, shape).astype("float32"))


def bn_inference(x, layer):
    gamma, beta = np.asarray(layer.gamma), np.asarray(layer.beta)
    mean, var = np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)
    return gamma * (x - mean) / tf.sqrt(var + 1e-5) + beta


def conv_pad1(x, layer, stride):
    """PyTorch Conv2d(k=4, stride, padding=1), with the layer's kernel (and bias)."""
    x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    y = tf.nn.conv2d(x, np.asarray(layer.kernel), stride, "VALID")
    return y + np.asarray(layer.bias) if layer.use_bias else y


def deconv_pad1(x, layer):
    """PyTorch ConvTranspose2d(k=4, stride=2, padding=1): full transposed conv cropped by 1."""
    kernel = np.asarray(layer.kernel)
    n, h, w, _ = x.shape
    y = tf.nn.conv2d_transpose(x, kernel, (n, 2 * h + 2, 2 * w + 2, kernel.shape[2]), 2, "VALID")
    y = y[:, 1:-1, 1:-1, :]
    return y + np.asarray(layer.bias) if layer.use_bias else y


def reference_unet(model, x):
    """The authors' UnetGenerator forward pass, inference mode (dropout off)."""
    n = model.num_downsamplings
    downs = layers_of(model, "Conv2D")
    ups = layers_of(model, "Conv2DTranspose")
    norms = iter(layers_of(model, "BatchNormalization"))
    assert len(downs) == len(ups) == n
    h = conv_pad1(x, downs[0], 2)
    skips = [h]
    for i in range(1, n):
        h = conv_pad1(tf.nn.leaky_relu(h, 0.2), downs[i], 2)
        if i < n - 1:  # the innermost level has no BN
            h = bn_inference(h, next(norms))
        skips.append(h)
    for step in range(n):
        level = n - 1 - step
        if step > 0:
            h = tf.concat([skips[level], h], axis=-1)  # torch.cat([x, model(x)], 1)
        h = deconv_pad1(tf.nn.relu(h), ups[step])
        if level > 0:
            h = bn_inference(h, next(norms))
    assert next(norms, None) is None
    return tf.tanh(h)


def reference_patchgan(model, x):
    """The authors' NLayerDiscriminator forward pass, inference mode."""
    convs = layers_of(model, "Conv2D")
    norms = iter(layers_of(model, "BatchNormalization"))
    strides = [2] * model.num_layers + [1, 1]
    assert len(convs) == len(strides)
    for i, (conv, stride) in enumerate(zip(convs, strides)):
        x = conv_pad1(x, conv, stride)
        if 0 < i < len(convs) - 1:
            x = bn_inference(x, next(norms))
        if i < len(convs) - 1:
            x = tf.nn.leaky_relu(x, 0.2)
    return x


# ----------------------------------------------------------------------------- parameter counts


def test_reference_parameter_counts():
    generator = UNetGenerator(image_size=256, base_filters=64)
    generator.build((None, 256, 256, 3))
    assert generator.num_downsamplings == 8
    assert trainable_count(generator) == 54_413_955
    discriminator = PatchGANDiscriminator(num_layers=3, base_filters=64)
    discriminator.build([(None, 256, 256, 3), (None, 256, 256, 3)])
    assert trainable_count(discriminator) == 2_768_705
    # Only the U-Net's output layer and the PatchGAN's first and last convolutions have biases.
    biases = [tuple(w.shape) for w in generator.weights if compat.variable_name(w) == "bias"]
    assert biases == [(3,)]
    biases = [tuple(w.shape) for w in discriminator.weights if compat.variable_name(w) == "bias"]
    assert biases == [(64,), (1,)]


def unet_formula(input_channels, output_channels, base, n):
    """Trainable parameters of the U-Net, from the paper's C64-C128-... layer list."""
    f = [base * min(2**i, 8) for i in range(n)]
    params = 16 * input_channels * f[0]  # outermost down: no bias, no BN
    for i in range(1, n):
        params += 16 * f[i - 1] * f[i] + (2 * f[i] if i < n - 1 else 0)
    params += 16 * f[n - 1] * f[n - 2] + 2 * f[n - 2]  # innermost up, no concat
    for level in range(n - 2, 0, -1):
        params += 16 * (2 * f[level]) * f[level - 1] + 2 * f[level - 1]
    params += 16 * (2 * f[0]) * output_channels + output_channels  # outermost up: bias
    return params


def patchgan_formula(channels, base, num_layers):
    f = [base * min(2**i, 8) for i in range(num_layers + 1)]
    params = 16 * channels * f[0] + f[0]
    for i in range(1, num_layers + 1):
        params += 16 * f[i - 1] * f[i] + 2 * f[i]
    return params + 16 * f[num_layers] + 1


def test_formulas_reproduce_the_reference_counts():
    assert unet_formula(3, 3, 64, 8) == 54_413_955
    assert patchgan_formula(6, 64, 3) == 2_768_705
    # U-Net-4 with base 4 by hand: downs 3->4 (192), 4->8 (512)+16, 8->16 (2048)+32,
    # 16->32 (8192); ups 32->16 (8192)+32, 32->8 (4096)+16, 16->4 (1024)+8, 8->3 (384)+3.
    assert unet_formula(3, 3, 4, 4) == (
        192 + 512 + 16 + 2048 + 32 + 8192 + 8192 + 32 + 4096 + 16 + 1024 + 8 + 384 + 3
    )


@pytest.mark.parametrize(
    "image_size, in_ch, out_ch, base, n",
    [(16, 3, 3, 4, 4), (32, 1, 2, 3, None), (64, 3, 3, 2, 4), (128, 3, 3, 2, None)],
)
def test_unet_parameter_formula(image_size, in_ch, out_ch, base, n):
    generator = UNetGenerator(
        image_size=image_size, input_channels=in_ch, output_channels=out_ch, base_filters=base,
        num_downsamplings=n,
    )
    generator.build((None, image_size, image_size, in_ch))
    levels = n or int(np.log2(image_size))
    assert generator.num_downsamplings == levels
    assert trainable_count(generator) == unet_formula(in_ch, out_ch, base, levels)


@pytest.mark.parametrize("num_layers, in_ch, target_ch, base", [(1, 3, 3, 4), (2, 1, 2, 3), (4, 3, 3, 2)])
def test_patchgan_parameter_formula(num_layers, in_ch, target_ch, base):
    discriminator = PatchGANDiscriminator(
        num_layers=num_layers, base_filters=base, input_channels=in_ch, target_channels=target_ch
    )
    discriminator.build([(None, 64, 64, in_ch), (None, 64, 64, target_ch)])
    assert trainable_count(discriminator) == patchgan_formula(in_ch + target_ch, base, num_layers)


# ----------------------------------------------------------------------------- U-Net behaviour


@pytest.mark.parametrize("image_size, levels", [(256, 8), (128, 7)])
def test_unet_shapes_range_and_reference(image_size, levels, rng):
    generator = UNetGenerator(image_size=image_size, base_filters=2)
    assert generator.num_downsamplings == levels
    x = rng.uniform(-1, 1, (1, image_size, image_size, 3)).astype("float32")
    generator(x)
    randomize_batch_norms(generator, rng)
    y = np.asarray(generator(x, training=False))
    assert y.shape == (1, image_size, image_size, 3)
    np.testing.assert_allclose(y, reference_unet(generator, x), rtol=1e-4, atol=1e-5)
    output_conv = layers_of(generator, "Conv2DTranspose")[-1]
    output_conv.kernel.assign(1e4 * np.asarray(output_conv.kernel))
    big = np.asarray(generator(x, training=False))
    assert np.all(np.abs(big) <= 1.0) and big.min() < -0.99 and big.max() > 0.99


def test_unet_skip_connections(rng):
    """Every skip is wired: with the encoder cut below level k, the output still follows the input."""
    n = 4
    generator = UNetGenerator(image_size=16, base_filters=4, num_downsamplings=n)
    x1 = rng.uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    x2 = rng.uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    generator(x1)
    # Structure: n - 1 concatenations, and each inner decoder layer reads twice the channels
    # its level's encoder produced.
    assert len(layers_of(generator, "Concatenate")) == n - 1
    downs = layers_of(generator, "Conv2D")
    ups = layers_of(generator, "Conv2DTranspose")
    assert ups[0].kernel.shape[3] == downs[n - 1].kernel.shape[3]
    for step in range(1, n):
        assert ups[step].kernel.shape[3] == 2 * downs[n - 1 - step].kernel.shape[3]
    # Behaviour: zeroing the kernel of encoder level k makes everything below it constant, so
    # the output can depend on the input only through the skips of levels < k.
    for level in range(1, n):
        cut = UNetGenerator(image_size=16, base_filters=4, num_downsamplings=n)
        cut(x1)
        randomize_batch_norms(cut, rng)
        conv = layers_of(cut, "Conv2D")[level]
        conv.kernel.assign(np.zeros(conv.kernel.shape, "float32"))
        y1 = np.asarray(cut(x1, training=False))
        y2 = np.asarray(cut(x2, training=False))
        assert np.max(np.abs(y1 - y2)) > 1e-4, f"no skip path around level {level}"
        np.testing.assert_allclose(y1, reference_unet(cut, x1), rtol=1e-4, atol=1e-5)
    # Without skips (a plain encoder-decoder), the same cut makes the output constant.
    np.testing.assert_allclose(
        np.asarray(no_skip_reference(cut, x1)), np.asarray(no_skip_reference(cut, x2)), atol=1e-6
    )


def no_skip_reference(model, x):
    """The U-Net with its skips replaced by zeros: the cut network forgets its input."""
    n = model.num_downsamplings
    downs = layers_of(model, "Conv2D")
    ups = layers_of(model, "Conv2DTranspose")
    norms = iter(layers_of(model, "BatchNormalization"))
    h = conv_pad1(x, downs[0], 2)
    for i in range(1, n):
        h = conv_pad1(tf.nn.leaky_relu(h, 0.2), downs[i], 2)
        if i < n - 1:
            h = bn_inference(h, next(norms))
    for step in range(n):
        if step > 0:
            h = tf.concat([tf.zeros_like(h), h], axis=-1)
        h = deconv_pad1(tf.nn.relu(h), ups[step])
        if step < n - 1:
            h = bn_inference(h, next(norms))
    return tf.tanh(h)


def test_unet_dropout_placement_and_training_flag(rng):
    generator = UNetGenerator(image_size=32, base_filters=4)  # 5 levels
    x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    generator(x)
    # Dropout after the BN of the first three decoder layers (the paper's CD512-CD1024-CD1024).
    kinds = [type(layer).__name__ for layer in generator.decoder_layers]
    expected = (
        ["ReLU", "Conv2DTranspose", "BatchNormalization", "Dropout"]
        + ["Concatenate", "ReLU", "Conv2DTranspose", "BatchNormalization", "Dropout"] * 2
        + ["Concatenate", "ReLU", "Conv2DTranspose", "BatchNormalization"]
        + ["Concatenate", "ReLU", "Conv2DTranspose", "Activation"]
    )
    assert kinds == expected
    assert all(layer.rate == 0.5 for layer in layers_of(generator, "Dropout"))
    # training=True keeps dropout on (pix2pix's test-time noise); inference is deterministic.
    a = np.asarray(generator(x, training=True))
    b = np.asarray(generator(x, training=True))
    assert np.max(np.abs(a - b)) > 1e-3
    np.testing.assert_array_equal(
        np.asarray(generator(x, training=False)), np.asarray(generator(x, training=False))
    )
    # With dropout 0, training calls are deterministic (batch statistics only).
    still = UNetGenerator(image_size=32, base_filters=4, dropout=0.0)
    np.testing.assert_allclose(
        np.asarray(still(x, training=True)), np.asarray(still(x, training=True)), atol=1e-6
    )
    assert not layers_of(still, "Dropout")


def test_unet_accepts_other_sizes_divisible_by_its_depth(rng):
    generator = UNetGenerator(image_size=32, base_filters=2, num_downsamplings=3)
    y = generator(rng.uniform(-1, 1, (1, 24, 40, 3)).astype("float32"))
    assert tuple(y.shape) == (1, 24, 40, 3)


# ----------------------------------------------------------------------------- PatchGAN


def receptive_field_from_layers(model):
    """r += (k - 1) * jump; jump *= stride, over the built model's convolutions."""
    field, jump = 1, 1
    for layer in model.layers:
        if hasattr(layer, "kernel") and hasattr(layer, "strides"):
            assert layer.kernel_size[0] == layer.kernel.shape[0]
            field += (layer.kernel_size[0] - 1) * jump
            jump *= layer.strides[0]
    return field


@pytest.mark.parametrize("num_layers, field", [(1, 16), (2, 34), (3, 70), (4, 142)])
def test_patchgan_receptive_field(num_layers, field):
    discriminator = PatchGANDiscriminator(num_layers=num_layers, base_filters=2)
    discriminator.build([(None, 256, 256, 3)] * 2)
    assert receptive_field_from_layers(discriminator) == field
    assert discriminator.receptive_field == field
    assert patchgan_receptive_field(num_layers) == field


@pytest.mark.parametrize("num_layers, size", [(3, 128), (2, 64)])
def test_patchgan_receptive_field_from_gradients(num_layers, size, rng):
    """One logit's input gradient is non-zero on exactly a field x field window."""
    discriminator = PatchGANDiscriminator(num_layers=num_layers, base_filters=2)
    source = tf.constant(rng.uniform(-1, 1, (1, size, size, 3)).astype("float32"))
    target = tf.constant(rng.uniform(-1, 1, (1, size, size, 3)).astype("float32"))
    discriminator([source, target])
    randomize_batch_norms(discriminator, rng)
    with tf.GradientTape() as tape:
        tape.watch([source, target])
        logits = discriminator([source, target], training=False)  # per-sample, no batch coupling
        centre = logits.shape[1] // 2
        logit = logits[0, centre, centre, 0]
    grads = tape.gradient(logit, [source, target])
    touched = np.any(np.abs(np.concatenate([np.asarray(g) for g in grads], -1))[0] > 0, axis=-1)
    rows, cols = np.nonzero(touched)
    extent = (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    assert rows.min() > 0 and cols.min() > 0 and rows.max() < size - 1  # not clipped by the border
    assert extent == (discriminator.receptive_field,) * 2
    assert touched.sum() == discriminator.receptive_field**2


def test_patchgan_output_map_and_reference(rng):
    discriminator = PatchGANDiscriminator(base_filters=2)
    source = rng.uniform(-1, 1, (1, 256, 256, 3)).astype("float32")
    target = rng.uniform(-1, 1, (1, 256, 256, 3)).astype("float32")
    discriminator([source, target])
    randomize_batch_norms(discriminator, rng)
    logits = np.asarray(discriminator([source, target], training=False))
    assert logits.shape == (1, 30, 30, 1)
    reference = reference_patchgan(discriminator, np.concatenate([source, target], -1))
    np.testing.assert_allclose(logits, reference, rtol=1e-4, atol=1e-5)
    # One pre-concatenated tensor is the same as the pair.
    single = discriminator(np.concatenate([source, target], -1), training=False)
    np.testing.assert_allclose(np.asarray(single), logits, atol=1e-6)
    big = PatchGANDiscriminator()
    assert big.compute_output_shape([(None, 256, 256, 3)] * 2) == (None, 30, 30, 1)


def test_unconditional_patchgan(rng):
    discriminator = PatchGANDiscriminator(num_layers=2, base_filters=2, target_channels=0)
    y = discriminator(rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32"))
    assert tuple(y.shape) == (2, 6, 6, 1)


# ----------------------------------------------------------------------------- serialization


@pytest.mark.parametrize(
    "cls, kwargs, input_shape, output_shape",
    [
        (UNetGenerator, {"image_size": 16, "base_filters": 4}, (2, 16, 16, 3), (2, 16, 16, 3)),
        (UNetGenerator, {"image_size": 32, "input_channels": 1, "output_channels": 2,
                         "base_filters": 2, "num_downsamplings": 3, "dropout": 0.0},
         (2, 32, 32, 1), (2, 32, 32, 2)),
        (PatchGANDiscriminator, {"num_layers": 2, "base_filters": 4},
         [(2, 32, 32, 3), (2, 32, 32, 3)], (2, 6, 6, 1)),
    ],
)
def test_run_layer_test(cls, kwargs, input_shape, output_shape):
    dtypes = ["float32"] * len(input_shape) if isinstance(input_shape, list) else "float32"
    run_layer_test(
        cls, kwargs, input_shape=input_shape, input_dtype=dtypes,
        expected_output_shape=output_shape,
    )


@pytest.mark.parametrize("which", ["unet", "patchgan"])
def test_network_save_load_and_config_round_trip(which, rng):
    x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    if which == "unet":
        model = UNetGenerator(image_size=32, base_filters=2, dropout_layers=2)
        inputs = x
    else:
        model = PatchGANDiscriminator(num_layers=2, base_filters=2, input_channels=3)
        inputs = [x, x[::-1]]
    model(inputs, training=True)  # moves the BN statistics away from their initial values
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    expected = np.asarray(model(inputs, training=False))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "network.keras")
        model.save(path)
        restored = keras.models.load_model(path)
    assert type(restored) is type(model)
    assert restored.get_config() == config
    np.testing.assert_array_equal(np.asarray(restored(inputs, training=False)), expected)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "cls, kwargs, fragment",
    [
        (UNetGenerator, {"image_size": 100}, "image_size=100"),
        (UNetGenerator, {"image_size": 2}, "image_size=2"),
        (UNetGenerator, {"image_size": 64, "num_downsamplings": 7}, "num_downsamplings=7"),
        (UNetGenerator, {"num_downsamplings": 1}, "num_downsamplings=1"),
        (UNetGenerator, {"dropout": 1.0}, "dropout=1.0"),
        (UNetGenerator, {"dropout_layers": -1}, "dropout_layers=-1"),
        (UNetGenerator, {"base_filters": 0}, "base_filters=0"),
        (PatchGANDiscriminator, {"num_layers": 0}, "num_layers=0"),
        (PatchGANDiscriminator, {"input_channels": 0}, "input_channels=0"),
        (PatchGANDiscriminator, {"target_channels": -1}, "target_channels=-1"),
    ],
)
def test_bad_constructor_arguments(cls, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace(".", r"\.")) as info:
        cls(**kwargs)
    assert f"`{fragment.split('=')[0]}`" in str(info.value)


def test_bad_call_inputs():
    generator = UNetGenerator(image_size=32, base_filters=2)
    with pytest.raises(ValueError, match=r"multiples of 2\*\*num_downsamplings = 32.*\(1, 48, 48, 3\)"):
        generator(np.zeros((1, 48, 48, 3), "float32"))
    with pytest.raises(ValueError, match=r"\(1, 32, 32, 1\)"):
        UNetGenerator(image_size=32, base_filters=2)(np.zeros((1, 32, 32, 1), "float32"))
    discriminator = PatchGANDiscriminator(base_filters=2, input_channels=1, target_channels=3)
    with pytest.raises(ValueError, match="1 and 3 channels"):
        discriminator([np.zeros((1, 32, 32, 3), "float32")] * 2)
    with pytest.raises(ValueError, match="= 4 channels"):
        PatchGANDiscriminator(base_filters=2, input_channels=1)(np.zeros((1, 32, 32, 3), "float32"))
    with pytest.raises(ValueError, match="num_layers=-2"):
        patchgan_receptive_field(-2)


# ----------------------------------------------------------------------------- presets


def test_presets_hold_the_documented_configuration():
    facades = get_family("pix2pix").preset("facades")
    assert facades.network["image_size"] == 256 and facades.network["num_downsamplings"] == 8
    assert (facades.network["input_channels"], facades.network["output_channels"]) == (3, 3)
    assert facades.schedule.batch_size == 1 and facades.schedule.epochs == 200
    assert (facades.optimizer.generator_learning_rate, facades.optimizer.beta_1) == (2e-4, 0.5)
    assert facades.gan["l1_weight"] == 100.0
    assert (facades.data.load_size, facades.data.crop_size, facades.data.direction) == (286, 256, "BtoA")
    assert facades.network["discriminator_layers"] == 3
    small = get_family("pix2pix").preset("facades_128")
    assert (small.network["image_size"], small.network["num_downsamplings"], small.data.crop_size) == (128, 7, 128)
    for preset in pix2pix_presets.PIX2PIX_PRESETS.values():
        assert 2 ** preset.network["num_downsamplings"] == preset.network["image_size"] == preset.data.crop_size
        assert preset.data.load_size >= preset.data.crop_size


def test_facades_preset_is_the_reference_configuration():
    """The preset builds the networks whose counts test_reference_parameter_counts checks."""

    def without_name(model):
        return {k: v for k, v in model.get_config().items() if k != "name"}

    preset = get_family("pix2pix").preset("facades")
    generator = UNetGenerator(**pix2pix_presets.generator_kwargs(preset))
    assert without_name(generator) == without_name(UNetGenerator(image_size=256, base_filters=64))
    discriminator = PatchGANDiscriminator(**pix2pix_presets.discriminator_kwargs(preset))
    assert without_name(discriminator) == without_name(
        PatchGANDiscriminator(num_layers=3, base_filters=64, input_channels=3, target_channels=3)
    )
    assert discriminator.receptive_field == 70


@pytest.mark.parametrize("name", sorted(pix2pix_presets.PIX2PIX_PRESETS))
def test_presets_build_tiny_networks(name):
    preset = get_family("pix2pix").preset(name, {"base_filters": 1, "discriminator_base_filters": 1})
    generator = UNetGenerator(**pix2pix_presets.generator_kwargs(preset))
    size, channels = preset.network["image_size"], preset.network["input_channels"]
    fake = generator(np.zeros((1, size, size, channels), "float32"))
    assert tuple(fake.shape) == (1, size, size, preset.network["output_channels"])
    discriminator = PatchGANDiscriminator(**pix2pix_presets.discriminator_kwargs(preset))
    assert discriminator([np.zeros((1, size, size, channels), "float32"), fake]).shape[-1] == 1


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown Pix2Pix preset 'maps'.*edges2shoes.*facades"):
        get_family("pix2pix").preset("maps")
