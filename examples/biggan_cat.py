"""BigGAN 64x64 on a folder of photos (the documented cats run).

Defaults are the documented configuration (the ``cats64`` preset): the 64x64 BigGAN network
(unconditional), hinge loss, 2 D steps, Adam 1e-4 / 4e-4 β (0, 0.9), 10 epochs, a sample
grid every 500 iterations. Photos of any size are center-cropped to a square and resized
to 64x64. The original read its images from object storage: for a remote folder
(``gs://``, ``s3://``, ``hdfs://``, ...) add ``--cache /local/dir`` to copy it first.

    python examples/biggan_cat.py --data ../shared/data/cats
    python examples/biggan_cat.py --data s3://bucket/cats --cache /tmp/cats
    python examples/biggan_cat.py --smoke --data some/photos --out /tmp/cats_smoke

Same as ``ascendgan train biggan --preset cats64``.
"""

import sys

from ascendgan.cli import run_example

if __name__ == "__main__":
    sys.exit(run_example("biggan", "cats64", __doc__, sys.argv[1:]))
