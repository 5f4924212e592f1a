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
