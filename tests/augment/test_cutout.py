"""Cutout: the filled region is the paper's square (clipped at the borders) around a
uniformly drawn center, recovered from the output and recomputed with numpy."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.augment import Cutout, cutout
from ascendgan.testing import run_layer_test


def numpy_cutout(image, center_y, center_x, size, fill_value):
    """DeVries & Taylor's square of side ``size`` around the center, clipped at the borders."""
    out = image.copy()
    top, left = center_y - size // 2, center_x - size // 2
    out[max(top, 0):max(top + size, 0), max(left, 0):max(left + size, 0)] = fill_value
    return out


def recover_center(filled_rows, size, extent):
    """The center whose square covers exactly ``filled_rows`` (one axis)."""
    first, last = filled_rows.min(), filled_rows.max() + 1
    assert np.array_equal(filled_rows, np.arange(first, last)), "the filled rows are not contiguous"
    center = first + size // 2 if first > 0 else last - size + size // 2
    assert 0 <= center < extent
    return center


@pytest.mark.parametrize("size", [4, 5])
def test_cutout_equals_numpy_square_around_a_center_in_the_image(size):
    height, width = 9, 11
    images = np.random.default_rng(0).uniform(-1, 1, (64, height, width, 3)).astype("float32")
    fill = -7.0  # not a value of the images, so the square can be read off the output
    out = cutout(images, size, fill_value=fill, seed=3).numpy()
    for image, result in zip(images, out):
        filled = np.all(result == fill, axis=-1)
        rows, cols = np.nonzero(filled.any(axis=1))[0], np.nonzero(filled.any(axis=0))[0]
        center_y = recover_center(rows, size, height)
        center_x = recover_center(cols, size, width)
        np.testing.assert_array_equal(result, numpy_cutout(image, center_y, center_x, size, fill))


def test_centers_are_uniform_over_the_image():
    n, side, size = 2000, 8, 3
    out = cutout(np.ones((n, side, side, 1), "float32"), size, seed=5).numpy()[..., 0]
    rows = [np.nonzero((image == 0).any(axis=1))[0] for image in out]
    centers = np.array([recover_center(r, size, side) for r in rows])
    counts = np.bincount(centers, minlength=side)
    expected = n / side
    chi_square = ((counts - expected) ** 2 / expected).sum()
    assert chi_square < 30, counts  # 7 degrees of freedom: P(chi2 > 30) < 1e-4
    # A center inside the image always fills size x size pixels once clear of the borders.
    interior = (centers >= 1) & (centers < side - 1)
    areas = (out == 0).sum(axis=(1, 2))
    assert np.all(areas >= 1)
    assert np.all(areas[interior] % size == 0)


def test_seed_reproducible_and_batch_independent():
    images = np.ones((16, 12, 12, 3), "float32")
    first = cutout(images, 6, seed=[1, 2]).numpy()
    np.testing.assert_array_equal(first, cutout(images, 6, seed=[1, 2]).numpy())
    assert not np.array_equal(first, cutout(images, 6, seed=[1, 3]).numpy())
    assert len({image.tobytes() for image in first}) > 8
    np.testing.assert_array_equal(first[..., 0], first[..., 2])  # all channels are filled


def test_single_images_and_integer_dtypes():
    image = np.full((10, 10, 3), 200, "uint8")
    out = cutout(image, 4, fill_value=0, seed=0).numpy()
    assert out.shape == image.shape and out.dtype == np.uint8
    assert set(np.unique(out)) == {0, 200}


def test_gradient_flows_outside_the_square():
    images = tf.random.uniform((3, 8, 8, 2))
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = cutout(images, 4, fill_value=0.5, seed=9)
        loss = tf.reduce_sum(out * 3.0)
    gradient = tape.gradient(loss, images).numpy()
    filled = (out.numpy() == 0.5)
    np.testing.assert_array_equal(gradient, np.where(filled, 0.0, 3.0))


def test_layer():
    images = np.ones((4, 16, 16, 3), "float32")
    layer = Cutout(size=16, seed=1)
    out = layer(images).numpy()
    assert np.all((out == 0).any(axis=(1, 2, 3)))
    assert not np.array_equal(out, layer(images).numpy())  # fresh squares per call
    np.testing.assert_array_equal(Cutout(size=16, seed=1)(images).numpy(), out)
    np.testing.assert_array_equal(layer(images, training=False).numpy(), images)
    dataset = tf.data.Dataset.from_tensor_slices(images).map(Cutout(size=4, seed=2))
    assert all((x.numpy() == 0).any() for x in dataset)
    inputs = compat.keras.Input((16, 16, 3))
    model = compat.keras.Model(inputs, Cutout(size=8)(inputs))
    np.testing.assert_array_equal(model.predict(images, verbose=0), images)


def test_layer_contract():
    run_layer_test(Cutout, {"size": 3, "fill_value": 0.25, "seed": 4}, input_shape=(2, 6, 6, 3),
                   expected_output_shape=(2, 6, 6, 3), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, run_training_check=False)


@pytest.mark.parametrize("kwargs,argument", [
    ({"size": 0}, "size"), ({"size": 2.5}, "size"), ({"fill_value": "x"}, "fill_value"),
    ({"seed": 1.5}, "seed"),
])
def test_errors_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        Cutout(**kwargs)


def test_input_errors_name_the_argument():
    with pytest.raises(ValueError, match="images"):
        cutout(np.zeros((8, 8), "float32"), 2)
    with pytest.raises(ValueError, match="seed"):
        cutout(np.zeros((8, 8, 1), "float32"), 2, seed=[1, 2, 3])
