"""`ascendgan export` (ascendgan.cli.export): the documented frozen graph and ATC line by default."""

import shlex

import numpy as np
import pytest
from _export_helpers import fake_run, keras_images, run_frozen

from ascendgan import cli, export

BIGGAN = {"base_channels": 4, "shared_embedding_dim": 8}  # latent 120, as documented


@pytest.fixture(scope="module")
def biggan_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("biggan_run")
    return directory, fake_run(directory, "biggan", "cifar10", BIGGAN)


def test_export_writes_the_documented_graph_and_prints_the_documented_line(biggan_run, tmp_path, capsys):
    directory, gan = biggan_run
    path = tmp_path / "final_model.pb"
    assert cli.main(["export", str(directory), "--output", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    graph_def = export.load_frozen_graph(path)
    assert export.graph_inputs(graph_def) == {"z": ((1, 120), np.dtype("float32")),
                                              "y": ((1, 1), np.dtype("int32"))}
    z = np.random.default_rng(2).standard_normal((1, 120)).astype("float32")
    y = np.array([6], np.int32)
    np.testing.assert_allclose(run_frozen(graph_def, {"z": z, "y": y[:, None]}),
                               keras_images(gan.ema_generator, [z, y]), atol=1e-5)
    (atc_line,) = [line for line in lines if line.startswith("Ascend offline model: ")]
    assert shlex.split(atc_line[len("Ascend offline model: "):]) == [
        "atc", f"--model={path}", "--framework=3", f"--output={str(path)[:-3]}",
        "--soc_version=Ascend310", "--input_shape=z:1,120;y:1,1", "--log=info", "--out_nodes=output:0"]
    (inputs_line,) = [line for line in lines if line.startswith("offline inputs: ")]
    assert f"--run {directory}" in inputs_line and "--label-rank 2" in inputs_line
    assert inputs_line.endswith("truncation 2.0 (the preset's)")


def test_export_options_soc_version_log_and_label_rank(biggan_run, tmp_path, capsys):
    directory, _ = biggan_run
    path = tmp_path / "g.pb"
    assert cli.main(["export", str(directory), "--output", str(path), "--batch-size", "2",
                     "--label-rank", "1", "--soc-version", "Ascend910B3", "--atc-log", "error"]) == 0
    out = capsys.readouterr().out
    assert "--soc_version=Ascend910B3 --input_shape=\"z:2,120;y:2\" --log=error" in out
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["export", str(directory), "--output", str(path), "--soc-version", "Ascend999"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'Ascend999'" in capsys.readouterr().err


def test_export_of_an_unconditional_dcgan_run(tmp_path, capsys):
    fake_run(tmp_path / "run", "dcgan", "mnist", {"base_filters": 4})
    assert cli.main(["export", str(tmp_path / "run"), "--output", str(tmp_path / "g.pb"),
                     "--batch-size", "3"]) == 0
    out = capsys.readouterr().out
    assert "--input_shape=\"z:3,100\" --log=info --out_nodes=\"output:0\"" in out
    assert "--label-rank" not in out and "no truncation (the preset has none)" in out
