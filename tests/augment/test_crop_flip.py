"""random_crop_and_flip: every output is a (mirrored) crop of the padded input, offsets and
flips vary, seeds reproduce, and arguments are checked."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan.augment import random_crop_and_flip


def test_random_crop_and_flip_outputs_are_padded_crops(rng):
    images = rng.uniform(-1, 1, (64, 6, 5, 2)).astype("float32")
    out = random_crop_and_flip(images, padding=2, seed=3).numpy()
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    offsets, flips = set(), 0
    for i in range(len(images)):
        matches = [(dy, dx, f) for dy in range(5) for dx in range(5) for f in (0, 1)
                   if np.array_equal(out[i], (lambda c: c[:, ::-1] if f else c)(padded[i, dy:dy + 6, dx:dx + 5]))]
        assert matches, f"image {i} is not a (mirrored) crop of its padded input"
        offsets.add(matches[0][:2])
        flips += matches[0][2]
    assert len(offsets) > 10 and 10 < flips < 54  # offsets and flips really vary
    np.testing.assert_array_equal(random_crop_and_flip(images, padding=0, flip=False).numpy(), images)
    single = random_crop_and_flip(images[0], padding=1)
    assert single.shape == images[0].shape


def test_seeds_reproduce_and_none_draws_afresh(rng):
    images = rng.uniform(-1, 1, (16, 8, 8, 3)).astype("float32")
    first = random_crop_and_flip(images, seed=5).numpy()
    np.testing.assert_array_equal(random_crop_and_flip(images, seed=5).numpy(), first)
    np.testing.assert_array_equal(random_crop_and_flip(images, seed=[5, 0]).numpy(), first)
    assert not np.array_equal(random_crop_and_flip(images, seed=6).numpy(), first)
    assert not np.array_equal(random_crop_and_flip(images).numpy(), random_crop_and_flip(images).numpy())


def test_keeps_dtype_and_runs_in_tf_data_and_tf_function(rng):
    images = rng.integers(0, 256, (8, 8, 8, 3)).astype("uint8")
    out = random_crop_and_flip(images, padding=2)
    assert out.dtype == tf.uint8 and out.shape == images.shape
    data = tf.data.Dataset.from_tensor_slices(images).batch(4).map(lambda x: random_crop_and_flip(x, 2))
    assert next(iter(data)).shape == (4, 8, 8, 3)
    traced = tf.function(lambda x: random_crop_and_flip(x, 1, seed=[1, 2]))
    np.testing.assert_array_equal(traced(images).numpy(), random_crop_and_flip(images, 1, seed=[1, 2]).numpy())


@pytest.mark.parametrize("kwargs, message", [
    ({"padding": -1}, r"`padding` must be an integer >= 0"),
    ({"padding": 1.5}, r"`padding` must be an integer"),
    ({"flip": 1}, r"`flip` must be True or False"),
    ({"seed": 1.5}, r"`seed` must be None, an int"),
])
def test_bad_arguments(rng, kwargs, message):
    images = rng.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    with pytest.raises(ValueError, match=message):
        random_crop_and_flip(images, **kwargs)


def test_bad_images():
    with pytest.raises(ValueError, match=r"`images` must be an image"):
        random_crop_and_flip(np.zeros((8, 8), "float32"))
