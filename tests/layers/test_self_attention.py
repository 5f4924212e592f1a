"""SelfAttention against an independent numpy implementation of the SAGAN / BigGAN block."""

import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.layers.self_attention import SelfAttention
from ascendgan.layers.sn_conv2d import SNConv2D
from ascendgan.testing import run_layer_test

keras = compat.keras


# ----------------------------------------------------------------------------- numpy reference


def _max_pool_2x2(features):
    n, h, w, c = features.shape
    return features.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def _reference(x, theta, phi, g, o, gamma, pooling=True):
    """x + γ·o(softmax(θ(x) φ(x)ᵀ) g(x)) in float64; the kernels are (in, out) matrices."""
    x = x.astype("float64")
    n, h, w, _ = x.shape
    query = np.einsum("nhwc,cd->nhwd", x, theta)
    key = np.einsum("nhwc,cd->nhwd", x, phi)
    value = np.einsum("nhwc,cd->nhwd", x, g)
    if pooling:
        key, value = _max_pool_2x2(key), _max_pool_2x2(value)
    query = query.reshape(n, h * w, -1)
    key = key.reshape(n, -1, key.shape[-1])
    value = value.reshape(n, -1, value.shape[-1])
    attention = _softmax(np.einsum("nqd,nkd->nqk", query, key))
    attended = np.einsum("nqk,nkd->nqd", attention, value).reshape(n, h, w, -1)
    return x + gamma * np.einsum("nhwd,dc->nhwc", attended, o), attention


def _convs(layer):
    return [layer.query_conv, layer.key_conv, layer.value_conv, layer.output_conv]


def _matrix(conv):
    return np.asarray(conv.kernel)[0, 0].astype("float64")


def _normalized_matrix(conv):
    matrix = _matrix(conv)
    return matrix / np.linalg.svd(matrix, compute_uv=False)[0]


def _built(layer, x):
    layer.build(np.shape(x))
    return layer


def _set_random_kernels(layer, rng, scale=0.5):
    for conv in _convs(layer):
        conv.kernel.assign(scale * rng.standard_normal(conv.kernel.shape).astype("float32"))


# ----------------------------------------------------------------------------- numerics


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"pooling": False},
        {"key_reduction": 4, "value_reduction": 1},
        {"key_reduction": 3, "value_reduction": 5, "pooling": False},  # floor division
    ],
)
def test_matches_numpy_reference(kwargs, rng):
    layer = SelfAttention(use_spectral_norm=False, **kwargs)
    x = rng.standard_normal((2, 4, 6, 16)).astype("float32")  # rectangular: catches h/w swaps
    layer.build(x.shape)
    _set_random_kernels(layer, rng)
    layer.gamma.assign(0.7)
    key_channels = 16 // kwargs.get("key_reduction", 8)
    value_channels = 16 // kwargs.get("value_reduction", 2)
    assert layer.query_conv.kernel.shape == (1, 1, 16, key_channels)
    assert layer.value_conv.kernel.shape == (1, 1, 16, value_channels)
    assert layer.output_conv.kernel.shape == (1, 1, value_channels, 16)
    expected, expected_attention = _reference(
        x, *[_matrix(c) for c in _convs(layer)], 0.7, pooling=kwargs.get("pooling", True)
    )
    out, attention = layer(x, training=True, return_attention_scores=True)
    positions = 4 * 6 // (4 if kwargs.get("pooling", True) else 1)
    assert attention.shape == (2, 24, positions)
    np.testing.assert_allclose(np.asarray(attention), expected_attention, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-4, atol=1e-5)
    assert np.max(np.abs(expected - x)) > 0.1  # the attention branch is really exercised


