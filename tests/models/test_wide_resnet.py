"""WideResNet / WideResidualBlock: reference parameter counts, numpy forward passes,
config and saving round trips, presets and argument errors."""

import math
import os

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.models.classifiers import (
    WideResidualBlock,
    WideResNet,
    classifier_presets,
    wide_resnet,
)
from ascendgan.testing import run_layer_test

keras = compat.keras
EPS = 1e-5


def trainable_count(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def reference_count(depth, width, num_classes=10, channels=3):
    """Trainable parameters of the pre-activation WRN, counted from the paper's layout:
    conv3x3(16), 3 groups of n blocks (BN, conv3x3, BN, conv3x3 + 1x1 shortcut when the
    shape changes), final BN and a dense layer with bias."""
    n = (depth - 4) // 6
    total = 3 * 3 * channels * 16
    channels_in = 16
    for filters, first_stride in ((16 * width, 1), (32 * width, 2), (64 * width, 2)):
        for index in range(n):
            c = channels_in if index == 0 else filters
            stride = first_stride if index == 0 else 1
            total += 2 * c + 9 * c * filters + 2 * filters + 9 * filters * filters
            if c != filters or stride != 1:
                total += c * filters
        channels_in = filters
    return total + 2 * channels_in + channels_in * num_classes + num_classes


# ----------------------------------------------------------------------------- counts


def test_wrn_28_10_has_the_reference_36_5m_parameters():
    model = wide_resnet("wrn_28_10")
    assert trainable_count(model) == 36_479_194 == reference_count(28, 10)
    assert model.depth == 28 and model.width == 10 and model.num_classes == 10
    assert len(model.blocks) == 12
    # Non-trainable: the moving mean and variance of every batch norm (2 per block + final).
    # Group g: its first block normalizes c_in and w, the 3 others w and w each.
    bn_channels = (16 + 160 + 3 * 320) + (160 + 320 + 3 * 640) + (320 + 640 + 3 * 1280) + 640
    assert int(sum(np.prod(w.shape) for w in model.non_trainable_weights)) == 2 * bn_channels


def test_wrn_40_2_has_the_reference_2_2m_parameters():
    model = wide_resnet("wrn_40_2")
    assert trainable_count(model) == 2_243_546 == reference_count(40, 2)
    assert len(model.blocks) == 18


@pytest.mark.parametrize("preset, expected", [("wrn_28_2", 1_467_610), ("wrn_16_4", 2_748_890),
                                              ("wrn_10_1", 77_850)])
def test_small_presets_match_the_layout_count(preset, expected):
    row = classifier_presets.get_preset(preset)
    model = wide_resnet(preset)
    assert trainable_count(model) == expected == reference_count(row["depth"], row["width"])


def test_num_classes_changes_only_the_head():
    assert trainable_count(wide_resnet("wrn_10_1", num_classes=100)) == reference_count(10, 1, 100)


def test_shortcuts_exactly_where_the_shape_changes():
    model = wide_resnet("wrn_16_4")  # n = 2 blocks per group; widths 64, 128, 256
    with_shortcut = [block.name for block in model.blocks if block.shortcut is not None]
    assert with_shortcut == ["group1_block1", "group2_block1", "group3_block1"]
    assert [block.strides for block in model.blocks] == [1, 1, 2, 1, 2, 1]
    tiny = wide_resnet("wrn_10_1")  # 16 -> 16 channels at stride 1: identity shortcut
    assert tiny.blocks[0].shortcut is None and tiny.blocks[1].shortcut is not None


# ----------------------------------------------------------------------------- numpy forward


def conv_same(x, kernel, stride):
    """numpy 2D convolution with TensorFlow's "same" padding (extra pixel at the end)."""
    n, h, w, _ = x.shape
    kh, kw, _, out = kernel.shape
    oh, ow = math.ceil(h / stride), math.ceil(w / stride)
    ph = max((oh - 1) * stride + kh - h, 0)
    pw = max((ow - 1) * stride + kw - w, 0)
    padded = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    y = np.zeros((n, oh, ow, out))
    for i in range(oh):
        for j in range(ow):
            patch = padded[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            y[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, kernel)
    return y


def bn(x, layer):
    gamma, beta, mean, variance = (np.asarray(v, np.float64) for v in
                                   (layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance))
    return (x - mean) / np.sqrt(variance + EPS) * gamma + beta


def block_reference(x, block):
    a = np.maximum(bn(x, block.bn1), 0)
    residual = x if block.shortcut is None else conv_same(a, np.asarray(block.shortcut.kernel), block.strides)
    h = conv_same(a, np.asarray(block.conv1.kernel), block.strides)
    h = np.maximum(bn(h, block.bn2), 0)
    return conv_same(h, np.asarray(block.conv2.kernel), 1) + residual


def randomize(model, rng):
    """Random weights, including moving statistics (variances positive)."""
    values = []
    for weight in model.weights:
        name = compat.variable_name(weight)
        if name == "moving_variance":
            values.append(rng.uniform(0.5, 2.0, weight.shape))
        elif name == "gamma":
            values.append(rng.uniform(0.5, 1.5, weight.shape))
        else:
            values.append(rng.normal(0, 0.3, weight.shape))
    model.set_weights([v.astype("float32") for v in values])


@pytest.mark.parametrize("filters, strides", [(6, 2), (4, 1)])
def test_block_matches_numpy_at_inference(filters, strides, rng):
    block = WideResidualBlock(filters, strides=strides)
    x = rng.normal(size=(2, 7, 7, 4)).astype("float32")
    block(x)
    randomize(block, rng)
    expected = block_reference(x.astype(np.float64), block)
    actual = block(x, training=False).numpy()
    assert actual.shape == (2, math.ceil(7 / strides), math.ceil(7 / strides), filters)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


def test_model_matches_numpy_at_inference(rng):
    mean, std = (0.1, -0.2, 0.05), (0.5, 0.4, 0.6)
    model = WideResNet(depth=10, width=1, num_classes=5, input_mean=mean, input_std=std)
    x = rng.uniform(-1, 1, (3, 8, 8, 3)).astype("float32")
    model(x)
    randomize(model, rng)
    h = (x.astype(np.float64) - np.array(mean)) / np.array(std)
    h = conv_same(h, np.asarray(model.stem.kernel), 1)
    for block in model.blocks:
        h = block_reference(h, block)
    h = np.maximum(bn(h, model.final_bn), 0).mean(axis=(1, 2))
    logits = h @ np.asarray(model.classifier.kernel) + np.asarray(model.classifier.bias)
    actual = model(x, training=False)
    assert actual.dtype == tf.float32 and actual.shape == (3, 5)
    np.testing.assert_allclose(actual.numpy(), logits, rtol=1e-4, atol=1e-4)


def test_training_mode_uses_batch_statistics_and_updates_moving_ones(rng):
    model = wide_resnet("wrn_10_1", input_shape=(8, 8, 3))
    x = rng.normal(2.0, 3.0, (4, 8, 8, 3)).astype("float32")
    before = np.asarray(model.final_bn.moving_mean).copy()
    inference = model(x, training=False).numpy()
    np.testing.assert_array_equal(np.asarray(model.final_bn.moving_mean), before)
    training = model(x, training=True).numpy()
    assert not np.allclose(training, inference)
    assert not np.allclose(np.asarray(model.final_bn.moving_mean), before)


def test_dropout_only_in_training(rng):
    model = WideResNet(depth=10, width=1, dropout_rate=0.5)
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_array_equal(model(x, training=False).numpy(), model(x, training=False).numpy())
    assert all(block.dropout is not None and block.dropout.rate == 0.5 for block in model.blocks)
    assert WideResNet(depth=10, width=1).blocks[0].dropout is None


def test_normalization_equals_normalizing_the_inputs(rng):
    mean, std = classifier_presets.CIFAR10_MEAN, classifier_presets.CIFAR10_STD
    normalized = wide_resnet("wrn_10_1", input_mean=mean, input_std=std)
    plain = wide_resnet("wrn_10_1")
    plain.set_weights(normalized.get_weights())
    x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        normalized(x, training=False).numpy(),
        plain((x - np.array(mean, "float32")) / np.array(std, "float32"), training=False).numpy(),
        rtol=1e-5, atol=1e-5,
    )
    # the CIFAR-10 statistics are the usual [0, 1] ones mapped to [-1, 1]
    np.testing.assert_allclose(mean, 2 * np.array([0.4914, 0.4822, 0.4465]) - 1, atol=1e-4)
    np.testing.assert_allclose(std, 2 * np.array([0.2470, 0.2435, 0.2616]), atol=1e-4)


def test_mixed_bfloat16_gives_float32_logits_close_to_float32(rng):
    x = rng.uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    reference = wide_resnet("wrn_10_1")
    with compat.precision_scope("mixed_bfloat16"):
        mixed = wide_resnet("wrn_10_1")
    mixed.set_weights(reference.get_weights())
    out = mixed(x, training=False)
    assert out.dtype == tf.float32
    assert all(w.dtype == tf.float32 for w in mixed.weights)
    np.testing.assert_allclose(out.numpy(), reference(x, training=False).numpy(), atol=0.1)


# ----------------------------------------------------------------------------- round trips


def test_block_layer_contract():
    run_layer_test(
        WideResidualBlock, {"filters": 6, "strides": 2, "dropout_rate": 0.1},
        input_shape=(2, 8, 8, 4), expected_output_shape=(2, 4, 4, 6),
        # bn1 (4) gamma/beta, conv1, bn2 gamma/beta, conv2, shortcut
        expected_num_trainable_weights=7, expected_num_non_trainable_weights=4,
        expected_num_params=4 * 4 + 9 * 4 * 6 + 4 * 6 + 9 * 6 * 6 + 4 * 6,
    )


def test_config_round_trip_and_registration(rng):
    model = WideResNet(depth=10, width=2, num_classes=7, dropout_rate=0.25, input_mean=(0.0, 0.1, 0.2),
                       input_std=(1.0, 0.5, 2.0), name="wrn")
    config = model.get_config()
    assert config["depth"] == 10 and config["width"] == 2 and config["input_std"] == [1.0, 0.5, 2.0]
    clone = WideResNet.from_config(config)
    assert clone.get_config() == config
    restored = compat.deserialize(compat.serialize(model))
    assert type(restored) is WideResNet and restored.get_config() == config
    x = rng.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    model(x)
    clone(x)
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone(x, training=False).numpy(), model(x, training=False).numpy())


