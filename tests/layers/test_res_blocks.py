"""ResBlockUp / ResBlockDown against a re-implementation built from their sublayers' weights."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.layers.res_block_down import ResBlockDown
from ascendgan.layers.res_block_up import ResBlockUp
from ascendgan.testing import run_layer_test

EPS = 1e-5


# ----------------------------------------------------------------------------- reference pieces


def _relu(x):
    return np.maximum(x, 0.0)


def _upsample(x):
    return x.repeat(2, axis=1).repeat(2, axis=2)


def _pool(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def _sigma(kernel):
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]).astype("float64"), compute_uv=False)[0]


def _conv(x, conv, spectral):
    """conv(x) with plain tf.nn.conv2d on the (spectrally normalized) kernel of ``conv``."""
    kernel = np.asarray(conv.kernel, "float64")
    if spectral:
        kernel = kernel / _sigma(kernel)
    y = tf.nn.conv2d(tf.constant(x, tf.float64), tf.constant(kernel), 1, "SAME").numpy()
    return y + np.asarray(conv.bias, "float64")


def _bn(x, mean, variance):
    return (x - mean) / np.sqrt(variance + EPS)


def _batch_stats(x):
    flat = x.reshape(-1, x.shape[-1])
    return flat.mean(0), flat.var(0)


def _randomize(block, rng, scale=0.4):
    """Random kernels/biases everywhere (orthogonal kernels would all have σ = 1)."""
    for weight in block.trainable_weights:
        weight.assign(rng.normal(0.0, scale, tuple(weight.shape)).astype("float32"))


def _set_moving(norm, rng):
    channels = norm.moving_mean.shape[0]
    mean = rng.normal(0, 0.5, channels).astype("float32")
    variance = rng.uniform(0.5, 2.0, channels).astype("float32")
    norm.moving_mean.assign(mean)
    norm.moving_variance.assign(variance)
    return mean.astype("float64"), variance.astype("float64")


def _converge_power_iteration(block, x):
    """One training call with many power iterations makes every u the top singular vector."""
    block(x, training=True)


# ----------------------------------------------------------------------------- ResBlockUp


def test_up_block_vector_condition_with_spectral_norm_matches_reference(rng):
    block = ResBlockUp(6, power_iterations=60)
    x = rng.normal(0, 1, (2, 3, 3, 4)).astype("float32")
    c = rng.normal(0, 1, (2, 5)).astype("float32")
    block([x, c])
    _randomize(block, rng)
    _converge_power_iteration(block, [x, c])
    stats1 = _set_moving(block.bn1, rng)
    stats2 = _set_moving(block.bn2, rng)
    y = np.asarray(block([x, c], training=False), "float64")

    def modulation(norm):
        gain = np.asarray(norm.gain_projection.kernel, "float64")
        bias = np.asarray(norm.bias_projection.kernel, "float64")
        gain, bias = c @ (gain / _sigma(gain)), c @ (bias / _sigma(bias))
        return 1.0 + gain[:, None, None, :], bias[:, None, None, :]

    x64 = x.astype("float64")
    scale, shift = modulation(block.bn1)
    h = _relu(_bn(x64, *stats1) * scale + shift)
    h = _conv(_upsample(h), block.conv1, spectral=True)
    scale, shift = modulation(block.bn2)
    h = _relu(_bn(h, *stats2) * scale + shift)
    h = _conv(h, block.conv2, spectral=True)
    expected = h + _conv(_upsample(x64), block.shortcut, spectral=True)
    assert y.shape == (2, 6, 6, 6)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_up_block_class_condition_training_matches_reference(rng):
    block = ResBlockUp(3, condition="class", num_classes=4, use_spectral_norm=False)
    x = rng.normal(0.5, 1.5, (3, 2, 2, 5)).astype("float32")
    labels = np.array([3, 0, 3], "int32")
    block([x, labels])
    _randomize(block, rng)
    y = np.asarray(block([x, labels], training=True), "float64")

    def modulate(h, norm):
        gain = np.asarray(norm.gain_embeddings, "float64")[labels][:, None, None, :]
        bias = np.asarray(norm.bias_embeddings, "float64")[labels][:, None, None, :]
        return _bn(h, *_batch_stats(h)) * (1.0 + gain) + bias

    x64 = x.astype("float64")
    h = _conv(_upsample(_relu(modulate(x64, block.bn1))), block.conv1, spectral=False)
    h = _conv(_relu(modulate(h, block.bn2)), block.conv2, spectral=False)
    expected = h + _conv(_upsample(x64), block.shortcut, spectral=False)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_up_block_unconditional_identity_shortcut(rng):
    block = ResBlockUp(4, condition=None, upsample=False, use_spectral_norm=False)
    x = rng.normal(0, 1, (2, 3, 3, 4)).astype("float32")
    block(x)
    assert block.shortcut is None
    _randomize(block, rng)
    y = np.asarray(block(x, training=True), "float64")

    def norm(h, layer):
        gamma, beta = np.asarray(layer.gamma, "float64"), np.asarray(layer.beta, "float64")
        return _bn(h, *_batch_stats(h)) * gamma + beta

    x64 = x.astype("float64")
    h = _conv(_relu(norm(x64, block.bn1)), block.conv1, spectral=False)
    h = _conv(_relu(norm(h, block.bn2)), block.conv2, spectral=False)
    np.testing.assert_allclose(y, h + x64, rtol=1e-4, atol=1e-4)
    # With the residual branch silenced the block is exactly the identity.
    block.conv2.kernel.assign(np.zeros(block.conv2.kernel.shape, "float32"))
    block.conv2.bias.assign(np.zeros(block.conv2.bias.shape, "float32"))
    np.testing.assert_array_equal(np.asarray(block(x, training=True)), x)


def test_up_block_parameter_count_by_hand(rng):
    cin, cout, classes, d = 4, 8, 3, 5
    convs = (3 * 3 * cin * cout + cout) + (3 * 3 * cout * cout + cout) + (1 * 1 * cin * cout + cout)
    sn_u = 3 * cout
    class_bn = (2 * classes * cin + 2 * cin) + (2 * classes * cout + 2 * cout)
    block = ResBlockUp(cout, condition="class", num_classes=classes)
    block([rng.normal(0, 1, (2, 2, 2, cin)).astype("float32"), np.array([0, 2], "int32")])
    assert sum(int(np.prod(w.shape)) for w in block.weights) == convs + sn_u + class_bn

    # vector condition: kernels (d, c) of gain and bias, each with a spectral-norm u (1, c)
    vector_bn = (2 * d * cin + 2 * cin + 2 * cin) + (2 * d * cout + 2 * cout + 2 * cout)
    block = ResBlockUp(cout)
    block([rng.normal(0, 1, (2, 2, 2, cin)).astype("float32"),
           rng.normal(0, 1, (2, d)).astype("float32")])
    assert sum(int(np.prod(w.shape)) for w in block.weights) == convs + sn_u + vector_bn


def test_up_block_training_flag_reaches_sublayers(rng):
    block = ResBlockUp(4, condition="class", num_classes=2)
    x = rng.normal(2.0, 1.0, (2, 2, 2, 3)).astype("float32")
    labels = np.array([0, 1], "int32")
    block([x, labels])
    state = [np.array(w) for w in block.non_trainable_weights]
    block([x, labels], training=False)
    assert all(np.array_equal(a, np.array(w)) for a, w in zip(state, block.non_trainable_weights))

    @tf.function
    def step(flag):
        return block([x, labels], training=flag)

    step(tf.constant(False))
    assert all(np.array_equal(a, np.array(w)) for a, w in zip(state, block.non_trainable_weights))
    step(tf.constant(True))
    # Every moving statistic and every u moved.
    assert all(not np.array_equal(a, np.array(w)) for a, w in zip(state, block.non_trainable_weights))


# ----------------------------------------------------------------------------- ResBlockDown


@pytest.mark.parametrize("preactivation", [True, False])
@pytest.mark.parametrize("downsample", [True, False])
def test_down_block_matches_reference(preactivation, downsample, rng):
    block = ResBlockDown(6, preactivation=preactivation, downsample=downsample, power_iterations=60)
    x = rng.normal(0, 1, (2, 4, 4, 3)).astype("float32")
    block(x)
    _randomize(block, rng)
    _converge_power_iteration(block, x)
    y = np.asarray(block(x, training=False), "float64")

    x64 = x.astype("float64")
    h = _relu(x64) if preactivation else x64
    h = _conv(_relu(_conv(h, block.conv1, True)), block.conv2, True)
    if downsample:
        h = _pool(h)
    if preactivation:  # BigGAN's order; the layer pools first (the same function)
        shortcut = _conv(x64, block.shortcut, True)
        shortcut = _pool(shortcut) if downsample else shortcut
    else:
        shortcut = _conv(_pool(x64) if downsample else x64, block.shortcut, True)
    assert y.shape == ((2, 2, 2, 6) if downsample else (2, 4, 4, 6))
    np.testing.assert_allclose(y, h + shortcut, rtol=1e-4, atol=1e-4)


def test_down_block_identity_shortcut(rng):
    block = ResBlockDown(3, downsample=False, use_spectral_norm=False)
    x = rng.normal(0, 1, (2, 4, 4, 3)).astype("float32")
    block(x)
    assert block.shortcut is None
    block.conv2.kernel.assign(np.zeros(block.conv2.kernel.shape, "float32"))
    np.testing.assert_array_equal(np.asarray(block(x)), x)


def test_down_block_parameter_count_by_hand():
    cin, cout = 4, 8
    convs = (3 * 3 * cin * cout + cout) + (3 * 3 * cout * cout + cout) + (1 * 1 * cin * cout + cout)
    block = ResBlockDown(cout)
    block(np.zeros((1, 4, 4, cin), "float32"))
    assert sum(int(np.prod(w.shape)) for w in block.weights) == convs + 3 * cout
    plain = ResBlockDown(cout, use_spectral_norm=False)
    plain(np.zeros((1, 4, 4, cin), "float32"))
    assert sum(int(np.prod(w.shape)) for w in plain.weights) == convs


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: ResBlockUp(0), "filters=0"),
        (lambda: ResBlockUp(4, condition="label"), "condition='label'"),
        (lambda: ResBlockUp(4, condition="class"), "num_classes=None"),
        (lambda: ResBlockUp(4, num_classes=10), "num_classes=10"),
        (lambda: ResBlockUp(4, momentum=1.5), "momentum=1.5"),
        (lambda: ResBlockUp(4, power_iterations=0), "power_iterations=0"),
        (lambda: ResBlockUp(4, kernel_initializer="zeros"), "kernel_initializer='zeros'"),
        (lambda: ResBlockDown(-1), "filters=-1"),
        (lambda: ResBlockDown(4, power_iterations=1.5), "power_iterations=1.5"),
        (lambda: ResBlockUp(4, synchronized="yes"), "synchronized='yes'"),
    ],
)
def test_bad_arguments_name_the_argument(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_bad_inputs_are_reported(rng):
    x = rng.normal(0, 1, (2, 4, 4, 3)).astype("float32")
    c = rng.normal(0, 1, (2, 5)).astype("float32")
    with pytest.raises(ValueError, match=r"\[x, condition\].*single tensor of shape \(2, 4, 4, 3\)"):
        ResBlockUp(4)(x)
    with pytest.raises(ValueError, match=r"`x` alone.*list of 2 inputs"):
        ResBlockUp(4, condition=None)([x, c])
    with pytest.raises(ValueError, match=r"rank 4.*x.shape"):
        ResBlockUp(4)([x[:, 0], c])
    with pytest.raises(ValueError, match=r"single tensor `inputs`.*list of 2 inputs"):
        ResBlockDown(4)([x, x])
    with pytest.raises(ValueError, match=r"rank 4.*inputs.shape"):
        ResBlockDown(4)(x[:, 0])


# ----------------------------------------------------------------------------- contract


def _cbn_params(classes_or_dim, channels, vector, spectral):
    tables = 2 * classes_or_dim * channels
    return tables + 2 * channels + (2 * channels if vector and spectral else 0)


@pytest.mark.parametrize(
    "kwargs, shapes, dtypes, out, trainable, non_trainable, params",
    [
        # vector condition (d = 5), SN everywhere: 3 convs (kernel, bias, u), 2 CBN
        ({"filters": 8}, [(2, 2, 2, 4), (2, 5)], ["float32", "float32"], (2, 4, 4, 8),
         6 + 4, 3 + 2 * (2 + 2),
         (3 * 3 * 4 * 8 + 8) + (3 * 3 * 8 * 8 + 8) + (4 * 8 + 8) + 3 * 8
         + _cbn_params(5, 4, True, True) + _cbn_params(5, 8, True, True)),
        # class condition, no SN
        ({"filters": 8, "condition": "class", "num_classes": 3, "use_spectral_norm": False},
         [(2, 2, 2, 4), (2,)], ["float32", "int32"], (2, 4, 4, 8), 6 + 4, 4,
         (3 * 3 * 4 * 8 + 8) + (3 * 3 * 8 * 8 + 8) + (4 * 8 + 8)
         + _cbn_params(3, 4, False, False) + _cbn_params(3, 8, False, False)),
        # unconditional, no resampling, same channels: no shortcut conv
        ({"filters": 4, "condition": None, "upsample": False}, (2, 3, 3, 4), "float32",
         (2, 3, 3, 4), 4 + 4, 2 + 4,
         2 * (3 * 3 * 4 * 4 + 4 + 4) + 2 * (4 * 4)),
    ],
)
def test_up_block_contract(kwargs, shapes, dtypes, out, trainable, non_trainable, params):
    layer = run_layer_test(
        ResBlockUp, kwargs, input_shape=shapes, input_dtype=dtypes, expected_output_shape=out,
        expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=non_trainable, expected_num_params=params,
    )
    assert compat.serialize(layer)["registered_name"] == "ascendgan>ResBlockUp"


@pytest.mark.parametrize(
    "kwargs, shape, out, trainable, non_trainable, params",
    [
        ({"filters": 8}, (2, 4, 4, 4), (2, 2, 2, 8), 6, 3,
         (3 * 3 * 4 * 8 + 8) + (3 * 3 * 8 * 8 + 8) + (4 * 8 + 8) + 3 * 8),
        ({"filters": 8, "preactivation": False}, (2, 4, 4, 3), (2, 2, 2, 8), 6, 3,
         (3 * 3 * 3 * 8 + 8) + (3 * 3 * 8 * 8 + 8) + (3 * 8 + 8) + 3 * 8),
        ({"filters": 4, "downsample": False, "use_spectral_norm": False}, (2, 4, 4, 4),
         (2, 4, 4, 4), 4, 0, 2 * (3 * 3 * 4 * 4 + 4)),
    ],
)
def test_down_block_contract(kwargs, shape, out, trainable, non_trainable, params):
    layer = run_layer_test(
        ResBlockDown, kwargs, input_shape=shape, expected_output_shape=out,
        expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=non_trainable, expected_num_params=params,
    )
    assert compat.serialize(layer)["registered_name"] == "ascendgan>ResBlockDown"
