"""The ``ascendgan`` command."""

from __future__ import annotations

import argparse
import sys


def _demo(args) -> int:
    """Trains one spectrally-normalized layer for a few steps and prints σ converging to 1."""
    import numpy as np
    import tensorflow as tf

    from ascendgan import compat
    from ascendgan.layers import SNConv2D

    compat.set_random_seed(args.seed)
    layer = SNConv2D(16, 3, padding="same")
    images = tf.random.normal((4, 32, 32, 3))
    layer(images, training=False)
    matrix = np.asarray(layer.kernel).reshape(-1, 16)
    raw_sigma = np.linalg.svd(matrix, compute_uv=False)[0]
    print(f"keras {'.'.join(map(str, compat.KERAS_VERSION))}: SNConv2D kernel σ = {raw_sigma:.4f}")
    for step in range(1, args.steps + 1):
        layer(images, training=True)
        normalized = matrix / float(layer._sn_sigma_estimate())
        sigma = np.linalg.svd(normalized, compute_uv=False)[0]
        print(f"step {step:2d}: σ(W/σ̂) = {sigma:.5f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ascendgan", description="GAN building blocks for TensorFlow / Keras."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="show spectral normalization converging on a layer")
    demo.add_argument("--steps", type=int, default=8, help="training calls (default 8)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
