"""Tiny generators shared by the export tests (built once per test module)."""

import pytest
from _export_helpers import perturb_ema

import ascendgan
from ascendgan import export


@pytest.fixture(scope="module")
def biggan():
    """A tiny class-conditional BigGAN whose averaged generator differs from the raw one."""
    gan = ascendgan.models.biggan("cifar10", base_channels=4, shared_embedding_dim=8, seed=0)
    return perturb_ema(gan)


@pytest.fixture(scope="module")
def conditional_dcgan():
    """A tiny class-conditional DCGAN with an averaged generator (cheaper to save than BigGAN)."""
    from ascendgan.training import GAN

    base = ascendgan.models.dcgan("mnist", base_filters=4, num_classes=10, seed=0)
    gan = GAN(base.generator, base.discriminator, latent_dim=100, num_classes=10,
              latent_distribution="uniform_signed", ema_decay=0.99, seed=0)
    gan.build_models()
    return perturb_ema(gan)


@pytest.fixture(scope="module")
def dcgan():
    return ascendgan.models.dcgan("mnist", base_filters=4, seed=0)


@pytest.fixture(scope="module")
def pix2pix():
    """A tiny Pix2Pix (32x32, 5 downsamplings) without dropout, so training mode is deterministic."""
    return ascendgan.models.pix2pix("facades_128", image_size=32, num_downsamplings=5, base_filters=4,
                                    discriminator_base_filters=4, dropout=0.0, seed=0)


@pytest.fixture(scope="module")
def biggan_pb(biggan, tmp_path_factory):
    """The BigGAN's frozen graph, batch 2, written once for the module."""
    return export.export_frozen_graph(biggan, str(tmp_path_factory.mktemp("pb") / "biggan.pb"),
                                      batch_size=2)
