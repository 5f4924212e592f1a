"""The shared pieces of ascendgan.augment: stateless seeds, layer generators, the training
switch of random layers, image batches and rectangle masks."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan.augment.masks import square_mask
from ascendgan.augment.random_ops import (
    apply_in_training,
    as_stateless_seed,
    image_batch,
    layer_generator,
)


def test_as_stateless_seed_forms():
    assert as_stateless_seed(7).numpy().tolist() == [7, 0]
    assert as_stateless_seed([3, 4]).numpy().tolist() == [3, 4]
    assert as_stateless_seed(tf.constant([3, 4], tf.int32)).dtype == tf.int64
    tf.random.set_seed(1)
    first = as_stateless_seed(None).numpy()
    tf.random.set_seed(1)
    np.testing.assert_array_equal(as_stateless_seed(None).numpy(), first)  # reproducible globally
    for bad in (True, 1.5, [1, 2, 3], [0.5, 1.0]):
        with pytest.raises(ValueError, match="`seed` must be None, an int or a shape-\\[2\\] integer tensor"):
            as_stateless_seed(bad)
    with pytest.raises(ValueError, match="`my_seed`"):
        as_stateless_seed(True, name="my_seed")


def test_layer_generator_is_seeded():
    a, b = layer_generator(3), layer_generator(3)
    np.testing.assert_array_equal(a.make_seeds(1).numpy(), b.make_seeds(1).numpy())
    assert isinstance(layer_generator(None), tf.random.Generator)


def test_apply_in_training_switch():
    x = np.arange(8, dtype="float32").reshape(2, 2, 2, 1)
    seeds = []

    def augment(images, seed):
        seeds.append(seed)
        return images + 1.0

    generator = layer_generator(0)
    for training in (True, None, 1):
        np.testing.assert_array_equal(apply_in_training(x, training, augment, generator, "float32"), x + 1)
    for training in (False, 0):
        np.testing.assert_array_equal(apply_in_training(x, training, augment, generator, "float32"), x)
    assert all(seed.shape == (2,) for seed in seeds)
    out = apply_in_training(x, tf.constant(False), augment, generator, "bfloat16")
    assert out.dtype == tf.bfloat16
    np.testing.assert_array_equal(tf.cast(out, tf.float32), x)
    np.testing.assert_array_equal(apply_in_training(x, tf.constant(True), augment, generator, "float32"), x + 1)


def test_image_batch():
    batch, single = image_batch(np.zeros((4, 4, 3)))
    assert batch.shape == (1, 4, 4, 3) and single
    batch, single = image_batch(np.zeros((2, 4, 4, 3)))
    assert batch.shape == (2, 4, 4, 3) and not single
    with pytest.raises(ValueError, match=r"`pictures` must be an image .*Received: pictures.shape=\(4, 4\)"):
        image_batch(np.zeros((4, 4)), "pictures")


def test_square_mask_against_numpy():
    centers_y, centers_x = tf.constant([0, 3, 5]), tf.constant([2, 3, 0])
    mask = square_mask(6, 5, centers_y, centers_x, 3, 2).numpy()[..., 0]
    assert mask.shape == (3, 6, 5)
    for i, (cy, cx) in enumerate(zip([0, 3, 5], [2, 3, 0])):
        expected = np.zeros((6, 5), bool)
        expected[max(cy - 1, 0):cy - 1 + 3, max(cx - 1, 0):cx - 1 + 2] = True
        np.testing.assert_array_equal(mask[i], expected)
