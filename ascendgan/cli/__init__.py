"""The ``ascendgan`` command: the application layer's front door.

Each sub-command lives in its own module (``train``, ``sample``, ``evaluate``, ``export``,
``infer``) with an ``add_parser(subparsers)`` function; they call the same
``ascendgan.recipes`` functions as the scripts in ``examples/``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

# TensorFlow's C++ start-up chatter (oneDNN / CUDA notices) is noise on a command line.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ascendgan import compat  # noqa: E402
from ascendgan.cli import evaluate, export, infer, sample, train  # noqa: E402
from ascendgan.layers import SNConv2D  # noqa: E402


def _demo(args) -> int:
    """Trains one spectrally-normalized layer for a few steps and prints σ converging to 1."""
    compat.set_random_seed(args.seed)
    layer = SNConv2D(16, 3, padding="same")
    images = tf.random.normal((4, 32, 32, 3))
    layer(images, training=False)
    matrix = np.asarray(layer.kernel).reshape(-1, 16)
    raw_sigma = np.linalg.svd(matrix, compute_uv=False)[0]
    print(f"keras {'.'.join(map(str, compat.KERAS_VERSION))}: SNConv2D kernel σ = {raw_sigma:.4f}")
    for step in range(1, args.steps + 1):
        layer(images, training=True)
        normalized = matrix / float(layer.sigma_estimate())
        sigma = np.linalg.svd(normalized, compute_uv=False)[0]
        print(f"step {step:2d}: σ(W/σ̂) = {sigma:.5f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ascendgan", description="GAN building blocks for TensorFlow / Keras."
    )
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show the full traceback instead of one line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="show spectral normalization converging on a layer")
    demo.add_argument("--steps", type=int, default=8, help="training calls (default 8)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(func=_demo)
    for command in (train, sample, evaluate, export, infer):
        command_parser = command.add_parser(sub)
        # also after the command (`ascendgan sample RUN --debug`); only set when given
        command_parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                    help="on an error, show the full traceback")
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """The library's own warnings (a skipped checkpoint, a corrupt image) as one line."""
    if category.__module__.startswith("ascendgan"):
        text = " ".join(str(message).split())
        print(f"ascendgan: warning: {text}", file=file or sys.stderr)
    else:
        _show_warning(message, category, filename, lineno, file, line)


_show_warning = warnings.showwarning


def main(argv=None) -> int:
    """Runs the ``ascendgan`` command; returns its exit code.

    A usage mistake exits with code 2 (``argparse``); an error while running prints one
    line, ``ascendgan: error: <message>``, to standard error and returns 1 (``--debug``
    raises it instead, with its traceback).
    """
    args = build_parser().parse_args(argv)
    if not args.debug:  # TensorFlow's Python-side warnings (e.g. unused checkpoint values)
        tf.get_logger().setLevel("ERROR")
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return args.func(args)
    except Exception as error:  # noqa: BLE001 - every error becomes one line unless --debug
        if args.debug:
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"ascendgan: error: {message} (run with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
