"""DCGAN on CelebA-style faces: center crop 108, resized to 64x64, the documented run.

Defaults are the documented configuration (the ``celeba`` preset): batch 64, Adam 2e-4 with
β1 0.5, z of size 100 from U[-1, 1], 25 epochs, a sample grid and a checkpoint every 200
steps, one kept. ``--data`` is any folder of JPEG/PNG images (flat or with sub-folders),
e.g. CelebA's ``img_align_celeba``. Runs resume from their last checkpoint.

    python examples/dcgan_celeba.py --data /data/celeba/img_align_celeba
    python examples/dcgan_celeba.py --data ../shared/data/cats --precision mixed_bfloat16
    python examples/dcgan_celeba.py --smoke --data some/images --out /tmp/celeba_smoke

Same as ``ascendgan train dcgan --preset celeba``.
"""

import sys

from ascendgan.cli import run_example

if __name__ == "__main__":
    sys.exit(run_example("dcgan", "celeba", __doc__, sys.argv[1:]))
