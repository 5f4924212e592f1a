"""Tiny GANs shared by the sampling tests."""

import pytest

import ascendgan


@pytest.fixture(scope="module")
def biggan():
    """A tiny class-conditional BigGAN (32x32, 10 classes, averaged generator)."""
    return ascendgan.models.biggan("cifar10", base_channels=4, shared_embedding_dim=8, seed=0)


@pytest.fixture(scope="module")
def dcgan():
    """A tiny unconditional DCGAN (28x28x1)."""
    return ascendgan.models.dcgan("mnist", base_filters=4, seed=0)
