"""The strategy options of the command line (ascendgan/cli/strategy_options.py)."""

import argparse

import pytest

from ascendgan.cli.strategy_options import add_strategy_arguments, strategy_from_arguments


def test_command_line_arguments():
    parser = add_strategy_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--device", "cpu", "--precision", "allow_mix_precision",
                              "--loss-scale", "1024"])
    strategy = strategy_from_arguments(args)
    assert (strategy.device, strategy.precision.policy, strategy.loss_scale) == (
        "cpu", "mixed_float16", 1024.0)
    assert strategy_from_arguments(parser.parse_args(["--loss-scale", "none"])).loss_scale is None
    with pytest.raises(ValueError, match="--loss-scale"):
        strategy_from_arguments(parser.parse_args(["--loss-scale", "lots"]))
