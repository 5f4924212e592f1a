"""``python -m ascendgan.inference ...``: the ``ascendgan infer ...`` command.

An entry point, not library code: the library never imports :mod:`ascendgan.cli`.
"""

import sys

from ascendgan.cli import main

if __name__ == "__main__":
    sys.exit(main(["infer", *sys.argv[1:]]))
