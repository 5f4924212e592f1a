"""AutoAugment: every operation against PIL, the magnitude mapping, the policy tables,
and the layer's randomness (per image, reproducible with a seed, in tf.data)."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageEnhance, ImageOps

from ascendgan import compat
from ascendgan.augment import (
    CIFAR10_POLICY,
    IMAGENET_POLICY,
    MAGNITUDE_LEVELS,
    OPERATIONS,
    POLICIES,
    SVHN_POLICY,
    AutoAugment,
    apply_operation,
    auto_augment,
    magnitude_to_value,
)
from ascendgan.testing import run_layer_test

FILL = 128


def _image(seed, low=0, high=256, shape=(32, 32, 3)):
    return np.random.default_rng(seed).integers(low, high, shape).astype("uint8")


# A fixed random image with a reduced range (so that AutoContrast has work to do), a
# full-range one, a smooth gradient with few grey levels, and a constant image (the
# degenerate case of AutoContrast and Equalize).
IMAGES = {
    "random": _image(0, 30, 200),
    "full_range": _image(1),
    "gradient": np.broadcast_to(
        (np.arange(32)[:, None, None] * 3 + np.arange(32)[None, :, None] + np.array([0, 40, 90]))
        .astype("uint8"), (32, 32, 3)).copy(),
    "constant": np.full((32, 32, 3), 77, "uint8"),
}


def _pil_reference(image, operation, value):
    """The PIL operation the paper's policies were searched with."""
    pil = Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image)
    fill = FILL if pil.mode == "L" else (FILL,) * 3
    if operation == "AutoContrast":
        out = ImageOps.autocontrast(pil)
    elif operation == "Equalize":
        out = ImageOps.equalize(pil)
    elif operation == "Invert":
        out = ImageOps.invert(pil)
    elif operation == "Posterize":
        out = ImageOps.posterize(pil, value)
    elif operation == "Solarize":
        out = ImageOps.solarize(pil, value)
    elif operation in ("Color", "Contrast", "Brightness", "Sharpness"):
        out = getattr(ImageEnhance, operation)(pil).enhance(value)
    elif operation == "ShearX":
        out = pil.transform(pil.size, Image.AFFINE, (1, value, 0, 0, 1, 0), fillcolor=fill)
    elif operation == "ShearY":
        out = pil.transform(pil.size, Image.AFFINE, (1, 0, 0, value, 1, 0), fillcolor=fill)
    elif operation == "TranslateX":
        out = pil.transform(pil.size, Image.AFFINE, (1, 0, value, 0, 1, 0), fillcolor=fill)
    elif operation == "TranslateY":
        out = pil.transform(pil.size, Image.AFFINE, (1, 0, 0, 0, 1, value), fillcolor=fill)
    elif operation == "Rotate":
        out = pil.rotate(value, fillcolor=fill)
    else:  # pragma: no cover
        raise AssertionError(operation)
    return np.asarray(out).reshape(image.shape)


def _cases(operations, magnitudes, signs=(1,)):
    return [(op, m, s) for op in operations for m in magnitudes for s in signs]


# (operation, magnitudes, signs) checked against PIL on every image of IMAGES.
PIXEL_CASES = {
    "AutoContrast": ([0], (1,)),
    "Equalize": ([0], (1,)),
    "Invert": ([0], (1,)),
    "Posterize": (range(MAGNITUDE_LEVELS), (1,)),
    "Solarize": ([0, 2, 5, 9], (1,)),
    "Color": ([0, 3, 6, 9], (1, -1)),
    "Contrast": ([0, 3, 6, 9], (1, -1)),
    "Brightness": ([0, 3, 6, 9], (1, -1)),
    "Sharpness": ([0, 3, 6, 9], (1, -1)),
}


