"""Tests of ascendgan.losses against hand-computed values and independent numpy formulas."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import losses

REAL = np.array([[2.0, -1.0], [0.5, 3.0]], "float32")  # rank 2
FAKE = np.array([-0.5, 1.5, 0.0, -3.0], "float32")  # rank 1


# Independent numpy references, written from the probabilistic definitions (sigmoid and
# logs) rather than the softplus forms the library uses; float64 throughout.
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def _np_bce_d(real, fake):
    return np.mean(-np.log(_sigmoid(real))) + np.mean(-np.log(1.0 - _sigmoid(fake)))


def _np_ns_g(fake):
    return np.mean(-np.log(_sigmoid(fake)))


def _np_minimax_g(fake):
    return np.mean(np.log(1.0 - _sigmoid(fake)))


def _np_reference(family, role, real, fake):
    real = np.asarray(real, np.float64)
    fake = np.asarray(fake, np.float64)
    if family == "hinge":
        if role == "d":
            return np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake))
        return -np.mean(fake)
    if family in ("non_saturating", "minimax"):
        if role == "d":
            return _np_bce_d(real, fake)
        return _np_ns_g(fake) if family == "non_saturating" else _np_minimax_g(fake)
    if family == "least_squares":
        if role == "d":
            return 0.5 * np.mean((real - 1) ** 2) + 0.5 * np.mean(fake**2)
        return 0.5 * np.mean((fake - 1) ** 2)
    if family == "wasserstein":
        if role == "d":
            return np.mean(fake) - np.mean(real)
        return -np.mean(fake)
    raise AssertionError(family)


def _call(family, role, real, fake):
    if role == "d":
        return getattr(losses, f"{family}_discriminator_loss")(real, fake)
    return getattr(losses, f"{family}_generator_loss")(fake)


# The table: (family, role, expected) for REAL / FAKE.  Hinge, least squares and
# Wasserstein values are worked out by hand:
#   relu(1 - real) = [0, 2, .5, 0] -> .625 ; relu(1 + fake) = [.5, 2.5, 1, 0] -> 1.0
#   mean(real) = 1.125 ; mean(fake) = -0.5
#   (real - 1)^2 = [1, 4, .25, 4] -> 2.3125 ; fake^2 = [.25, 2.25, 0, 9] -> 2.875
#   (fake - 1)^2 = [2.25, .25, 1, 16] -> 4.875
# The sigmoid families come from the numpy formulas above.
LOSS_TABLE = [
    ("hinge", "d", 1.625),
    ("hinge", "g", 0.5),
    ("wasserstein", "d", -1.625),
    ("wasserstein", "g", 0.5),
    ("least_squares", "d", 0.5 * 2.3125 + 0.5 * 2.875),
    ("least_squares", "g", 0.5 * 4.875),
    ("non_saturating", "d", _np_bce_d(REAL, FAKE)),
    ("non_saturating", "g", _np_ns_g(FAKE)),
    ("minimax", "d", _np_bce_d(REAL, FAKE)),
    ("minimax", "g", _np_minimax_g(FAKE)),
]


@pytest.mark.parametrize("family,role,expected", LOSS_TABLE)
def test_loss_table(family, role, expected):
    value = _call(family, role, REAL, FAKE)
    assert value.dtype == tf.float32
    assert value.shape.rank == 0
    np.testing.assert_allclose(float(value), expected, rtol=1e-6, atol=1e-6)
    # The hand values and the numpy formulas agree with each other.
    np.testing.assert_allclose(expected, _np_reference(family, role, REAL, FAKE), rtol=1e-12)


def test_sigmoid_family_values_by_hand():
    # At logit 0 every sigmoid is 1/2.
    zeros = np.zeros((3,), "float32")
    np.testing.assert_allclose(float(losses.non_saturating_generator_loss(zeros)), np.log(2), 1e-6)
    np.testing.assert_allclose(float(losses.minimax_generator_loss(zeros)), -np.log(2), 1e-6)
    np.testing.assert_allclose(
        float(losses.non_saturating_discriminator_loss(zeros, zeros)), 2 * np.log(2), 1e-6
    )


FAMILIES = ["hinge", "non_saturating", "minimax", "least_squares", "wasserstein"]


@pytest.mark.parametrize("family", FAMILIES)
def test_patchgan_maps(family, rng):
    real = rng.standard_normal((2, 3, 3, 1)).astype("float32")
    fake = rng.standard_normal((3, 4, 4, 1)).astype("float32")  # another shape is fine
    for role in ("d", "g"):
        value = _call(family, role, real, fake)
        assert value.shape.rank == 0
        np.testing.assert_allclose(
            float(value), _np_reference(family, role, real, fake), rtol=1e-5, atol=1e-6
        )
        # Reduction is a mean over every element, so flattening changes nothing.
        flat = _call(family, role, real.reshape(-1), fake.reshape(-1))
        np.testing.assert_allclose(float(value), float(flat), rtol=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
def test_low_and_high_precision_inputs_return_float32(family):
    # REAL / FAKE are exactly representable in bfloat16 and float16.
    for dtype in (tf.bfloat16, tf.float16, tf.float64):
        real = tf.constant(REAL, dtype)
        fake = tf.constant(FAKE, dtype)
        for role in ("d", "g"):
            value = _call(family, role, real, fake)
            assert value.dtype == tf.float32
            np.testing.assert_allclose(
                float(value), _np_reference(family, role, REAL, FAKE), rtol=1e-6, atol=1e-6
            )


def test_softplus_families_use_float32_internally():
    # softplus(-8) = 3.35e-4: in bfloat16 arithmetic 1 + that would round to 1 and the
    # loss to 0; computing in float32 keeps it.
    fake = tf.constant([-8.0], tf.bfloat16)
    np.testing.assert_allclose(
        float(losses.minimax_generator_loss(fake)), -np.log1p(np.exp(-8.0)), rtol=1e-5
    )


@pytest.mark.parametrize("family", ["non_saturating", "minimax"])
def test_extreme_logits_are_finite(family):
    real = tf.constant([100.0, -100.0])
    fake = tf.constant([-100.0, 100.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, fake])
        d_loss = _call(family, "d", real, fake)
        g_loss = _call(family, "g", real, fake)
    # softplus(-100) ~ 0, softplus(100) = 100: D = 50 + 50, G = +-50.
    np.testing.assert_allclose(float(d_loss), 100.0, rtol=1e-6)
    expected_g = 50.0 if family == "non_saturating" else -50.0
    np.testing.assert_allclose(float(g_loss), expected_g, rtol=1e-6)
    for grad in tape.gradient(d_loss, [real, fake]) + [tape.gradient(g_loss, fake)]:
        assert np.all(np.isfinite(grad.numpy()))


def test_scalar_logits():
    assert float(losses.hinge_generator_loss(tf.constant(2.0))) == -2.0
    assert float(losses.hinge_discriminator_loss(0.5, -0.5)) == 1.0
    np.testing.assert_allclose(float(losses.non_saturating_generator_loss(0.0)), np.log(2), 1e-6)


def test_losses_trace_with_unknown_shapes():
    spec = tf.TensorSpec([None, None, None, 1], tf.float32)

    @tf.function(input_signature=[spec, spec])
    def d_loss(real, fake):
        return losses.least_squares_discriminator_loss(real, fake)

    real = np.full((2, 3, 3, 1), 2.0, "float32")
    fake = np.full((1, 2, 2, 1), 1.0, "float32")
    assert float(d_loss(real, fake)) == pytest.approx(0.5 * 1.0 + 0.5 * 1.0)


@pytest.mark.parametrize("family", FAMILIES)
def test_integer_logits_raise_type_error_naming_argument(family):
    ints = np.array([1, 0], "int32")
    floats = np.array([1.0, 0.0], "float32")
    d_loss = getattr(losses, f"{family}_discriminator_loss")
    g_loss = getattr(losses, f"{family}_generator_loss")
    with pytest.raises(TypeError, match="`real_logits`.*int32"):
        d_loss(ints, floats)
    with pytest.raises(TypeError, match="`fake_logits`.*int32"):
        d_loss(floats, ints)
    with pytest.raises(TypeError, match="`fake_logits`"):
        g_loss(ints)
    with pytest.raises(TypeError, match="`fake_logits`.*None"):
        g_loss(None)
    with pytest.raises(TypeError, match="`fake_logits`"):
        g_loss("not a tensor")


def test_l1_loss(rng):
    target = rng.uniform(-1, 1, (2, 4, 4, 3)).astype("float32")
    prediction = rng.uniform(-1, 1, (2, 4, 4, 3)).astype("float32")
    value = losses.l1_loss(target, prediction)
    assert value.dtype == tf.float32
    np.testing.assert_allclose(
        float(value), np.mean(np.abs(target.astype(np.float64) - prediction)), rtol=1e-6
    )
    assert float(losses.l1_loss([[0.0, 1.0]], [[0.5, -1.0]])) == 1.25  # (0.5 + 2) / 2
    half = losses.l1_loss(tf.constant([[0.5, 1.0]], tf.bfloat16), tf.constant([[0.0, 0.0]]))
    assert half.dtype == tf.float32 and float(half) == 0.75


def test_l1_loss_errors():
    with pytest.raises(ValueError, match=r"`target` and `prediction`.*\(2, 4, 4, 3\).*\(2, 4, 4, 1\)"):
        losses.l1_loss(np.zeros((2, 4, 4, 3), "float32"), np.zeros((2, 4, 4, 1), "float32"))
    with pytest.raises(TypeError, match="`target`.*int64"):
        losses.l1_loss(np.zeros((2, 3), "int64"), np.zeros((2, 3), "float32"))
    with pytest.raises(TypeError, match="`prediction`.*int32"):
        losses.l1_loss(np.zeros((2, 3), "float32"), np.zeros((2, 3), "int32"))


# ----------------------------------------------------------------------------- get()


@pytest.mark.parametrize("name", FAMILIES)
def test_get_by_name(name):
    pair = losses.get(name)
    assert isinstance(pair, losses.GANLoss)
    assert pair.name == name
    assert pair.generator_loss is getattr(losses, f"{name}_generator_loss")
    assert pair.discriminator_loss is getattr(losses, f"{name}_discriminator_loss")
    assert losses.get(pair.name) is pair  # names round trip


@pytest.mark.parametrize(
    "alias,name",
    [
        ("bce", "non_saturating"),
        ("ns", "non_saturating"),
        ("Non-Saturating", "non_saturating"),
        ("lsgan", "least_squares"),
        ("least-squares", "least_squares"),
        ("wgan", "wasserstein"),
        (" HINGE ", "hinge"),
    ],
)
def test_get_aliases(alias, name):
    assert losses.get(alias).name == name


def test_get_passthrough_and_tuple():
    custom = losses.GANLoss("mine", losses.hinge_generator_loss, losses.wasserstein_discriminator_loss)
    assert losses.get(custom) is custom
    pair = losses.get((losses.hinge_generator_loss, losses.least_squares_discriminator_loss))
    assert pair == ("custom", losses.hinge_generator_loss, losses.least_squares_discriminator_loss)
    assert float(pair.discriminator_loss([1.0], [0.0])) == 0.0


def test_get_pair_is_immutable():
    with pytest.raises(AttributeError):
        losses.get("hinge").name = "other"


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        losses.get("hingee")
    message = str(info.value)
    assert "identifier='hingee'" in message
    for name in [*FAMILIES, "bce", "ns", "lsgan", "wgan"]:
        assert repr(name) in message


@pytest.mark.parametrize("bad", [3, None, 1.5, ["hinge"], {"name": "hinge"}])
def test_get_wrong_type(bad):
    with pytest.raises(TypeError, match="`identifier`"):
        losses.get(bad)


def test_get_bad_tuples():
    with pytest.raises(ValueError, match="`identifier`.*length 3"):
        losses.get((losses.hinge_generator_loss,) * 3)
    with pytest.raises(TypeError, match="`identifier`.*str"):
        losses.get(("hinge", "hinge"))
