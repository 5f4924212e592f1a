import warnings

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from ascendgan.data import (
    CorruptImageWarning,
    DataFormatError,
    edge_map,
    edge_pairs,
    image_folder,
    paired_images,
)

SIZE = 8  # each half is SIZE x SIZE


def _pairs(rng, count, size=SIZE):
    a = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    return a, b


@pytest.fixture
def side_by_side(tmp_path, write_image):
    a, b = _pairs(np.random.default_rng(0), 3)
    for index in range(3):
        write_image(tmp_path / f"{index}.png", np.concatenate([a[index], b[index]], axis=1))
    return tmp_path, a, b


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_side_by_side_halves_round_trip(side_by_side, collect, to_unit, direction):
    folder, a, b = side_by_side
    ds = paired_images(
        folder,
        direction=direction,
        load_size=SIZE,
        crop_size=SIZE,
        jitter=False,
        flip=False,
        shuffle=False,
        batch_size=3,
    )
    source, target = collect(ds)
    expected_source, expected_target = (a, b) if direction == "AtoB" else (b, a)
    np.testing.assert_allclose(source, to_unit(expected_source), atol=1e-6)
    np.testing.assert_allclose(target, to_unit(expected_target), atol=1e-6)


def test_jpeg_pairs_within_jpeg_tolerance(tmp_path, write_image, smooth_image, collect):
    rng = np.random.default_rng(1)
    a, b = smooth_image(rng, 32, 32), smooth_image(rng, 32, 32)
    write_image(tmp_path / "p.jpg", np.concatenate([a, b], axis=1), quality=95)
    source, target = collect(
        paired_images(
            tmp_path, direction="BtoA", load_size=32, crop_size=32, jitter=False, flip=False
        )
    )
    pil = np.asarray(Image.open(tmp_path / "p.jpg")).astype(np.float32)
    for out, written, decoded in ((source[0], b, pil[:, 32:]), (target[0], a, pil[:, :32])):
        pixels = (out + 1) * 127.5
        assert np.abs(pixels - written).mean() < 4.0  # JPEG loss; a mix-up is ~40
        assert np.abs(pixels - decoded).max() <= 8  # another decoder, same half


def test_jitter_applies_the_same_crop_and_flip_to_both_halves(tmp_path, write_image, collect):
    rng = np.random.default_rng(2)
    for index in range(4):
        a = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        write_image(tmp_path / f"{index}.png", np.concatenate([a, 255 - a], axis=1))  # B = 255 - A
    ds = paired_images(tmp_path, load_size=12, crop_size=6, seed=5, batch_size=4)
    plain = paired_images(
        tmp_path, load_size=12, crop_size=6, jitter=False, flip=False, shuffle=False, batch_size=4
    )
    for _ in range(2):
        source, target = collect(ds)
        assert source.shape == (4, 6, 6, 3)
        # Resizing is linear and crop / flip move pixels: B = 255 - A survives the jitter
        # exactly when both halves got the same crop and flip.
        np.testing.assert_allclose(target, -source, atol=1e-5)
    plain_source, _ = collect(plain)
    assert not np.allclose(
        np.sort(source.reshape(4, -1), 1), np.sort(plain_source.reshape(4, -1), 1)
    )


def test_flip_mirrors_source_and_target_together(tmp_path, write_image, collect, to_unit):
    a = np.random.default_rng(3).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    b = a[:, :, ::-1]  # B: the channels reversed, so A and B differ
    write_image(tmp_path / "p.png", np.concatenate([a, b], axis=1))
    ds = paired_images(tmp_path, load_size=SIZE, crop_size=SIZE, seed=0, repeat=True, batch_size=1)
    mirrored = 0
    for source, target in ds.take(12):
        source, target = source.numpy()[0], target.numpy()[0]
        flipped = np.allclose(source, to_unit(a[:, ::-1]), atol=1e-5)
        assert flipped or np.allclose(source, to_unit(a), atol=1e-5)
        np.testing.assert_allclose(target, to_unit(b[:, ::-1] if flipped else b), atol=1e-5)
        mirrored += flipped
    assert 0 < mirrored < 12  # a fair coin, seeded


def test_odd_width_names_the_file(tmp_path, write_image):
    write_image(tmp_path / "good.png", np.zeros((4, 8, 3), np.uint8))
    write_image(tmp_path / "odd.png", np.zeros((4, 9, 3), np.uint8))
    ds = paired_images(tmp_path, load_size=4, crop_size=4, shuffle=False)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"odd\.png is 4x9 \(height x width\); .*twice as wide"
    ):
        list(ds)


