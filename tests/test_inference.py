"""Offline inference: raw .bin files in, exported model run, outputs compared with online ones."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import ascendgan
from ascendgan import export, inference, sampling


@pytest.fixture(scope="module")
def biggan():
    return ascendgan.models.biggan("cifar10", base_channels=4, shared_embedding_dim=8, seed=0)


@pytest.fixture(scope="module")
def conditional_dcgan():
    return ascendgan.models.dcgan("mnist", base_filters=4, num_classes=10, seed=0)


# ----------------------------------------------------------------------------- raw files


def test_write_bin_writes_exactly_the_bytes_of_numpy_tofile(tmp_path, rng):
    array = rng.standard_normal((2, 3))
    path = inference.write_bin(array, tmp_path / "a" / "z.bin", "float32")
    array.astype("float32").tofile(tmp_path / "reference.bin")
    assert open(path, "rb").read() == (tmp_path / "reference.bin").read_bytes()
    np.testing.assert_array_equal(inference.read_bin(path, "float32", (2, 3)), array.astype("float32"))
    np.testing.assert_array_equal(inference.read_bin(path, "float32", (None, 3)), array.astype("float32"))
    assert inference.read_bin(path, "float32").shape == (6,)


def test_read_bin_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="missing.bin"):
        inference.read_bin(tmp_path / "missing.bin", "float32")
    path = inference.write_bin(np.zeros(5), tmp_path / "five.bin", "float32")
    with pytest.raises(ValueError, match=r"five\.bin.*expected shape 2x3"):
        inference.read_bin(path, "float32", (2, 3))
    with pytest.raises(ValueError, match=r"five\.bin.*per batch item"):
        inference.read_bin(path, "float32", (None, 2))
    odd = tmp_path / "odd.bin"
    odd.write_bytes(b"\x00" * 6)
    with pytest.raises(ValueError, match="odd.bin.*whole number"):
        inference.read_bin(odd, "float32")


# ----------------------------------------------------------------------------- seed inputs


def test_write_seed_inputs_holds_the_latents_generate_uses(tmp_path, biggan):
    stems = inference.write_seed_inputs(tmp_path, [3, 41], latent_dim=120, labels=[2, 9],
                                        truncation=1.0, batch_size=2)
    assert stems == ["seed_000003", "seed_000041"]
    for seed, label, stem in zip([3, 41], [2, 9], stems):
        z = inference.read_bin(tmp_path / "z" / f"{stem}.bin", "float32", (2, 120))
        np.testing.assert_array_equal(z, sampling.gan_latents(biggan, 2, seed, truncation=1.0))
        assert np.abs(z).max() <= 1.0
        y = inference.read_bin(tmp_path / "y" / f"{stem}.bin", "int32")
        assert y.tolist() == [label, label]


def test_write_seed_inputs_label_layouts(tmp_path):
    inference.write_seed_inputs(tmp_path / "one", [0, 1], latent_dim=4, labels=7)
    assert inference.read_bin(tmp_path / "one" / "y" / "seed_000001.bin", "int32").tolist() == [7]
    inference.write_seed_inputs(tmp_path / "table", [0, 1], latent_dim=4, labels=[[1, 2], [3, 4]],
                                batch_size=2, label_rank=2)
    assert inference.read_bin(tmp_path / "table" / "y" / "seed_000001.bin", "int32",
                              (2, 1)).tolist() == [[3], [4]]
    inference.write_seed_inputs(tmp_path / "none", [5], latent_dim=4)
    assert sorted(os.listdir(tmp_path / "none")) == ["z"]
    with pytest.raises(ValueError, match="`labels`"):
        inference.write_seed_inputs(tmp_path / "bad", [0, 1, 2], latent_dim=4, labels=[1, 2])
    with pytest.raises(ValueError, match="`seeds`"):
        inference.write_seed_inputs(tmp_path / "bad", [], latent_dim=4)


# ----------------------------------------------------------------------------- end to end


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


# ----------------------------------------------------------------------------- compare


def test_compare_reports_per_file_and_overall_differences(tmp_path):
    inference.write_bin([0.0, 1.0, 2.0], tmp_path / "a" / "x_output_0.bin", "float32")
    inference.write_bin([0.0, 1.5, 2.0], tmp_path / "b" / "x_output_0.bin", "float32")
    inference.write_bin([1.0, 1.0], tmp_path / "a" / "w_output_0.bin", "float32")
    inference.write_bin([1.0, 0.75], tmp_path / "b" / "w_output_0.bin", "float32")
    inference.write_bin([1.0], tmp_path / "a" / "only_a.bin", "float32")
    report = inference.compare(tmp_path / "a", tmp_path / "b")
    assert report.per_file == {"w_output_0.bin": 0.25, "x_output_0.bin": 0.5}
    assert report.max_abs_diff == 0.5
    assert report.mean_abs_diff == pytest.approx(0.75 / 5)
    assert report.only_in_a == ["only_a.bin"] and report.only_in_b == []
    assert not report.within(1.0)  # a file is unmatched
    assert "x_output_0.bin: max abs diff 0.5" in str(report) and "only in a" in str(report)
    single = inference.compare(tmp_path / "a" / "x_output_0.bin", np.array([0.0, 1.0, 2.25]))
    assert single.max_abs_diff == 0.25 and single.within(0.25) and not single.within(0.2)


def test_compare_errors(tmp_path):
    inference.write_bin([1.0, 2.0], tmp_path / "a" / "x.bin", "float32")
    inference.write_bin([1.0], tmp_path / "b" / "x.bin", "float32")
    with pytest.raises(ValueError, match="'x.bin' holds 2 values in a and 1 in b"):
        inference.compare(tmp_path / "a", tmp_path / "b")
    inference.write_bin([1.0], tmp_path / "c" / "y.bin", "float32")
    with pytest.raises(ValueError, match="no file names in common"):
        inference.compare(tmp_path / "a", tmp_path / "c")
    with pytest.raises(ValueError, match="`b` path"):
        inference.compare(tmp_path / "a", tmp_path / "nope")


# ----------------------------------------------------------------------------- command line


def test_command_line_round_trip(conditional_dcgan, tmp_path, capsys):
    model = export.export_frozen_graph(conditional_dcgan, str(tmp_path / "g.pb"), batch_size=1)
    assert inference.main(["write-inputs", "--output", str(tmp_path / "in"), "--seeds", "1", "2",
                           "--latent-dim", "100", "--labels", "3", "8",
                           "--distribution", "uniform_signed"]) == 0
    assert inference.main(["run", "--model", model, "--input", str(tmp_path / "in"),
                           "--output", str(tmp_path / "out"), "--png"]) == 0
    assert (tmp_path / "out" / "seed_000002.png").exists()
    inference.write_online_outputs(conditional_dcgan, tmp_path / "online", [1, 2], labels=[3, 8])
    assert inference.main(["compare", str(tmp_path / "online"), str(tmp_path / "out"),
                           "--tolerance", "1e-5"]) == 0
    assert "2 compared" in capsys.readouterr().out
    inference.write_bin(np.ones((1, 28, 28, 1)), tmp_path / "out" / "seed_000001_output_0.bin",
                        "float32")
    assert inference.main(["compare", str(tmp_path / "online"), str(tmp_path / "out"),
                           "--tolerance", "1e-5"]) == 1


def test_runs_as_a_module(tmp_path):
    inference.write_bin([0.0, 1.0], tmp_path / "a.bin", "float32")
    inference.write_bin([0.0, 1.25], tmp_path / "b.bin", "float32")
    result = subprocess.run(
        [sys.executable, "-m", "ascendgan.inference", "compare", str(tmp_path / "a.bin"),
         str(tmp_path / "b.bin"), "--tolerance", "0.1"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "max abs diff 0.25" in result.stdout
