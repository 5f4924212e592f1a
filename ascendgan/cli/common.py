"""Options shared by the commands that read a run directory (sample, evaluate, export)."""

from __future__ import annotations


def add_run_arguments(parser):
    """``run_dir``, ``--checkpoint`` and ``--raw``."""
    parser.add_argument("run_dir", help="a run directory written by `ascendgan train`")
    parser.add_argument("--checkpoint", default=None, help="a checkpoint path (default: the run's latest)")
    parser.add_argument("--raw", action="store_true", help="use the raw generator, not its moving average")
    return parser


__all__ = ["add_run_arguments"]