@pytest.mark.parametrize("height, width", [(100, 300), (300, 100), (4, 6)])
def test_side_by_side_files_must_be_two_squares(tmp_path, write_image, height, width):
    # The first file is checked when the dataset is made; later ones while iterating.
    write_image(tmp_path / "a.png", np.zeros((height, width, 3), np.uint8))
    with pytest.raises(
        DataFormatError, match=rf"a\.png' is {height}x{width} \(height x width\); .*width = 2 x "
        rf"height = {2 * height}"
    ):
        paired_images(tmp_path, load_size=4, crop_size=4)
    write_image(tmp_path / "0.png", np.zeros((4, 8, 3), np.uint8))
    ds = paired_images(tmp_path, load_size=4, crop_size=4, shuffle=False, batch_size=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"a\.png is {height}x{width} "):
        list(ds)


def test_a_and_b_folders(tmp_path, write_image, collect, to_unit):
    a, b = _pairs(np.random.default_rng(4), 2)
    for index in range(2):
        write_image(tmp_path / "A" / f"{index}.png", a[index])
        write_image(tmp_path / "B" / f"{index}.bmp", b[index])  # extensions may differ
    ds = paired_images(
        tmp_path,
        load_size=SIZE,
        crop_size=SIZE,
        jitter=False,
        flip=False,
        shuffle=False,
        batch_size=2,
    )
    source, target = collect(ds)
    np.testing.assert_allclose(source, to_unit(a), atol=1e-6)
    np.testing.assert_allclose(target, to_unit(b), atol=1e-6)


