"""Class-to-class interpolation (ascendgan.sampling.interpolate_classes) and BigGAN's
class-embedding entry point (BigGANGenerator.class_embedding / call_with_class_embedding)."""

import numpy as np
import pytest
import tensorflow as tf

import ascendgan
from ascendgan import sampling


def embedding_matrix(generator):
    """The shared embedding's weight matrix (num_classes, dim), read from the weights."""
    return np.asarray(generator.shared_embedding.embeddings)


def images(generator, z, embedding):
    return np.asarray(generator.call_with_class_embedding(tf.constant(z), tf.constant(embedding),
                                                          training=False))


@pytest.mark.parametrize("which", ["generator", "ema_generator"])
def test_the_embedding_entry_point_equals_the_label_call(biggan, which):
    generator = getattr(biggan, which)
    labels = np.array([0, 3, 9, 3])
    z = np.random.default_rng(0).standard_normal((4, 120)).astype("float32")
    np.testing.assert_array_equal(np.asarray(generator.class_embedding(labels)),
                                  embedding_matrix(generator)[labels])
    np.testing.assert_allclose(images(generator, z, embedding_matrix(generator)[labels]),
                               np.asarray(generator([z, labels], training=False)), atol=1e-6)


def test_the_embedding_entry_point_checks_its_inputs(biggan):
    generator = biggan.generator
    z = np.zeros((2, 120), np.float32)
    with pytest.raises(ValueError, match=r"`class_embedding` must have shape \(batch, 8\)"):
        generator.call_with_class_embedding(z, np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="one row per latent"):
        generator.call_with_class_embedding(z, np.zeros((3, 8), np.float32))
    with pytest.raises(ValueError, match=r"`labels` must be class ids in \[0, 10\)"):
        generator.class_embedding([10])
    unconditional = ascendgan.models.biggan("cats64", base_channels=4, image_size=32, seed=0)
    with pytest.raises(ValueError, match="num_classes=None"):
        unconditional.generator.class_embedding([0])


def test_frames_move_the_embedding_from_one_class_to_the_other(biggan):
    steps, n = 5, 3
    frames = sampling.interpolate_classes(biggan, 2, 7, steps=steps, n=n, seed=4, truncation=2.0)
    assert frames.shape == (steps, n, 32, 32, 3) and frames.dtype == np.float32
    # the ends are the GAN's own samples of each class for the same seed
    np.testing.assert_allclose(frames[0], biggan.generate(n, labels=[2] * n, seed=4, truncation=2.0),
                               atol=1e-6)
    np.testing.assert_allclose(frames[-1], biggan.generate(n, labels=[7] * n, seed=4, truncation=2.0),
                               atol=1e-6)
    # frame i: the documented morph, one-hot classes mixed then multiplied by the embedding
    # matrix, with shared latents
    generator = biggan.ema_generator
    table = embedding_matrix(generator)
    z = sampling.gan_latents(biggan, n, 4, truncation=2.0)
    assert np.abs(z).max() <= 2.0
    one_hot = np.eye(10, dtype=np.float32)
    for index, t in enumerate(np.linspace(0.0, 1.0, steps)):
        mixed = ((1 - t) * one_hot[2] + t * one_hot[7]) @ table
        expected = images(generator, z, np.tile(mixed, (n, 1)).astype(np.float32))
        np.testing.assert_allclose(frames[index], expected, atol=1e-5)
    assert np.abs(frames[2] - frames[0]).max() > 1e-4 and np.abs(frames[2] - frames[-1]).max() > 1e-4


def test_raw_generator_batches_and_seeds(biggan):
    frames = sampling.interpolate_classes(biggan, 1, 1, steps=2, n=5, seed=0, use_ema=False, batch_size=2)
    raw = biggan.generate(5, labels=[1] * 5, seed=0, use_ema=False)
    np.testing.assert_allclose(frames[0], raw, atol=1e-6)
    np.testing.assert_allclose(frames[1], raw, atol=1e-6)
    other = sampling.interpolate_classes(biggan, 1, 1, steps=2, n=5, seed=1, use_ema=False)
    assert np.abs(other - frames).max() > 1e-3


def test_generators_without_a_class_embedding_are_a_clear_error(biggan, dcgan):
    conditional_dcgan = ascendgan.models.dcgan("mnist", base_filters=4, num_classes=10, seed=0)
    with pytest.raises(ValueError, match=r"\(DCGANGenerator\) takes class ids only.*call_with_class_embedding"):
        sampling.interpolate_classes(conditional_dcgan, 1, 2)
    with pytest.raises(ValueError, match="must be class-conditional"):
        sampling.interpolate_classes(dcgan, 1, 2)
    with pytest.raises(ValueError, match="`class_a`"):
        sampling.interpolate_classes(biggan, 10, 2)
    with pytest.raises(ValueError, match="`steps`"):
        sampling.interpolate_classes(biggan, 1, 2, steps=1)
