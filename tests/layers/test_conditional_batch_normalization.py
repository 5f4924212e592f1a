"""ConditionalBatchNormalization and the batch-norm maths against numpy references."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.layers._batch_norm import batch_norm
from ascendgan.layers.batch_normalization import FusedBatchNormalization
from ascendgan.layers.conditional_batch_normalization import ConditionalBatchNormalization
from ascendgan.testing import run_layer_test

EPS = 1e-5
MOMENTUM = 0.9
SHAPES = {"4d": (4, 3, 3, 5), "2d": (6, 5)}


# ----------------------------------------------------------------------------- numpy reference


def _stats(x):
    """Biased and unbiased per-channel statistics over every axis but the last (float64)."""
    x = np.asarray(x, "float64")
    flat = x.reshape(-1, x.shape[-1])
    return flat.mean(0), flat.var(0), flat.var(0, ddof=1)


def _reference(x, gain, bias, mean, variance):
    """(x - mean) / sqrt(var + eps) * (1 + gain) + bias with per-sample gain and bias (n, c)."""
    x = np.asarray(x, "float64")
    x_hat = (x - mean) / np.sqrt(variance + EPS)
    expand = (slice(None),) + (None,) * (x.ndim - 2) + (slice(None),)
    return x_hat * (1.0 + gain[expand]) + bias[expand]


def _largest_singular_value(matrix):
    return np.linalg.svd(np.asarray(matrix, "float64"), compute_uv=False)[0]


def _class_layer(rng, channels=5, num_classes=3, **kwargs):
    layer = ConditionalBatchNormalization(num_classes=num_classes, **kwargs)
    layer.build([(None,) + (3, 3, channels), (None,)])
    gain = rng.normal(0, 0.5, (num_classes, channels)).astype("float32")
    bias = rng.normal(0, 0.5, (num_classes, channels)).astype("float32")
    layer.gain_embeddings.assign(gain)
    layer.bias_embeddings.assign(bias)
    return layer, gain, bias


# ----------------------------------------------------------------------------- class-id mode


@pytest.mark.parametrize("rank", sorted(SHAPES))
@pytest.mark.parametrize("label_shape", ["flat", "column"])
def test_class_mode_matches_numpy_in_training_and_inference(rank, label_shape, rng):
    shape = SHAPES[rank]
    channels = shape[-1]
    layer = ConditionalBatchNormalization(num_classes=3)
    x = rng.normal(1.5, 2.0, shape).astype("float32")
    labels = rng.integers(0, 3, shape[0]).astype("int32")
    condition = labels if label_shape == "flat" else labels[:, None]
    layer([x, condition])  # build
    gain = rng.normal(0, 0.5, (3, channels)).astype("float32")
    bias = rng.normal(0, 0.5, (3, channels)).astype("float32")
    layer.gain_embeddings.assign(gain)
    layer.bias_embeddings.assign(bias)

    mean, biased, _ = _stats(x)
    y = layer([x, condition], training=True)
    np.testing.assert_allclose(
        np.asarray(y), _reference(x, gain[labels], bias[labels], mean, biased), rtol=1e-4, atol=1e-4
    )

    moving_mean = rng.normal(0, 1, channels).astype("float32")
    moving_variance = rng.uniform(0.5, 2.0, channels).astype("float32")
    layer.moving_mean.assign(moving_mean)
    layer.moving_variance.assign(moving_variance)
    y = layer([x, condition], training=False)
    np.testing.assert_allclose(
        np.asarray(y),
        _reference(x, gain[labels], bias[labels], moving_mean, moving_variance),
        rtol=1e-4, atol=1e-4,
    )
    # Inference left the moving statistics alone.
    np.testing.assert_array_equal(np.asarray(layer.moving_mean), moving_mean)
    np.testing.assert_array_equal(np.asarray(layer.moving_variance), moving_variance)


@pytest.mark.parametrize("rank", sorted(SHAPES))
def test_moving_statistics_follow_the_update_formula(rank, rng):
    """moving = moving * momentum + batch * (1 - momentum), with the unbiased batch variance."""
    shape = SHAPES[rank]
    layer = ConditionalBatchNormalization(num_classes=2, momentum=MOMENTUM)
    labels = np.array([0, 1] * (shape[0] // 2), "int32")
    expected_mean = np.zeros(shape[-1])
    expected_variance = np.ones(shape[-1])
    for step in range(2):
        x = rng.normal(step - 0.5, 1.0 + step, shape).astype("float32")
        layer([x, labels], training=True)
        mean, biased, unbiased = _stats(x)
        assert not np.allclose(biased, unbiased)  # the test tells the two apart
        expected_mean = expected_mean * MOMENTUM + mean * (1 - MOMENTUM)
        expected_variance = expected_variance * MOMENTUM + unbiased * (1 - MOMENTUM)
        np.testing.assert_allclose(np.asarray(layer.moving_mean), expected_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            np.asarray(layer.moving_variance), expected_variance, rtol=1e-5, atol=1e-6
        )


def test_zero_embeddings_make_plain_batch_norm(rng):
    layer = ConditionalBatchNormalization(num_classes=4)
    x = rng.normal(-1.0, 3.0, (4, 3, 3, 2)).astype("float32")
    labels = np.array([0, 3, 1, 3], "int32")
    y = np.asarray(layer([x, labels], training=True))
    mean, biased, _ = _stats(x)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(biased + EPS), rtol=1e-4, atol=1e-4)
    assert np.all(np.asarray(layer.gain_embeddings) == 0)
    assert np.all(np.asarray(layer.bias_embeddings) == 0)


def test_class_mode_gradients_have_closed_form(rng):
    """dL/dΔγ[k] = Σ_{samples of class k, pixels} x̂·G and dL/dβ[k] = Σ G for L = Σ y·G."""
    layer, _, _ = _class_layer(rng)
    x = rng.normal(0, 1, (4, 3, 3, 5)).astype("float32")
    labels = np.array([2, 0, 2, 2], "int32")
    upstream = rng.normal(0, 1, (4, 3, 3, 5)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer([x, labels], training=True) * upstream)
    grad_gain, grad_bias = tape.gradient(loss, [layer.gain_embeddings, layer.bias_embeddings])
    mean, biased, _ = _stats(x)
    x_hat = (x - mean) / np.sqrt(biased + EPS)
    expected_gain = np.zeros((3, 5))
    expected_bias = np.zeros((3, 5))
    for i, k in enumerate(labels):
        expected_gain[k] += (x_hat[i] * upstream[i]).sum((0, 1))
        expected_bias[k] += upstream[i].sum((0, 1))
    np.testing.assert_allclose(np.asarray(tf.convert_to_tensor(grad_gain)), expected_gain,
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(tf.convert_to_tensor(grad_bias)), expected_bias,
                               rtol=1e-4, atol=1e-4)
    assert np.all(expected_gain[1] == 0) and np.any(expected_gain[2] != 0)


def test_gradient_through_training_batch_norm_matches_numpy(rng):
    """Backprop through the batch statistics: dL/dx of plain BN in closed form."""
    layer = ConditionalBatchNormalization(num_classes=2)
    x = tf.constant(rng.normal(0.5, 2.0, (2, 3, 3, 4)).astype("float32"))
    upstream = rng.normal(0, 1, (2, 3, 3, 4))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer([x, np.array([0, 1], "int32")], training=True) * upstream)
    grad = np.asarray(tape.gradient(loss, x))
    xs = np.asarray(x, "float64").reshape(-1, 4)
    g = upstream.reshape(-1, 4)
    n = xs.shape[0]
    inv = 1.0 / np.sqrt(xs.var(0) + EPS)
    x_hat = (xs - xs.mean(0)) * inv
    expected = inv / n * (n * g - g.sum(0) - x_hat * (g * x_hat).sum(0))
    np.testing.assert_allclose(grad.reshape(-1, 4), expected, rtol=1e-3, atol=1e-4)


def test_class_ids_out_of_range_are_reported(rng):
    layer = ConditionalBatchNormalization(num_classes=3)
    x = rng.normal(0, 1, (2, 2, 2, 3)).astype("float32")
    layer([x, np.array([0, 1], "int32")])
    with pytest.raises(tf.errors.InvalidArgumentError, match="condition"):
        layer([x, np.array([0, 3], "int32")])
    with pytest.raises(tf.errors.InvalidArgumentError, match="condition"):
        layer([x, np.array([-1, 0], "int32")])

    @tf.function
    def run(labels):
        return layer([x, labels], training=True)

    with pytest.raises(tf.errors.InvalidArgumentError, match="condition"):
        run(tf.constant([5, 0], tf.int32))


# ----------------------------------------------------------------------------- vector mode


@pytest.mark.parametrize("use_spectral_norm", [False, True])
@pytest.mark.parametrize("rank", sorted(SHAPES))
def test_vector_mode_matches_numpy(use_spectral_norm, rank, rng):
    shape = SHAPES[rank]
    channels = shape[-1]
    layer = ConditionalBatchNormalization(
        use_spectral_norm=use_spectral_norm, power_iterations=40, projection_use_bias=True
    )
    x = rng.normal(0.5, 1.5, shape).astype("float32")
    condition = rng.normal(0, 1, (shape[0], 4)).astype("float32")
    layer([x, condition])
    kernels = [rng.normal(0, 0.7, (4, channels)).astype("float32") for _ in range(2)]
    biases = [rng.normal(0, 0.3, channels).astype("float32") for _ in range(2)]
    for projection, kernel, bias in zip(
        (layer.gain_projection, layer.bias_projection), kernels, biases
    ):
        projection.kernel.assign(kernel)
        projection.bias.assign(bias)
    if use_spectral_norm:
        kernels = [k / _largest_singular_value(k) for k in kernels]
    gain = condition @ kernels[0] + biases[0]
    bias = condition @ kernels[1] + biases[1]

    mean, biased, _ = _stats(x)
    y = layer([x, condition], training=True)  # 40 power iterations: σ converged
    np.testing.assert_allclose(
        np.asarray(y), _reference(x, gain, bias, mean, biased), rtol=1e-4, atol=1e-4
    )
    layer.moving_mean.assign(np.full(channels, 0.25, "float32"))
    layer.moving_variance.assign(np.full(channels, 3.0, "float32"))
    y = layer([x, condition], training=False)
    np.testing.assert_allclose(
        np.asarray(y), _reference(x, gain, bias, 0.25, 3.0), rtol=1e-4, atol=1e-4
    )


def test_vector_mode_zero_kernels_make_plain_batch_norm_and_gradients_flow(rng):
    layer = ConditionalBatchNormalization(kernel_initializer="zeros")
    x = rng.normal(2.0, 0.5, (4, 2, 2, 3)).astype("float32")
    condition = rng.normal(0, 1, (4, 6)).astype("float32")
    upstream = rng.normal(0, 1, (4, 2, 2, 3)).astype("float32")
    with tf.GradientTape() as tape:
        y = layer([x, condition], training=True)
        loss = tf.reduce_sum(y * upstream)
    mean, biased, _ = _stats(x)
    x_hat = (x - mean) / np.sqrt(biased + EPS)
    np.testing.assert_allclose(np.asarray(y), x_hat, rtol=1e-4, atol=1e-4)
    grad_gain, grad_bias = tape.gradient(
        loss, [layer.gain_projection.kernel, layer.bias_projection.kernel]
    )
    # y = x̂ (1 + c Wg) + c Wb  =>  dL/dWg = cᵀ Σ_pixels x̂·G, dL/dWb = cᵀ Σ_pixels G
    np.testing.assert_allclose(
        np.asarray(grad_gain), condition.T @ (x_hat * upstream).sum((1, 2)), rtol=1e-4, atol=1e-4
    )
    np.testing.assert_allclose(
        np.asarray(grad_bias), condition.T @ upstream.sum((1, 2)), rtol=1e-4, atol=1e-4
    )


def test_spectral_norm_projection_gradient_reaches_kernels(rng):
    layer = ConditionalBatchNormalization(use_spectral_norm=True)
    x = rng.normal(0, 1, (2, 2, 2, 3)).astype("float32")
    condition = rng.normal(0, 1, (2, 4)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer([x, condition], training=True) * rng.normal(0, 1, (2, 2, 2, 3)))
    grads = tape.gradient(loss, layer.trainable_weights)
    assert len(grads) == 2
    assert all(g is not None and np.any(np.asarray(g) != 0) for g in grads)
    # Default kernels are orthogonal (not zero), as spectral norm requires.
    assert np.any(np.asarray(layer.gain_projection.kernel) != 0)
    assert not np.array_equal(
        np.asarray(layer.gain_projection.kernel), np.asarray(layer.bias_projection.kernel)
    )


# ----------------------------------------------------------------------------- the maths


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("rank", sorted(SHAPES))
def test_fused_and_unfused_paths_agree(training, rank, rng):
    """The fused kernel, the tf.nn.moments path (synchronized=True) and float64 inputs agree."""
    shape = SHAPES[rank]
    x = rng.normal(1.0, 2.0, shape).astype("float32")
    results = []
    for synchronized, dtype in [(False, "float32"), (True, "float32"), (False, "float64")]:
        mean = tf.Variable(np.full(shape[-1], 0.5, "float32"))
        variance = tf.Variable(np.full(shape[-1], 2.0, "float32"))
        y = batch_norm(tf.constant(x, dtype), training, mean, variance, MOMENTUM, EPS,
                       synchronized=synchronized)
        assert y.dtype == tf.as_dtype(dtype)
        results.append((np.asarray(y, "float64"), np.asarray(mean), np.asarray(variance)))
    batch_mean, biased, unbiased = _stats(x)
    if training:
        expected = (x - batch_mean) / np.sqrt(biased + EPS)
        expected_mean = 0.5 * MOMENTUM + batch_mean * (1 - MOMENTUM)
        expected_variance = 2.0 * MOMENTUM + unbiased * (1 - MOMENTUM)
    else:
        expected = (x - 0.5) / np.sqrt(2.0 + EPS)
        expected_mean, expected_variance = np.full(shape[-1], 0.5), np.full(shape[-1], 2.0)
    for y, mean, variance in results:
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(mean, expected_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(variance, expected_variance, rtol=1e-5, atol=1e-6)


def test_statistics_under_mirrored_strategy(rng):
    """Moving statistics (aggregation "mean") and the all-reduced synchronized moments."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    x = rng.normal(1.0, 2.0, (4, 2, 2, 3)).astype("float32")
    labels = np.array([0, 1, 1, 0], "int32")
    with strategy.scope():
        layer = ConditionalBatchNormalization(num_classes=2)
        layer.build([x.shape, labels.shape])
        mean_var = tf.Variable(np.zeros(3, "float32"), aggregation=tf.VariableAggregation.MEAN)
        variance_var = tf.Variable(np.ones(3, "float32"), aggregation=tf.VariableAggregation.MEAN)

    @tf.function
    def step(batch, ids):
        return layer([batch, ids], training=True)

    @tf.function
    def synchronized(batch):
        return batch_norm(batch, True, mean_var, variance_var, MOMENTUM, EPS, synchronized=True)

    strategy.run(step, args=(tf.constant(x), tf.constant(labels)))
    y = strategy.run(synchronized, args=(tf.constant(x),))
    mean, biased, unbiased = _stats(x)
    for moving_mean, moving_variance in [(layer.moving_mean, layer.moving_variance),
                                         (mean_var, variance_var)]:
        np.testing.assert_allclose(np.asarray(moving_mean), mean * (1 - MOMENTUM), rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(np.asarray(moving_variance),
                                   MOMENTUM + unbiased * (1 - MOMENTUM), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(y), (x - mean) / np.sqrt(biased + EPS), rtol=1e-4,
                               atol=1e-4)


def test_synchronized_option_uses_all_reduced_moments_and_round_trips(rng):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    x = rng.normal(1.0, 2.0, (4, 2, 2, 3)).astype("float32")
    labels = np.array([0, 1, 1, 0], "int32")
    with strategy.scope():
        layer = ConditionalBatchNormalization(num_classes=2, synchronized=True)
        layer.build([x.shape, labels.shape])
    y = strategy.run(tf.function(lambda b, i: layer([b, i], training=True)),
                     args=(tf.constant(x), tf.constant(labels)))
    mean, biased, _ = _stats(x)
    # zero-initialized embeddings: gain 1, bias 0 -> plain normalization by the batch moments
    np.testing.assert_allclose(np.asarray(y), (x - mean) / np.sqrt(biased + EPS), rtol=1e-4, atol=1e-4)
    config = layer.get_config()
    assert config["synchronized"] is True
    assert ConditionalBatchNormalization.from_config(config).synchronized is True


def test_batch_norm_rejects_other_ranks():
    mean, variance = tf.Variable(tf.zeros(3)), tf.Variable(tf.ones(3))
    with pytest.raises(ValueError, match="rank 2 or 4"):
        batch_norm(tf.zeros((2, 4, 3)), True, mean, variance, MOMENTUM, EPS)


def test_training_tensor_flag_inside_tf_function(rng):
    layer = ConditionalBatchNormalization(num_classes=2)
    x = rng.normal(3.0, 2.0, (2, 3, 3, 4)).astype("float32")
    labels = np.array([0, 1], "int32")
    layer([x, labels])

    @tf.function
    def step(flag):
        return layer([x, labels], training=flag)

    y = step(tf.constant(False))
    np.testing.assert_allclose(np.asarray(y), x / np.sqrt(1.0 + EPS), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(layer.moving_mean), np.zeros(4))
    y = step(tf.constant(True))
    mean, biased, _ = _stats(x)
    np.testing.assert_allclose(np.asarray(y), (x - mean) / np.sqrt(biased + EPS), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(np.asarray(layer.moving_mean), mean * (1 - MOMENTUM), rtol=1e-5)


def test_mixed_bfloat16_keeps_statistics_in_float32(rng):
    x = rng.normal(4.0, 3.0, (4, 4, 4, 6)).astype("float32")
    labels = np.array([0, 1, 2, 1], "int32")
    reference = ConditionalBatchNormalization(num_classes=3)
    reference.build([x.shape, labels.shape])
    with compat.precision_scope("mixed_bfloat16"):
        layer = ConditionalBatchNormalization(num_classes=3)
        layer.build([x.shape, labels.shape])
        tables = [rng.normal(0, 0.3, (3, 6)).astype("float32") for _ in range(2)]
        for target in (layer, reference):
            target.gain_embeddings.assign(tables[0])
            target.bias_embeddings.assign(tables[1])
        y = layer([x, labels], training=True)
    assert y.dtype == tf.bfloat16
    assert all(w.dtype == tf.float32 for w in layer.weights)
    # The layer sees x rounded to bfloat16; its statistics are those of the rounded values
    # to float32 accuracy (bfloat16 statistics would be off by ~1e-2 relative).
    x_rounded = np.asarray(tf.cast(tf.cast(x, tf.bfloat16), tf.float64))
    mean, _, unbiased = _stats(x_rounded)
    np.testing.assert_allclose(np.asarray(layer.moving_mean), mean * (1 - MOMENTUM), rtol=1e-5)
    np.testing.assert_allclose(
        np.asarray(layer.moving_variance), MOMENTUM + unbiased * (1 - MOMENTUM), rtol=1e-5
    )
    expected = np.asarray(reference([x, labels], training=True))
    np.testing.assert_allclose(np.asarray(tf.cast(y, tf.float32)), expected, rtol=0.02, atol=0.05)


def test_fused_batch_normalization_layer_matches_numpy(rng):
    layer = FusedBatchNormalization()
    x = rng.normal(1.0, 2.0, (3, 2, 2, 4)).astype("float32")
    layer.build(x.shape)
    gamma, beta = rng.normal(1, 0.3, 4).astype("float32"), rng.normal(0, 0.3, 4).astype("float32")
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    mean, biased, unbiased = _stats(x)
    y = layer(x, training=True)
    np.testing.assert_allclose(np.asarray(y), (x - mean) / np.sqrt(biased + EPS) * gamma + beta,
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(layer.moving_variance), 0.9 + 0.1 * unbiased, rtol=1e-5)
    y = layer(x, training=False)
    expected = (x - 0.1 * mean) / np.sqrt(0.9 + 0.1 * unbiased + EPS) * gamma + beta
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-4, atol=1e-4)
    assert FusedBatchNormalization.from_config(layer.get_config()).get_config() == layer.get_config()


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"num_classes": 0}, ValueError, "num_classes=0"),
        ({"num_classes": -2}, ValueError, "num_classes=-2"),
        ({"num_classes": 2.5}, ValueError, "num_classes=2.5"),
        ({"momentum": 1.0}, ValueError, "momentum=1.0"),
        ({"momentum": -0.1}, ValueError, "momentum=-0.1"),
        ({"epsilon": 0.0}, ValueError, "epsilon=0.0"),
        ({"power_iterations": 0}, ValueError, "power_iterations=0"),
        ({"synchronized": 1}, ValueError, "synchronized=1"),
        ({"num_classes": 3, "use_spectral_norm": True}, ValueError, "use_spectral_norm=True"),
        ({"use_spectral_norm": True, "kernel_initializer": "zeros"}, ValueError,
         "kernel_initializer='zeros'"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        ConditionalBatchNormalization(**kwargs)


def test_bad_inputs_are_reported(rng):
    x = rng.normal(0, 1, (2, 3, 3, 4)).astype("float32")
    labels = np.array([0, 1], "int32")
    by_class = ConditionalBatchNormalization(num_classes=2)
    with pytest.raises(ValueError, match=r"\[x, condition\].*single"):
        by_class(x)
    with pytest.raises(ValueError, match=r"\[x, condition\].*list of 3 inputs"):
        by_class([x, labels, labels])
    with pytest.raises(ValueError, match=r"`x` of rank 2.*or 4.*x.shape=\(2, 3, 4\)"):
        ConditionalBatchNormalization(num_classes=2)([x[:, 0], labels])
    with pytest.raises(ValueError, match=r"one `condition` per sample.*condition.shape=\(3,\)"):
        ConditionalBatchNormalization(num_classes=2)([x, np.array([0, 1, 1], "int32")])
    with pytest.raises(ValueError, match=r"condition.shape=\(2, 2\)"):
        ConditionalBatchNormalization(num_classes=2)([x, np.zeros((2, 2), "int32")])
    with pytest.raises(TypeError, match="integer class ids.*condition.dtype=float32"):
        ConditionalBatchNormalization(num_classes=2)([x, labels.astype("float32")])

    by_vector = ConditionalBatchNormalization()
    by_vector([x, rng.normal(0, 1, (2, 5)).astype("float32")])
    with pytest.raises(ValueError, match=r"size 5.*condition.shape=\(2, 4\)"):
        by_vector([x, rng.normal(0, 1, (2, 4)).astype("float32")])
    with pytest.raises(ValueError, match=r"\(n, d\).*condition.shape=\(2,\)"):
        ConditionalBatchNormalization()([x, np.zeros((2,), "float32")])
    with pytest.raises(TypeError, match="float `condition`.*condition.dtype=int32"):
        ConditionalBatchNormalization()([x, np.zeros((2, 3), "int32")])


def test_batch_mismatch_is_caught_in_a_functional_model():
    x = compat.keras.Input((4, 4, 3), batch_size=2)
    c = compat.keras.Input((), batch_size=3, dtype="int32")
    with pytest.raises(ValueError, match="condition"):
        ConditionalBatchNormalization(num_classes=2)([x, c])


# ----------------------------------------------------------------------------- contract


@pytest.mark.parametrize(
    "kwargs, shapes, dtypes, trainable, non_trainable, params",
    [
        # class ids: 2 tables (3 x 4) + moving mean and variance (4 each)
        ({"num_classes": 3}, [(2, 4, 4, 4), (2,)], ["float32", "int32"], 2, 2, 2 * 3 * 4 + 2 * 4),
        ({"num_classes": 3}, [(4, 4), (4, 1)], ["float32", "int32"], 2, 2, 2 * 3 * 4 + 2 * 4),
        # vector (d = 5): 2 kernels (5 x 4) + moving statistics
        ({}, [(2, 4, 4, 4), (2, 5)], ["float32", "float32"], 2, 2, 2 * 5 * 4 + 2 * 4),
        # + spectral norm: one u (1 x 4) per projection; + biases (4) per projection
        ({"use_spectral_norm": True, "projection_use_bias": True}, [(2, 3, 3, 4), (2, 5)],
         ["float32", "float32"], 4, 4, 2 * (5 * 4 + 4) + 2 * 4 + 2 * 4),
    ],
)
def test_layer_contract(kwargs, shapes, dtypes, trainable, non_trainable, params):
    layer = run_layer_test(
        ConditionalBatchNormalization, kwargs, input_shape=shapes, input_dtype=dtypes,
        expected_output_shape=shapes[0], expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=non_trainable, expected_num_params=params,
    )
    assert compat.serialize(layer)["registered_name"] == "ascendgan>ConditionalBatchNormalization"
    assert all(not w.trainable for w in (layer.moving_mean, layer.moving_variance))