def test_spectral_norm_uses_normalized_kernels(rng):
    x = rng.standard_normal((2, 4, 4, 16)).astype("float32")
    layer = _built(SelfAttention(), x)
    assert all(isinstance(c, SNConv2D) for c in _convs(layer))
    _set_random_kernels(layer, rng)
    step = tf.function(lambda batch: layer(batch, training=True))
    for _ in range(150):  # converge every power iteration
        step(x)
    layer.gamma.assign(0.7)
    expected, _ = _reference(x, *[_normalized_matrix(c) for c in _convs(layer)], 0.7)
    got = np.asarray(layer(x, training=False))
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4)
    # The raw kernels (scale 0.5·N(0,1), σ far from 1) would give another result.
    raw, _ = _reference(x, *[_matrix(c) for c in _convs(layer)], 0.7)
    assert np.max(np.abs(raw - expected)) > 1e-2


def test_plain_convolutions_without_spectral_norm(rng):
    layer = _built(SelfAttention(use_spectral_norm=False), np.zeros((1, 4, 4, 16)))
    assert not any(isinstance(c, SNConv2D) for c in _convs(layer))
    assert all(isinstance(c, compat.layers.Conv2D) and not c.use_bias for c in _convs(layer))
    assert layer.non_trainable_weights == []


def test_training_flag_reaches_every_spectral_norm_conv(rng):
    layer = SelfAttention()
    x = rng.standard_normal((1, 4, 4, 16)).astype("float32")
    layer(x)
    before = [np.array(c.u) for c in _convs(layer)]
    layer(x)
    layer(x, training=False)
    for conv, u in zip(_convs(layer), before):
        np.testing.assert_array_equal(np.array(conv.u), u)
    layer(x, training=True)
    for conv, u in zip(_convs(layer), before):
        assert not np.allclose(np.array(conv.u), u), f"{conv.name}: u did not advance"

    @tf.function
    def call(flag):
        return layer(x, training=flag)

    after = [np.array(c.u) for c in _convs(layer)]
    call(tf.constant(False))
    for conv, u in zip(_convs(layer), after):
        np.testing.assert_array_equal(np.array(conv.u), u)
    call(tf.constant(True))
    assert all(not np.allclose(np.array(c.u), u) for c, u in zip(_convs(layer), after))


# ----------------------------------------------------------------------------- γ


def test_identity_at_init_and_gamma_gradient_in_closed_form(rng):
    layer = SelfAttention(use_spectral_norm=False)
    x = rng.standard_normal((2, 4, 4, 16)).astype("float32")
    np.testing.assert_array_equal(np.asarray(layer(x, training=True)), x)
    assert float(layer.gamma) == 0.0 and layer.gamma.trainable
    c = rng.standard_normal(x.shape).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) * c)
    grads = tape.gradient(loss, [layer.gamma] + [conv.kernel for conv in _convs(layer)])
    with_unit_gain, _ = _reference(x, *[_matrix(conv) for conv in _convs(layer)], 1.0)
    # d/dγ Σ c·(x + γ·o) = Σ c·o; the kernels get no gradient while γ = 0.
    np.testing.assert_allclose(float(grads[0]), np.sum(c * (with_unit_gain - x)), rtol=1e-4)
    assert abs(float(grads[0])) > 1e-3
    for grad in grads[1:]:
        np.testing.assert_array_equal(np.asarray(grad), 0.0)


def test_one_fit_step_moves_gamma_and_changes_the_output(rng):
    x = rng.standard_normal((4, 4, 4, 16)).astype("float32")
    target = rng.standard_normal(x.shape).astype("float32")
    inputs = keras.Input((4, 4, 16))
    layer = SelfAttention()
    model = keras.Model(inputs, layer(inputs))
    np.testing.assert_array_equal(np.asarray(model(x)), x)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.fit(x, target, batch_size=4, epochs=1, verbose=0)
    assert float(layer.gamma) != 0.0
    assert np.max(np.abs(np.asarray(model(x)) - x)) > 1e-4


# ----------------------------------------------------------------------------- attention map


