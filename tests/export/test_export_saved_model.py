"""SavedModel export (ascendgan.export.saved_model): the serving_default signature matches Keras."""


import numpy as np
import pytest
import tensorflow as tf
from _export_helpers import keras_images, latents

from ascendgan import export


def check_saved_model(gan, path, latent_dim):
    loaded = tf.saved_model.load(export.export_saved_model(gan, path, batch_size=2))
    signature = loaded.signatures["serving_default"]
    specs = signature.structured_input_signature[1]
    assert {name: tuple(spec.shape) for name, spec in specs.items()} == {"z": (2, latent_dim),
                                                                         "y": (2,)}
    assert list(signature.structured_outputs) == ["output"]
    z, y = latents(seed=7, latent_dim=latent_dim)
    expected = keras_images(gan.ema_generator, [z, y])
    got = signature(z=tf.constant(z), y=tf.constant(y))["output"].numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(loaded.serve(tf.constant(z), tf.constant(y))["output"].numpy(),
                               expected, atol=1e-5)
    assert np.abs(got - keras_images(gan.generator, [z, y])).max() > 1e-3  # EMA weights


def test_saved_model_signature_matches_keras(conditional_dcgan, tmp_path):
    check_saved_model(conditional_dcgan, tmp_path / "saved", latent_dim=100)


@pytest.mark.slow
def test_saved_model_of_biggan_matches_keras(biggan, tmp_path):
    check_saved_model(biggan, tmp_path / "saved", latent_dim=120)


def test_saved_model_with_a_dynamic_batch(dcgan, tmp_path):
    loaded = tf.saved_model.load(export.export_saved_model(dcgan, tmp_path / "dyn", batch_size=None))
    signature = loaded.signatures["serving_default"]
    for batch in (1, 3):
        z = np.random.default_rng(batch).uniform(-1, 1, (batch, 100)).astype("float32")
        np.testing.assert_allclose(signature(z=tf.constant(z))["output"].numpy(),
                                   keras_images(dcgan.generator, z), atol=1e-5)


def test_saved_model_of_pix2pix_in_training_mode_is_stateless(pix2pix, tmp_path):
    loaded = tf.saved_model.load(
        export.export_saved_model(pix2pix, tmp_path / "p2p", batch_size=2, training=True))
    signature = loaded.signatures["serving_default"]
    source = np.random.default_rng(2).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    first = signature(source=tf.constant(source))["output"].numpy()
    second = signature(source=tf.constant(source))["output"].numpy()
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, keras_images(pix2pix.generator, source, training=True), atol=1e-5)
    assert not any(op.type == "AssignVariableOp"
                   for op in signature.graph.get_operations())
