"""DiffAugment: each transformation against numpy for the same random draws, the draws'
distributions, gradients against the numpy Jacobian, dtypes, seeds and the layer."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.augment import DiffAugment, diff_augment
from ascendgan.augment.diffaugment import _sample_parameters
from ascendgan.testing import run_layer_test


def numpy_diff_augment(images, params, policy):
    """The paper's three transformations, pixel by pixel, in float64."""
    x = images.astype("float64")
    batch, height, width, _ = x.shape
    for name in policy:
        if name == "color":
            x = x + params["brightness"][:, None, None, None]
            mean = x.mean(axis=-1, keepdims=True)
            x = (x - mean) * params["saturation"][:, None, None, None] + mean
            mean = x.mean(axis=(1, 2, 3), keepdims=True)
            x = (x - mean) * params["contrast"][:, None, None, None] + mean
        elif name == "translation":
            out = np.zeros_like(x)
            for b, (dy, dx) in enumerate(params["translation"]):
                for i in range(height):
                    for j in range(width):
                        if 0 <= i - dy < height and 0 <= j - dx < width:
                            out[b, i, j] = x[b, i - dy, j - dx]
            x = out
        elif name == "cutout":
            size_y, size_x = params["cutout_size"]
            x = x.copy()
            for b, (cy, cx) in enumerate(params["cutout_center"]):
                top, left = cy - size_y // 2, cx - size_x // 2
                for i in range(max(top, 0), min(top + size_y, height)):
                    for j in range(max(left, 0), min(left + size_x, width)):
                        x[b, i, j] = 0.0
    return x


def _draws(shape, policy, seed):
    params = _sample_parameters(tf.constant(shape), policy, tf.constant(seed, tf.int64))
    return {key: value.numpy() for key, value in params.items()}


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout",
                                    "cutout,color"])
def test_diff_augment_equals_numpy_for_the_same_draws(policy):
    images = _images((6, 10, 12, 3))
    names = policy.split(",")
    params = _draws(images.shape, names, [3, 4])
    out = diff_augment(images, policy, seed=[3, 4]).numpy()
    np.testing.assert_allclose(out, numpy_diff_augment(images, params, names), atol=2e-6)


def test_draws_follow_the_paper():
    shape = (4000, 32, 24, 3)
    params = _draws(shape, ["color", "translation", "cutout"], [0, 1])
    for key, low, high in (("brightness", -0.5, 0.5), ("saturation", 0.0, 2.0), ("contrast", 0.5, 1.5)):
        values = params[key]
        assert values.min() >= low and values.max() < high
        assert values.mean() == pytest.approx((low + high) / 2, abs=0.03)
        assert values.std() == pytest.approx((high - low) / np.sqrt(12), abs=0.03)
    # Translation: 1/8 of the image (int(32 / 8 + 0.5) = 4 rows, int(24 / 8 + 0.5) = 3 columns).
    shifts = params["translation"]
    assert set(np.unique(shifts[:, 0])) == set(range(-4, 5))
    assert set(np.unique(shifts[:, 1])) == set(range(-3, 4))
    # Cutout: half the image (16 x 12), centers over [0, 32] and [0, 24] (even sizes).
    assert list(params["cutout_size"]) == [16, 12]
    centers = params["cutout_center"]
    assert centers[:, 0].min() == 0 and centers[:, 0].max() == 32
    assert centers[:, 1].min() == 0 and centers[:, 1].max() == 24
    assert len(np.unique(params["brightness"])) > 0.99 * shape[0]  # one draw per image


def test_translation_moves_content_and_fills_zeros():
    ramp = np.arange(1, 26, dtype="float32").reshape(1, 5, 5, 1)
    for seed in range(20):
        params = _draws(ramp.shape, ["translation"], [seed, 0])
        dy, dx = params["translation"][0]
        out = diff_augment(ramp, "translation", seed=[seed, 0]).numpy()[0, ..., 0]
        expected = np.zeros((5, 5), "float32")
        expected[max(dy, 0):5 + min(dy, 0), max(dx, 0):5 + min(dx, 0)] = \
            ramp[0, max(-dy, 0):5 + min(-dy, 0), max(-dx, 0):5 + min(-dx, 0), 0]
        np.testing.assert_array_equal(out, expected)


def test_gradients_equal_the_numpy_jacobian():
    # For fixed draws DiffAugment is affine in the pixels: f(x) = A x + f(0), so the
    # gradient of sum(w * f(x)) is Aᵀ w, with A's columns from the numpy reference.
    shape = (2, 4, 5, 3)
    images = _images(shape, 1)
    weights = _images(shape, 2)
    policy = ["color", "translation", "cutout"]
    params = _draws(shape, policy, [7, 8])
    offset = numpy_diff_augment(np.zeros(shape), params, policy)
    jacobian = np.stack([
        (numpy_diff_augment(np.eye(images.size)[k].reshape(shape), params, policy) - offset).ravel()
        for k in range(images.size)
    ], axis=1)
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(weights * diff_augment(x, policy, seed=[7, 8]))
    gradient = tape.gradient(loss, x).numpy()
    np.testing.assert_allclose(gradient.ravel(), jacobian.T @ weights.ravel(), atol=1e-5)
    assert np.abs(gradient).sum() > 0


