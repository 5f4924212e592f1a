"""The PyTorch peers of benchmarks/peers have ascendgan's architectures (issue 15).

Each peer's generator and discriminator must have exactly the trainable parameter counts of
the ascendgan model it is timed against (Keras ``trainable_variables`` vs PyTorch parameters
with ``requires_grad``; spectral-norm ``u`` vectors and batch-norm statistics are
non-trainable on both sides), and produce outputs of the right shape and range.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ascendgan  # noqa: E402
from benchmarks.peers import torch_biggan, torch_dcgan, torch_pix2pix  # noqa: E402


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def _ascendgan_counts(family, preset, image_shape):
    gan = getattr(ascendgan.models, family)(preset)
    gan.build_models(image_shape)
    return _trainable(gan.generator), _trainable(gan.discriminator)


@pytest.fixture(scope="module")
def dcgan_peer():
    torch.manual_seed(0)
    return torch_dcgan.build(2)


@pytest.fixture(scope="module")
def pix2pix_peer():
    return torch_pix2pix.build(1)


@pytest.fixture(scope="module")
def biggan_peer():
    return torch_biggan.build(2)


def test_dcgan_parameter_counts_equal_ascendgan(dcgan_peer):
    generator, discriminator, _ = dcgan_peer
    expected = _ascendgan_counts("dcgan", "celeba", (64, 64, 3))
    assert expected == (3_576_704, 2_765_568)
    assert (torch_dcgan.count_parameters(generator), torch_dcgan.count_parameters(discriminator)) == expected


def test_pix2pix_parameter_counts_equal_ascendgan(pix2pix_peer):
    generator, discriminator, _ = pix2pix_peer
    expected = _ascendgan_counts("pix2pix", "facades", (256, 256, 3))
    assert expected == (54_413_955, 2_768_705)
    assert (torch_pix2pix.count_parameters(generator),
            torch_pix2pix.count_parameters(discriminator)) == expected


def test_biggan_parameter_counts_equal_ascendgan(biggan_peer):
    generator, discriminator, _ = biggan_peer
    expected = _ascendgan_counts("biggan", "cifar10", (32, 32, 3))
    assert expected == (9_523_716, 9_641_090)
    assert (torch_biggan.count_parameters(generator), torch_biggan.count_parameters(discriminator)) == expected


def test_biggan_spectral_norm_state_is_not_trainable(biggan_peer):
    generator, discriminator, _ = biggan_peer
    for network in (generator, discriminator):
        buffers = dict(network.named_buffers())
        assert any(name.endswith(".u") for name in buffers)
        assert not any(name.endswith(".u") for name, _ in network.named_parameters())


def test_dcgan_forward_shapes_and_range(dcgan_peer):
    generator, discriminator, _ = dcgan_peer
    with torch.no_grad():
        images = generator(torch.rand(2, 100) * 2 - 1)
        logits = discriminator(images)
    assert images.shape == (2, 3, 64, 64)
    assert float(images.abs().max()) <= 1.0
    assert logits.shape == (2, 1)
    assert bool(torch.isfinite(logits).all())


def test_pix2pix_forward_shapes_and_range(pix2pix_peer):
    generator, discriminator, _ = pix2pix_peer
    source = torch.rand(1, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        images = generator(source)
        logits = discriminator(source, images)
    assert images.shape == (1, 3, 256, 256)
    assert float(images.abs().max()) <= 1.0
    assert logits.shape == (1, 1, 30, 30)  # 70x70 patches
    assert bool(torch.isfinite(logits).all())


def test_biggan_forward_shapes_and_range(biggan_peer):
    generator, discriminator, _ = biggan_peer
    labels = torch.tensor([0, 9])
    with torch.no_grad():
        images = generator(torch.randn(2, 120), labels)
        logits = discriminator(images, labels)
    assert images.shape == (2, 3, 32, 32)
    assert float(images.abs().max()) <= 1.0
    assert logits.shape == (2, 1)
    assert bool(torch.isfinite(logits).all())
