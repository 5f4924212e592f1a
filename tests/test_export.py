"""Export: frozen graph, SavedModel and ONNX give the Keras generator's images."""

import sys

import numpy as np
import pytest
import tensorflow as tf

import ascendgan
from ascendgan import compat, export


def perturb_ema(gan, scale=0.05):
    """Makes the averaged generator's kernels differ from the raw generator's."""
    rng = np.random.default_rng(1)
    gan.ema_generator.set_weights(
        [w + scale * rng.standard_normal(w.shape).astype(w.dtype) if w.ndim > 1 else w
         for w in gan.generator.get_weights()]
    )
    return gan


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


def latents(batch=2, seed=0, latent_dim=120):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, latent_dim)).astype("float32"),
            rng.integers(0, 10, batch).astype("int32"))


def run_frozen(graph_def, feeds):
    """Runs a frozen GraphDef in a fresh graph and TF1 session, as ATC-style tools see it."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run("output:0", {f"{name}:0": value for name, value in feeds.items()})


def keras_images(model, inputs, training=False):
    return np.asarray(tf.cast(model(inputs, training=training), tf.float32))


# ----------------------------------------------------------------------------- frozen graph


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


def test_export_restores_variable_assignment(pix2pix):
    from tensorflow.python.ops import resource_variable_ops

    original = resource_variable_ops.ResourceVariable.assign
    export.frozen_graph_def(pix2pix, batch_size=1, training=True)
    assert resource_variable_ops.ResourceVariable.assign is original
    variable = tf.Variable(1.0)
    variable.assign(3.0)
    assert float(variable.numpy()) == 3.0


def test_mixed_bfloat16_generator_exports_float32_outputs():
    with compat.precision_scope("mixed_bfloat16"):
        gan = ascendgan.models.dcgan("mnist", base_filters=4, num_classes=10, seed=0)
        z = np.random.default_rng(5).uniform(-1, 1, (3, 100)).astype("float32")
        y = np.array([1, 2, 3], np.int32)
        raw = gan.generator([z, y], training=False)
        graph_def = export.frozen_graph_def(gan, batch_size=3)
        module = export.serving_module(gan, batch_size=3)
    assert raw.dtype == tf.bfloat16
    assert {dtype for _, dtype in export.graph_inputs(graph_def).values()} == {
        np.dtype("float32"), np.dtype("int32")}
    images = run_frozen(graph_def, {"z": z, "y": y})
    assert images.dtype == np.float32
    np.testing.assert_allclose(images, np.asarray(tf.cast(raw, tf.float32)), atol=1e-2)
    assert module.serve(tf.constant(z), tf.constant(y))["output"].dtype == tf.float32


# ----------------------------------------------------------------------------- SavedModel


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


# ----------------------------------------------------------------------------- ONNX


def check_onnx(gan, path, latent_dim):
    pytest.importorskip("tf2onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    path = export.export_onnx(gan, str(path), batch_size=2)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in session.get_inputs()] == [("z", [2, latent_dim]), ("y", [2])]
    assert [o.name for o in session.get_outputs()] == ["output"]
    z, y = latents(seed=3, latent_dim=latent_dim)
    (images,) = session.run(["output"], {"z": z, "y": y})
    np.testing.assert_allclose(images, keras_images(gan.ema_generator, [z, y]), atol=1e-5)


def test_onnx_export_matches_keras(conditional_dcgan, tmp_path):
    check_onnx(conditional_dcgan, tmp_path / "dcgan.onnx", latent_dim=100)


@pytest.mark.slow
def test_onnx_export_of_biggan_matches_keras(biggan, tmp_path):
    check_onnx(biggan, tmp_path / "biggan.onnx", latent_dim=120)


def test_onnx_without_tf2onnx_names_the_package_and_extra(dcgan, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)
    with pytest.raises(ImportError, match=r"tf2onnx.*ascendgan\[onnx\]"):
        export.export_onnx(dcgan, tmp_path / "x.onnx")


# ----------------------------------------------------------------------------- dispatch, ATC, errors


def test_export_dispatches_every_format(dcgan, tmp_path):
    formats = {"saved_model": tmp_path / "sm", "frozen_graph": tmp_path / "g.pb"}
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401

        formats["onnx"] = tmp_path / "g.onnx"
    except ImportError:
        pass
    for name, path in formats.items():
        assert export.export(dcgan, path, format=name, batch_size=1) == str(path)
        assert path.exists()
    assert (tmp_path / "sm" / "saved_model.pb").exists()


def test_atc_command_reads_the_input_shapes(biggan_pb, dcgan, tmp_path):
    stem = biggan_pb[:-len(".pb")]
    assert export.atc_command(biggan_pb) == (
        f"atc --framework=3 --model={biggan_pb} --output={stem} "
        "--input_shape=\"z:2,120;y:2\" --soc_version=Ascend910"
    )
    dynamic = export.export_frozen_graph(dcgan, str(tmp_path / "dyn.pb"), batch_size=None)
    with pytest.raises(ValueError, match="static"):
        export.atc_command(dynamic)


def test_input_signature_names_and_shapes(biggan, dcgan, pix2pix):
    assert [(s.name, tuple(s.shape), s.dtype) for s in export.input_signature(biggan)] == [
        ("z", (1, 120), tf.float32), ("y", (1,), tf.int32)]
    assert [s.name for s in export.input_signature(dcgan, batch_size=None)] == ["z"]
    assert [tuple(s.shape) for s in export.input_signature(pix2pix, batch_size=4)] == [(4, 32, 32, 3)]


def test_bad_arguments_name_them(dcgan, tmp_path):
    with pytest.raises(ValueError, match="`format`"):
        export.export(dcgan, tmp_path / "x", format="tflite")
    with pytest.raises(ValueError, match="`batch_size`"):
        export.frozen_graph_def(dcgan, batch_size=0)
    with pytest.raises(ValueError, match="`label_rank`"):
        export.input_signature(dcgan, label_rank=3)
    with pytest.raises(ValueError, match="`training`"):
        export.serving_module(dcgan, training="yes")
    with pytest.raises(ValueError, match="`model`"):
        export.frozen_graph_def(compat.keras.Sequential([compat.keras.layers.Dense(2)]))
    with pytest.raises(ValueError, match="`model`"):
        export.frozen_graph_def("generator.keras")
    with pytest.raises(ValueError, match="does not exist"):
        export.load_frozen_graph(tmp_path / "missing.pb")
    garbage = tmp_path / "garbage.pb"
    garbage.write_bytes(b"\xff\x00not a graph")
    with pytest.raises(ValueError, match="GraphDef"):
        export.load_frozen_graph(garbage)
