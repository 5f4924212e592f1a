"""The GAN example scripts run end to end at --smoke size, on small files in the real formats,
as a user runs them (`python examples/<name>.py ...`), resume exactly, and leave a run
directory that `ascendgan sample / evaluate / export` read as they read an `ascendgan train`
run: the two front doors agree."""

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

from ascendgan import cli, export

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
    assert "--precision" in out and "--steps" in out and "--epochs" in out


def test_dcgan_mnist_smoke_on_the_shipped_data(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_script("dcgan_mnist.py", "--smoke", "--out", out) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["family"] == "dcgan" and run["preset"] == "mnist" and run["steps"] == 2
    assert run["batch_size"] == 2 and run["overrides"] == {"base_filters": 4} and run["data"] is None
    grid = png(out / "samples" / "step_0000002.png")
    assert grid.ndim == 2 and grid.shape == (8 * 30 + 2, 8 * 30 + 2)  # 64 grey 28x28 tiles
    assert png(out / "samples.png").shape == grid.shape
    assert tf.train.latest_checkpoint(str(out / "checkpoints")).endswith("ckpt-2")
    tags = scalar_tags(str(out / "logs"))
    assert {"samples"} <= tags and any("d_loss" in tag for tag in tags), tags
    assert any("ms_per_step" in tag for tag in tags), tags
    # The frozen graph of the documented run: input z, output `output`.
    graph = export.load_frozen_graph(out / "dcgan_mnist.pb")
    assert export.graph_inputs(graph) == {"z": ((1, 100), np.dtype("float32"))}
    assert "output" in {node.name for node in graph.node}
    printed = capsys.readouterr().out
    assert "atc --model=" in printed and "--framework=3" in printed and '--out_nodes="output:0"' in printed

    # `ascendgan sample / export / evaluate` take the example's run directory.
    assert cli.main(["sample", str(out), "--output", str(tmp_path / "s.png"), "--n", "4"]) == 0
    assert png(tmp_path / "s.png").shape == (2 * 30 + 2, 2 * 30 + 2)
    assert cli.main(["export", str(out), "--output", str(tmp_path / "g.pb"), "--batch-size", "3"]) == 0
    assert export.graph_inputs(export.load_frozen_graph(tmp_path / "g.pb")) == {
        "z": ((3, 100), np.dtype("float32"))}
    metrics = tmp_path / "metrics.json"
    assert cli.main(["evaluate", str(out), "--weights", "none", "--image-size", "75", "--metrics", "kid",
                     "--num-samples", "10", "--reference-samples", "10", "--batch-size", "10",
                     "--output", str(metrics)]) == 0
    assert "kid" in json.loads(metrics.read_text())


def test_resume_continues_exactly(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    common = ("--smoke", "--quiet", "--no-export", "--no-tensorboard")
    assert run_script("dcgan_mnist.py", *common, "--steps", 4, "--out", straight) == 0
    assert run_script("dcgan_mnist.py", *common, "--steps", 2, "--out", resumed) == 0
    assert run_script("dcgan_mnist.py", *common, "--steps", 4, "--out", resumed) == 0
    a, b = checkpoint_values(str(straight)), checkpoint_values(str(resumed))
    assert a.keys() == b.keys()
    # (variables are stored once, under the first path that reaches them: often an optimizer's)
    assert len(a) > 20 and any("seed_generator" in name for name in a)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    # A finished run only samples (and exports): the checkpoint stays at step 4.
    assert run_script("dcgan_mnist.py", *common, "--steps", 4, "--out", resumed) == 0
    assert tf.train.latest_checkpoint(str(resumed / "checkpoints")).endswith("ckpt-4")


def _write_pairs(folder, pairs):
    """Three side-by-side A|B images (``pairs="ab"``) or photos of another shape (``"edges"``)."""
    return write_images(folder, 3, (64, 128) if pairs == "ab" else (80, 90), suffix=".jpg")


# The two front doors: an example and `ascendgan train` with the same options (BigGAN's
# smoke runs cost minutes on two cores; its examples call the same functions as these).
FRONT_DOORS = [
    ("dcgan_mnist.py", "dcgan", [], None),
    ("pix2pix_facades.py", "pix2pix", ["--pairs", "edges", "--num-samples", "2"], "photos"),
]


@pytest.mark.parametrize("script, family, options, data", FRONT_DOORS, ids=[f[0] for f in FRONT_DOORS])
def test_an_example_and_ascendgan_train_write_the_same_run(tmp_path, script, family, options, data):
    if data == "photos":
        options = [*options, "--data", str(_write_pairs(tmp_path / "photos", "edges"))]
    common = ["--smoke", "--quiet", "--no-tensorboard", *options]
    example, command = tmp_path / "example", tmp_path / "command"
    extra = [] if family == "pix2pix" else ["--no-export"]
    assert run_script(script, *common, *extra, "--out", example) == 0
    assert cli.main(["train", family, *common, "--out", str(command)]) == 0
    assert json.loads((example / "run.json").read_text()) == json.loads((command / "run.json").read_text())
    a, b = checkpoint_values(str(example)), checkpoint_values(str(command))
    assert a.keys() == b.keys() and len(a) > 20
    for name in a:  # same seeds, same order of construction: the same numbers
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert sorted(os.listdir(example / "samples")) == sorted(os.listdir(command / "samples"))


def test_dcgan_celeba_smoke_crops_and_resizes_a_folder(tmp_path):
    data = write_images(tmp_path / "faces" / "nested", 6, (120, 110), suffix=".jpg")
    out = tmp_path / "run"
    assert run_script("dcgan_celeba.py", "--smoke", "--data", data, "--out", out, "--num-samples", 4,
                      "--quiet", "--no-export") == 0
    assert json.loads((out / "run.json").read_text())["preset"] == "celeba"
    grid = png(out / "samples" / "step_0000002.png")
    assert grid.shape == (2 * 66 + 2, 2 * 66 + 2, 3)  # 4 tiles of 64x64 RGB
    assert png(out / "samples.png").shape == grid.shape
    assert not (out / "dcgan_celeba.pb").exists()


def test_biggan_cifar_smoke_on_class_folders(tmp_path):
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    for index, name in enumerate(classes):
        write_images(tmp_path / "cifar" / "train" / name, 2, (32, 32), seed=index)
    out = tmp_path / "run"
    assert run_script("biggan_cifar.py", "--smoke", "--data", tmp_path / "cifar", "--out", out,
                      "--num-samples", 20, "--quiet") == 0
    run = json.loads((out / "run.json").read_text())
    assert run["family"] == "biggan" and run["preset"] == "cifar10"
    assert run["overrides"]["base_channels"] == 8
    # class-conditional: one row per class, 8 per row -> 20 // 8 = 2 rows
    assert png(out / "samples" / "step_0000002.png").shape == (2 * 34 + 2, 8 * 34 + 2, 3)
    # the final class grid: all 10 classes, 8 truncated samples each
    assert png(out / "class_grid.png").shape == (10 * 34 + 2, 8 * 34 + 2, 3)
    # the documented offline-inference graph: z (1x120 at full size; 1x20 at smoke size), y (1x1)
    inputs = export.graph_inputs(export.load_frozen_graph(out / "biggan_cifar10.pb"))
    assert inputs == {"z": ((1, 20), np.dtype("float32")), "y": ((1, 1), np.dtype("int32"))}


def test_biggan_cat_smoke_on_photos_of_mixed_sizes(tmp_path):
    data = tmp_path / "cats"
    write_images(data, 3, (70, 90), suffix=".jpg")
    write_images(data, 3, (100, 64), seed=1, suffix=".jpg")
    out = tmp_path / "run"
    assert run_script("biggan_cat.py", "--smoke", "--data", data, "--out", out, "--num-samples", 4,
                      "--quiet", "--no-export") == 0
    assert json.loads((out / "run.json").read_text())["preset"] == "cats64"
    assert png(out / "samples" / "step_0000002.png").shape == (2 * 66 + 2, 2 * 66 + 2, 3)
    assert png(out / "samples.png").shape == (2 * 66 + 2, 2 * 66 + 2, 3)


@pytest.mark.parametrize("pairs", ["ab", "edges"])
def test_pix2pix_smoke_on_pairs_and_on_edges_from_photos(tmp_path, pairs):
    data = _write_pairs(tmp_path / "data", pairs)
    test_data = _write_pairs(tmp_path / "test", pairs)
    out = tmp_path / "run"
    assert run_script("pix2pix_facades.py", "--smoke", "--pairs", pairs, "--data", data, "--out", out,
                      "--num-samples", 2, "--quiet", "--test-data", test_data) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["family"] == "pix2pix" and run["pairs"] == pairs and run["data"] == str(data)
    # rows of (source, translation, target) at the smoke size 64x64
    assert png(out / "samples" / "step_0000002.png").shape == (2 * 66 + 2, 3 * 66 + 2, 3)
    # the test phase: the 3 test pairs, one row each
    assert png(out / "test.png").shape == (3 * 66 + 2, 3 * 66 + 2, 3)


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="data"):
        run_script("biggan_cat.py", "--smoke", "--out", tmp_path)