@pytest.mark.parametrize("dtype,tolerance", [("float16", 5e-3), ("bfloat16", 4e-2), ("float64", 1e-6)])
def test_low_precision_dtypes(dtype, tolerance):
    images = tf.cast(_images((4, 8, 8, 3), 3), dtype)
    out = diff_augment(images, seed=[1, 1])
    assert out.dtype == images.dtype
    reference = diff_augment(tf.cast(images, tf.float32), seed=[1, 1])
    np.testing.assert_allclose(tf.cast(out, tf.float32).numpy(), reference.numpy(), atol=tolerance)
    with tf.GradientTape() as tape:
        tape.watch(images)
        loss = tf.reduce_sum(tf.cast(diff_augment(images, seed=[1, 1]), tf.float32))
    gradient = tape.gradient(loss, images)
    assert gradient.dtype == images.dtype
    assert np.all(np.isfinite(tf.cast(gradient, tf.float32).numpy()))


def test_fresh_draws_per_call_and_seeds():
    images = _images((8, 8, 8, 3))
    np.testing.assert_array_equal(diff_augment(images, seed=[5, 6]), diff_augment(images, seed=[5, 6]))
    np.testing.assert_array_equal(diff_augment(images, seed=5), diff_augment(images, seed=[5, 0]))
    tf.random.set_seed(11)
    first, second = diff_augment(images).numpy(), diff_augment(images).numpy()
    assert not np.array_equal(first, second)  # real and fake batches get different draws
    tf.random.set_seed(11)
    np.testing.assert_array_equal(diff_augment(images).numpy(), first)


def test_inside_a_tf_function_train_step_with_a_generator_seed():
    # The pattern GAN's train step uses: a checkpointed tf.random.Generator feeds the seeds.
    generator = tf.random.Generator.from_seed(0)

    @tf.function
    def augment_both(real, fake):
        real = diff_augment(real, seed=generator.make_seeds(1)[:, 0])
        fake = diff_augment(fake, seed=generator.make_seeds(1)[:, 0])
        return real, fake

    images = _images((4, 8, 8, 3))
    real, fake = augment_both(images, images)
    assert not np.array_equal(real.numpy(), fake.numpy())
    again, _ = augment_both(images, images)
    assert not np.array_equal(real.numpy(), again.numpy())
    replay = tf.random.Generator.from_seed(0)
    expected = diff_augment(images, seed=replay.make_seeds(1)[:, 0])
    np.testing.assert_array_equal(real.numpy(), expected.numpy())


def test_empty_policy_is_identity_and_list_policies():
    images = _images((2, 6, 6, 3))
    np.testing.assert_array_equal(diff_augment(images, ""), images)
    np.testing.assert_array_equal(diff_augment(images, ["translation", "cutout"], seed=[1, 2]),
                                  diff_augment(images, "translation, cutout", seed=[1, 2]))


def test_layer():
    images = _images((4, 8, 8, 3))
    layer = DiffAugment(seed=3)
    first = layer(images).numpy()
    assert not np.array_equal(first, layer(images).numpy())
    np.testing.assert_array_equal(DiffAugment(seed=3)(images).numpy(), first)
    np.testing.assert_array_equal(layer(images, training=False).numpy(), images)
    inputs = compat.keras.Input((8, 8, 3))
    model = compat.keras.Model(inputs, DiffAugment()(inputs))
    np.testing.assert_array_equal(model.predict(images, verbose=0), images)
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x, training=True))
    assert np.abs(tape.gradient(loss, x).numpy()).sum() > 0


def test_layer_contract():
    run_layer_test(DiffAugment, {"policy": "color,cutout", "cutout_ratio": 0.25, "seed": 1},
                   input_shape=(2, 8, 8, 3), expected_output_shape=(2, 8, 8, 3),
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                   run_training_check=False)


@pytest.mark.parametrize("kwargs,argument", [
    ({"policy": "color,flip"}, "policy"), ({"policy": 3}, "policy"),
    ({"translation_ratio": 2.0}, "translation_ratio"), ({"cutout_ratio": -0.1}, "cutout_ratio"),
    ({"seed": "zero"}, "seed"),
])
def test_errors_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        DiffAugment(**kwargs)


def test_input_errors_name_the_argument():
    with pytest.raises(ValueError, match="images"):
        diff_augment(np.zeros((8, 8, 3), "float32"))
    with pytest.raises(ValueError, match="images"):
        diff_augment(np.zeros((1, 8, 8, 3), "uint8"))


def test_parse_policy_canonical_string():
    from ascendgan.augment.diffaugment import parse_policy

    assert parse_policy("color, translation,cutout") == "color,translation,cutout"
    assert parse_policy(("cutout", "color")) == "cutout,color"
    assert parse_policy("") == ""
    with pytest.raises(ValueError, match="policy"):
        parse_policy("color,zoom")
