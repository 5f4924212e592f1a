"""Pictures (ascendgan.sampling.images): grids, PNG and GIF files."""

import os
import sys

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import sampling

# ----------------------------------------------------------------------------- grids and PNG


def test_image_grid_tiles_row_by_row_with_padding():
    images = np.stack([np.full((2, 3, 1), value, np.uint8) for value in (10, 20, 30)])
    grid = sampling.image_grid(images, columns=2, padding=1, pad_value=0)
    assert grid.shape == (2 * 3 + 1, 2 * 4 + 1, 1) and grid.dtype == np.uint8
    assert grid[1, 1, 0] == 10 and grid[1, 5, 0] == 20 and grid[4, 1, 0] == 30
    assert grid[4, 5, 0] == 0 and grid[0, 0, 0] == 0  # the empty cell and the border
    np.testing.assert_array_equal(sampling.to_uint8(np.array([-1.0, 0.0, 1.0, 3.0])), [0, 128, 255, 255])


def test_save_png_round_trips_and_leaves_no_temporary_file(tmp_path, rng):
    picture = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = sampling.save_png(picture, tmp_path / "sub" / "p.png")
    assert path == str(tmp_path / "sub" / "p.png")
    np.testing.assert_array_equal(tf.io.decode_png(tf.io.read_file(path)).numpy(), picture)
    assert os.listdir(tmp_path / "sub") == ["p.png"]


def test_image_writers_bad_arguments_name_them(tmp_path):
    with pytest.raises(ValueError, match="`images`"):
        sampling.image_grid(np.zeros((4, 4, 1)))
    with pytest.raises(ValueError, match="`columns`"):
        sampling.image_grid(np.zeros((2, 4, 4, 1)), columns=0)
    with pytest.raises(ValueError, match="`picture`"):
        sampling.save_png(np.zeros((4, 4, 1), np.float32), tmp_path / "x.png")
    with pytest.raises(ValueError, match="`loop`"):
        sampling.save_gif(np.zeros((2, 4, 4, 1)), tmp_path / "x.gif", loop=-1)


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


def test_png_text_chunks_and_gif_comment_are_readable_by_pillow(tmp_path):
    from PIL import Image

    picture = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    path = sampling.save_png(picture, tmp_path / "a.png", text={"truncation": "2.0", "seed": 7})
    image = Image.open(path)
    assert image.text == {"truncation": "2.0", "seed": "7"}
    np.testing.assert_array_equal(np.asarray(image), picture)  # the pixels are untouched
    assert Image.open(sampling.save_png(picture, tmp_path / "b.png")).text == {}
    with pytest.raises(ValueError, match="`text` keywords"):
        sampling.save_png(picture, tmp_path / "c.png", text={"": "x"})
    grid = sampling.save_image_grid(np.zeros((2, 4, 4, 1)), tmp_path / "g.png", text={"k": "v"})
    assert Image.open(grid).text == {"k": "v"}
    frames = np.linspace(-1, 1, 3).reshape(3, 1, 1, 1) * np.ones((3, 4, 4, 1))
    gif = sampling.save_gif(frames, tmp_path / "a.gif", comment="truncation=2.0; seed=0")
    assert Image.open(gif).info["comment"] == b"truncation=2.0; seed=0"
