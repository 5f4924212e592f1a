"""ascendgan.recipes.classifier_run: the run object and its preset, the data, the
augmentation and the network of a run."""

import numpy as np
import pytest

from ascendgan.models.classifiers import WideResNet, classifier_preset, classifier_presets
from ascendgan.recipes.classifier_run import (
    ClassifierRun,
    build_classifier,
    classifier_datasets,
    format_results,
    image_batches,
    load_images,
    make_augmentation,
    synthetic_cifar,
)


def test_the_default_run_is_the_documented_configuration():
    config = ClassifierRun(out="unused").config()
    assert config.network.model == "wrn_28_10" and config.network.normalize == "cifar10"
    assert (config.schedule.epochs, config.schedule.batch_size, config.schedule.warmup_epochs) == (150, 128, 0)
    optimizer = config.optimizer
    assert (optimizer.learning_rate, optimizer.momentum, optimizer.nesterov) == (0.06, 0.9, False)
    assert (optimizer.weight_decay, optimizer.label_smoothing) == (1e-4, 0.1)
    data = config.data
    assert (data.policy, data.cutout, data.crop_padding, data.flip, data.input_shape) == ("cifar10", 16, 4, True, (32, 32, 3))
    assert classifier_presets.AUTOAUGMENT_CIFAR10 is classifier_presets.CLASSIFIER_PRESETS["autoaugment_cifar10"]


def test_smoke_size_then_overrides():
    config = ClassifierRun(out="unused", smoke=True, overrides={"epochs": 2, "dropout_rate": 0.3}).config()
    assert config.network.model == "wrn_10_1" and config.network.dropout_rate == 0.3
    assert (config.schedule.epochs, config.schedule.steps_per_epoch, config.schedule.batch_size) == (2, 2, 8)
    assert config.optimizer.learning_rate == 0.06  # untouched sections stay the documented ones


@pytest.mark.parametrize("kwargs, message", [
    ({"overrides": {"widen": 4}}, r"Unknown classifier override key\(s\) \['widen'\].*Valid keys: .*'batch_size'"),
    ({"overrides": {"batch_size": 0}}, r"`batch_size` must be an integer >= 1. Received: batch_size=0"),
    ({"overrides": {"epochs": 3, "warmup_epochs": 3}}, r"`warmup_epochs` must be smaller than `epochs` \(3\)"),
    ({"overrides": {"model": "resnet50"}}, r"expected a name wrn_<depth>_<width> such as wrn_28_10, got 'resnet50'"),
    ({"overrides": {"model": "wrn_12_2"}}, r"'wrn_12_2': the depth must be 6n \+ 4"),
    ({"overrides": {"policy": "mnist"}}, r"`policy` must be one of"),
    ({"overrides": {"label_smoothing": 2.0}}, r"`label_smoothing` must be a number >= 0.0 and <= 1.0"),
    ({"preset": "imagenet"}, r"Unknown classifier preset 'imagenet'"),
    ({"precision": "float16"}, r"`precision` must be one of"),
    ({"seed": -1}, r"`seed` must be a non-negative integer"),
])
def test_invalid_runs_fail_when_described(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassifierRun(out="unused", **kwargs)


def test_preset_sections_route_overrides():
    preset = classifier_preset(overrides={"normalize": "none", "nesterov": True, "cutout": 0})
    assert preset.network.kwargs() == {"num_classes": 10, "dropout_rate": 0.0, "input_mean": None, "input_std": None}
    assert preset.optimizer.nesterov and preset.data.cutout == 0
    assert "model" in preset.keys() and "learning_rate" in preset.keys()


def test_network_of_a_run_beyond_the_presets():
    model = build_classifier(classifier_preset(overrides={"model": "wrn_16_2", "normalize": "none"}))
    assert isinstance(model, WideResNet) and model.name == "wrn_16_2"
    assert (model.depth, model.width, model.input_mean) == (16, 2, None)
    # WRN-16-2: stem 432; group widths 32, 64, 128 with two blocks each; BN 128 + dense 1290
    expected = 432 + (32 + 4608 + 64 + 9216 + 512 + 2 * (64 + 9216)) \
        + (64 + 18432 + 128 + 36864 + 2048 + 2 * (128 + 36864)) \
        + (128 + 73728 + 256 + 147456 + 8192 + 2 * (256 + 147456)) + 256 + 1290
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == expected
    preset = build_classifier(classifier_preset(overrides={"model": "wrn_40_2"}))
    assert preset.name == "wrn_40_2" and preset.input_std is not None


def test_synthetic_data_and_batches(tmp_path):
    images, labels = synthetic_cifar(20, seed=3)
    assert images.dtype == np.uint8 and images.shape == (20, 32, 32, 3) and labels.max() < 10
    run = ClassifierRun(out=str(tmp_path), smoke=True)
    assert load_images(run, "train")[0].shape == (32, 32, 32, 3)
    assert load_images(run, "test")[0].shape == (16, 32, 32, 3)
    train, test = classifier_datasets(run)
    assert len(train) == 4 and len(test) == 2
    x, y = next(iter(image_batches(images, labels, 8)))
    np.testing.assert_allclose(x.numpy(), images[:8] / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(y.numpy(), labels[:8])
    assert sum(int(b[1].shape[0]) for b in image_batches(images, labels, 8)) == 20  # last batch kept


def test_augmentation_pipeline(rng):
    images = rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    preset = classifier_preset()

    def augmentation(**overrides):
        return make_augmentation(preset.with_overrides(overrides).data)

    identity = augmentation(policy="none", cutout=0, crop_padding=0, flip=False)
    np.testing.assert_array_equal(identity(images).numpy(), images)
    only_cutout = augmentation(policy="none", cutout=8, crop_padding=0, flip=False)(images).numpy()
    changed = only_cutout != images
    assert np.all(only_cutout[changed] == 0.0)  # Cutout fills with 0 (mid-grey in [-1, 1])
    per_image = changed.reshape(8, -1).sum(axis=1) / 3
    assert per_image.max() <= 64 and per_image.min() > 0
    full = make_augmentation(preset.data)(images).numpy()
    assert full.shape == images.shape and full.min() >= -1.0 and full.max() <= 1.0
    assert not np.allclose(full, images)


def test_format_results():
    line = format_results({"top1": 0.5, "top5": 0.75, "loss": 1.25, "num_images": 16, "images_per_s": 99.6},
                          prefix="test: ")
    assert line == "test: top-1 50.00%  top-5 75.00%  loss 1.2500  (16 images, 100 images/s)"