@pytest.mark.parametrize("pooling, positions", [(True, 16), (False, 64)])
def test_attention_rows_are_distributions(pooling, positions, rng):
    layer = SelfAttention(pooling=pooling)
    x = 3.0 * rng.standard_normal((2, 8, 8, 16)).astype("float32")
    out, attention = layer(x, training=True, return_attention_scores=True)
    attention = np.asarray(attention)
    assert attention.shape == (2, 64, positions)
    assert np.all(attention >= 0)
    np.testing.assert_allclose(attention.sum(axis=-1), 1.0, rtol=1e-5)
    assert attention.std() > 1e-3  # not uniform: the logits matter
    np.testing.assert_array_equal(np.asarray(out), x)


def test_attention_scores_in_a_functional_model_with_unknown_size(rng):
    inputs = keras.Input((None, None, 16))
    layer = SelfAttention()
    outputs, attention = layer(inputs, return_attention_scores=True)
    model = keras.Model(inputs, [outputs, attention])
    layer.gamma.assign(0.7)
    for size in [(4, 4), (6, 8)]:
        x = rng.standard_normal((2, *size, 16)).astype("float32")
        got_out, got_attention = model(x)
        want_out, want_attention = layer(x, return_attention_scores=True)
        assert got_attention.shape == (2, size[0] * size[1], size[0] * size[1] // 4)
        np.testing.assert_allclose(np.asarray(got_out), np.asarray(want_out), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            np.asarray(got_attention), np.asarray(want_attention), rtol=1e-5, atol=1e-7
        )


# ----------------------------------------------------------------------------- precision


def test_mixed_bfloat16_close_to_float32(rng):
    x = rng.standard_normal((2, 8, 8, 16)).astype("float32")
    reference = SelfAttention()
    for _ in range(3):
        reference(x, training=True)
    _set_random_kernels(reference, rng, scale=1.0)
    reference.gamma.assign(0.7)
    want, want_attention = reference(x, return_attention_scores=True)
    with compat.precision_scope("mixed_bfloat16"):
        mixed = SelfAttention()
        mixed.build(x.shape)
    mixed.set_weights(reference.get_weights())  # same class and Keras version: same order
    assert all(tf.as_dtype(w.dtype) == tf.float32 for w in mixed.weights)
    got, got_attention = mixed(x, return_attention_scores=True)
    assert got.dtype == tf.bfloat16 and got_attention.dtype == tf.bfloat16
    got = np.asarray(tf.cast(got, tf.float32))
    got_attention = np.asarray(tf.cast(got_attention, tf.float32))
    assert np.all(np.isfinite(got))
    want, want_attention = np.asarray(want), np.asarray(want_attention)
    scale = np.max(np.abs(want))
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-2 * scale)
    np.testing.assert_allclose(got_attention, want_attention, atol=2e-2)
    branch = want - x  # the attention branch alone, compared at its own scale
    np.testing.assert_allclose(got - x, branch, atol=3e-2 * np.max(np.abs(branch)))


def test_softmax_runs_in_float32_under_mixed_bfloat16():
    with compat.precision_scope("mixed_bfloat16"):
        layer = SelfAttention()
        layer.build((2, 4, 4, 16))
        call = tf.function(lambda x: layer(x, training=False, return_attention_scores=True))
        graph = call.get_concrete_function(tf.TensorSpec((2, 4, 4, 16), tf.float32)).graph
    softmax = [op for op in graph.get_operations() if op.type == "Softmax"]
    assert len(softmax) == 1
    assert softmax[0].get_attr("T") == tf.float32
    matmuls = [op for op in graph.get_operations() if op.type == "BatchMatMulV2"]
    assert matmuls and all(op.get_attr("T") == tf.bfloat16 for op in matmuls)


# ----------------------------------------------------------------------------- counts, contract


def _parameter_counts(channels, key_reduction=8, value_reduction=2, spectral_norm=True):
    key, value = channels // key_reduction, channels // value_reduction
    # θ, φ: c·key each; g: c·value; output: value·c; γ: 1.
    trainable = 2 * channels * key + channels * value + value * channels + 1
    # One power-iteration vector per SN conv, of its output width.
    non_trainable = (key + key + value + channels) if spectral_norm else 0
    return trainable, non_trainable


