"""BigGAN on CIFAR-10 32x32, the documented (seed) run.

Defaults are the documented configuration (the ``cifar10`` preset): batch 64, Adam with
G lr 1e-4 and D lr 4e-4, β (0, 0.9), 2 D steps per G step, hinge loss, spectral norm in G and
D, self-attention at 16x16, conditional BN with a shared class embedding (128) and a
hierarchical latent (z 120), projection discriminator, base channels 96, orthogonal
regularization 1e-4, generator EMA, 100k G steps, samples truncated at 2.0.

``--data`` is a CIFAR-10 folder in any official format (python pickles ``data_batch_*``,
binary ``data_batch_*.bin``, MATLAB ``data_batch_*.mat``) or an image folder with one
sub-folder per class. Runs resume from their last checkpoint.

    python examples/biggan_cifar.py --data /data/cifar-10-batches-mat
    python examples/biggan_cifar.py --data /tmp/cifar10/train --precision mixed_bfloat16
    python examples/biggan_cifar.py --smoke --data some/cifar --out /tmp/biggan_smoke

Same as ``ascendgan train biggan --preset cifar10``.
"""

import sys

from ascendgan.cli import run_example

if __name__ == "__main__":
    sys.exit(run_example("biggan", "cifar10", __doc__, sys.argv[1:]))
