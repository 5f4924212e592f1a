"""`ascendgan sample` (ascendgan.cli.sample): the preset's truncation by default, stamped;
`--truncation none`; the class-to-class GIF."""

import argparse
import json

import numpy as np
import pytest
from _run_helpers import fake_run
from PIL import Image

from ascendgan import cli, sampling
from ascendgan.cli import sample as sample_cli
from ascendgan.models import get_family

OVERRIDES = {"base_channels": 4, "shared_embedding_dim": 8, "latent_dim": 20}


@pytest.fixture(scope="module")
def biggan_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("biggan_run")
    return directory, fake_run(directory, "biggan", "cifar10", OVERRIDES)  # the checkpointed GAN


def png(path):
    return np.asarray(Image.open(path))


def gif_duration(path):
    """Total display time of a GIF (Pillow merges identical consecutive frames, adding up
    their durations, so the total is what the frames were written with)."""
    image = Image.open(path)
    total = 0
    for index in range(image.n_frames):
        image.seek(index)
        total += image.info["duration"]
    return total


def test_biggan_samples_default_to_the_preset_truncation_and_stamp_it(biggan_run, tmp_path, capsys):
    directory, gan = biggan_run
    assert get_family("biggan").preset("cifar10").schedule.truncation == 2.0  # the documented 2.0
    output = tmp_path / "grid.png"
    assert cli.main(["sample", str(directory), "--output", str(output), "--columns", "2"]) == 0
    assert "(truncation 2.0 (the preset's)) from" in capsys.readouterr().out
    truncated = sampling.class_grid(gan, per_class=2, truncation=2.0, seed=0)
    np.testing.assert_array_equal(png(output), truncated)
    text = Image.open(output).text
    assert text["truncation"] == "2.0" and text["seed"] == "0" and text["generator"] == "ema"
    assert text["checkpoint"].endswith("ckpt-1")


def test_truncation_none_opts_out(biggan_run, tmp_path, capsys):
    directory, gan = biggan_run
    output = tmp_path / "grid.png"
    assert cli.main(["sample", str(directory), "--output", str(output), "--columns", "2",
                     "--truncation", "none"]) == 0
    assert "(no truncation (--truncation none))" in capsys.readouterr().out
    np.testing.assert_array_equal(png(output), sampling.class_grid(gan, per_class=2, truncation=None))
    assert Image.open(output).text["truncation"] == "none"
    truncated = sampling.class_grid(gan, per_class=2, truncation=2.0, seed=0)
    assert np.abs(png(output).astype(int) - truncated).max() > 0


def test_an_explicit_truncation(biggan_run, tmp_path):
    directory, gan = biggan_run
    output = tmp_path / "grid.png"
    assert cli.main(["sample", str(directory), "--output", str(output), "--n", "4", "--label", "5",
                     "--truncation", "0.5"]) == 0
    np.testing.assert_array_equal(
        png(output), sampling.sample_grid(gan, n=4, labels=[5] * 4, truncation=0.5, seed=0))
    assert Image.open(output).text["truncation"] == "0.5"


def test_truncation_argument():
    assert sample_cli.truncation_argument("NONE") == "none"
    assert sample_cli.truncation_argument("1.25") == 1.25
    for bad in ("0", "-1", "big"):
        with pytest.raises(argparse.ArgumentTypeError, match="threshold > 0 or 'none'"):
            sample_cli.truncation_argument(bad)
    dcgan = get_family("dcgan").preset("mnist")
    assert sample_cli.resolve_truncation(None, dcgan) == (None, "the preset has none")
    assert sample_cli.resolve_truncation(1.5, dcgan) == (1.5, "--truncation")


def test_bad_truncation_is_a_usage_error(biggan_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sample", str(biggan_run[0]), "--truncation", "-2"])
    assert exit_info.value.code == 2 and "threshold > 0 or 'none'" in capsys.readouterr().err


def test_interpolate_classes_writes_the_class_to_class_gif(biggan_run, tmp_path, capsys):
    directory, gan = biggan_run
    assert cli.main(["sample", str(directory), "--output", str(tmp_path / "horse2car.png"),
                     "--interpolate-classes", "7", "1", "--n", "1", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "class 7 -> 1, 11 frames of 1; truncation 2.0 (the preset's)" in out
    frames = sampling.interpolate_classes(gan, 7, 1, steps=11, n=1, seed=3, truncation=2.0)
    # the PNG: one row per latent, one column per frame
    strip = sampling.image_grid(np.swapaxes(frames, 0, 1).reshape((-1, 32, 32, 3)), columns=11)
    np.testing.assert_array_equal(png(tmp_path / "horse2car.png"), strip)
    assert Image.open(tmp_path / "horse2car.png").text["truncation"] == "2.0"
    gif = Image.open(tmp_path / "horse2car.gif")
    assert gif_duration(tmp_path / "horse2car.gif") == 11 * 500  # 11 frames, 2 / s, as documented
    assert b"truncation=2.0" in gif.info["comment"]
    assert gif.size == sampling.image_grid(frames[0]).shape[1::-1]


def test_interpolate_classes_frames_and_errors(biggan_run, tmp_path, capsys):
    directory, _ = biggan_run
    assert cli.main(["sample", str(directory), "--output", str(tmp_path / "m"), "--n", "1",
                     "--interpolate-classes", "0", "9", "--interpolate", "3", "--duration-ms", "80",
                     "--truncation", "none"]) == 0
    gif = Image.open(tmp_path / "m.gif")
    assert gif_duration(tmp_path / "m.gif") == 3 * 80 and b"truncation=none" in gif.info["comment"]
    assert "no truncation (--truncation none)" in capsys.readouterr().out


def test_a_class_out_of_range_is_one_line(biggan_run, capsys):
    assert cli.main(["sample", str(biggan_run[0]), "--interpolate-classes", "0", "10"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ascendgan: error: `class_b` must be class ids in [0, 10)")
    assert len(err.strip().splitlines()) == 1


def test_a_conditional_dcgan_cannot_interpolate_classes(tmp_path, capsys):
    fake_run(tmp_path / "dcgan", "dcgan", "mnist", {"base_filters": 4, "num_classes": 10})
    assert cli.main(["sample", str(tmp_path / "dcgan"), "--output", str(tmp_path / "d.png"),
                     "--interpolate-classes", "1", "2"]) == 1
    err = capsys.readouterr().err
    assert "(DCGANGenerator) takes class ids only" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flag, threshold, reason", [
    ([], 2.0, "the preset's"), (["--truncation", "none"], None, "--truncation none")])
def test_biggan_evaluation_defaults_to_the_preset_truncation_and_stamps_it(
        biggan_run, tmp_path, capsys, flag, threshold, reason):
    directory, _ = biggan_run
    output = tmp_path / "fid.json"
    assert cli.main(["evaluate", str(directory), "--extractor", "cifar10", "--metrics", "fid",
                     "--num-samples", "20", "--batch-size", "10", "--output", str(output), *flag]) == 0
    protocol = json.loads(output.read_text())["protocol"]
    assert protocol["truncation"] == threshold and reason in protocol["truncation_choice"]
    assert ("truncation 2.0 (the preset's)" if threshold else "no truncation") in capsys.readouterr().out
