"""The `ascendgan` command."""

import re

import pytest

from ascendgan import cli

_STEP = re.compile(r"^step\s+(\d+): σ\(W/σ̂\) = ([0-9.]+)$")
_RAW = re.compile(r"SNConv2D kernel σ = ([0-9.]+)$")


def test_demo_prints_sigma_converging_to_one(capsys):
    assert cli.main(["demo", "--steps", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    raw = [float(m.group(1)) for m in map(_RAW.search, lines) if m]
    steps = [(int(m.group(1)), float(m.group(2))) for m in map(_STEP.match, lines) if m]
    assert len(raw) == 1, lines
    assert [n for n, _ in steps] == [1, 2, 3], lines
    sigmas = [s for _, s in steps]
    # Power iteration underestimates σ, so σ(W/σ̂) >= 1 and falls towards 1 as u converges.
    assert all(s > 1.0 - 1e-4 for s in sigmas), sigmas
    assert abs(sigmas[-1] - 1.0) < abs(sigmas[0] - 1.0), sigmas
    assert all(a >= b - 1e-5 for a, b in zip(sigmas, sigmas[1:])), sigmas
    assert abs(sigmas[-1] - 1.0) < 0.1, sigmas
    assert abs(raw[0] - 1.0) > abs(sigmas[-1] - 1.0)  # the raw kernel is not normalized


def test_demo_more_steps_get_closer(capsys):
    cli.main(["demo", "--steps", "8", "--seed", "1"])
    sigmas = [float(m.group(2)) for m in map(_STEP.match, capsys.readouterr().out.splitlines()) if m]
    assert len(sigmas) == 8 and abs(sigmas[-1] - 1.0) < 0.05, sigmas
    assert all(a > b for a, b in zip(sigmas, sigmas[1:])), sigmas


def test_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    assert "demo" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--help"])
    assert exit_info.value.code == 0
    assert "--steps" in capsys.readouterr().out


def test_unknown_command_exits_nonzero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bogus"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """A 2-step DCGAN run on the shipped MNIST, trained in mixed_bfloat16."""
    from ascendgan import compat

    out = tmp_path_factory.mktemp("run")
    try:
        assert cli.main(["train", "dcgan", "--smoke", "--out", str(out), "--quiet", "--num-samples", "16",
                         "--precision", "mixed_bfloat16", "--set", "num_classes=10"]) == 0
    finally:
        compat.set_precision("float32")
    return out


def test_sample_reproduces_the_training_grid_exactly(smoke_run, tmp_path):
    import numpy as np
    from PIL import Image

    from ascendgan import sampling
    from ascendgan.recipes import load_run
    from ascendgan.training.callbacks import SampleGrid

    output = tmp_path / "grid.png"
    assert cli.main(["sample", str(smoke_run), "--output", str(output)]) == 0
    gan, _ = load_run(smoke_run)
    assert gan.generator.compute_dtype == "bfloat16"  # rebuilt in the run's precision
    grid = SampleGrid(str(tmp_path), num_images=16, seed=0)
    grid.set_model(gan)
    images, columns = grid.pictures()
    trained = np.asarray(Image.open(smoke_run / "samples" / "step_0000002.png"))
    np.testing.assert_array_equal(sampling.image_grid(images, columns=columns)[..., 0], trained)
    # the class grid: 10 rows (one per class) of 8
    assert np.asarray(Image.open(output)).shape[:2] == (10 * 30 + 2, 8 * 30 + 2)


def test_sample_interpolation_writes_png_and_gif(smoke_run, tmp_path):
    from PIL import Image

    assert cli.main(["sample", str(smoke_run), "--output", str(tmp_path / "walk.png"), "--interpolate", "5",
                     "--label", "3"]) == 0
    assert Image.open(tmp_path / "walk.png").size == (5 * 30 + 2, 32)
    assert Image.open(tmp_path / "walk.gif").n_frames == 5


def test_export_frozen_graph_matches_the_run(smoke_run, tmp_path, capsys):
    import numpy as np

    from ascendgan import export
    from ascendgan.recipes import load_run

    path = tmp_path / "g.pb"
    assert cli.main(["export", str(smoke_run), "--output", str(path), "--batch-size", "2"]) == 0
    printed = capsys.readouterr().out
    assert "atc --model=" in printed and '--input_shape="z:2,100;y:2,1"' in printed
    assert '--out_nodes="output:0"' in printed and "--soc_version=Ascend310" in printed
    gan, _ = load_run(smoke_run)
    z = np.random.default_rng(0).uniform(-1, 1, (2, 100)).astype("float32")
    y = np.array([1, 7], "int32")
    expected = np.asarray(gan.ema_generator([z, y], training=False), "float32") if gan.ema_generator \
        else np.asarray(gan.generator([z, y], training=False), "float32")
    graph = export.load_frozen_graph(str(path))
    import tensorflow as tf

    with tf.Graph().as_default() as g:
        tf.graph_util.import_graph_def(graph, name="")
        with tf.compat.v1.Session(graph=g) as session:
            got = session.run("output:0", {"z:0": z, "y:0": y[:, None]})  # y: (batch, 1)
    np.testing.assert_allclose(got, expected, atol=1e-2)  # bfloat16 compute


def test_evaluate_prints_metrics_with_their_protocol(smoke_run, tmp_path, capsys):
    import json

    output = tmp_path / "metrics.json"
    assert cli.main(["evaluate", str(smoke_run), "--weights", "none", "--image-size", "75",
                     "--metrics", "kid,is", "--num-samples", "20", "--reference-samples", "20",
                     "--batch-size", "10", "--output", str(output)]) == 0
    result = json.loads(output.read_text())
    assert {"kid", "is", "protocol"} <= set(result)
    assert result["protocol"]["num_samples"] == 20 and "random" in result["protocol"]["weights"]
    assert "kid:" in capsys.readouterr().out


def test_sample_without_a_run_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["sample", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ascendgan: error: `run_dir` must be a run directory") and "run.json" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    with pytest.raises(FileNotFoundError, match="run.json"):  # --debug: the exception itself
        cli.main(["--debug", "sample", str(tmp_path)])


def test_a_bad_setting_is_one_line_exit_1(tmp_path, capsys):
    code = cli.main(["train", "dcgan", "--smoke", "--out", str(tmp_path / "r"), "--set", "width=3"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "ascendgan: error: Unknown DCGAN override key(s) ['width']" in err
    assert not (tmp_path / "r").exists()  # nothing was written


def test_evaluate_and_infer_score_share_one_definition_of_the_reference_options():
    from ascendgan.cli import build_parser

    parser = build_parser()
    subcommands = parser._subparsers._group_actions[0].choices

    def options(command):
        return {action.option_strings[0]: (action.default, action.help, action.choices)
                for action in command._actions if action.option_strings}

    evaluate = options(subcommands["evaluate"])
    score = options(subcommands["infer"]._subparsers._group_actions[0].choices["score"])
    shared = ["--data", "--metrics", "--reference-samples", "--extractor", "--reference-split",
              "--unsafe-extractor", "--weights", "--features-layer", "--image-size",
              "--batch-size", "--cache-dir", "--output"]
    for name in shared:
        assert evaluate[name] == score[name], name
    assert evaluate["--num-samples"][0] == 10_000 and score["--num-samples"][0] is None
