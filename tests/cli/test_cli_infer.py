"""`ascendgan infer` (ascendgan.cli.infer) and `python -m ascendgan.inference`."""

import argparse
import subprocess
import sys

import numpy as np
import pytest

import ascendgan
from ascendgan import export, inference
from ascendgan.cli import infer


@pytest.fixture(scope="module")
def conditional_dcgan():
    return ascendgan.models.dcgan("mnist", base_filters=4, num_classes=10, seed=0)


def parse(argv):
    """``ascendgan infer <argv>`` parsed by a parser holding only the ``infer`` sub-command."""
    parser = argparse.ArgumentParser(prog="ascendgan")
    infer.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["infer", *argv])


def infer_main(argv):
    args = parse(argv)
    return args.func(args)


def test_add_parser_registers_infer_with_its_three_commands():
    args = parse(["write-inputs", "--output", "in", "--seeds", "4", "--latent-dim", "8"])
    assert args.command == "infer" and args.infer_command == "write-inputs"
    assert args.func is infer.run
    assert (args.labels, args.distribution, args.truncation, args.batch_size, args.label_rank) == (
        None, "normal", None, 1, 1)
    assert parse(["run", "--model", "m.pb", "--input", "i", "--output", "o"]).png is False
    assert parse(["compare", "a", "b"]).tolerance is None
    with pytest.raises(SystemExit):
        parse(["write-inputs", "--output", "in", "--seeds", "1", "--latent-dim", "8", "--label-rank", "3"])


def test_command_line_round_trip(conditional_dcgan, tmp_path, capsys):
    model = export.export_frozen_graph(conditional_dcgan, str(tmp_path / "g.pb"), batch_size=1)
    assert infer_main(["write-inputs", "--output", str(tmp_path / "in"), "--seeds", "1", "2",
                       "--latent-dim", "100", "--labels", "3", "8",
                       "--distribution", "uniform_signed"]) == 0
    assert infer_main(["run", "--model", model, "--input", str(tmp_path / "in"),
                       "--output", str(tmp_path / "out"), "--png"]) == 0
    assert (tmp_path / "out" / "seed_000002.png").exists()
    inference.write_online_outputs(conditional_dcgan, tmp_path / "online", [1, 2], labels=[3, 8])
    assert infer_main(["compare", str(tmp_path / "online"), str(tmp_path / "out"),
                       "--tolerance", "1e-5"]) == 0
    assert "2 compared" in capsys.readouterr().out
    inference.write_bin(np.ones((1, 28, 28, 1)), tmp_path / "out" / "seed_000001_output_0.bin",
                        "float32")
    assert infer_main(["compare", str(tmp_path / "online"), str(tmp_path / "out"),
                       "--tolerance", "1e-5"]) == 1


def test_runs_as_a_module(tmp_path):
    inference.write_bin([0.0, 1.0], tmp_path / "a.bin", "float32")
    inference.write_bin([0.0, 1.25], tmp_path / "b.bin", "float32")
    result = subprocess.run(
        [sys.executable, "-m", "ascendgan.inference", "compare", str(tmp_path / "a.bin"),
         str(tmp_path / "b.bin"), "--tolerance", "0.1"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "max abs diff 0.25" in result.stdout
