"""ONNX export (ascendgan.export.onnx): tf2onnx conversion with renamed inputs and output."""

import sys

import numpy as np
import pytest
from _export_helpers import keras_images, latents

from ascendgan import export


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
