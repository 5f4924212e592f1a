"""examples/autoaugment_cifar.py: documented defaults, a smoke run on CIFAR-10 files in the
official python format, --evaluate from the checkpoint, resume, augmentation, bad arguments."""

import importlib.util
import json
import pathlib
import pickle

import numpy as np
import pytest
import tensorflow as tf

from ascendgan.models.classifiers import WideResNet
from ascendgan.recipes.classifier import train_classifier
from ascendgan.recipes.classifier_run import build_classifier, synthetic_cifar
from ascendgan.recipes.classifier_run import make_augmentation as recipe_augmentation

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "autoaugment_cifar.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("autoaugment_cifar_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_python_batches(folder, per_batch=8, test_count=12, seed=0):
    """A tiny CIFAR-10 in the official python format (pickled dicts, channels-first rows)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    everything = {}
    for name in names:
        count = test_count if name == "test_batch" else per_batch
        images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, count)
        rows = images.transpose(0, 3, 1, 2).reshape(count, 3072)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": rows, b"labels": labels.tolist()}, f)
        everything[name] = (images, labels.astype("int32"))
    return everything


def numpy_top_k(labels, logits, k):
    order = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float(np.mean([label in row for label, row in zip(labels, order)]))


def test_defaults_are_the_documented_configuration(example):
    args = example.parse_args([])
    config = args.run.config()
    network, optimizer, data, schedule = config.network, config.optimizer, config.data, config.schedule
    assert network.model == "wrn_28_10" and schedule.epochs == 150 and schedule.batch_size == 128
    assert optimizer.learning_rate == 0.06 and optimizer.momentum == 0.9 and not optimizer.nesterov
    assert optimizer.weight_decay == 1e-4 and optimizer.label_smoothing == 0.1
    assert data.policy == "cifar10" and data.cutout == 16 and data.crop_padding == 4 and data.flip
    assert network.normalize == "cifar10" and not args.evaluate and args.run.precision == "auto"
    # flags become overrides of the preset's sections
    changed = example.parse_args(["--epochs", "3", "--warmup-epochs", "0", "--no-flip", "--nesterov", "--policy", "svhn"]).run.config()
    assert (changed.schedule.epochs, changed.data.flip, changed.optimizer.nesterov, changed.data.policy) \
        == (3, False, True, "svhn")


def test_help_lists_the_options(example, capsys):
    with pytest.raises(SystemExit) as exit_info:
        example.parse_args(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--evaluate", "--smoke", "--policy", "--cutout", "--weight-decay", "--precision"):
        assert option in text


def test_smoke_trains_checkpoints_and_evaluate_reproduces_the_accuracy(example, tmp_path):
    data = tmp_path / "cifar-10-batches-py"
    written = write_python_batches(data)
    out = tmp_path / "run"
    run = example.main(["--smoke", "--data", str(data), "--out", str(out), "--verbose", "0"])
    history, model, results = run["history"], run["model"], run["results"]
    assert set(history.history) >= {"loss", "top1", "top5", "ms_per_step", "images_per_s"}
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert results["step"] == 2 and results["num_images"] == 12
    assert tf.train.latest_checkpoint(str(out / "checkpoints")).endswith("ckpt-2")
    assert list((out / "logs").glob("events.out.tfevents.*"))
    config = json.loads((out / "model.json").read_text())
    assert config["depth"] == 10 and config["width"] == 1 and config["input_mean"] is not None
    assert json.loads((out / "results.json").read_text())["top1"] == results["top1"]

    # the in-memory model on the test images, checked with numpy
    images, labels = written["test_batch"]
    logits = model(images.astype("float32") / 127.5 - 1.0, training=False).numpy()
    assert results["top1"] == pytest.approx(numpy_top_k(labels, logits, 1))
    assert results["top5"] == pytest.approx(numpy_top_k(labels, logits, 5))

    # --evaluate rebuilds the network from model.json and loads the checkpoint
    evaluated = example.main(["--smoke", "--data", str(data), "--out", str(out), "--evaluate", "--verbose", "0"])
    assert evaluated["checkpoint"].endswith("ckpt-2")
    assert (evaluated["top1"], evaluated["top5"]) == (results["top1"], results["top5"])
    assert evaluated["loss"] == pytest.approx(results["loss"], rel=1e-6)



def test_smoke_without_data_uses_synthetic_images(example, tmp_path):
    run = example.main(["--smoke", "--out", str(tmp_path), "--verbose", "0", "--precision", "mixed_bfloat16"])
    assert run["results"]["num_images"] == 16 and run["results"]["step"] == 2
    assert isinstance(run["model"], WideResNet)
    images, labels = synthetic_cifar(20, seed=3)
    assert images.dtype == np.uint8 and images.shape == (20, 32, 32, 3) and labels.max() < 10


def test_the_example_and_the_application_layer_agree(example, tmp_path):
    """The example's steps and ``train_classifier(run)`` train the same network the same way."""
    argv = ["--smoke", "--policy", "none", "--cutout", "0", "--crop-padding", "0", "--no-flip", "--verbose", "0"]
    ours = example.main(argv + ["--out", str(tmp_path / "example")])
    theirs = train_classifier(example.parse_args(argv + ["--out", str(tmp_path / "recipe")]).run)
    for a, b in zip(ours["model"].get_weights(), theirs["model"].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert ours["results"]["top1"] == theirs["results"]["top1"]


def test_models_beyond_the_presets(example):
    model = build_classifier(example.parse_args(["--model", "wrn_16_2", "--normalize", "none"]).run.config())
    assert (model.depth, model.width, model.input_mean) == (16, 2, None)
    # WRN-16-2: stem 432; group widths 32, 64, 128 with two blocks each; BN 128 + dense 1290
    expected = 432 + (32 + 4608 + 64 + 9216 + 512 + 2 * (64 + 9216)) \
        + (64 + 18432 + 128 + 36864 + 2048 + 2 * (128 + 36864)) \
        + (128 + 73728 + 256 + 147456 + 8192 + 2 * (256 + 147456)) + 256 + 1290
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == expected
    preset = build_classifier(example.parse_args(["--model", "wrn_40_2"]).run.config())
    assert preset.name == "wrn_40_2" and preset.input_std is not None


def test_augmentation_pipeline(example, rng):
    def make_augmentation(*flags):
        return recipe_augmentation(example.parse_args(list(flags)).run.config().data)

    images = rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    identity = make_augmentation("--policy", "none", "--cutout", "0", "--crop-padding", "0", "--no-flip")
    np.testing.assert_array_equal(identity(images).numpy(), images)
    only_cutout = make_augmentation("--policy", "none", "--cutout", "8", "--crop-padding", "0", "--no-flip")(images).numpy()
    changed = only_cutout != images
    assert np.all(only_cutout[changed] == 0.0)  # Cutout fills with 0 (mid-grey in [-1, 1])
    per_image = changed.reshape(8, -1).sum(axis=1) / 3
    assert per_image.max() <= 64 and per_image.min() > 0
    full = make_augmentation()(images).numpy()
    assert full.shape == images.shape and full.min() >= -1.0 and full.max() <= 1.0
    assert not np.allclose(full, images)


@pytest.mark.parametrize("argv, message", [
    (["--batch-size", "0"], "`batch_size` must be an integer >= 1. Received: batch_size=0"),
    (["--cutout", "-1"], "`cutout` must be an integer >= 0. Received: cutout=-1"),
    (["--policy", "mnist"], "argument --policy: invalid choice: 'mnist'"),
    (["--model", "resnet50"], "expected a name wrn_<depth>_<width> such as wrn_28_10, got 'resnet50'"),
    (["--model", "wrn_12_2"], "'wrn_12_2': the depth must be 6n + 4"),
    (["--label-smoothing", "2"], "`label_smoothing` must be a number >= 0.0 and <= 1.0. Received: label_smoothing=2.0"),
    (["--epochs", "3", "--warmup-epochs", "3"], "`warmup_epochs` must be smaller than `epochs` (3)"),
    (["--checkpoint", "x"], "--checkpoint is only used with --evaluate"),
])
def test_bad_arguments_exit_with_a_clear_message(example, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        example.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_evaluate_without_a_checkpoint_names_the_directory(example, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No classifier checkpoint at `checkpoint`=.*checkpoints"):
        example.main(["--smoke", "--evaluate", "--out", str(tmp_path), "--verbose", "0"])


def test_missing_data_folder_is_reported(example, tmp_path):
    from ascendgan.data import DatasetNotFoundError

    with pytest.raises(DatasetNotFoundError, match="CIFAR-10 was not found"):
        example.main(["--smoke", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path), "--verbose", "0"])