def test_parameter_count_formula():
    trainable, non_trainable = _parameter_counts(16)
    assert (trainable, non_trainable) == (16 * 2 + 16 * 2 + 16 * 8 + 8 * 16 + 1, 2 + 2 + 8 + 16)
    layer = _built(SelfAttention(), np.zeros((1, 8, 8, 16)))
    assert sum(int(np.prod(w.shape)) for w in layer.trainable_weights) == trainable
    assert sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights) == non_trainable


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (2, 8, 8, 16)),
        ({"use_spectral_norm": False, "pooling": False, "key_reduction": 4}, (2, 4, 6, 8)),
        ({"power_iterations": 2, "kernel_initializer": "orthogonal", "value_reduction": 4},
         (2, 4, 4, 16)),
    ],
)
def test_layer_contract(kwargs, shape):
    trainable, non_trainable = _parameter_counts(
        shape[-1],
        kwargs.get("key_reduction", 8),
        kwargs.get("value_reduction", 2),
        kwargs.get("use_spectral_norm", True),
    )
    sn = kwargs.get("use_spectral_norm", True)
    layer = run_layer_test(
        SelfAttention,
        kwargs,
        input_shape=shape,
        expected_output_shape=shape,
        expected_num_trainable_weights=5,
        expected_num_non_trainable_weights=4 if sn else 0,
        expected_num_params=trainable + non_trainable,
    )
    assert compat.serialize(layer)["registered_name"] == "ascendgan>SelfAttention"


def test_config_round_trip_with_every_argument():
    layer = SelfAttention(
        key_reduction=4,
        value_reduction=1,
        pooling=False,
        use_spectral_norm=False,
        power_iterations=3,
        kernel_initializer=compat.initializers.Orthogonal(gain=0.5, seed=2),
        kernel_regularizer=compat.regularizers.L2(1e-3),
        name="attention",
    )
    config = layer.get_config()
    for key, value in [("key_reduction", 4), ("value_reduction", 1), ("pooling", False),
                       ("use_spectral_norm", False), ("power_iterations", 3), ("name", "attention")]:
        assert config[key] == value
    clone = SelfAttention.from_config(config)
    assert clone.get_config() == config
    assert clone.kernel_initializer.get_config()["gain"] == 0.5
    assert clone.kernel_regularizer.get_config()["l2"] == pytest.approx(1e-3)


def test_save_and_reload_keeps_gamma_kernels_and_u(rng):
    x = rng.standard_normal((2, 4, 4, 16)).astype("float32")
    inputs = keras.Input((4, 4, 16))
    layer = SelfAttention()
    model = keras.Model(inputs, layer(inputs))
    for _ in range(3):
        layer(x, training=True)
    layer.gamma.assign(0.7)  # with γ = 0 a reload could lose every kernel unnoticed
    before = np.asarray(model(x))
    assert np.max(np.abs(before - x)) > 1e-3
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(reloaded(x)), before, rtol=1e-6, atol=1e-6)
    restored = [lyr for lyr in reloaded.layers if isinstance(lyr, SelfAttention)][0]
    assert float(restored.gamma) == pytest.approx(0.7)
    for mine, theirs in zip(_convs(layer), _convs(restored)):
        np.testing.assert_array_equal(np.array(theirs.u), np.array(mine.u))
        np.testing.assert_array_equal(np.array(theirs.kernel), np.array(mine.kernel))


# ----------------------------------------------------------------------------- initializers, regularizers


def test_kernels_start_different_even_with_a_seeded_initializer():
    for initializer in ["glorot_uniform", compat.initializers.GlorotUniform(seed=3)]:
        layer = _built(SelfAttention(kernel_initializer=initializer), np.zeros((1, 4, 4, 16)))
        assert not np.allclose(np.array(layer.query_conv.kernel), np.array(layer.key_conv.kernel))
    first = _built(SelfAttention(kernel_initializer=compat.initializers.GlorotUniform(seed=3)),
                   np.zeros((1, 4, 4, 16)))
    np.testing.assert_array_equal(np.array(first.key_conv.kernel), np.array(layer.key_conv.kernel))


