"""`ascendgan infer write-inputs --run` and `ascendgan infer score`: the documented offline
evaluation (export -> inputs with the preset's truncation -> run -> IS / FID / KID)."""

import json

import numpy as np
import pytest
from _run_helpers import fake_run
from PIL import Image

from ascendgan import cli, compat, export, inference, metrics, sampling

OVERRIDES = {"base_channels": 4, "shared_embedding_dim": 8, "latent_dim": 20}


@pytest.fixture(scope="module")
def biggan_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("biggan_run")
    return directory, fake_run(directory, "biggan", "cifar10", OVERRIDES)


def test_write_inputs_takes_latents_classes_and_truncation_from_the_run(biggan_run, tmp_path, capsys):
    directory, _ = biggan_run
    assert cli.main(["infer", "write-inputs", "--run", str(directory), "--output", str(tmp_path / "in"),
                     "--seeds", "0", "5", "--batch-size", "2", "--label-rank", "2"]) == 0
    assert "wrote 2 input batch(es)" in capsys.readouterr().out
    for seed in (0, 5):
        stem = inference.seed_stem(seed)
        z = inference.read_bin(tmp_path / "in" / "z" / f"{stem}.bin", "float32", (2, 20))
        np.testing.assert_array_equal(z, sampling.prior_latents(2, 20, seed, truncation=2.0))
        assert np.abs(z).max() <= 2.0
        y = inference.read_bin(tmp_path / "in" / "y" / f"{stem}.bin", "int32")
        np.testing.assert_array_equal(y, np.random.default_rng(seed).integers(0, 10, 2))
    assert cli.main(["infer", "write-inputs", "--run", str(directory), "--output", str(tmp_path / "full"),
                     "--seeds", "0", "--truncation", "none", "--labels", "4"]) == 0
    assert "no truncation (--truncation none)" in capsys.readouterr().out
    z = inference.read_bin(tmp_path / "full" / "z" / "seed_000000.bin", "float32")
    np.testing.assert_array_equal(z, sampling.prior_latents(1, 20, 0)[0])
    assert inference.read_bin(tmp_path / "full" / "y" / "seed_000000.bin", "int32").tolist() == [4]


def test_write_inputs_errors_are_one_line(biggan_run, tmp_path, capsys):
    directory, _ = biggan_run
    for argv, message in (
        (["--run", str(directory), "--latent-dim", "7"], "--latent-dim 7 conflicts with the run's 20"),
        (["--run", str(directory), "--distribution", "uniform_signed"], "--distribution uniform_signed"),
        ([], "--latent-dim is required without --run"),
        (["--latent-dim", "4", "--labels", "random", "1"], "`--labels random` stands alone"),
        (["--latent-dim", "4", "--labels", "random"], "pass `num_classes`"),
    ):
        assert cli.main(["infer", "write-inputs", "--output", str(tmp_path / "x"), "--seeds", "0", *argv]) == 1
        err = capsys.readouterr().err
        assert err.startswith("ascendgan: error: ") and message in err and len(err.strip().splitlines()) == 1
    assert cli.main(["infer", "write-inputs", "--output", str(tmp_path / "r"), "--seeds", "2",
                     "--latent-dim", "4", "--labels", "random", "--num-classes", "3"]) == 0
    assert inference.read_bin(tmp_path / "r" / "y" / "seed_000002.bin", "int32").tolist() == \
        np.random.default_rng(2).integers(0, 3, 1).tolist()


def write_class_folders(folder, pictures):
    """CIFAR-10 as class folders (<data>/train/<class>/*.png, classes 0..9)."""
    for index, picture in enumerate(pictures):
        target = folder / "train" / str(index % 10)
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(picture).save(target / f"{index:02d}.png")


def feature_model(path):
    """A tiny saved Keras model as the extractor file (features only)."""
    keras = compat.keras
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 4, strides=4, kernel_initializer=keras.initializers.GlorotUniform(seed=1))(inputs)
    model = keras.Model(inputs, keras.layers.Flatten(name="features")(x))
    model.save(str(path))
    return str(path)