def test_a_and_b_halves_of_different_sizes_name_both_files(tmp_path, write_image):
    write_image(tmp_path / "A" / "x.png", np.zeros((8, 8, 3), np.uint8))
    write_image(tmp_path / "B" / "x.png", np.zeros((8, 6, 3), np.uint8))
    with pytest.raises(DataFormatError, match=r"A/x\.png' \(8x8\) and .*B/x\.png' \(8x6\) differ"):
        paired_images(tmp_path, load_size=4, crop_size=4)  # the first pair: at the call
    for name in ("A/w.png", "B/w.png"):  # a good first pair: later pairs fail while iterating
        write_image(tmp_path / name, np.zeros((8, 8, 3), np.uint8))
    ds = paired_images(tmp_path, load_size=4, crop_size=4, shuffle=False, batch_size=2)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"A/x\.png \(8x8\) and .*B/x\.png \(8x6\) differ"
    ):
        list(ds)
    (tmp_path / "A" / "w.png").unlink()
    (tmp_path / "B" / "w.png").unlink()
    write_image(tmp_path / "A" / "y.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DataFormatError, match=r"Only in A: \['y'\]"):
        paired_images(tmp_path, load_size=4, crop_size=4)


def test_corrupt_pair_file(tmp_path, write_image):
    for name in ("a.png", "b.png"):
        write_image(tmp_path / name, np.full((4, 8, 3), 100, np.uint8))
    (tmp_path / "b.png").write_bytes((tmp_path / "b.png").read_bytes()[:30])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"b\.png"):
        list(paired_images(tmp_path, load_size=4, crop_size=4, shuffle=False))
    ds = paired_images(tmp_path, load_size=4, crop_size=4, shuffle=False, skip_corrupt=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batches = list(ds)
    assert len(batches) == 1
    assert any("b.png" in str(w.message) for w in caught if w.category is CorruptImageWarning)


def test_paired_argument_errors(side_by_side):
    folder, _, _ = side_by_side
    with pytest.raises(
        ValueError, match=r"`load_size` must be >= `crop_size`.*load_size=4, crop_size=8"
    ):
        paired_images(folder, load_size=4, crop_size=8)
    with pytest.raises(ValueError, match=r"`direction` must be one of \('AtoB', 'BtoA'\)"):
        paired_images(folder, direction="A2B")
    with pytest.raises(ValueError, match=r"`jitter` must be True or False"):
        paired_images(folder, jitter=1)


# ----------------------------------------------------------------------------- edges


def test_edge_map_of_a_step_is_two_lines_at_the_step():
    image = np.where(np.arange(10) < 5, -1.0, 1.0)[None, None, :, None] * np.ones((1, 6, 10, 1))
    edges = edge_map(image, threshold=0.5, blur_sigma=0).numpy()
    # Sobel magnitude / 4 is the contrast (1.0) on the two columns around the step, 0 elsewhere.
    expected = np.ones(10, np.float32)
    expected[[4, 5]] = -1.0
    for row in edges[0, :, :, 0]:
        np.testing.assert_array_equal(row, expected)
    assert edge_map(image, threshold=1.01, blur_sigma=0).numpy().min() == 1.0  # below threshold


def test_edge_map_properties():
    rng = np.random.default_rng(5)
    flat = np.full((2, 9, 9, 3), 0.3, np.float32)
    assert np.all(edge_map(flat).numpy() == 1.0)  # nothing to draw: white
    grey = rng.uniform(-1, 1, (1, 9, 9, 1)).astype(np.float32)
    np.testing.assert_array_equal(edge_map(np.repeat(grey, 3, -1)).numpy(), edge_map(grey).numpy())
    single = edge_map(grey[0])
    assert single.shape == (9, 9, 1)
    np.testing.assert_array_equal(single.numpy(), edge_map(grey).numpy()[0])
    with pytest.raises(ValueError, match=r"`threshold` must be a number > 0"):
        edge_map(grey, threshold=0)


def test_edge_pairs_edges_line_up_with_the_jittered_photo(tmp_path, write_image, smooth_image):
    rng = np.random.default_rng(6)
    for index in range(3):
        photo = smooth_image(rng, 12, 20)
        photo[:, 8:10] = 0  # a dark bar: a sure edge
        write_image(tmp_path / f"{index}.png", photo)
    ds = edge_pairs(tmp_path, load_size=10, crop_size=8, seed=1, batch_size=3)
    edges, photos = next(iter(ds))
    assert edges.shape == (3, 8, 8, 3) and photos.shape == (3, 8, 8, 3)
    assert set(np.unique(edges.numpy())) <= {-1.0, 1.0}
    np.testing.assert_array_equal(edges.numpy(), np.repeat(edge_map(photos).numpy(), 3, -1))
    assert (edges.numpy() == -1).any() and (edges.numpy() == 1).mean() > 0.3


def test_edge_pairs_without_jitter_is_the_square_resized_photo(
    tmp_path, write_image, smooth_image, collect
):
    rng = np.random.default_rng(7)
    write_image(tmp_path / "p.png", smooth_image(rng, 12, 20))
    edges, photos = collect(
        edge_pairs(tmp_path, load_size=6, crop_size=6, jitter=False, flip=False, edge_channels=1)
    )
    reference = collect(
        image_folder(tmp_path, image_size=6, crop_to_aspect_ratio=True, batch_size=1)
    )
    np.testing.assert_allclose(photos, reference, atol=1e-5)
    pil = Image.open(tmp_path / "p.png").crop((4, 0, 16, 12)).resize((6, 6), Image.BILINEAR)
    np.testing.assert_allclose((photos[0] + 1) * 127.5, np.asarray(pil), atol=1.5)
    assert edges.shape == (1, 6, 6, 1)


def test_batch_counts_are_known_so_keras_does_not_guess(side_by_side):
    folder, _, _ = side_by_side
    ds = paired_images(folder, load_size=SIZE, crop_size=SIZE, batch_size=2)
    assert int(ds.cardinality()) == 1 == len(list(ds))  # 3 pairs, remainder dropped
    ds = paired_images(folder, load_size=SIZE, crop_size=SIZE, batch_size=2, drop_remainder=False)
    assert int(ds.cardinality()) == 2 == len(list(ds))
    skipping = paired_images(folder, load_size=SIZE, crop_size=SIZE, skip_corrupt=True)
    assert int(skipping.cardinality()) == tf.data.UNKNOWN_CARDINALITY  # files may be dropped


@pytest.mark.slow
def test_pix2pix_trains_on_paired_images(side_by_side):
    import ascendgan

    folder, _, _ = side_by_side
    pairs = paired_images(folder, load_size=10, crop_size=SIZE, seed=0)
    gan = ascendgan.models.pix2pix(
        "facades",
        image_size=SIZE,
        num_downsamplings=3,
        base_filters=4,
        discriminator_base_filters=4,
        discriminator_layers=1,
        seed=0,
    )
    gan.compile()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. Keras's "input ran out of data"
        history = gan.fit(pairs, epochs=2, verbose=0)
    assert len(history.history["g_loss"]) == 2 and np.isfinite(history.history["g_loss"]).all()
