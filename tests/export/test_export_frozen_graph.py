"""Frozen graph export (ascendgan.export.frozen_graph): named static inputs, the Keras generator's images."""


import numpy as np
from _export_helpers import keras_images, latents, run_frozen

from ascendgan import export


def test_frozen_graph_has_named_static_inputs_and_matches_the_ema_generator(biggan, biggan_pb):
    graph_def = export.load_frozen_graph(biggan_pb)
    assert export.graph_inputs(graph_def) == {
        "z": ((2, 120), np.dtype("float32")), "y": ((2,), np.dtype("int32"))
    }
    ops = {node.op for node in graph_def.node}
    assert "output" in {node.name for node in graph_def.node}
    assert not ops & {"VarHandleOp", "ReadVariableOp", "AssignVariableOp", "Assert"}
    z, y = latents()
    images = run_frozen(graph_def, {"z": z, "y": y})
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.float32
    np.testing.assert_allclose(images, keras_images(biggan.ema_generator, [z, y]), atol=1e-5)
    # the averaged generator, not the raw one
    assert np.abs(images - keras_images(biggan.generator, [z, y])).max() > 1e-3


def test_frozen_graph_of_the_raw_generator_with_column_labels_and_asserts(biggan, tmp_path):
    z, y = latents(batch=3, seed=4)
    path = export.export_frozen_graph(biggan, str(tmp_path / "raw.pb"), batch_size=3, use_ema=False,
                                      label_rank=2, strip_asserts=False)
    graph_def = export.load_frozen_graph(path)
    assert export.graph_inputs(graph_def)["y"][0] == (3, 1)
    assert "Assert" in {node.op for node in graph_def.node}  # the class-id range checks
    images = run_frozen(graph_def, {"z": z, "y": y[:, None]})
    np.testing.assert_allclose(images, keras_images(biggan.generator, [z, y]), atol=1e-5)
    assert "--input_shape=\"z:3,120;y:3,1\"" in export.atc_command(path, output="om/gan",
                                                                    soc_version="Ascend310")


def test_frozen_graph_of_an_unconditional_generator(dcgan):
    graph_def = export.frozen_graph_def(dcgan, batch_size=4)
    assert export.graph_inputs(graph_def) == {"z": ((4, 100), np.dtype("float32"))}
    z = np.random.default_rng(3).uniform(-1, 1, (4, 100)).astype("float32")
    np.testing.assert_allclose(run_frozen(graph_def, {"z": z}), keras_images(dcgan.generator, z),
                               atol=1e-5)


def test_frozen_graph_of_a_bare_generator_model(dcgan):
    graph_def = export.frozen_graph_def(dcgan.generator, batch_size=1)
    z = np.full((1, 100), 0.3, np.float32)
    np.testing.assert_allclose(run_frozen(graph_def, {"z": z}), keras_images(dcgan.generator, z),
                               atol=1e-5)


def test_pix2pix_exports_the_source_image_input_in_both_batch_norm_modes(pix2pix):
    generator = pix2pix.generator
    state = [v.numpy().copy() for v in generator.non_trainable_variables]
    source = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    inference = export.frozen_graph_def(pix2pix, batch_size=2)
    training = export.frozen_graph_def(pix2pix, batch_size=2, training=True)
    assert export.graph_inputs(inference) == {"source": ((2, 32, 32, 3), np.dtype("float32"))}
    # exporting never touches the model's state (moving statistics)
    for before, variable in zip(state, generator.non_trainable_variables):
        np.testing.assert_array_equal(before, variable.numpy())
    got_inference = run_frozen(inference, {"source": source})
    got_training = run_frozen(training, {"source": source})
    np.testing.assert_allclose(got_inference, keras_images(generator, source), atol=1e-5)
    np.testing.assert_allclose(got_training, keras_images(generator, source, training=True), atol=1e-5)
    assert np.abs(got_training - got_inference).max() > 1e-3
