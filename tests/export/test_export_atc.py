"""The ATC command line (ascendgan.export.atc) against the documented BigGAN offline run."""

import shlex

import numpy as np
import pytest
import tensorflow as tf
from _export_helpers import keras_images, latents, run_frozen

from ascendgan import export
from ascendgan.export import atc

# The conversion of the documented BigGAN offline run (ModelZoo-TensorFlow,
# AnimeFaceGAN_ID1062_for_Tensorflow/README.md, "离线推理步骤" step 2), without its
# --debug_dir and shell plumbing.
DOCUMENTED = ('atc --model=/root/final_model.pb --framework=3 --output=/root/model '
              '--soc_version=Ascend310 --input_shape="z:1,120;y:1,1" --log=info --out_nodes="output:0"')


@pytest.fixture(scope="module")
def documented_pb(biggan, tmp_path_factory):
    """The BigGAN frozen graph in the documented layout: batch 1, y of shape (1, 1)."""
    return export.export_frozen_graph(biggan, str(tmp_path_factory.mktemp("doc") / "final_model.pb"),
                                      batch_size=1, label_rank=2)


def test_the_default_line_is_the_documented_one(documented_pb):
    command = atc.atc_command(documented_pb, output="/root/model")
    assert shlex.split(command) == shlex.split(DOCUMENTED.replace("/root/final_model.pb", documented_pb))


def test_the_documented_graph_takes_y_of_shape_batch_by_one(biggan, documented_pb):
    # pb_frozen.py of the documented run: z = placeholder(float32, [None, z_dim]),
    # y = placeholder(int32, [None, 1]), output = identity(..., name="output")
    graph_def = export.load_frozen_graph(documented_pb)
    assert export.graph_inputs(graph_def) == {"z": ((1, 120), np.dtype("float32")),
                                              "y": ((1, 1), np.dtype("int32"))}
    z, y = latents(batch=1, seed=5)
    images = run_frozen(graph_def, {"z": z, "y": y[:, None]})
    np.testing.assert_allclose(images, keras_images(biggan.ema_generator, [z, y]), atol=1e-5)


def test_default_output_debug_dir_and_quoted_paths(biggan, tmp_path):
    path = export.export_frozen_graph(biggan, str(tmp_path / "a dir" / "g.pb"), batch_size=1, label_rank=2)
    words = shlex.split(atc.atc_command(path, debug_dir=tmp_path / "debug info"))
    assert words[1] == f"--model={path}"
    assert words[3] == f"--output={path[:-3]}"
    assert words[-1] == f"--debug_dir={tmp_path / 'debug info'}"


@pytest.mark.parametrize("soc_version", atc.SOC_VERSIONS)
def test_every_soc_version_is_accepted(documented_pb, soc_version):
    assert f"--soc_version={soc_version} " in atc.atc_command(documented_pb, soc_version=soc_version)


def test_soc_version_and_log_are_choices(documented_pb):
    assert atc.DEFAULT_SOC_VERSION == "Ascend310"
    assert set(atc.LOG_LEVELS) == {"debug", "info", "warning", "error", "null"}
    assert " --log=null " in atc.atc_command(documented_pb, log="null")
    with pytest.raises(ValueError, match="`soc_version`.*Ascend310.*Received: soc_version='Ascend999'"):
        atc.atc_command(documented_pb, soc_version="Ascend999")
    with pytest.raises(ValueError, match="`log`.*Received: log='verbose'"):
        atc.atc_command(documented_pb, log="verbose")


def test_dcgan_and_pix2pix_lines_come_from_their_graphs(dcgan, pix2pix, tmp_path):
    dcgan_pb = export.export_frozen_graph(dcgan, str(tmp_path / "dcgan.pb"), batch_size=4)
    pix2pix_pb = export.export_frozen_graph(pix2pix, str(tmp_path / "pix2pix.pb"), batch_size=1)
    for path, shape in ((dcgan_pb, "z:4,100"), (pix2pix_pb, "source:1,32,32,3")):
        words = shlex.split(atc.atc_command(path))
        assert words[4:] == ["--soc_version=Ascend310", f"--input_shape={shape}", "--log=info",
                             "--out_nodes=output:0"]


def test_dynamic_shapes_and_graphs_without_an_output_node_are_refused(dcgan, tmp_path):
    dynamic = export.export_frozen_graph(dcgan, str(tmp_path / "dyn.pb"), batch_size=None)
    with pytest.raises(ValueError, match="static"):
        atc.atc_command(dynamic)
    graph = tf.Graph()
    with graph.as_default():
        tf.identity(tf.compat.v1.placeholder(tf.float32, (1, 4), name="x"), name="result")
    path = tmp_path / "other.pb"
    path.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(ValueError, match="no node named 'output'"):
        atc.atc_command(str(path))
