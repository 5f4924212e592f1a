"""Scoring offline outputs (ascendgan.inference.scoring): msame's output layout and formats,
and evaluate_outputs == ascendgan.metrics.evaluate on the same images."""

import os

import numpy as np
import pytest

from ascendgan import inference, metrics

SHAPE = (4, 4, 3)


def msame_txt(values, per_image):
    """The text msame writes with --outfmt TXT (model_process.cpp, OutputModelResult):
    values printed with iostream's default 6 significant digits, each followed by a
    space; a blank line after each image ("one batch" item), a newline every 100 values."""
    flat = np.asarray(values, np.float32).reshape(-1)
    text = []
    for i, value in enumerate(flat):
        text.append(f"{value:.6g} ")
        last = i == flat.size - 1
        if (i + 1) % per_image == 0 and not last:
            text.append("\n\n")
        elif (i + 1) % 100 == 0 and not last:
            text.append("\n")
    return "".join(text)


@pytest.fixture
def images():
    return np.random.default_rng(0).uniform(-1, 1, (21, *SHAPE)).astype(np.float32)


def write_msame_run(folder, images, per_file=3, run="20240102_030405", fmt="bin", dtype="float32"):
    """What `msame --output folder --input <dir>` leaves: folder/<time>/<stem>_output_0.<fmt>."""
    run_dir = os.path.join(folder, run)
    os.makedirs(run_dir, exist_ok=True)
    for index in range(0, len(images), per_file):
        stem = os.path.join(run_dir, f"{index // per_file:05d}_output_0")
        batch = images[index:index + per_file]
        if fmt == "bin":
            batch.astype(dtype).tofile(stem + ".bin")
        else:
            with open(stem + ".txt", "w") as handle:
                handle.write(msame_txt(batch, int(np.prod(SHAPE))))
    return run_dir


def test_output_files_finds_msame_runs_and_plain_folders(tmp_path, images):
    run_dir = write_msame_run(str(tmp_path / "out"), images)
    files = inference.output_files(tmp_path / "out")
    assert [os.path.basename(f) for f in files] == [f"{i:05d}_output_0.bin" for i in range(7)]
    assert inference.output_files(run_dir) == files
    np.zeros(3, np.float32).tofile(os.path.join(run_dir, "00000_output_1.bin"))  # a second output
    assert inference.output_files(run_dir) == files
    assert len(inference.output_files(run_dir, output_index=1)) == 1
    write_msame_run(str(tmp_path / "out"), images, run="20240102_030500")
    with pytest.raises(ValueError, match="holds 2 msame runs .*20240102_030405, 20240102_030500"):
        inference.output_files(tmp_path / "out")
    os.makedirs(tmp_path / "empty")
    with pytest.raises(ValueError, match="holds no offline outputs"):
        inference.output_files(tmp_path / "empty")
    with pytest.raises(ValueError, match="`folder` must be a folder"):
        inference.output_files(tmp_path / "missing")


def test_bin_and_txt_outputs_read_back_as_images(tmp_path, images):
    bins = inference.output_files(write_msame_run(str(tmp_path / "bin"), images))
    np.testing.assert_array_equal(np.concatenate([inference.read_output(f, SHAPE) for f in bins]), images)
    texts = inference.output_files(write_msame_run(str(tmp_path / "txt"), images, fmt="txt"))
    assert texts[0].endswith(".txt")
    np.testing.assert_allclose(np.concatenate([inference.read_output(f, SHAPE) for f in texts]), images,
                               atol=1e-6)
    halves = inference.output_files(write_msame_run(str(tmp_path / "fp16"), images, dtype="float16"))
    np.testing.assert_allclose(inference.read_output(halves[0], SHAPE, "float16"),
                               images[:3].astype(np.float16).astype(np.float32))
    with pytest.raises(ValueError, match="not a whole number of float32 images .* It fits float16"):
        inference.read_output(halves[0], SHAPE)
    with pytest.raises(ValueError, match=r"not hold images in \[-1, 1\] read as float16"):
        inference.read_output(bins[0], SHAPE, "float16")  # float32 bytes read as float16
    with pytest.raises(ValueError, match="`dtype`"):
        inference.read_output(bins[0], SHAPE, "int8")
    with pytest.raises(ValueError, match="`image_shape` must be"):
        inference.read_output(bins[0], (4, 4))


def test_offline_images_stream_in_batches(tmp_path, images):
    files = inference.output_files(write_msame_run(str(tmp_path / "out"), images))
    batches = [b.numpy() for b in inference.offline_images(files, SHAPE, batch_size=5)]
    assert [len(b) for b in batches] == [5, 5, 5, 5, 1]
    np.testing.assert_array_equal(np.concatenate(batches), images)
    with pytest.raises(ValueError, match="not a whole number"):
        inference.offline_images(files, (5, 5, 3))


def pixels_with_logits(batch):
    flat = np.reshape(batch, (len(batch), -1))
    return {"features": flat, "logits": flat[:, :10] * 3.0}


def test_evaluate_outputs_equals_evaluate_on_the_same_images(tmp_path, images):
    extractor = metrics.FeatureExtractor(pixels_with_logits, name="pixels")
    reference = np.random.default_rng(1).uniform(-1, 1, (30, *SHAPE)).astype(np.float32)
    settings = metrics.EvaluationSettings(metrics=["fid", "kid", "is"], num_samples=None,
                                          extractor=extractor, batch_size=5, splits=3,
                                          kid_subsets=4, kid_subset_size=10)
    write_msame_run(str(tmp_path / "out"), images)
    result = inference.evaluate_outputs(tmp_path / "out", SHAPE, reference, settings)
    expected = metrics.evaluate(images, reference, settings)
    assert set(result.values) == {"fid", "kid", "kid_std", "is", "is_std"}
    for key, value in expected.values.items():
        assert result[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert result.protocol["num_samples"] == 21
    assert result.protocol["source"] == f"offline outputs {tmp_path / 'out' / '20240102_030405'}"
    assert result.protocol["output_files"] == 7 and result.protocol["output_dtype"] == "float32"
    # num_samples, without settings: keywords as metrics.evaluate takes them
    first = inference.evaluate_outputs(tmp_path / "out", SHAPE, reference, metrics=["fid"],
                                       extractor=extractor, num_samples=10, batch_size=5)
    assert first["fid"] == pytest.approx(metrics.evaluate(images[:10], reference, metrics=["fid"],
                                                          extractor=extractor, num_samples=None)["fid"])
