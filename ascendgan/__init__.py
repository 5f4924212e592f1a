"""ascendgan: GAN building blocks for TensorFlow and Keras, on CPU, GPU and Ascend NPUs.

Sub-packages are imported on first use, so ``import ascendgan`` is cheap and never
imports optional dependencies (the Ascend adapter, tf2onnx, Inception weights).
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "compat",
    "layers",
    "losses",
    "regularizers",
    "optimizers",
    "schedules",
    "latents",
    "validation",
    "files",
    "testing",
    "models",
    "training",
    "data",
    "augment",
    "metrics",
    "strategy",
    "export",
    "sampling",
    "inference",
    "recipes",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"ascendgan.{name}")
    raise AttributeError(f"module 'ascendgan' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))


__all__ = ["__version__", *_SUBMODULES]
