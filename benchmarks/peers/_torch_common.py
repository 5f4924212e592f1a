"""What the PyTorch peers share: the precisions, their autocast context, parameter counting
and the batch norm matching Keras's defaults."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

PRECISIONS = ("float32", "bfloat16")


def check_precision(precision):
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: precision={precision!r}")


def autocast(precision):
    """The context a forward pass runs in: bfloat16 autocast on CPU, or nothing."""
    if precision == "bfloat16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def count_parameters(module):
    """Trainable parameters: ``nn.Parameter``s with ``requires_grad``. Batch-norm running
    statistics and spectral-norm ``u`` vectors are buffers and are not counted (ascendgan
    keeps them as non-trainable variables, outside ``trainable_variables``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def batch_norm(channels):
    """``BatchNorm2d`` with PyTorch's momentum 0.1 and epsilon 1e-5."""
    return nn.BatchNorm2d(channels, momentum=0.1, eps=1e-5)
