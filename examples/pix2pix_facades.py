"""Pix2Pix on the facades layout (side-by-side A|B images), the documented run.

Defaults are the documented configuration (the ``facades`` preset): U-Net generator
(256x256, 8 downsamplings, skip connections, dropout), 70x70 PatchGAN, GAN loss + 100·L1,
batch 1, Adam 2e-4 β1 0.5, 200 epochs, random jitter (resize 286, random crop 256, flip),
direction B->A (labels -> photo) as in the paper.

``--data`` is a folder of A|B images (e.g. ``facades/train``). With ``--pairs edges`` it is a
folder of photos instead, and each photo is paired with its edge map (edges -> photo, as
pix2pix's edges2cats demo) — a real paired task when no paired set is at hand.

    python examples/pix2pix_facades.py --data /data/facades/train
    python examples/pix2pix_facades.py --pairs edges --data ../shared/data/cats --precision mixed_bfloat16
    python examples/pix2pix_facades.py --smoke --pairs edges --data some/photos --out /tmp/p2p_smoke

Same as ``ascendgan train pix2pix --preset facades``.
"""

import sys

from ascendgan.cli import run_example

if __name__ == "__main__":
    sys.exit(run_example("pix2pix", "facades", __doc__, sys.argv[1:]))