@pytest.mark.parametrize("operation", sorted(PIXEL_CASES))
def test_pixel_operations_equal_pil(operation):
    # The pixel-level operations reproduce PIL's 8-bit arithmetic exactly, on each test
    # image, at several magnitudes and in both directions.
    magnitudes, signs = PIXEL_CASES[operation]
    for image_name, image in sorted(IMAGES.items()):
        for magnitude in magnitudes:
            for sign in signs:
                value = magnitude_to_value(operation, magnitude, image.shape[:2], sign)
                ours = apply_operation(image, operation, value).numpy()
                assert ours.dtype == np.uint8
                reference = _pil_reference(image, operation, value)
                assert np.array_equal(ours, reference), (
                    f"{operation}({value}) on the {image_name} image differs from PIL in "
                    f"{np.mean(ours != reference):.2%} of the values")


GEOMETRIC_CASES = _cases(["ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"], [1, 5, 9], (1, -1))


@pytest.mark.parametrize("operation,magnitude,sign", GEOMETRIC_CASES)
def test_geometric_operations_match_pil(operation, magnitude, sign):
    # Nearest-neighbour sampling at PIL's pixel centers. PIL computes source coordinates
    # in float64 (stepping along each row), TensorFlow in float32 per pixel, so a pixel
    # whose source coordinate lies within ~1e-5 of a pixel boundary may pick the
    # neighbouring pixel: at most 1% of the pixels may differ (none do here today).
    image = IMAGES["random"]
    value = magnitude_to_value(operation, magnitude, image.shape[:2], sign)
    ours = apply_operation(image, operation, value).numpy()
    reference = _pil_reference(image, operation, value)
    equal = np.all(ours == reference, axis=-1).mean()
    assert equal >= 0.99, f"{operation}({value}): only {equal:.2%} of the pixels equal PIL's"
    if magnitude:  # the operation did something (the fill value came in, or pixels moved)
        assert not np.array_equal(ours, image)


@pytest.mark.parametrize("operation,magnitude", [
    ("AutoContrast", 0), ("Equalize", 0), ("Invert", 0), ("Posterize", 9), ("Solarize", 5),
    ("Color", 9), ("Contrast", 7), ("Brightness", 4), ("Sharpness", 9), ("Rotate", 9), ("ShearX", 9),
])
def test_grayscale_images_equal_pil(operation, magnitude):
    # One-channel images behave like PIL's "L" mode (Color is then the identity).
    image = _image(3, 20, 220, (16, 12, 1))
    value = magnitude_to_value(operation, magnitude, image.shape[:2])
    ours = apply_operation(image, operation, value).numpy()
    equal = (ours == _pil_reference(image, operation, value)).mean()
    assert equal >= (0.99 if operation in ("Rotate", "ShearX") else 1.0)


def test_batches_take_one_value_per_image():
    images = np.stack([IMAGES["random"], IMAGES["full_range"], IMAGES["gradient"]])
    factors = [0.1, 1.9, 1.45]
    out = apply_operation(images, "Sharpness", factors).numpy()
    for image, factor, result in zip(images, factors, out):
        np.testing.assert_array_equal(result, _pil_reference(image, "Sharpness", factor))
    angles = [30.0, -30.0, 10.0]
    out = apply_operation(images.astype("float32"), "Rotate", angles).numpy()
    assert out.dtype == np.float32
    for image, angle, result in zip(images, angles, out):
        assert (result == _pil_reference(image, "Rotate", angle)).mean() >= 0.99


def test_fill_value_of_geometric_operations():
    image = np.full((8, 8, 3), 10, "uint8")
    out = apply_operation(image, "TranslateX", 3.0, fill_value=200).numpy()
    np.testing.assert_array_equal(out[:, :5], 10)
    np.testing.assert_array_equal(out[:, 5:], 200)  # columns 5..7 read x + 3 >= 8


# ----------------------------------------------------------------------------- magnitudes