def test_kernel_initializer_and_regularizer_reach_every_conv():
    layer = SelfAttention(
        kernel_initializer=compat.initializers.Constant(0.25),
        kernel_regularizer=compat.regularizers.L2(0.1),
    )
    x = np.ones((1, 4, 4, 16), "float32")
    layer(x)
    for conv in _convs(layer):
        np.testing.assert_array_equal(np.array(conv.kernel), 0.25)
    expected = sum(0.1 * np.sum(np.array(c.kernel, dtype="float64") ** 2) for c in _convs(layer))
    assert len(layer.losses) == 4
    np.testing.assert_allclose(float(tf.add_n(layer.losses)), expected, rtol=1e-5)


# ----------------------------------------------------------------------------- errors


def test_odd_spatial_size_with_pooling_names_the_shape():
    with pytest.raises(ValueError, match=r"even height and width.*inputs\.shape=\(2, 7, 8, 16\)"):
        SelfAttention()(np.zeros((2, 7, 8, 16), "float32"))
    with pytest.raises(ValueError, match=r"inputs\.shape=\(1, 4, 5, 16\)"):
        SelfAttention().build((1, 4, 5, 16))
    out = SelfAttention(pooling=False)(np.zeros((2, 7, 5, 16), "float32"))
    assert out.shape == (2, 7, 5, 16)


def test_odd_spatial_size_is_caught_at_run_time_when_unknown_statically():
    layer = SelfAttention()
    layer.build((None, None, None, 16))
    call = tf.function(
        lambda x: layer(x), input_signature=[tf.TensorSpec((None, None, None, 16), tf.float32)]
    )
    assert call(tf.zeros((1, 4, 6, 16))).shape == (1, 4, 6, 16)
    with pytest.raises(tf.errors.InvalidArgumentError, match="even height and width"):
        call(tf.zeros((1, 5, 6, 16)))


def test_too_few_channels_names_inputs_and_the_reduction():
    with pytest.raises(ValueError, match=r"key_reduction=8.*inputs\.shape=\(2, 4, 4, 4\)"):
        SelfAttention()(np.zeros((2, 4, 4, 4), "float32"))
    with pytest.raises(ValueError, match=r"value_reduction=32.*4 channels"):
        SelfAttention(key_reduction=1, value_reduction=32)(np.zeros((1, 4, 4, 4), "float32"))


def test_wrong_rank_names_inputs_and_the_shape():
    with pytest.raises(ValueError, match=r"`inputs` of rank 4.*inputs\.shape=\(2, 8, 16\)"):
        SelfAttention()(np.zeros((2, 8, 16), "float32"))


def test_wrong_channels_after_build():
    layer = SelfAttention()
    layer(np.zeros((1, 4, 4, 16), "float32"))
    with pytest.raises(ValueError, match=r"16 features.*inputs\.shape=\(1, 4, 4, 32\)"):
        layer(np.zeros((1, 4, 4, 32), "float32"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"key_reduction": 0}, "key_reduction=0"),
        ({"value_reduction": 2.0}, "value_reduction=2.0"),
        ({"key_reduction": True}, "key_reduction=True"),
        ({"pooling": "yes"}, "pooling='yes'"),
        ({"use_spectral_norm": 1}, "use_spectral_norm=1"),
        ({"power_iterations": 0}, "power_iterations=0"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        SelfAttention(**kwargs)


def test_numpy_integer_arguments_are_stored_as_python_ints():
    config = SelfAttention(key_reduction=np.int64(4), power_iterations=np.int32(2)).get_config()
    assert type(config["key_reduction"]) is int and type(config["power_iterations"]) is int
