"""Generation (ascendgan.sampling.generation): seed latents, truncation, class grids, latent walks."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import sampling

# ----------------------------------------------------------------------------- latents


def test_gan_latents_are_the_latents_generate_uses(biggan):
    labels = [3, 1, 4, 1, 5]
    online = biggan.generate(5, labels=labels, seed=9, truncation=1.5, batch_size=2)
    z = sampling.gan_latents(biggan, 5, seed=9, truncation=1.5, batch_size=2)
    assert z.shape == (5, 120) and z.dtype == np.float32
    assert np.abs(z).max() <= 1.5
    offline = sampling.generate_from_latents(biggan, z, labels=labels, batch_size=2)
    np.testing.assert_allclose(offline, online, atol=1e-6)


def test_prior_latents_equal_gan_latents_for_the_default_hook(biggan, dcgan):
    np.testing.assert_array_equal(sampling.prior_latents(3, 120, seed=4, truncation=2.0),
                                  sampling.gan_latents(biggan, 3, seed=4, truncation=2.0))
    uniform = sampling.prior_latents(70, 100, seed=2, latent_distribution="uniform_signed")
    np.testing.assert_array_equal(uniform, sampling.gan_latents(dcgan, 70, seed=2))
    assert uniform.min() >= -1.0 and uniform.max() < 1.0


def test_latents_are_reproducible_and_seed_dependent(biggan):
    first = sampling.gan_latents(biggan, 4, seed=1)
    np.testing.assert_array_equal(first, sampling.gan_latents(biggan, 4, seed=1))
    assert not np.allclose(first, sampling.gan_latents(biggan, 4, seed=2))


def test_latent_helpers_reject_bad_arguments(biggan):
    with pytest.raises(ValueError, match="`seed`"):
        sampling.gan_latents(biggan, 2, seed=-1)
    with pytest.raises(ValueError, match="`n`"):
        sampling.gan_latents(biggan, 0, seed=0)
    with pytest.raises(ValueError, match="`latents`"):
        sampling.generate_from_latents(biggan, np.zeros((2, 7)), labels=0)
    with pytest.raises(ValueError, match="`labels`"):
        sampling.generate_from_latents(biggan, np.zeros((2, 120)))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        sampling.generate_from_latents(biggan, np.zeros((2, 120)), labels=[0, 10])


# ----------------------------------------------------------------------------- grids


def test_class_grid_has_one_row_per_class_with_shared_latents(biggan):
    per_class, classes = 3, [7, 2]
    picture = sampling.class_grid(biggan, per_class=per_class, classes=classes, truncation=1.0,
                                  seed=5, padding=1)
    assert picture.dtype == np.uint8 and picture.shape == (2 * 33 + 1, 3 * 33 + 1, 3)
    for row, label in enumerate(classes):
        images = biggan.generate(per_class, labels=[label] * per_class, seed=5, truncation=1.0)
        tiles = sampling.to_uint8(images)
        for column in range(per_class):
            top, left = 1 + row * 33, 1 + column * 33
            tile = picture[top:top + 32, left:left + 32]
            assert np.abs(tile.astype(int) - tiles[column].astype(int)).max() <= 1


def test_class_grid_default_covers_every_class_and_is_reproducible(biggan):
    picture = sampling.class_grid(biggan, per_class=2, seed=3)
    assert picture.shape == (10 * 34 + 2, 2 * 34 + 2, 3)
    np.testing.assert_array_equal(picture, sampling.class_grid(biggan, per_class=2, seed=3))
    assert not np.array_equal(picture, sampling.class_grid(biggan, per_class=2, seed=4))


def test_class_grid_without_shared_latents_follows_generate(biggan):
    picture = sampling.class_grid(biggan, per_class=2, classes=[0, 1], seed=8, shared_latents=False)
    images = biggan.generate(4, labels=[0, 0, 1, 1], seed=8)
    expected = sampling.image_grid(images, columns=2)
    assert np.abs(picture.astype(int) - expected.astype(int)).max() <= 1


def test_class_grid_needs_a_conditional_gan(dcgan, biggan):
    with pytest.raises(ValueError, match="`gan` must be class-conditional"):
        sampling.class_grid(dcgan)
    with pytest.raises(ValueError, match="`classes`"):
        sampling.class_grid(biggan, classes=[11])
    with pytest.raises(ValueError, match="`per_class`"):
        sampling.class_grid(biggan, per_class=0)


def test_sample_grid_is_generate_tiled(dcgan):
    picture = sampling.sample_grid(dcgan, n=4, columns=4, seed=6, truncation=0.5, padding=0)
    expected = sampling.image_grid(dcgan.generate(4, seed=6, truncation=0.5), columns=4, padding=0)
    np.testing.assert_array_equal(picture, expected)
    assert picture.shape == (28, 112, 1)


def test_truncation_grid_rows_follow_their_thresholds(biggan):
    picture = sampling.truncation_grid(biggan, truncations=(None, 0.5), per_row=2, label=4, seed=1,
                                       padding=0)
    assert picture.shape == (64, 64, 3)
    for row, threshold in enumerate((None, 0.5)):
        expected = sampling.to_uint8(biggan.generate(2, labels=[4, 4], seed=1, truncation=threshold))
        got = np.stack([picture[row * 32:(row + 1) * 32, c * 32:(c + 1) * 32] for c in range(2)])
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    with pytest.raises(ValueError, match="`label`"):
        sampling.truncation_grid(biggan, per_row=2)


# ----------------------------------------------------------------------------- interpolation


@pytest.mark.parametrize("method, path", [("linear", sampling.lerp), ("slerp", sampling.slerp)])
def test_interpolate_walks_from_one_seed_to_the_other(biggan, method, path):
    frames = sampling.interpolate(biggan, steps=4, start_seed=2, end_seed=11, method=method, label=6)
    assert frames.shape == (4, 32, 32, 3) and frames.dtype == np.float32
    start = biggan.generate(1, labels=[6], seed=2)
    end = biggan.generate(1, labels=[6], seed=11)
    np.testing.assert_allclose(frames[0], start[0], atol=1e-5)
    np.testing.assert_allclose(frames[-1], end[0], atol=1e-5)
    z0 = sampling.gan_latents(biggan, 1, 2)[0]
    z1 = sampling.gan_latents(biggan, 1, 11)[0]
    middle = path(z0, z1, [1 / 3, 2 / 3]).numpy()
    expected = biggan.ema_generator([tf.constant(middle), tf.constant([6, 6])], training=False)
    np.testing.assert_allclose(frames[1:3], np.asarray(expected), atol=1e-5)
    assert not np.allclose(frames[1], frames[2])


def test_interpolate_unconditional_and_bad_arguments(dcgan, biggan):
    frames = sampling.interpolate(dcgan, steps=3, start_seed=0, end_seed=1)
    np.testing.assert_allclose(frames[0], dcgan.generate(1, seed=0)[0], atol=1e-5)
    np.testing.assert_array_equal(frames, sampling.interpolate(dcgan, steps=3, start_seed=0, end_seed=1))
    with pytest.raises(ValueError, match="`label`"):
        sampling.interpolate(biggan, steps=3)
    with pytest.raises(ValueError, match="`label`"):
        sampling.interpolate(dcgan, steps=3, label=1)
    with pytest.raises(ValueError, match="`method`"):
        sampling.interpolate(dcgan, method="cubic")
    with pytest.raises(ValueError, match="`steps`"):
        sampling.interpolate(dcgan, steps=1)
    with pytest.raises(ValueError, match="`end_seed`"):
        sampling.interpolate(dcgan, end_seed=1.5)