def test_magnitudes_map_linearly_to_the_paper_ranges():
    # Table 1 of the paper: shear 0.3, translate 150 px of 331, rotate 30 degrees,
    # enhancement factors [0.1, 1.9], posterize 8..4 bits, solarize threshold 256..0.
    for operation, largest in (("ShearX", 0.3), ("ShearY", 0.3), ("Rotate", 30.0)):
        values = [magnitude_to_value(operation, m) for m in range(10)]
        np.testing.assert_allclose(values, np.arange(10) / 9 * largest)
        assert magnitude_to_value(operation, 9, sign=-1) == pytest.approx(-largest)
    assert magnitude_to_value("TranslateX", 9, (331, 331)) == pytest.approx(150.0)
    assert magnitude_to_value("TranslateY", 9, (32, 64), sign=-1) == pytest.approx(-150 / 331 * 32)
    assert magnitude_to_value("TranslateX", 9, (32, 64)) == pytest.approx(150 / 331 * 64)
    assert magnitude_to_value("TranslateX", 3, (331, 331)) == pytest.approx(50.0)
    for operation in ("Color", "Contrast", "Brightness", "Sharpness"):
        low = [magnitude_to_value(operation, m, sign=-1) for m in range(10)]
        high = [magnitude_to_value(operation, m, sign=1) for m in range(10)]
        np.testing.assert_allclose(low, 1 - np.arange(10) * 0.1)
        np.testing.assert_allclose(high, 1 + np.arange(10) * 0.1)
        assert (min(low), max(high)) == (pytest.approx(0.1), pytest.approx(1.9))
    assert [magnitude_to_value("Posterize", m) for m in range(10)] == [8, 8, 7, 7, 6, 6, 5, 5, 4, 4]
    np.testing.assert_allclose([magnitude_to_value("Solarize", m) for m in range(10)],
                               256 * (1 - np.arange(10) / 9))
    for operation in ("AutoContrast", "Equalize", "Invert"):
        assert magnitude_to_value(operation, 5) is None


@pytest.mark.parametrize("kwargs,argument", [
    ({"operation": "Blur", "magnitude": 1}, "operation"),
    ({"operation": "Rotate", "magnitude": 10}, "magnitude"),
    ({"operation": "Rotate", "magnitude": -1}, "magnitude"),
    ({"operation": "Rotate", "magnitude": 1, "sign": 0}, "sign"),
    ({"operation": "TranslateX", "magnitude": 1}, "image_size"),
])
def test_magnitude_errors_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        magnitude_to_value(**kwargs)


# ----------------------------------------------------------------------------- policies


@pytest.mark.parametrize("name,policy", [("cifar10", CIFAR10_POLICY), ("svhn", SVHN_POLICY),
                                         ("imagenet", IMAGENET_POLICY)])
def test_policy_tables(name, policy):
    assert POLICIES[name] is policy
    assert len(policy) == 25
    probabilities = {round(p / 10, 1) for p in range(11)}  # the paper's 11 probability values
    for sub_policy in policy:
        assert len(sub_policy) == 2
        for operation, probability, magnitude in sub_policy:
            assert operation in OPERATIONS
            assert probability in probabilities
            assert isinstance(magnitude, int) and 0 <= magnitude <= 9


def test_policy_tables_spot_checks_against_the_paper():
    assert CIFAR10_POLICY[0] == (("Invert", 0.1, 7), ("Contrast", 0.2, 6))
    assert CIFAR10_POLICY[1] == (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9))
    assert CIFAR10_POLICY[24] == (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, 1))
    assert SVHN_POLICY[0] == (("ShearX", 0.9, 4), ("Invert", 0.2, 3))
    assert SVHN_POLICY[24] == (("ShearX", 0.7, 2), ("Invert", 0.1, 5))
    assert IMAGENET_POLICY[0] == (("Posterize", 0.4, 8), ("Rotate", 0.6, 9))
    assert IMAGENET_POLICY[14] == (("Color", 0.6, 4), ("Contrast", 1.0, 8))
    # SVHN's policy is mostly geometric and Invert (the paper's observation).
    operations = [op for sub_policy in SVHN_POLICY for op, _, _ in sub_policy]
    assert operations.count("Invert") + sum(op.startswith("Shear") for op in operations) >= 25
    # ImageNet's policy has no translations or shears along y.
    assert not {op for sp in IMAGENET_POLICY for op, _, _ in sp} & {"TranslateX", "TranslateY", "ShearY"}


