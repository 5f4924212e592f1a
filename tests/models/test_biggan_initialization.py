"""BigGAN initialises every layer orthogonally (Brock et al. 2019, section 4 / appendix:
"Orthogonal Initialization" for G and D), and a fresh generator's tiny inference-mode
outputs come from its batch norms' initial moving statistics, not from the weights."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.models import biggan


def _orthonormality_error(array):
    """max |Q^T Q - I| of the kernel flattened to (fan_in, units), on its short side."""
    matrix = np.asarray(array, np.float64).reshape(-1, array.shape[-1])
    gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
    return np.abs(gram - np.eye(gram.shape[0])).max()


@pytest.fixture(scope="module")
def gan():
    compat.set_random_seed(0)
    return biggan("cifar10", seed=3, base_channels=8, shared_embedding_dim=8, latent_dim=20)


@pytest.mark.parametrize("network", ["generator", "discriminator"])
def test_every_kernel_and_embedding_is_orthogonal(gan, network):
    model = getattr(gan, network)
    checked = []
    for variable in model.trainable_variables:
        name = variable.name.split("/")[-1].split(":")[0]
        if name not in ("kernel", "embeddings") or len(variable.shape) < 2:
            continue
        checked.append(variable.path if hasattr(variable, "path") else variable.name)
        assert _orthonormality_error(variable.numpy()) < 1e-5, checked[-1]
    # G: shared embedding, linear, 3 blocks x (2 convs, shortcut, 4 batch-norm projections),
    # attention's 4 convolutions, output conv; D: 4 blocks x 2 convs, the 2 blocks with a
    # learned shortcut, attention's 4, linear, class projection
    expected = {"generator": 28, "discriminator": 16}[network]
    assert len(checked) == expected, checked


def test_glorot_kernels_would_fail_the_check():
    """The check above can fail: a Glorot-uniform kernel of the same shape is far from orthonormal."""
    kernel = np.asarray(compat.initializers.GlorotUniform(seed=0)((30, 6144)))
    assert _orthonormality_error(kernel) > 0.5


def test_fresh_generator_range_comes_from_moving_statistics(gan):
    generator = gan.generator
    z = tf.random.stateless_normal((32, 20), seed=(1, 2))
    labels = tf.constant(np.arange(32) % 10, tf.int32)
    fresh = np.asarray(generator([z, labels], training=False), np.float32)
    trained_mode = np.asarray(generator([z, labels], training=True), np.float32)
    # moving means 0 and variances 1 leave every spectrally normalised layer shrinking the signal
    # the same weights with batch statistics span the tanh range
    assert trained_mode.std() > 0.2
    assert fresh.std() < 0.05 * trained_mode.std()
    gan.compile()
    gan.recompute_generator_statistics(num_batches=2, batch_size=32, use_ema=False)
    standing = np.asarray(generator([z, labels], training=False), np.float32)
    assert standing.std() > 0.2
