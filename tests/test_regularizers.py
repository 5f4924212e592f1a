"""Tests of ascendgan.regularizers against numpy formulas and closed forms."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat, regularizers
from ascendgan.layers import SNConv2D

keras = compat.keras


def np_orthogonal(kernel, beta):
    """β·‖WᵀW ⊙ (1 - I)‖²_F in float64, W = kernel reshaped to (-1, out)."""
    w = np.asarray(kernel, np.float64)
    w = w.reshape(-1, w.shape[-1])
    gram = w.T @ w
    off = gram - np.diag(np.diag(gram))
    return beta * np.sum(off**2)


def np_orthogonal_grad(kernel, beta):
    """d/dW of the penalty: 4β·W·(WᵀW ⊙ (1 - I)), reshaped back."""
    w = np.asarray(kernel, np.float64)
    matrix = w.reshape(-1, w.shape[-1])
    gram = matrix.T @ matrix
    off = gram - np.diag(np.diag(gram))
    return (4 * beta * matrix @ off).reshape(w.shape)


# ----------------------------------------------------------------------------- orthogonal_penalty


def test_orthogonal_penalty_matches_numpy_on_conv_kernel(rng):
    kernel = rng.standard_normal((3, 3, 4, 5)).astype("float32")
    value = regularizers.orthogonal_penalty(kernel, beta=0.01)
    assert value.dtype == tf.float32 and value.shape.rank == 0
    np.testing.assert_allclose(float(value), np_orthogonal(kernel, 0.01), rtol=1e-5)
    # Default beta is BigGAN's 1e-4.
    np.testing.assert_allclose(
        float(regularizers.orthogonal_penalty(kernel)), np_orthogonal(kernel, 1e-4), rtol=1e-5
    )


def test_orthogonal_penalty_ignores_column_norms(rng):
    q, _ = np.linalg.qr(rng.standard_normal((6, 4)))  # orthonormal columns
    assert float(regularizers.orthogonal_penalty(q.astype("float32"), beta=1.0)) < 1e-10
    # Off-diagonal only: columns of different lengths are still penalty-free ...
    scaled = (q * np.array([0.1, 1.0, 3.0, 10.0])).astype("float32")
    assert float(regularizers.orthogonal_penalty(scaled, beta=1.0)) < 1e-8
    # ... while mixing two columns is not.
    mixed = scaled.copy()
    mixed[:, 0] += scaled[:, 1]
    np.testing.assert_allclose(
        float(regularizers.orthogonal_penalty(mixed, beta=1.0)), np_orthogonal(mixed, 1.0), rtol=1e-5
    )
    assert np_orthogonal(mixed, 1.0) > 1.0


def test_orthogonal_penalty_computes_in_float32_for_bfloat16(rng):
    kernel = tf.constant(rng.standard_normal((3, 3, 8, 8)), tf.bfloat16)
    exact = np_orthogonal(kernel.numpy().astype(np.float64), 1.0)
    value = regularizers.orthogonal_penalty(kernel, beta=1.0)
    assert value.dtype == tf.float32
    # bfloat16 arithmetic would be off by ~1e-2 relative.
    np.testing.assert_allclose(float(value), exact, rtol=1e-5)


def test_orthogonal_penalty_gradient(rng):
    kernel = tf.Variable(rng.standard_normal((2, 2, 3, 4)).astype("float32"))
    with tf.GradientTape() as tape:
        value = regularizers.orthogonal_penalty(kernel, beta=0.5)
    np.testing.assert_allclose(
        tape.gradient(value, kernel).numpy(), np_orthogonal_grad(kernel.numpy(), 0.5), rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.parametrize("shape", [(20, 96), (1, 2, 3, 40), (7, 8)])
def test_orthogonal_penalty_of_wide_kernels_value_and_gradient(rng, shape):
    # fewer rows than columns: computed from the row Gram, never the columns x columns one
    kernel = tf.Variable(rng.standard_normal(shape).astype("float32"))
    with tf.GradientTape() as tape:
        value = regularizers.orthogonal_penalty(kernel, beta=0.25)
    np.testing.assert_allclose(float(value), np_orthogonal(kernel.numpy(), 0.25), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(value, kernel).numpy(),
                               np_orthogonal_grad(kernel.numpy(), 0.25), rtol=1e-4, atol=1e-4)


def test_orthogonal_penalty_of_a_wide_kernel_builds_no_column_gram():
    kernel = tf.ones((20, 6144))
    graph = tf.function(lambda k: regularizers.orthogonal_penalty(k)).get_concrete_function(
        tf.TensorSpec((20, 6144), tf.float32)).graph
    shapes = [tuple(t.shape) for op in graph.get_operations() for t in op.outputs]
    assert (6144, 6144) not in shapes and (20, 20) in shapes
    # every column shares all 20 rows of ones: each off-diagonal dot product is 20
    assert float(regularizers.orthogonal_penalty(kernel, beta=1.0)) == pytest.approx(
        6144 * 6143 * 400.0, rel=1e-6)


def test_orthogonal_penalty_errors():
    with pytest.raises(ValueError, match="`beta`.*-1"):
        regularizers.orthogonal_penalty(np.eye(2, dtype="float32"), beta=-1.0)
    with pytest.raises(ValueError, match="`beta` must be a number >= 0. Received: beta='big'"):
        regularizers.orthogonal_penalty(np.eye(2, dtype="float32"), beta="big")
    with pytest.raises(ValueError, match=r"`kernel`.*rank >= 2.*\(3,\)"):
        regularizers.orthogonal_penalty(np.ones(3, "float32"))
    with pytest.raises(TypeError, match="`kernel`.*int32"):
        regularizers.orthogonal_penalty(np.eye(2, dtype="int32"))


# ----------------------------------------------------------------------------- OrthogonalRegularizer


def _regularized_dense(beta):
    inputs = keras.Input(shape=(3,))
    dense = compat.layers.Dense(
        4,
        kernel_regularizer=regularizers.OrthogonalRegularizer(beta),
        kernel_initializer=compat.initializers.RandomNormal(stddev=1.0, seed=3),
    )
    model = keras.Model(inputs, dense(inputs))
    return model, dense


def test_regularizer_adds_model_loss():
    model, dense = _regularized_dense(0.5)
    expected = np_orthogonal(dense.kernel.numpy(), 0.5)
    assert expected > 0.1
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), expected, rtol=1e-5)
    # fit() / evaluate() add it to the loss: with zero inputs and targets the data loss is 0.
    model.compile(optimizer="sgd", loss="mse")
    zeros = np.zeros((2, 3), "float32")
    loss = model.evaluate(zeros, np.zeros((2, 4), "float32"), verbose=0)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_regularizer_under_mixed_bfloat16():
    with compat.precision_scope("mixed_bfloat16"):
        model, dense = _regularized_dense(0.5)
        penalty = tf.add_n(model.losses)
    assert penalty.dtype == tf.float32
    kernel = tf.convert_to_tensor(compat.full_precision(dense.kernel)).numpy()
    assert kernel.dtype == np.float32
    np.testing.assert_allclose(float(penalty), np_orthogonal(kernel, 0.5), rtol=1e-5)


def test_regularizer_config_round_trip():
    regularizer = regularizers.OrthogonalRegularizer(beta=3e-4)
    assert regularizer.get_config() == {"beta": 3e-4}
    config = compat.serialize(regularizer)
    restored = compat.deserialize(config)
    assert isinstance(restored, regularizers.OrthogonalRegularizer)
    assert restored.beta == 3e-4
    assert regularizers.OrthogonalRegularizer.from_config(regularizer.get_config()).beta == 3e-4
    # ... also as part of a layer's config.
    layer = compat.layers.Conv2D(2, 3, kernel_regularizer=regularizer)
    clone = compat.deserialize(compat.serialize(layer))
    assert isinstance(clone.kernel_regularizer, regularizers.OrthogonalRegularizer)
    assert clone.kernel_regularizer.beta == 3e-4


def test_regularizer_validates_beta():
    with pytest.raises(ValueError, match=r"`beta`.*Received: beta=-0.1"):
        regularizers.OrthogonalRegularizer(beta=-0.1)
    with pytest.raises(ValueError, match="`beta`"):
        regularizers.OrthogonalRegularizer(beta=True)


# ----------------------------------------------------------------------------- orthogonal_regularization


def _mixed_model():
    """Conv2D -> SNConv2D -> Dense, times an embedded label -> Dense."""
    image = keras.Input(shape=(6, 6, 2))
    label = keras.Input(shape=(1,), dtype="int32")
    conv = compat.layers.Conv2D(3, 3)
    sn_conv = SNConv2D(4, 3)
    # Non-zero biases and unit-scale embeddings, so including them would change the sum.
    dense = compat.layers.Dense(5, bias_initializer="ones")
    embedding = compat.layers.Embedding(
        7, 5, embeddings_initializer=compat.initializers.RandomNormal(stddev=1.0, seed=5)
    )
    norm = compat.layers.BatchNormalization()
    head = compat.layers.Dense(1)
    features = dense(compat.layers.Flatten()(norm(sn_conv(conv(image)))))
    embedded = compat.layers.Flatten()(embedding(label))
    output = head(compat.layers.Multiply()([features, embedded]))
    model = keras.Model([image, label], output)
    return model, [conv, sn_conv, dense, head], embedding


def test_orthogonal_regularization_counts_exactly_the_kernels():
    model, kernel_layers, embedding = _mixed_model()
    beta = 0.01
    expected = sum(np_orthogonal(layer.kernel.numpy(), beta) for layer in kernel_layers)
    value = regularizers.orthogonal_regularization(model, beta=beta)
    assert value.dtype == tf.float32 and value.shape.rank == 0
    np.testing.assert_allclose(float(value), expected, rtol=1e-5)
    # The embedding (rank 2) and the biases would change the sum if they were included.
    assert np_orthogonal(embedding.embeddings.numpy(), beta) > 1e-2 * expected
    assert np_orthogonal(kernel_layers[2].bias.numpy()[None], beta) > 1e-2 * expected
    # Same selection from an explicit variable list; embeddings, biases, u excluded there too.
    np.testing.assert_allclose(
        float(regularizers.orthogonal_regularization(model.trainable_variables, beta=beta)),
        expected,
        rtol=1e-6,
    )
    others = [embedding.embeddings, kernel_layers[2].bias, kernel_layers[1].u]
    assert float(regularizers.orthogonal_regularization(others, beta=beta)) == 0.0
    # Duplicates count once.
    twice = [kernel_layers[2].kernel, kernel_layers[2].kernel]
    np.testing.assert_allclose(
        float(regularizers.orthogonal_regularization(twice, beta=beta)),
        np_orthogonal(kernel_layers[2].kernel.numpy(), beta),
        rtol=1e-6,
    )


def test_orthogonal_regularization_is_differentiable():
    model, kernel_layers, _ = _mixed_model()
    with tf.GradientTape() as tape:
        value = regularizers.orthogonal_regularization(model, beta=0.01)
    gradients = tape.gradient(value, [layer.kernel for layer in kernel_layers])
    for layer, gradient in zip(kernel_layers, gradients):
        np.testing.assert_allclose(
            gradient.numpy(), np_orthogonal_grad(layer.kernel.numpy(), 0.01), rtol=1e-4, atol=1e-6
        )


def test_orthogonal_regularization_under_mixed_bfloat16():
    with compat.precision_scope("mixed_bfloat16"):
        model, kernel_layers, _ = _mixed_model()
        value = regularizers.orthogonal_regularization(model, beta=1.0)
    kernels = [tf.convert_to_tensor(compat.full_precision(k.kernel)).numpy() for k in kernel_layers]
    assert all(k.dtype == np.float32 for k in kernels)
    assert value.dtype == tf.float32
    np.testing.assert_allclose(float(value), sum(np_orthogonal(k, 1.0) for k in kernels), rtol=1e-5)


def test_orthogonal_regularization_empty_and_errors():
    model = keras.Sequential([compat.layers.Embedding(4, 3)])
    model.build((None, 2))
    assert float(regularizers.orthogonal_regularization(model)) == 0.0
    assert float(regularizers.orthogonal_regularization([])) == 0.0
    with pytest.raises(TypeError, match="`model_or_variables`.*orthogonal_penalty"):
        regularizers.orthogonal_regularization(tf.Variable(np.eye(2, dtype="float32")))
    with pytest.raises(TypeError, match="`model_or_variables`.*int"):
        regularizers.orthogonal_regularization(3)
    with pytest.raises(ValueError, match="`beta`"):
        regularizers.orthogonal_regularization([], beta=-1)


# ----------------------------------------------------------------------------- gradient_penalty


def _linear(w):
    """D(x) = sum(w * x) per sample: ∇ₓD = w, whatever x is."""
    return lambda x: tf.reduce_sum(x * w, axis=list(range(1, len(x.shape))))


def _quadratic(x):
    """D(x) = 0.5·sum(x²) per sample: ∇ₓD = x."""
    return 0.5 * tf.reduce_sum(tf.square(x), axis=list(range(1, len(x.shape))))


def test_gradient_penalty_linear_closed_form(rng):
    w = rng.standard_normal(5).astype("float32")
    real = rng.standard_normal((4, 5)).astype("float32")
    fake = rng.standard_normal((4, 5)).astype("float32")
    expected = (np.linalg.norm(w.astype(np.float64)) - 1.0) ** 2
    for alpha in (None, 0.0, 1.0, 0.3, rng.uniform(size=(4, 1)).astype("float32")):
        value = regularizers.gradient_penalty(_linear(w), real, fake, alpha=alpha)
        assert value.dtype == tf.float32 and value.shape.rank == 0
        np.testing.assert_allclose(float(value), expected, rtol=1e-5)
    for target in (0.0, 2.0):
        value = regularizers.gradient_penalty(_linear(w), real, fake, target=target)
        np.testing.assert_allclose(
            float(value), (np.linalg.norm(w.astype(np.float64)) - target) ** 2, rtol=1e-5
        )


def test_gradient_penalty_sums_patch_logits(rng):
    # A "PatchGAN" map D(x) = x * w of shape (n, h, w, c): summed per sample, ∇ₓ = w.
    w = rng.standard_normal((4, 4, 2)).astype("float32")
    real = rng.uniform(-1, 1, (3, 4, 4, 2)).astype("float32")
    fake = rng.uniform(-1, 1, (3, 4, 4, 2)).astype("float32")
    value = regularizers.gradient_penalty(lambda x: x * w, real, fake)
    np.testing.assert_allclose(
        float(value), (np.linalg.norm(w.astype(np.float64)) - 1.0) ** 2, rtol=1e-5
    )


def test_gradient_penalty_quadratic_with_given_alpha(rng):
    real = rng.uniform(-1, 1, (3, 4, 4, 2)).astype("float32")
    fake = rng.uniform(-1, 1, (3, 4, 4, 2)).astype("float32")
    alpha = np.array([0.1, 0.5, 0.9], "float32").reshape(3, 1, 1, 1)
    x_hat = real.astype(np.float64) + alpha * (fake.astype(np.float64) - real)
    norms = np.sqrt(np.sum(x_hat**2, axis=(1, 2, 3)))
    expected = np.mean((norms - 1.0) ** 2)
    value = regularizers.gradient_penalty(_quadratic, real, fake, alpha=alpha)
    np.testing.assert_allclose(float(value), expected, rtol=1e-5)


def test_gradient_penalty_default_alpha_is_uniform_per_sample(rng):
    real = rng.uniform(-1, 1, (6, 3, 3, 2)).astype("float32")
    fake = real + rng.uniform(0.5, 1.0, real.shape).astype("float32")  # fake - real >= 0.5
    seen = []

    def recording_quadratic(x):
        seen.append(x.numpy())
        return _quadratic(x)

    regularizers.gradient_penalty(recording_quadratic, real, fake)
    ratio = (seen[0] - real) / (fake - real)  # alpha, broadcast
    per_sample = ratio.reshape(6, -1)
    np.testing.assert_allclose(per_sample, per_sample[:, :1] * np.ones_like(per_sample), atol=1e-5)
    alphas = per_sample[:, 0]
    assert np.all(alphas >= -1e-6) and np.all(alphas < 1.0 + 1e-6)
    assert len(np.unique(np.round(alphas, 4))) == 6  # one draw per sample


def test_gradient_penalty_seed_is_reproducible(rng):
    real = rng.uniform(-1, 1, (4, 3)).astype("float32")
    fake = rng.uniform(-1, 1, (4, 3)).astype("float32")
    tf.random.set_seed(7)
    first = float(regularizers.gradient_penalty(_quadratic, real, fake, seed=11))
    tf.random.set_seed(7)
    second = float(regularizers.gradient_penalty(_quadratic, real, fake, seed=11))
    assert first == second


def test_gradient_penalty_nested_tape_in_tf_function(rng):
    w = tf.Variable(rng.standard_normal(6).astype("float32"))
    real = rng.standard_normal((4, 6)).astype("float32")
    fake = rng.standard_normal((4, 6)).astype("float32")

    @tf.function
    def penalty_and_gradient(real, fake):
        with tf.GradientTape() as tape:
            value = regularizers.gradient_penalty(_linear(w), real, fake)
        return value, tape.gradient(value, w)

    value, gradient = penalty_and_gradient(real, fake)
    w_np = w.numpy().astype(np.float64)
    norm = np.linalg.norm(w_np)
    np.testing.assert_allclose(float(value), (norm - 1) ** 2, rtol=1e-5)
    assert gradient is not None
    np.testing.assert_allclose(gradient.numpy(), 2 * (norm - 1) * w_np / norm, rtol=1e-4, atol=1e-6)


def test_gradient_penalty_with_keras_discriminator_in_train_step(rng):
    # Flatten -> Dense(1) without bias is linear: penalty = (‖kernel‖ - 1)².
    discriminator = keras.Sequential(
        [keras.Input(shape=(4, 4, 1)), compat.layers.Flatten(), compat.layers.Dense(1, use_bias=False)]
    )
    kernel = discriminator.layers[-1].kernel
    real = rng.uniform(-1, 1, (2, 4, 4, 1)).astype("float32")
    fake = rng.uniform(-1, 1, (2, 4, 4, 1)).astype("float32")

    @tf.function
    def step(real, fake):
        with tf.GradientTape() as tape:
            value = regularizers.gradient_penalty(
                lambda x: discriminator(x, training=True), real, fake
            )
        return value, tape.gradient(value, discriminator.trainable_variables)

    value, gradients = step(real, fake)
    k = kernel.numpy().astype(np.float64)
    norm = np.linalg.norm(k)
    np.testing.assert_allclose(float(value), (norm - 1) ** 2, rtol=1e-5)
    np.testing.assert_allclose(gradients[0].numpy(), 2 * (norm - 1) * k / norm, rtol=1e-4, atol=1e-6)


def test_gradient_penalty_mixed_bfloat16_returns_float32(rng):
    with compat.precision_scope("mixed_bfloat16"):
        discriminator = keras.Sequential(
            [keras.Input(shape=(8,)), compat.layers.Dense(1, use_bias=False)]
        )
        real = rng.uniform(-1, 1, (2, 8)).astype("float32")
        fake = rng.uniform(-1, 1, (2, 8)).astype("float32")
        value = regularizers.gradient_penalty(discriminator, real, fake)
        r1 = regularizers.r1_penalty(discriminator, tf.constant(real, tf.bfloat16))
    assert value.dtype == tf.float32 and r1.dtype == tf.float32
    norm = np.linalg.norm(tf.convert_to_tensor(compat.full_precision(discriminator.layers[-1].kernel)))
    # The gradient flows through a bfloat16 matmul: ~3 significant digits.
    np.testing.assert_allclose(float(value), (norm - 1) ** 2, rtol=3e-2)
    np.testing.assert_allclose(float(r1), norm**2, rtol=2e-2)


def test_gradient_penalty_holds_inputs_out_of_the_gradient(rng):
    fake = tf.Variable(rng.standard_normal((2, 3)).astype("float32"))
    real = rng.standard_normal((2, 3)).astype("float32")
    with tf.GradientTape() as tape:
        value = regularizers.gradient_penalty(_quadratic, real, fake, alpha=0.5)
    assert tape.gradient(value, fake) is None


def test_gradient_penalty_errors():
    x = np.zeros((2, 3), "float32")
    with pytest.raises(ValueError, match=r"`real` and `fake`.*\(2, 3\).*\(2, 4\)"):
        regularizers.gradient_penalty(_quadratic, x, np.zeros((2, 4), "float32"))
    with pytest.raises(TypeError, match="`discriminator`.*str"):
        regularizers.gradient_penalty("critic", x, x)
    with pytest.raises(TypeError, match="`real`.*int32"):
        regularizers.gradient_penalty(_quadratic, np.zeros((2, 3), "int32"), x)
    with pytest.raises(TypeError, match="`fake`"):
        regularizers.gradient_penalty(_quadratic, x, None)
    with pytest.raises(ValueError, match="`alpha`.*1.5"):
        regularizers.gradient_penalty(_quadratic, x, x, alpha=1.5)
    with pytest.raises(ValueError, match=r"`alpha`.*\(3, 1\)"):
        regularizers.gradient_penalty(_quadratic, x, x, alpha=np.zeros((3, 1), "float32"))
    with pytest.raises(ValueError, match="`target`"):
        regularizers.gradient_penalty(_quadratic, x, x, target=-1.0)
    with pytest.raises(ValueError, match="`seed`"):
        regularizers.gradient_penalty(_quadratic, x, x, seed=1.5)
    with pytest.raises(ValueError, match="`real`.*rank"):
        regularizers.gradient_penalty(_quadratic, 1.0, 1.0)
    with pytest.raises(ValueError, match="`discriminator`.*depend"):
        regularizers.gradient_penalty(lambda images: tf.zeros((2,)), x, x)
    with pytest.raises(TypeError, match=r"discriminator\(images\).*int32"):
        regularizers.gradient_penalty(lambda images: tf.zeros((2,), tf.int32), x, x)


# ----------------------------------------------------------------------------- r1_penalty


def test_r1_penalty_closed_forms(rng):
    w = rng.standard_normal((3, 3, 2)).astype("float32")
    real = rng.uniform(-1, 1, (4, 3, 3, 2)).astype("float32")
    value = regularizers.r1_penalty(_linear(w), real)
    assert value.dtype == tf.float32 and value.shape.rank == 0
    np.testing.assert_allclose(float(value), np.sum(w.astype(np.float64) ** 2), rtol=1e-5)
    # Quadratic D: ∇ₓD = x, so R1 = mean over the batch of ‖x‖².
    expected = np.mean(np.sum(real.astype(np.float64) ** 2, axis=(1, 2, 3)))
    np.testing.assert_allclose(float(regularizers.r1_penalty(_quadratic, real)), expected, rtol=1e-5)


def test_r1_penalty_gradient_in_tf_function(rng):
    w = tf.Variable(rng.standard_normal(5).astype("float32"))
    real = rng.standard_normal((3, 5)).astype("float32")

    @tf.function
    def step(real):
        with tf.GradientTape() as tape:
            value = regularizers.r1_penalty(_linear(w), real)
        return tape.gradient(value, w)

    np.testing.assert_allclose(step(real).numpy(), 2 * w.numpy(), rtol=1e-5)


def test_r1_penalty_errors():
    with pytest.raises(TypeError, match="`discriminator`"):
        regularizers.r1_penalty(None, np.zeros((2, 3), "float32"))
    with pytest.raises(TypeError, match="`real`.*int64"):
        regularizers.r1_penalty(_quadratic, np.zeros((2, 3), "int64"))


def test_regularizer_survives_keras_save_and_load(tmp_path):
    model, dense = _regularized_dense(0.25)
    path = str(tmp_path / f"model{compat.saved_model_suffix()}")
    model.save(path)
    restored = keras.models.load_model(path)
    regularizer = restored.layers[-1].kernel_regularizer
    assert isinstance(regularizer, regularizers.OrthogonalRegularizer) and regularizer.beta == 0.25
    np.testing.assert_allclose(
        float(tf.add_n(restored.losses)), np_orthogonal(dense.kernel.numpy(), 0.25), rtol=1e-5
    )