def test_the_documented_offline_evaluation(biggan_run, tmp_path, capsys):
    directory, gan = biggan_run
    # what `ascendgan export RUN` writes (tested in tests/export/test_export_cli.py)
    graph = export.export_frozen_graph(gan, str(tmp_path / "final_model.pb"), batch_size=1, label_rank=2)
    seeds = [str(seed) for seed in range(6)]
    assert cli.main(["infer", "write-inputs", "--run", str(directory), "--output", str(tmp_path / "in"),
                     "--seeds", *seeds, "--label-rank", "2"]) == 0
    assert cli.main(["infer", "run", "--model", str(graph), "--input", str(tmp_path / "in"),
                     "--output", str(tmp_path / "offline")]) == 0
    # the offline outputs are the online samples with random classes and truncation 2.0
    inference.write_online_outputs(gan, tmp_path / "online", range(6), labels="random", truncation=2.0)
    assert inference.compare(tmp_path / "online", tmp_path / "offline").within(1e-5)
    capsys.readouterr()

    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    write_class_folders(tmp_path / "photos", reference)
    extractor_file = feature_model(tmp_path / "features.keras")
    result_file = tmp_path / "scores.json"
    assert cli.main(["infer", "score", str(tmp_path / "offline"), "--run", str(directory),
                     "--data", str(tmp_path / "photos"), "--extractor", extractor_file,
                     "--metrics", "fid,kid", "--batch-size", "4", "--output", str(result_file)]) == 0
    out = capsys.readouterr().out
    assert "fid: " in out and "kid: " in out
    scores = json.loads(result_file.read_text())
    assert scores["protocol"]["num_samples"] == 6 and scores["protocol"]["output_files"] == 6
    assert scores["protocol"]["reference_samples"] == 12
    assert scores["protocol"]["source"] == f"offline outputs {tmp_path / 'offline'}"
    # the same numbers as evaluating the offline images against the same reference images
    offline = np.concatenate([inference.read_bin(tmp_path / "offline" / f"{inference.seed_stem(s)}_output_0.bin",
                                                 "float32", (1, 32, 32, 3)) for s in range(6)])
    extractor = metrics.FeatureExtractor(compat.load_model(extractor_file), image_size=(32, 32),
                                         name=extractor_file)
    expected = metrics.evaluate(offline, reference.astype(np.float32) / 127.5 - 1.0, metrics=["fid"],
                                extractor=extractor, num_samples=None, batch_size=4)
    assert scores["fid"] == pytest.approx(expected["fid"], rel=1e-5)


def test_score_reads_msame_run_folders_and_text_outputs(biggan_run, tmp_path, capsys):
    directory, _ = biggan_run
    images = np.random.default_rng(3).uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
    run = tmp_path / "npu_out" / "20240101_000000"
    run.mkdir(parents=True)
    for index, image in enumerate(images):
        (run / f"{index}_output_0.txt").write_text(" ".join(f"{v:.6g}" for v in image.reshape(-1)) + " ")
    extractor_file = feature_model(tmp_path / "f.keras")
    write_class_folders(tmp_path / "photos", np.arange(10, dtype=np.uint8)[:, None, None, None] * 20
                        * np.ones((1, 32, 32, 3), np.uint8))
    assert cli.main(["infer", "score", str(tmp_path / "npu_out"), "--run", str(directory), "--data",
                     str(tmp_path / "photos"), "--extractor", extractor_file, "--metrics", "fid"]) == 0
    out = capsys.readouterr().out
    assert '"output_files": 4' in out and '"num_samples": 4' in out
    assert cli.main(["infer", "score", str(tmp_path / "npu_out"), "--run", str(directory), "--data",
                     str(tmp_path / "photos"), "--extractor", extractor_file, "--metrics", "fid",
                     "--image-shape", "20,20,3"]) == 1
    assert "3072 values, not a whole number of images of shape (20, 20, 3)" in capsys.readouterr().err