def test_keras_save_and_load_round_trip(tmp_path, rng):
    model = wide_resnet("wrn_10_1", input_shape=(8, 8, 3), num_classes=4)
    x = rng.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    model(x, training=True)  # move the moving statistics away from their initial values
    expected = model(x, training=False).numpy()
    path = os.path.join(tmp_path, "wrn" + compat.saved_model_suffix())
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert type(reloaded) is WideResNet
    np.testing.assert_allclose(reloaded(x, training=False).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_tf_checkpoint_holds_every_variable(tmp_path):
    # Layers kept in a list are invisible to tf.train.Checkpoint in Keras 3; every block is
    # an attribute, so all variables are saved.
    model = wide_resnet("wrn_10_1", input_shape=(8, 8, 3))
    path = tf.train.Checkpoint(model=model).save(os.path.join(tmp_path, "ckpt"))
    saved = [n for n in tf.train.load_checkpoint(path).get_variable_to_shape_map() if n.startswith("model/")]
    assert len(saved) == len(model.weights) == 39


# ----------------------------------------------------------------------------- errors


def test_presets_and_factory_errors_list_valid_names():
    with pytest.raises(ValueError, match=r"Unknown WideResNet preset 'wrn_50_2'.*wrn_28_10"):
        wide_resnet("wrn_50_2")
    with pytest.raises(ValueError, match=r"override key\(s\) \['widen'\].*width"):
        wide_resnet("wrn_28_10", widen=4)
    with pytest.raises(ValueError, match=r"`input_shape` must be \(height, width, channels\)"):
        wide_resnet("wrn_10_1", input_shape=(32, 32))
    assert classifier_presets.AUTOAUGMENT_CIFAR10.network.model == "wrn_28_10"


@pytest.mark.parametrize("kwargs, message", [
    ({"depth": 27}, r"`depth` must be 6n \+ 4.*depth=27"),
    ({"depth": 4}, r"`depth` must be an integer >= 10.*depth=4"),
    ({"width": 0}, r"`width` must be an integer >= 1.*width=0"),
    ({"num_classes": 2.0}, r"`num_classes` must be an integer.*2\.0"),
    ({"dropout_rate": 1.0}, r"`dropout_rate` must be a number >= 0 and < 1.*1\.0"),
    ({"input_mean": (0.0, 0.0, 0.0)}, r"`input_mean` and `input_std` must be given together"),
    ({"input_mean": (0.0,), "input_std": (1.0, 1.0)}, r"the same length"),
    ({"input_mean": (0.0,), "input_std": (0.0,)}, r"`input_std` values must be > 0"),
    ({"input_mean": "abc", "input_std": (1.0,)}, r"`input_mean` must be None or a sequence"),
])
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WideResNet(**kwargs)


def test_bad_inputs_and_block_arguments():
    with pytest.raises(ValueError, match=r"WideResNet expects images of shape \(batch, height, width, channels\)"):
        WideResNet(depth=10, width=1)(np.zeros((2, 8, 8), "float32"))
    with pytest.raises(ValueError, match=r"`input_mean` has 3 values but the images have 1 channels"):
        WideResNet(depth=10, width=1, input_mean=(0, 0, 0), input_std=(1, 1, 1))(np.zeros((1, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match=r"`strides` must be 1 or 2.*strides=3"):
        WideResidualBlock(8, strides=3)
    with pytest.raises(ValueError, match=r"`filters` must be an integer >= 1.*filters=0"):
        WideResidualBlock(0)
