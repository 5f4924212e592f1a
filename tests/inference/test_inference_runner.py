"""Running exported models on .bin inputs (ascendgan.inference.runner), offline vs online."""

import os

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import export, inference, sampling


def test_offline_frozen_graph_run_matches_online_generate(biggan, tmp_path):
    seeds, labels = [0, 12], [4, 7]
    model_path = export.export_frozen_graph(biggan, str(tmp_path / "biggan.pb"), batch_size=2)
    inference.write_seed_inputs(tmp_path / "in", seeds, latent_dim=biggan.latent_dim, labels=labels,
                                latent_distribution=biggan.latent_distribution, truncation=2.0,
                                batch_size=2)
    outputs = inference.run_inference(model_path, tmp_path / "in", tmp_path / "offline", png=True)
    assert sorted(outputs) == ["seed_000000", "seed_000012"]
    inference.write_online_outputs(biggan, tmp_path / "online", seeds, labels=labels,
                                   truncation=2.0, batch_size=2)
    for seed, label in zip(seeds, labels):
        name = f"seed_{seed:06d}_output_0.bin"
        assert os.path.getsize(tmp_path / "offline" / name) == 2 * 32 * 32 * 3 * 4
        online = inference.read_bin(tmp_path / "online" / name, "float32", (2, 32, 32, 3))
        np.testing.assert_allclose(
            online, biggan.generate(2, labels=[label, label], seed=seed, truncation=2.0), atol=1e-6)
    report = inference.compare(tmp_path / "online", tmp_path / "offline")
    assert sorted(report.per_file) == ["seed_000000_output_0.bin", "seed_000012_output_0.bin"]
    assert report.within(1e-5), str(report)
    png = tf.io.decode_png(tf.io.read_file(str(tmp_path / "offline" / "seed_000012.png"))).numpy()
    np.testing.assert_array_equal(png, sampling.image_grid(outputs["seed_000012"]))


@pytest.mark.parametrize("fmt", ["saved_model", "onnx"])
def test_exported_model_runners_match_keras(conditional_dcgan, tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("tf2onnx")
        pytest.importorskip("onnxruntime")
    path = export.export(conditional_dcgan, tmp_path / ("model.onnx" if fmt == "onnx" else "model"),
                         format=fmt, batch_size=3)
    model = inference.load_exported(path)
    assert model.format == fmt
    assert model.inputs == {"z": ((3, 100), np.dtype("float32")), "y": ((3,), np.dtype("int32"))}
    assert model.output_names == ["output"]
    z = np.random.default_rng(0).uniform(-1, 1, (3, 100)).astype("float32")
    y = np.array([0, 5, 9])  # int64 here; the runner casts to the model's int32
    expected = conditional_dcgan.generator([z, y.astype("int32")], training=False)
    np.testing.assert_allclose(model(z=z, y=y)["output"], np.asarray(expected), atol=1e-5)
    with pytest.raises(ValueError, match=r"Missing: \['y'\]"):
        model(z=z)
    with pytest.raises(ValueError, match="unknown: \\['w'\\]"):
        model(z=z, y=y, w=y)
    with pytest.raises(ValueError, match="Input 'z' must have shape"):
        model(z=z[:2], y=y)
    model.close()


def test_run_inference_reports_missing_and_mismatched_inputs(conditional_dcgan, tmp_path):
    path = export.export_frozen_graph(conditional_dcgan, str(tmp_path / "g.pb"), batch_size=1)
    inference.write_inputs(tmp_path / "in", {"z": [np.zeros((1, 100))]}, stems=["a"])
    with pytest.raises(ValueError, match="model input 'y'"):
        inference.run_inference(path, tmp_path / "in", tmp_path / "out")
    inference.write_inputs(tmp_path / "in", {"y": [np.zeros(1, int)]}, stems=["b"])
    with pytest.raises(ValueError, match="hold different files"):
        inference.run_inference(path, tmp_path / "in", tmp_path / "out")
    inference.write_inputs(tmp_path / "in", {"z": [np.zeros((1, 99))]}, stems=["b"])
    os.remove(tmp_path / "in" / "z" / "a.bin")
    with pytest.raises(ValueError, match=r"b\.bin.*expected shape 1x100"):
        inference.run_inference(path, tmp_path / "in", tmp_path / "out")


def test_detect_format(tmp_path):
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "g.pb").write_bytes(b"")
    (tmp_path / "m.onnx").write_bytes(b"")
    (tmp_path / "m.h5").write_bytes(b"")
    assert inference.detect_format(tmp_path / "sm") == "saved_model"
    assert inference.detect_format(tmp_path / "g.pb") == "frozen_graph"
    assert inference.detect_format(tmp_path / "m.onnx") == "onnx"
    with pytest.raises(ValueError, match="m.h5"):
        inference.detect_format(tmp_path / "m.h5")
    with pytest.raises(ValueError, match="without saved_model.pb"):
        inference.detect_format(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        inference.detect_format(tmp_path / "nothing.pb")
