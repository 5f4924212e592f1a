import os
import warnings

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from ascendgan.data import (
    CorruptImageWarning,
    DataFormatError,
    DatasetNotFoundError,
    image_folder,
    image_folder_arrays,
    list_image_files,
)


def _random(rng, *shape):
    return rng.integers(0, 256, shape, dtype=np.uint8)


@pytest.fixture
def png_folder(tmp_path, write_image):
    rng = np.random.default_rng(0)
    images = [_random(rng, 6, 10, 3) for _ in range(5)]
    for index, image in enumerate(images):
        write_image(tmp_path / f"{index:02d}.png", image)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path, np.stack(images)


def test_png_folder_round_trips_exactly(png_folder, collect, to_unit):
    folder, images = png_folder
    np.testing.assert_array_equal(image_folder_arrays(folder), images)
    ds = image_folder(folder, batch_size=2, shuffle=False, drop_remainder=False)
    out = collect(ds)
    assert out.dtype == np.float32 and out.shape == (5, 6, 10, 3)
    np.testing.assert_allclose(out, to_unit(images), atol=1e-6)
    assert ds.class_names is None and [os.path.basename(f) for f in ds.file_paths] == [
        f"{i:02d}.png" for i in range(5)
    ]


def test_nested_folders_and_class_labels(tmp_path, write_image, collect, to_unit):
    rng = np.random.default_rng(1)
    layout = {"zebra/a/1.png": 1, "zebra/2.png": 1, "ant/3.png": 0, "ant/deep/er/4.bmp": 0}
    written = {}
    for name in layout:
        written[name] = write_image(tmp_path / name, _random(rng, 4, 4, 3))
    files, labels, names = list_image_files(tmp_path, with_labels=True)
    assert names == ("ant", "zebra")
    relative = [os.path.relpath(f, tmp_path) for f in files]
    assert relative == ["ant/3.png", "ant/deep/er/4.bmp", "zebra/2.png", "zebra/a/1.png"]
    assert labels == [0, 0, 1, 1]
    # Without labels: every image at any depth.
    assert len(list_image_files(tmp_path)[0]) == 4
    # class_names fixes the label order (and may leave classes out).
    files, labels, names = list_image_files(
        tmp_path, with_labels=True, class_names=["zebra", "ant"]
    )
    assert names == ("zebra", "ant") and labels == [0, 0, 1, 1]
    ds = image_folder(tmp_path, with_labels=True, batch_size=4, shuffle=False)
    images, out_labels = collect(ds)
    assert ds.class_names == ("ant", "zebra") and out_labels.dtype == np.int32
    expected = np.stack([np.asarray(Image.open(tmp_path / r)) for r in relative])
    np.testing.assert_allclose(images, to_unit(expected), atol=1e-6)
    np.testing.assert_array_equal(out_labels, [0, 0, 1, 1])


def test_jpeg_within_jpeg_tolerance(tmp_path, write_image, smooth_image):
    rng = np.random.default_rng(2)
    images = [smooth_image(rng, 24, 32) for _ in range(3)]
    for index, image in enumerate(images):
        write_image(tmp_path / f"{index}.JPG", image, quality=95)  # upper-case extension
    out = image_folder_arrays(tmp_path).astype(np.int32)
    error = np.abs(out - np.stack(images))
    assert error.mean() < 3.0 and error.max() <= 24  # a channel or pixel mix-up is ~40
    pil = np.stack([np.asarray(Image.open(tmp_path / f"{i}.JPG")) for i in range(3)]).astype(
        np.int32
    )
    assert np.abs(out - pil).max() <= 8  # another JPEG decoder agrees


def test_greyscale_is_replicated_for_rgb_and_kept_for_one_channel(tmp_path, write_image):
    grey = _random(np.random.default_rng(3), 5, 7)
    write_image(tmp_path / "g.png", grey)
    rgb = image_folder_arrays(tmp_path, channels=3)
    assert rgb.shape == (1, 5, 7, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[0, :, :, channel], grey)
    one = image_folder_arrays(tmp_path, channels=1)
    np.testing.assert_array_equal(one[0, :, :, 0], grey)


