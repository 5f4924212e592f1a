"""SN layers against independent references (numpy SVD, closed-form gradients)."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.layers import SNConv2D, SNConv2DTranspose, SNDense, SNEmbedding
from ascendgan.testing import run_layer_test

CASES = {
    "conv": (lambda: SNConv2D(6, 3, padding="same"), (2, 6, 6, 3), "float32"),
    "dense": (lambda: SNDense(5), (3, 7), "float32"),
    "embedding": (lambda: SNEmbedding(9, 4), (4,), "int32"),
    "transpose": (lambda: SNConv2DTranspose(4, 4, strides=2, padding="same"), (2, 5, 5, 3), "float32"),
}


def _inputs(shape, dtype, rng):
    if dtype == "int32":
        return rng.integers(0, 9, size=shape).astype("int32")
    return rng.standard_normal(shape).astype("float32")


def _raw_matrix(layer):
    """The stored weight as the (n, out) matrix SN normalizes, computed independently."""
    if isinstance(layer, SNEmbedding):
        return np.asarray(layer.embeddings)
    kernel = np.asarray(layer.kernel)
    if isinstance(layer, SNConv2DTranspose):
        kernel = np.transpose(kernel, (0, 1, 3, 2))  # out channels last
    return kernel.reshape(-1, kernel.shape[-1])


def _largest_singular_value(matrix):
    return np.linalg.svd(matrix, compute_uv=False)[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_normalized_weight_has_unit_spectral_norm(name, rng):
    make, shape, dtype = CASES[name]
    layer = make()
    x = _inputs(shape, dtype, rng)
    for _ in range(60):
        layer(x, training=True)
    raw = _raw_matrix(layer)
    sigma_hat = float(layer.sigma_estimate())
    np.testing.assert_allclose(sigma_hat, _largest_singular_value(raw), rtol=1e-4)
    np.testing.assert_allclose(_largest_singular_value(raw / sigma_hat), 1.0, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(CASES))
def test_u_frozen_at_inference_and_kernel_never_written(name, rng):
    make, shape, dtype = CASES[name]
    layer = make()
    x = _inputs(shape, dtype, rng)
    layer(x)  # training defaults to inference
    u0 = np.array(layer.u)
    raw0 = _raw_matrix(layer).copy()
    layer(x, training=False)
    np.testing.assert_array_equal(np.array(layer.u), u0)
    layer(x, training=True)
    assert not np.allclose(np.array(layer.u), u0), "u must advance on training calls"
    for _ in range(5):
        layer(x, training=True)
    np.testing.assert_array_equal(_raw_matrix(layer), raw0)


def test_forward_pass_matches_numpy_convolution(rng):
    layer = SNDense(3, use_bias=True, bias_initializer="ones")
    x = rng.standard_normal((4, 5)).astype("float32")
    for _ in range(80):
        layer(x, training=True)
    kernel = np.asarray(layer.kernel)
    expected = x @ (kernel / _largest_singular_value(kernel)) + 1.0
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), expected, rtol=1e-4, atol=1e-5)


def test_conv_matches_dense_on_im2col(rng):
    """A 1x1 SNConv2D equals an SNDense on the flattened pixels with the same kernel."""
    conv = SNConv2D(4, 1, use_bias=False)
    x = rng.standard_normal((2, 3, 3, 6)).astype("float32")
    for _ in range(80):
        conv(x, training=True)
    kernel = np.asarray(conv.kernel).reshape(6, 4)
    expected = (x.reshape(-1, 6) @ (kernel / _largest_singular_value(kernel))).reshape(2, 3, 3, 4)
    np.testing.assert_allclose(np.asarray(conv(x, training=False)), expected, rtol=1e-4, atol=1e-5)


def test_transpose_matches_keras_transpose_with_normalized_kernel(rng):
    layer = SNConv2DTranspose(3, 3, strides=2, padding="valid", use_bias=False)
    x = rng.standard_normal((1, 4, 4, 2)).astype("float32")
    for _ in range(80):
        layer(x, training=True)
    plain = compat.layers.Conv2DTranspose(3, 3, strides=2, padding="valid", use_bias=False)
    plain(x)
    raw = np.asarray(layer.kernel)
    sigma = _largest_singular_value(np.transpose(raw, (0, 1, 3, 2)).reshape(-1, 3))
    plain.set_weights([raw / sigma])
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(plain(x)), rtol=1e-4, atol=1e-5)
    assert layer(x).shape == (1, 9, 9, 3)


def test_gradient_flows_through_sigma(rng):
    """d<C, W/σ(W)>/dW = C/σ - <C, W> v uᵀ / σ² (u, v the top singular vectors)."""
    layer = SNDense(4, use_bias=False)
    x = np.eye(6, dtype="float32")  # the output is the normalized kernel itself
    for _ in range(200):
        layer(x, training=True)
    c = rng.standard_normal((6, 4)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=False) * c)
    grad = np.asarray(tape.gradient(loss, layer.kernel))
    w = np.asarray(layer.kernel).astype("float64")
    left, singular, right = np.linalg.svd(w)
    sigma = singular[0]
    expected = c / sigma - np.sum(c * w) * np.outer(left[:, 0], right[0]) / sigma**2
    np.testing.assert_allclose(grad, expected, rtol=1e-3, atol=1e-5)
    held = c / sigma  # what a σ held out of the gradient would give
    assert np.max(np.abs(grad - held)) > 1e-3


def test_sigma_computed_in_float32_under_mixed_precision(rng):
    x = rng.standard_normal((2, 4, 4, 3)).astype("float32")
    with compat.precision_scope("mixed_bfloat16"):
        layer = SNConv2D(5, 3, padding="same")
        for _ in range(60):
            y = layer(x, training=True)
    assert y.dtype == tf.bfloat16
    assert layer.kernel.dtype == tf.float32 and layer.u.dtype == tf.float32
    raw = _raw_matrix(layer)
    # A σ estimated from bfloat16 weights would be off by ~1e-2; float32 matches to 1e-4.
    np.testing.assert_allclose(float(layer.sigma_estimate()), _largest_singular_value(raw), rtol=1e-4)


def test_power_iterations_speed_up_convergence(rng):
    matrix = rng.standard_normal((30, 8)).astype("float32")
    true_sigma = _largest_singular_value(matrix)
    errors = []
    for iterations in (1, 10):
        layer = SNDense(8, use_bias=False, power_iterations=iterations)
        layer.build((None, 30))
        layer.kernel.assign(matrix)
        layer(np.ones((1, 30), "float32"), training=True)
        errors.append(abs(float(layer.sigma_estimate()) - true_sigma))
    assert errors[1] < errors[0]
    assert errors[1] < 1e-3 * true_sigma


def test_training_tensor_flag_inside_tf_function(rng):
    layer = SNDense(3)
    x = rng.standard_normal((2, 4)).astype("float32")
    layer(x)

    @tf.function
    def step(flag):
        return layer(x, training=flag)

    u0 = np.array(layer.u)
    step(tf.constant(False))
    np.testing.assert_array_equal(np.array(layer.u), u0)
    step(tf.constant(True))
    assert not np.allclose(np.array(layer.u), u0)


def test_u_state_under_mirrored_strategy(rng):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        layer = SNDense(3)
        layer.build((None, 4))
    x = rng.standard_normal((4, 4)).astype("float32")
    u0 = np.array(layer.u)

    @tf.function
    def step(batch):
        return layer(batch, training=True)

    strategy.run(step, args=(tf.constant(x),))
    u1 = np.array(layer.u)
    assert not np.allclose(u0, u1)
    single = SNDense(3)
    single.build((None, 4))
    single.set_weights(layer.get_weights())
    single.u.assign(u0)
    single(x, training=True)
    np.testing.assert_allclose(np.array(single.u), u1, rtol=1e-6)


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: SNConv2D(4, 3, power_iterations=0), "power_iterations=0"),
        (lambda: SNDense(4, power_iterations=1.5), "power_iterations=1.5"),
        (lambda: SNEmbedding(4, 2, power_iterations=-1), "power_iterations=-1"),
        (lambda: SNConv2DTranspose(4, 3, power_iterations=True), "power_iterations=True"),
        (lambda: SNDense(4, epsilon=0.0), "epsilon=0.0"),
        (lambda: SNConv2D(4, 3, data_format="channels_first"), "data_format='channels_first'"),
    ],
)
def test_bad_arguments_name_the_argument(factory, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        factory()


def test_wrong_input_rank_is_reported():
    with pytest.raises(ValueError, match=r"inputs.*rank 4"):
        SNConv2D(4, 3)(np.zeros((2, 8, 3), "float32"))
    with pytest.raises(ValueError, match=r"inputs.*rank >= 2"):
        SNDense(4)(np.zeros((3,), "float32"))


@pytest.mark.parametrize(
    "cls, kwargs, shape, dtype, out, trainable, params",
    [
        (SNConv2D, {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 6, 6, 3), "float32",
         (2, 6, 6, 4), 2, 3 * 3 * 3 * 4 + 4 + 4),
        (SNConv2DTranspose, {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"},
         (2, 4, 4, 3), "float32", (2, 8, 8, 4), 2, 4 * 4 * 4 * 3 + 4 + 4),
        (SNDense, {"units": 4}, (2, 5), "float32", (2, 4), 2, 5 * 4 + 4 + 4),
        (SNEmbedding, {"input_dim": 6, "output_dim": 3}, (2,), "int32", (2, 3), 1, 6 * 3 + 3),
    ],
)
def test_layer_contract(cls, kwargs, shape, dtype, out, trainable, params):
    layer = run_layer_test(
        cls, kwargs, input_shape=shape, input_dtype=dtype, expected_output_shape=out,
        expected_num_trainable_weights=trainable, expected_num_non_trainable_weights=1,
        expected_num_params=params,
    )
    assert layer.get_config()["power_iterations"] == 1
    assert compat.serialize(layer)["registered_name"] == f"ascendgan>{cls.__name__}"
