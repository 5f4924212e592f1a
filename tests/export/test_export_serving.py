"""The serving function (ascendgan.export.serving): signatures, argument checks, no state writes,
mixed precision."""

import numpy as np
import pytest
import tensorflow as tf
from _export_helpers import run_frozen

import ascendgan
from ascendgan import compat, export


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


def test_export_leaves_tensorflow_variable_assignment_alone(pix2pix):
    """Export removes the writes from its graph; it never patches TensorFlow's variables."""
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


@pytest.mark.parametrize("dropout", [0.0, 0.5], ids=["batch_norm", "batch_norm_and_dropout"])
def test_training_mode_serving_function_reads_state_and_never_writes_it(dropout):
    gan = ascendgan.models.pix2pix("facades_128", image_size=32, num_downsamplings=5, base_filters=4,
                                   discriminator_base_filters=4, dropout=dropout, seed=0)
    module = export.serving_module(gan, batch_size=2, training=True)
    traced = module.serve.get_concrete_function()
    assert not {op.type for op in traced.graph.get_operations()} & set(export.serving.STATE_WRITE_OPS)
    # every variable the function reads is tracked for saving
    captured = {id(handle) for handle in traced.captured_inputs}
    assert all(id(variable.handle) in captured for variable in module.captured_variables)
    state = [np.array(variable.numpy()) for variable in gan.generator.variables]
    source = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    first = module.serve(source=tf.constant(source))["output"].numpy()
    module.serve(source=tf.constant(source))
    for before, variable in zip(state, gan.generator.variables):
        np.testing.assert_array_equal(before, variable.numpy())  # moving statistics, u, seed states
    if dropout == 0.0:  # batch statistics only: the Keras call gives the same images
        np.testing.assert_allclose(first, np.asarray(gan.generator(source, training=True)), atol=1e-5)
    graph_def = export.frozen_graph_def(gan, batch_size=2, training=True)
    assert not {node.op for node in graph_def.node} & {"VarHandleOp", "ReadVariableOp",
                                                      *export.serving.STATE_WRITE_OPS}
    assert run_frozen(graph_def, {"source": source}).shape == (2, 32, 32, 3)


def test_drop_nodes_removes_the_nodes_and_the_control_edges_to_them():
    graph = tf.Graph()
    with graph.as_default():
        value = tf.constant(1.0, name="value")
        check = tf.raw_ops.Assert(condition=tf.constant(True), data=[value], name="check")
        with tf.control_dependencies([check]):
            tf.identity(value, name="output")
    before = graph.as_graph_def()
    asserts = {node.name for node in before.node if node.op == "Assert"}
    assert any(f"^{name}" in before.node[-1].input for name in asserts)  # output waits for it
    graph_def = export.serving.drop_nodes(before, ("Assert",))
    nodes = {node.name: node for node in graph_def.node}
    assert asserts and not asserts & set(nodes)
    assert list(nodes["output"].input) == ["value"]
    assert len(graph_def.node) == len(before.node) - len(asserts)