@pytest.mark.parametrize(
    "shape, channels, found",
    [((5, 7, 2), 3, 2), ((5, 7, 4), 3, 4), ((5, 7, 3), 1, 3)],
    ids=["grey+alpha", "rgba", "rgb-for-grey"],
)
def test_wrong_channel_counts_name_the_file(tmp_path, write_image, shape, channels, found):
    rng = np.random.default_rng(4)
    write_image(tmp_path / "a.png", _random(rng, 5, 7, 3) if channels == 3 else _random(rng, 5, 7))
    write_image(tmp_path / "b.png", _random(rng, *shape))
    ds = image_folder(tmp_path, channels=channels, batch_size=1, shuffle=False, image_size=5)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=rf"b\.png has {found} channels; channels={channels}"
    ):
        list(ds)


def test_center_crop_matches_numpy_slicing(tmp_path, write_image, collect, to_unit):
    image = _random(np.random.default_rng(5), 11, 14, 3)
    write_image(tmp_path / "x.png", image)
    out = collect(image_folder(tmp_path, center_crop=(4, 7), batch_size=1))
    top, left = (11 - 4) // 2, (14 - 7) // 2  # offsets rounded down
    np.testing.assert_allclose(out[0], to_unit(image[top : top + 4, left : left + 7]), atol=1e-6)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"x\.png is 11x14.*smaller than center_crop=12x12"
    ):
        list(image_folder(tmp_path, center_crop=12, batch_size=1))


def test_resize_against_independent_references(tmp_path, write_image):
    rng = np.random.default_rng(6)
    image = _random(rng, 8, 12, 3)
    write_image(tmp_path / "x.png", image)
    # "area" shrinking by 2 is the mean of each 2x2 block.
    area = image_folder_arrays(tmp_path, image_size=(4, 6), interpolation="area")[0]
    blocks = image.reshape(4, 2, 6, 2, 3).mean(axis=(1, 3))
    np.testing.assert_array_equal(area, np.rint(blocks).astype(np.uint8))
    # Antialiased bilinear agrees with PIL's bilinear reduction within a level.
    smooth = np.clip(image.astype(float) * 0.3 + 80, 0, 255).astype(np.uint8)
    write_image(tmp_path / "x.png", smooth)
    ours = image_folder_arrays(tmp_path, image_size=(4, 6))[0].astype(int)
    pil = np.asarray(Image.fromarray(smooth).resize((6, 4), Image.BILINEAR)).astype(int)
    assert np.abs(ours - pil).max() <= 1


def test_crop_to_aspect_ratio_takes_the_centred_window(tmp_path, write_image):
    image = _random(np.random.default_rng(7), 6, 10, 3)
    write_image(tmp_path / "wide.png", image)
    out = image_folder_arrays(tmp_path, image_size=(6, 6), crop_to_aspect_ratio=True)
    np.testing.assert_array_equal(out[0], image[:, 2:8])  # same size: no resampling
    stretched = image_folder_arrays(tmp_path, image_size=(6, 6))
    assert not np.array_equal(stretched[0], image[:, 2:8])


def test_images_of_different_sizes_need_image_size(tmp_path, write_image):
    rng = np.random.default_rng(8)
    write_image(tmp_path / "a.png", _random(rng, 4, 4, 3))
    write_image(tmp_path / "b.png", _random(rng, 5, 4, 3))
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"b\.png is 5x4.*expected 4x4.*a\.png"
    ):
        list(image_folder(tmp_path, batch_size=1, shuffle=False))
    out = image_folder_arrays(tmp_path, image_size=3)
    assert out.shape == (2, 3, 3, 3)


# ----------------------------------------------------------------------------- corrupt files