def test_deterministic_sub_policy_equals_pil_composition():
    # A single sub-policy applied with probability 1: the two operations in order.
    images = np.stack([IMAGES["random"], IMAGES["gradient"]])
    policy = [[("Equalize", 1.0, 0), ("Solarize", 1.0, 5)]]
    out = auto_augment(images, policy, value_range=(0, 255), seed=0).numpy()
    for image, result in zip(images, out):
        expected = _pil_reference(_pil_reference(image, "Equalize", None), "Solarize",
                                  magnitude_to_value("Solarize", 5))
        np.testing.assert_array_equal(result, expected)


def test_value_range_conversion():
    # [-1, 1] inputs on the 8-bit grid: the result is PIL's, mapped back to [-1, 1].
    image = IMAGES["random"]
    scaled = image.astype("float32") / 127.5 - 1.0
    out = auto_augment(scaled, [[("Posterize", 1.0, 9), ("Contrast", 1.0, 0)]], seed=0).numpy()
    expected = _pil_reference(image, "Posterize", 4).astype("float32") / 127.5 - 1.0
    np.testing.assert_allclose(out, expected, atol=1e-6)
    # Probability 0: the image comes back unchanged.
    same = auto_augment(scaled, [[("Invert", 0.0, 0)]], seed=0).numpy()
    np.testing.assert_allclose(same, scaled, atol=1e-6)


def test_directions_are_random_and_both_appear():
    images = np.repeat(IMAGES["random"][None], 32, axis=0)
    out = auto_augment(images, [[("Rotate", 1.0, 9)]], value_range=(0, 255), seed=1).numpy()
    plus = _pil_reference(IMAGES["random"], "Rotate", 30.0)
    minus = _pil_reference(IMAGES["random"], "Rotate", -30.0)
    is_plus = [(o == plus).all(-1).mean() >= 0.99 for o in out]
    is_minus = [(o == minus).all(-1).mean() >= 0.99 for o in out]
    assert all(p != m for p, m in zip(is_plus, is_minus))  # each image is one of the two
    assert 4 <= sum(is_plus) <= 28


def test_probabilities_and_sub_policy_choice_are_uniform():
    image = np.array([[[10], [100]], [[150], [240]]], "uint8")  # 2x2 grayscale
    n = 3000
    images = np.repeat(image[None], n, axis=0)
    out = auto_augment(images, [[("Invert", 0.3, 0)]], value_range=(0, 255), seed=2).numpy()
    inverted = (out == 255 - image).all(axis=(1, 2, 3))
    assert ((out == image).all(axis=(1, 2, 3)) | inverted).all()
    assert abs(inverted.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)
    policy = [[("Invert", 1.0, 0)], [("Posterize", 1.0, 9)], [("Solarize", 1.0, 5)]]
    out = auto_augment(images, policy, value_range=(0, 255), seed=3).numpy()
    counts = [(out == _pil_reference(image, op, magnitude_to_value(op, m))).all(axis=(1, 2, 3)).sum()
              for (op, _, m), in policy]
    assert sum(counts) == n
    for count in counts:
        assert abs(count / n - 1 / 3) < 4 * np.sqrt(2 / 9 / n)


def test_seeds_make_it_reproducible_and_images_independent():
    images = np.repeat(IMAGES["random"][None], 16, axis=0)
    first = auto_augment(images, "cifar10", value_range=(0, 255), seed=[4, 5]).numpy()
    again = auto_augment(images, "cifar10", value_range=(0, 255), seed=[4, 5]).numpy()
    other = auto_augment(images, "cifar10", value_range=(0, 255), seed=[4, 6]).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert len({image.tobytes() for image in first}) >= 4  # copies of one image differ


def test_layer_seed_reproducible_and_fresh_per_call():
    images = np.repeat(IMAGES["random"][None], 8, axis=0)
    a = AutoAugment("imagenet", value_range=(0, 255), seed=7)
    b = AutoAugment("imagenet", value_range=(0, 255), seed=7)
    first_a, second_a = a(images).numpy(), a(images).numpy()
    np.testing.assert_array_equal(first_a, b(images).numpy())
    np.testing.assert_array_equal(second_a, b(images).numpy())
    assert not np.array_equal(first_a, second_a)
    assert first_a.dtype == np.float32 and first_a.max() <= 255 and first_a.min() >= 0


