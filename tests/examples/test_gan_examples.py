"""The GAN example scripts run end to end at --smoke size, on small files in the real formats,
as a user runs them (`python examples/<name>.py ...`), and resume exactly."""

import glob
import json
import os
import pathlib
import runpy
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def run_script(name, *argv):
    """Runs examples/<name> as __main__ with ``argv``; returns its exit code."""
    saved = sys.argv
    sys.argv = [str(EXAMPLES / name), *map(str, argv)]
    try:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    except SystemExit as exit_:
        return exit_.code
    finally:
        sys.argv = saved
    return 0


def write_images(folder, count, size, seed=0, suffix=".png", mode="RGB"):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    height, width = size
    channels = 3 if mode == "RGB" else 1
    for index in range(count):
        pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
        Image.fromarray(pixels.squeeze() if channels == 1 else pixels, mode).save(
            os.path.join(folder, f"{index:04d}{suffix}"))
    return folder


def png(path):
    return np.asarray(Image.open(path))


def checkpoint_values(run_dir):
    """Every value of the run's latest checkpoint: networks, optimizers, random-generator state."""
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints")))
    names = sorted(n for n in reader.get_variable_to_shape_map() if n != "_CHECKPOINTABLE_OBJECT_GRAPH")
    return {name: reader.get_tensor(name) for name in names}


def scalar_tags(log_dir):
    tags = set()
    for path in glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


@pytest.mark.parametrize("name", ["dcgan_mnist.py", "dcgan_celeba.py", "biggan_cifar.py",
                                  "biggan_cat.py", "pix2pix_facades.py"])
def test_help_shows_the_documented_run(name, capsys):
    assert run_script(name, "--help") == 0
    out = capsys.readouterr().out
    assert "--smoke" in out and "--data" in out and "resume" in out.lower()


def test_dcgan_mnist_smoke_on_the_shipped_data(tmp_path):
    out = tmp_path / "run"
    assert run_script("dcgan_mnist.py", "--smoke", "--out", out) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["family"] == "dcgan" and run["preset"] == "mnist" and run["steps"] == 2
    grid = png(out / "samples" / "step_0000002.png")
    assert grid.ndim == 2 and grid.shape == (8 * 30 + 2, 8 * 30 + 2)  # 64 grey 28x28 tiles
    assert tf.train.latest_checkpoint(str(out / "checkpoints")).endswith("ckpt-2")
    tags = scalar_tags(str(out / "logs"))
    assert {"samples"} <= tags and any("d_loss" in tag for tag in tags), tags
    assert any("ms_per_step" in tag for tag in tags), tags


def test_resume_continues_exactly(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert run_script("dcgan_mnist.py", "--smoke", "--steps", 4, "--out", straight, "--quiet") == 0
    assert run_script("dcgan_mnist.py", "--smoke", "--steps", 2, "--out", resumed, "--quiet") == 0
    assert run_script("dcgan_mnist.py", "--smoke", "--steps", 4, "--out", resumed, "--quiet") == 0
    a, b = checkpoint_values(str(straight)), checkpoint_values(str(resumed))
    assert a.keys() == b.keys()
    # (variables are stored once, under the first path that reaches them: often an optimizer's)
    assert len(a) > 20 and any("seed_generator" in name for name in a)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_dcgan_celeba_smoke_crops_and_resizes_a_folder(tmp_path):
    data = write_images(tmp_path / "faces" / "nested", 6, (120, 110), suffix=".jpg")
    out = tmp_path / "run"
    assert run_script("dcgan_celeba.py", "--smoke", "--data", data, "--out", out, "--num-samples", 4,
                      "--quiet") == 0
    grid = png(out / "samples" / "step_0000002.png")
    assert grid.shape == (2 * 66 + 2, 2 * 66 + 2, 3)  # 4 tiles of 64x64 RGB


def test_biggan_cifar_smoke_on_class_folders(tmp_path):
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    for index, name in enumerate(classes):
        write_images(tmp_path / "cifar" / "train" / name, 2, (32, 32), seed=index)
    out = tmp_path / "run"
    assert run_script("biggan_cifar.py", "--smoke", "--data", tmp_path / "cifar", "--out", out,
                      "--num-samples", 20, "--quiet") == 0
    run = json.loads((out / "run.json").read_text())
    assert run["overrides"]["base_channels"] == 8
    # class-conditional: one row per class, 8 per row -> 20 // 8 = 2 rows
    assert png(out / "samples" / "step_0000002.png").shape == (2 * 34 + 2, 8 * 34 + 2, 3)


def test_biggan_cat_smoke_on_photos_of_mixed_sizes(tmp_path):
    data = tmp_path / "cats"
    write_images(data, 3, (70, 90), suffix=".jpg")
    write_images(data, 3, (100, 64), seed=1, suffix=".jpg")
    out = tmp_path / "run"
    assert run_script("biggan_cat.py", "--smoke", "--data", data, "--out", out, "--num-samples", 4,
                      "--quiet") == 0
    assert png(out / "samples" / "step_0000002.png").shape == (2 * 66 + 2, 2 * 66 + 2, 3)


@pytest.mark.parametrize("pairs", ["ab", "edges"])
def test_pix2pix_smoke_on_pairs_and_on_edges_from_photos(tmp_path, pairs):
    data = write_images(tmp_path / "data", 3, (64, 128) if pairs == "ab" else (80, 90), suffix=".jpg")
    out = tmp_path / "run"
    assert run_script("pix2pix_facades.py", "--smoke", "--pairs", pairs, "--data", data, "--out", out,
                      "--num-samples", 2, "--quiet") == 0
    # rows of (source, translation, target) at the smoke size 64x64
    assert png(out / "samples" / "step_0000002.png").shape == (2 * 66 + 2, 3 * 66 + 2, 3)


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="data"):
        run_script("biggan_cat.py", "--smoke", "--out", tmp_path)