@pytest.fixture
def folder_with_corrupt_file(tmp_path, write_image):
    rng = np.random.default_rng(9)
    images = {}
    for name in ("a.png", "b.jpg", "c.png", "d.png"):
        images[name] = _random(rng, 4, 4, 3)
        write_image(tmp_path / name, images[name])
    data = (tmp_path / "b.jpg").read_bytes()
    (tmp_path / "b.jpg").write_bytes(data[: len(data) // 2])  # a truncated download
    return tmp_path, images


def test_corrupt_image_error_names_the_file(folder_with_corrupt_file):
    folder, _ = folder_with_corrupt_file
    ds = image_folder(folder, batch_size=2, shuffle=False)  # lazily: raised while iterating
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"could not read or decode the image file .*b\.jpg"
    ):
        list(ds)


def test_skip_corrupt_drops_only_that_file_with_a_warning(folder_with_corrupt_file, to_unit):
    folder, images = folder_with_corrupt_file
    ds = image_folder(folder, batch_size=1, shuffle=False, skip_corrupt=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = np.concatenate([b.numpy() for b in ds])
    messages = [str(w.message) for w in caught if issubclass(w.category, CorruptImageWarning)]
    assert len(messages) == 1 and "b.jpg" in messages[0]
    expected = np.stack([images[n] for n in ("a.png", "c.png", "d.png")])
    np.testing.assert_allclose(out, to_unit(expected), atol=1e-6)


def test_a_non_image_with_an_image_extension_names_the_file(tmp_path, write_image):
    write_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "b.png").write_bytes(b"<html>404 not found</html>")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"b\.png"):
        list(image_folder(tmp_path, image_size=4, batch_size=2))
    (tmp_path / "a.png").write_bytes(b"")  # the first file is probed eagerly
    with pytest.raises(DataFormatError, match=r"a\.png"):
        image_folder(tmp_path, batch_size=1)


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(DataFormatError, match=r"No images found in .*It is empty"):
        image_folder(tmp_path)
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(DataFormatError, match=r"\.jpg.*readme\.txt"):
        image_folder(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        image_folder(tmp_path / "nowhere")
    with pytest.raises(DataFormatError, match=r"with_labels=True expects one sub-folder per class"):
        image_folder(tmp_path, with_labels=True)


def test_label_layout_errors(tmp_path, write_image):
    write_image(tmp_path / "cat" / "1.png", np.zeros((4, 4, 3), np.uint8))
    os.makedirs(tmp_path / "dog")
    with pytest.raises(DataFormatError, match=r"class sub-folder .*dog.*holds no images"):
        list_image_files(tmp_path, with_labels=True)
    with pytest.raises(DataFormatError, match=r"\['cow'\] have no sub-folder"):
        list_image_files(tmp_path, with_labels=True, class_names=["cat", "cow"])
    files, labels, _ = list_image_files(tmp_path, with_labels=True, class_names=["cat"])
    assert labels == [0] and files[0].endswith("1.png")


# ----------------------------------------------------------------------------- pipeline


def test_batches_seeds_and_repeat(png_folder, collect):
    folder, _ = png_folder
    ds = image_folder(folder, batch_size=2, seed=0)
    assert [b.shape[0] for b in ds] == [2, 2] and int(ds.cardinality()) == 2
    first = collect(image_folder(folder, batch_size=1, seed=4))
    second = collect(image_folder(folder, batch_size=1, seed=4))
    np.testing.assert_array_equal(first, second)
    assert len(list(image_folder(folder, batch_size=2, repeat=True).take(7))) == 7
    with pytest.raises(ValueError, match=r"holds 5 images, fewer than batch_size=6"):
        image_folder(folder, batch_size=6)


def test_cache_gives_the_same_images(png_folder, collect):
    folder, images = png_folder
    ds = image_folder(folder, batch_size=5, cache=True, seed=1)
    for _ in range(2):  # the second pass reads the cache
        out = collect(ds)
        order = np.argsort(out.reshape(5, -1)[:, 0] * 1000 + out.reshape(5, -1)[:, 1])
        reference = (images.astype(np.float32) / 127.5 - 1).reshape(5, -1)
        expected = reference[np.argsort(reference[:, 0] * 1000 + reference[:, 1])]
        np.testing.assert_allclose(out.reshape(5, -1)[order], expected, atol=1e-6)


def test_reads_a_folder_through_tf_io_gfile(tmp_path, write_image):
    image = _random(np.random.default_rng(10), 3, 5, 3)
    local = write_image(tmp_path / "x.png", image)
    tf.io.gfile.makedirs("ram://h1_folder_test/sub")
    tf.io.gfile.copy(local, "ram://h1_folder_test/sub/x.png", overwrite=True)
    np.testing.assert_array_equal(image_folder_arrays("ram://h1_folder_test")[0], image)


def test_argument_errors_name_the_argument(png_folder):
    folder, _ = png_folder
    for kwargs, pattern in [
        ({"channels": 2}, r"`channels` must be 1 \(greyscale\) or 3"),
        ({"image_size": (0, 4)}, r"`image_size` must be None, a positive int"),
        ({"center_crop": "108"}, r"`center_crop` must be"),
        ({"interpolation": "cubic"}, r"`interpolation` must be one of"),
        ({"batch_size": 0}, r"`batch_size` must be an integer >= 1"),
        ({"seed": -1}, r"`seed` must be a non-negative integer or None"),
        ({"crop_to_aspect_ratio": True}, r"needs `image_size`"),
    ]:
        with pytest.raises(ValueError, match=pattern):
            image_folder(folder, **kwargs)
    with pytest.raises(ValueError, match=r"`shuffle` must be True or False"):
        image_folder(folder, shuffle="yes")
