"""Tiny GANs shared by the offline-inference tests."""

import pytest

import ascendgan


@pytest.fixture(scope="module")
def biggan():
    return ascendgan.models.biggan("cifar10", base_channels=4, shared_embedding_dim=8, seed=0)


@pytest.fixture(scope="module")
def conditional_dcgan():
    return ascendgan.models.dcgan("mnist", base_filters=4, num_classes=10, seed=0)
