"""Data sets shipped inside the package, so examples run offline on a fresh machine."""

from __future__ import annotations

import os

from ascendgan.validation import check_choice

__all__ = ["SHIPPED", "shipped_path"]

#: Names of the data sets inside the package, with what each folder holds.
SHIPPED = {
    "mnist": "MNIST test split (10,000 images and labels, gzip IDX files), CC BY-SA 3.0",
}

_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shipped")


def shipped_path(name: str = "mnist") -> str:
    """The local folder of a data set shipped inside the package.

    ascendgan ships the MNIST test split (``t10k-images-idx3-ubyte.gz``,
    ``t10k-labels-idx1-ubyte.gz``, with a README and LICENSE giving its attribution:
    MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, CC BY-SA 3.0).
    ``mnist(split="test")`` and ``mnist_arrays(split="test")`` read it when no ``path``
    is given.

    Args:
        name: the data set; one of ``SHIPPED`` (only ``"mnist"``).

    Returns:
        The absolute path of the folder, as a string.

    Example:

    >>> import os
    >>> from ascendgan.data import shipped_path
    >>> sorted(f for f in os.listdir(shipped_path("mnist")) if f.endswith(".gz"))
    ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']
    """
    check_choice("name", name, SHIPPED)
    folder = os.path.join(_ROOT, name)
    if not os.path.isdir(folder):  # pragma: no cover - a broken installation
        raise FileNotFoundError(
            f"The shipped {name!r} data set is missing from this installation (looked in "
            f"{folder!r}). Reinstall ascendgan; its package data includes "
            "ascendgan/data/shipped/."
        )
    return folder
