"""DCGAN on MNIST (28x28 grey), the documented run.

Defaults are the documented configuration (the ``mnist`` preset): batch 64, Adam 2e-4 with
β1 0.5, z of size 100 drawn from U[-1, 1], non-saturating loss, 25 epochs, a sample grid and
a checkpoint every 200 steps, one checkpoint kept. Interrupt it and run the same command
again: it resumes from the last checkpoint.

    # full run on the four MNIST IDX files (gzip or raw) in a folder
    python examples/dcgan_mnist.py --data ../shared/data/mnist
    # offline, on the MNIST test split shipped with ascendgan
    python examples/dcgan_mnist.py
    # a tiny end-to-end check
    python examples/dcgan_mnist.py --smoke --out /tmp/dcgan_smoke

Outputs go to ``runs/dcgan_mnist``: ``samples/step_*.png``, ``checkpoints/``, ``logs/``
(``tensorboard --logdir runs/dcgan_mnist/logs``). Same as ``ascendgan train dcgan``.
"""

import sys

from ascendgan.cli import run_example

if __name__ == "__main__":
    sys.exit(run_example("dcgan", "mnist", __doc__, sys.argv[1:]))