def test_layer_is_identity_when_not_training():
    images = IMAGES["random"][None].astype("float32") / 127.5 - 1.0
    layer = AutoAugment(seed=0)
    np.testing.assert_array_equal(layer(images, training=False).numpy(), images)
    inputs = compat.keras.Input((32, 32, 3))
    model = compat.keras.Model(inputs, layer(inputs))
    np.testing.assert_array_equal(model.predict(images, verbose=0), images)


def test_layer_in_tf_data_is_reproducible():
    images = np.stack([_image(i, 0, 256, (8, 8, 3)) for i in range(12)])

    def run(parallel):
        layer = AutoAugment("svhn", value_range=(0, 255), seed=11)
        dataset = tf.data.Dataset.from_tensor_slices(images).map(layer, num_parallel_calls=parallel)
        return np.stack([x.numpy() for x in dataset])

    first = run(None)
    np.testing.assert_array_equal(first, run(None))
    assert first.shape == images.shape and first.dtype == np.float32
    assert not np.array_equal(first, images)

    # Per-element stateless seeds make a parallel map reproducible too: iterating the
    # same (non-deterministic, parallel) dataset twice gives the same images.
    dataset = tf.data.Dataset.from_tensor_slices(images).enumerate().map(
        lambda i, x: (i, auto_augment(x, "svhn", value_range=(0, 255), seed=tf.stack([i, 99]))),
        num_parallel_calls=2, deterministic=False)
    first_pass = dict((int(i), x.numpy()) for i, x in dataset)
    second_pass = dict((int(i), x.numpy()) for i, x in dataset)
    assert sorted(first_pass) == list(range(12))
    for i in range(12):
        np.testing.assert_array_equal(first_pass[i], second_pass[i])


def test_layer_contract():
    x = np.random.default_rng(0).uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    run_layer_test(AutoAugment, {"policy": "svhn", "seed": 1}, input_data=x,
                   expected_output_shape=x.shape, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, run_training_check=False)
    custom = [[("Rotate", 0.5, 3), ("Invert", 0.2, 0)], [("Equalize", 1.0, 0)]]
    layer = run_layer_test(AutoAugment, {"policy": custom, "value_range": (0, 255), "fill_value": 0},
                           input_data=x * 127 + 128, run_training_check=False)
    assert layer.get_config()["policy"] == [[["Rotate", 0.5, 3], ["Invert", 0.2, 0]], [["Equalize", 1.0, 0]]]


@pytest.mark.parametrize("kwargs,argument", [
    ({"policy": "mnist"}, "policy"),
    ({"policy": []}, "policy"),
    ({"policy": [[("Blur", 0.5, 1)]]}, "policy"),
    ({"policy": [[("Rotate", 1.5, 1)]]}, "probability"),
    ({"policy": [[("Rotate", 0.5, 12)]]}, "magnitude"),
    ({"value_range": (1, -1)}, "value_range"),
    ({"fill_value": 300}, "fill_value"),
    ({"seed": "a"}, "seed"),
])
def test_layer_errors_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        AutoAugment(**kwargs)


def test_input_errors_name_the_argument():
    with pytest.raises(ValueError, match="images"):
        auto_augment(np.zeros((2, 8, 8, 2), "float32"))
    with pytest.raises(ValueError, match="images"):
        apply_operation(np.zeros((8, 8), "uint8"), "Invert")
    with pytest.raises(ValueError, match="value"):
        apply_operation(np.zeros((8, 8, 3), "uint8"), "Rotate")


def test_layer_trains_inside_a_model_and_accepts_a_training_tensor():
    keras = compat.keras
    images = np.random.default_rng(0).uniform(-1, 1, (8, 8, 8, 3)).astype("float32")
    model = keras.Sequential([keras.Input((8, 8, 3)), AutoAugment("svhn", seed=0),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(images, np.zeros((8, 1)), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    layer = AutoAugment("svhn", seed=0)
    np.testing.assert_array_equal(layer(images, training=tf.constant(False)).numpy(), images)
    augmented = layer(images, training=tf.constant(True)).numpy()
    assert not np.allclose(augmented, images, atol=1e-2)
