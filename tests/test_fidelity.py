"""benchmarks/fidelity.py and its plain-Keras peer (the code paths, not the curves).

Independent references: the parameter counts of TensorFlow's DCGAN tutorial models
(its model summaries: 2,330,944 generator and 212,865 discriminator parameters, also the
layer-by-layer sums below), and a recording stand-in for the scorer."""

import json
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import fidelity  # noqa: E402
from benchmarks.peers import keras_dcgan  # noqa: E402


def test_peer_is_the_tutorial_model():
    generator = (100 * 7 * 7 * 256 + 4 * 7 * 7 * 256  # dense, no bias; batch norm
                 + 5 * 5 * 256 * 128 + 4 * 128 + 5 * 5 * 128 * 64 + 4 * 64 + 5 * 5 * 64 * 1)
    discriminator = (5 * 5 * 1 * 64 + 64) + (5 * 5 * 64 * 128 + 128) + (7 * 7 * 128 + 1)
    assert keras_dcgan.parameter_counts() == (generator, discriminator) == (2_330_944, 212_865)


def test_peer_trains_and_its_snapshots_reload(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "mnist.npz"  # Keras's mnist.npz layout
    np.savez(data, x_train=rng.integers(0, 256, (32, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 32).astype(np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    last = keras_dcgan.train(str(data), str(tmp_path / "peer"), steps=2, snapshot_seconds=1e9, batch_size=8)
    assert os.path.basename(last) == "step_0000002.npz"
    assert json.loads((tmp_path / "peer" / "peer.json").read_text())["batch_size"] == 8
    generator = keras_dcgan.load_generator(last)
    with np.load(last) as arrays:
        saved = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    assert all(np.array_equal(a, b) for a, b in zip(generator.get_weights(), saved))
    fresh = keras_dcgan.make_generator().get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(fresh, saved))  # trained, not fresh
    images = np.asarray(generator(np.zeros((2, 100), np.float32), training=False))
    assert images.shape == (2, 28, 28, 1) and np.abs(images).max() <= 1


def test_commands_of_the_configurations():
    ours = fidelity.command("ours_fp32", "/d", "/w/ours_fp32", 250, 20)
    assert os.path.basename(ours[0]) == "ascendgan" and ours[1:3] == ["train", "dcgan"]
    assert ours[-2:] == ["--precision", "float32"] and ours[ours.index("--data") + 1] == "/d"
    assert ours[ours.index("--checkpoint-every") + 1] == "250"
    assert fidelity.command("ours_ema", "/d", "/w", 250, 20)[-2:] == ["--set", "ema_decay=0.999"]
    peer = fidelity.command("peer_bf16", "/d", "/w/p", 250, 20)
    assert peer[0] == sys.executable and peer[1:3] == ["-m", "benchmarks.peers.keras_dcgan"]
    assert peer[-2:] == ["--precision", "mixed_bfloat16"]
    with pytest.raises(ValueError, match="ours_fp64"):
        fidelity.command("ours_fp64", "/d", "/w", 250, 20)


def _touch(path, launched, seconds):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").close()
    os.utime(path, (launched + seconds, launched + seconds))


def test_each_point_scores_the_newest_snapshot_saved_by_then(tmp_path, monkeypatch):
    launched = 1_000_000.0
    run = {"out": str(tmp_path / "ours"), "launched": launched}
    for step, seconds in [(250, 50), (500, 100), (750, 170), (1000, 230)]:
        _touch(os.path.join(run["out"], "checkpoints", f"ckpt-{step}.index"), launched, seconds)
    _touch(os.path.join(run["out"], "checkpoints", "ckpt-1250.data-00000-of-00001"), launched, 290)
    calls = []

    class Result(dict):
        protocol = {"extractor": "mnist_cnn", "num_samples": 10}

    def fake_score(path, run_dir, samples, seed):
        calls.append(os.path.basename(path))
        return Result(fid_mnist_cnn=float(len(calls)))

    monkeypatch.setattr(fidelity, "_score_ours", fake_score)
    args = fidelity._parse(["--budget", "300", "--score-every", "60", "--samples", "10"])
    scored = fidelity.score("ours", run, args, {})
    marks = [(p["minutes"], p["step"]) for p in scored["points"]]
    # 1 min: ckpt-250; 2 min: 500; 3 min: 750; 4 min: 1000; 5 min: still 1000 (no index for 1250)
    assert marks == [(1, 250), (2, 500), (3, 750), (4, 1000), (5, 1000)]
    assert calls == ["ckpt-250", "ckpt-500", "ckpt-750", "ckpt-1000"]  # scored once each
    assert [p["fid_mnist_cnn"] for p in scored["points"]] == [1, 2, 3, 4, 4]
    assert scored["last_step"] == 1000 and scored["steps_per_second"] == round(1000 / 230, 3)
    table = fidelity.markdown({"configs": {"ours": scored}})
    assert "| 5 | 4.00 (step 1000) |" in table


def test_unknown_configuration_is_refused(capsys):
    with pytest.raises(SystemExit):
        fidelity._parse(["--group", "ours,pear"])
    assert "unknown configuration 'pear'" in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_end_to_end(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "mnist.npz", x_train=rng.integers(0, 256, (64, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 64).astype(np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    results = fidelity.main(["--tiny", "--data", str(tmp_path / "mnist.npz"), "--group", "peer",
                             "--budget", "90", "--score-every", "45", "--samples", "100",
                             "--snapshot-seconds", "2", "--work", str(tmp_path / "work"),
                             "--output", str(tmp_path / "out.json")])
    points = results["configs"]["peer"]["points"]
    assert [p["minutes"] for p in points] == [0.75, 1.5]
    assert all(np.isfinite(p["fid_mnist_cnn"]) for p in points)
