"""Sampling: seed latents, truncation, class grids, lerp / slerp, interpolation, GIFs."""

import sys

import numpy as np
import pytest
import tensorflow as tf

import ascendgan
from ascendgan import sampling


@pytest.fixture(scope="module")
def biggan():
    """A tiny class-conditional BigGAN (32x32, 10 classes, averaged generator)."""
    return ascendgan.models.biggan("cifar10", base_channels=4, shared_embedding_dim=8, seed=0)


@pytest.fixture(scope="module")
def dcgan():
    """A tiny unconditional DCGAN (28x28x1)."""
    return ascendgan.models.dcgan("mnist", base_filters=4, seed=0)


# ----------------------------------------------------------------------------- lerp / slerp


def numpy_slerp(a, b, t):
    """Textbook slerp in float64: ω from the arccos of the cosine of the angle."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    return np.stack([(np.sin((1 - s) * omega) * a + np.sin(s * omega) * b) / np.sin(omega) for s in t])


def angle(u, v):
    u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
    return np.arccos(np.clip(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)), -1.0, 1.0))


def test_lerp_matches_the_closed_form_and_hits_the_endpoints_exactly(rng):
    a, b = rng.standard_normal((3, 5)).astype("float32"), rng.standard_normal((3, 5)).astype("float32")
    t = np.array([0.0, 0.25, 0.6, 1.0], np.float32)
    path = sampling.lerp(a, b, t).numpy()
    lerp_np = np.stack([a + s * (b - a) for s in t])
    assert path.shape == (4, 3, 5)
    np.testing.assert_allclose(path, lerp_np, atol=1e-6)
    assert np.array_equal(path[0], a) and np.array_equal(path[-1], b)
    assert sampling.lerp(a, b, 0.5).shape == (3, 5)


def test_slerp_matches_numpy_reference(rng):
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    t = np.linspace(0, 1, 7)
    np.testing.assert_allclose(sampling.slerp(a.astype("float32"), b.astype("float32"), t).numpy(),
                               numpy_slerp(a, b, t), atol=2e-5)


def test_slerp_quarter_circle_is_cos_sin():
    t = np.linspace(0, 1, 9)
    path = sampling.slerp([1.0, 0.0], [0.0, 1.0], t).numpy()
    expected = np.stack([np.cos(t * np.pi / 2), np.sin(t * np.pi / 2)], axis=1)
    np.testing.assert_allclose(path, expected, atol=1e-6)


def test_slerp_keeps_the_norm_is_exact_at_endpoints_and_uniform_in_angle(rng):
    a = rng.standard_normal(120)
    b = rng.standard_normal(120)
    b = b / np.linalg.norm(b) * np.linalg.norm(a)  # equal norms
    a32, b32 = a.astype("float32"), b.astype("float32")
    t = np.linspace(0, 1, 11).astype("float32")
    path = sampling.slerp(a32, b32, t).numpy()
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(a32), rtol=1e-5)
    assert np.array_equal(path[0], a32) and np.array_equal(path[-1], b32)
    omega = angle(a, b)
    angles = np.array([angle(a, point) for point in path])
    np.testing.assert_allclose(angles, t * omega, atol=1e-3)
    # linear interpolation does not keep the norm: its midpoint is shorter
    mid = sampling.lerp(a32, b32, 0.5).numpy()
    assert np.linalg.norm(mid) < 0.9 * np.linalg.norm(a32)


def test_slerp_rows_are_independent_pairs(rng):
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    t = np.array([0.0, 0.3, 1.0])
    path = sampling.slerp(a.astype("float32"), b.astype("float32"), t).numpy()
    assert path.shape == (3, 4, 6)
    for row in range(4):
        np.testing.assert_allclose(path[:, row], numpy_slerp(a[row], b[row], t), atol=2e-5)


@pytest.mark.parametrize(
    "a, b",
    [([1.0, 2.0], [2.0, 4.0]),       # parallel: angle 0
     ([1.0, 2.0], [-1.0, -2.0]),     # antiparallel: angle π
     ([0.0, 0.0], [3.0, -1.0])],     # a zero endpoint
    ids=["parallel", "antiparallel", "zero"],
)
def test_slerp_falls_back_to_lerp_where_no_great_circle_exists(a, b):
    t = [0.0, 0.5, 1.0]
    path = sampling.slerp(a, b, t).numpy()
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(path, sampling.lerp(a, b, t).numpy(), atol=1e-6)


def test_slerp_small_angles_stay_accurate():
    a = np.array([1.0, 0.0], np.float32)
    b = np.array([np.cos(1e-3), np.sin(1e-3)], np.float32)
    mid = sampling.slerp(a, b, 0.5).numpy()
    np.testing.assert_allclose(mid, [np.cos(5e-4), np.sin(5e-4)], atol=1e-6)


def test_interpolation_bad_arguments_name_them():
    with pytest.raises(ValueError, match="`a` and `b`"):
        sampling.lerp([1.0, 2.0], [1.0, 2.0, 3.0], 0.5)
    with pytest.raises(ValueError, match="`t`"):
        sampling.slerp([1.0, 2.0], [2.0, 1.0], [[0.5]])
    with pytest.raises(ValueError, match="vectors"):
        sampling.slerp(1.0, 2.0, 0.5)


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


# ----------------------------------------------------------------------------- GIF


def read_gif(path):
    from PIL import Image

    with Image.open(path) as gif:
        frames, durations = [], []
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append(np.asarray(gif.convert("RGB")))
            durations.append(gif.info.get("duration"))
        return np.stack(frames), durations, gif.info.get("loop")


def test_save_gif_grayscale_round_trips_exactly(tmp_path, rng):
    frames = rng.integers(0, 256, (3, 9, 7, 1), dtype=np.uint8)
    path = sampling.save_gif(frames, tmp_path / "sub" / "gray.gif", duration_ms=80, loop=0)
    decoded, durations, loop = read_gif(path)
    assert decoded.shape == (3, 9, 7, 3)
    np.testing.assert_array_equal(decoded[..., 0], frames[..., 0])
    assert durations == [80, 80, 80] and loop == 0


def test_save_gif_color_frames_with_few_colours_are_exact(tmp_path, rng):
    palette = rng.integers(0, 256, (40, 3), dtype=np.uint8)
    frames = [palette[rng.integers(0, 40, (6, 5))] for _ in range(2)]  # a list of pictures
    decoded, durations, _ = read_gif(sampling.save_gif(frames, str(tmp_path / "c.gif"), duration_ms=50))
    np.testing.assert_array_equal(decoded, np.stack(frames))
    assert durations == [50, 50]


def test_save_gif_converts_float_frames_like_to_uint8(tmp_path):
    frames = np.linspace(-1, 1, 3).reshape(3, 1, 1, 1) * np.ones((3, 4, 4, 1))
    decoded, _, _ = read_gif(sampling.save_gif(frames, tmp_path / "f.gif"))
    np.testing.assert_array_equal(decoded[..., :1], sampling.to_uint8(frames))


def test_save_gif_bad_arguments_and_missing_pillow(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="`frames`"):
        sampling.save_gif(np.zeros((2, 4, 4, 2)), tmp_path / "x.gif")
    with pytest.raises(ValueError, match="`duration_ms`"):
        sampling.save_gif(np.zeros((2, 4, 4, 1)), tmp_path / "x.gif", duration_ms=0)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match="pillow"):
        sampling.save_gif(np.zeros((2, 4, 4, 1)), tmp_path / "x.gif")


def test_interpolation_saved_as_png_strip_and_gif(dcgan, tmp_path):
    frames = sampling.interpolate(dcgan, steps=4, start_seed=0, end_seed=3, method="slerp")
    png = sampling.save_image_grid(frames, str(tmp_path / "walk.png"), columns=4)
    decoded = tf.io.decode_png(tf.io.read_file(png)).numpy()
    np.testing.assert_array_equal(decoded, sampling.image_grid(frames, columns=4))
    gif, _, _ = read_gif(sampling.save_gif(frames, tmp_path / "walk.gif"))
    np.testing.assert_array_equal(gif[..., 0], sampling.to_uint8(frames)[..., 0])
