"""ascendgan.recipes.classifier_run: the run object and its presets (CIFAR-10 and ImageNet),
the data (per-device batches, NPU shards, epoch orders), the augmentation, the network and
the log line of a run."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan.models.classifiers import WideResNet, classifier_preset, classifier_presets
from ascendgan.recipes.classifier_run import (
    ClassifierRun,
    StepLog,
    build_classifier,
    classifier_datasets,
    data_parallel_batch,
    format_results,
    image_batches,
    load_images,
    make_augmentation,
    synthetic_cifar,
)
from ascendgan.strategy import RankInfo, Strategy, get_strategy, resolve_precision


def test_the_default_run_is_the_documented_configuration():
    config = ClassifierRun(out="unused").config()
    assert config.network.model == "wrn_28_10" and config.network.normalize == "cifar10"
    schedule = config.schedule
    # batch 128 per device, 5 warm-up epochs, a checkpoint every 5000 steps, 5 kept, a line every 100
    assert (schedule.epochs, schedule.batch_size, schedule.warmup_epochs) == (150, 128, 5)
    assert (schedule.checkpoint_every, schedule.max_checkpoints, schedule.log_every) == (5000, 5, 100)
    assert ClassifierRun(out="unused").precision == "auto" and not config.network.sync_batch_norm
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
    ({"overrides": {"epochs": 3}}, r"`warmup_epochs` must be smaller than `epochs` \(3\); pass warmup_epochs=0 ... 2"),
    ({"overrides": {"dataset": "mnist"}}, r"`dataset` must be one of \('cifar10', 'imagenet'\)"),
    ({"preset": "autoaugment_imagenet", "overrides": {"eval_resize": 200}}, r"`eval_resize` must be an integer >= 224"),
    ({"preset": "autoaugment_imagenet", "data_format": "python"}, r"`data_format` must be one of \('auto', 'folder', 'tfrecord'\)"),
    ({"data_format": "tfrecord"}, r"`data_format` must be one of \('auto', 'python'"),
    ({"restore_exclude": ["logits", 3]}, r"`restore_exclude` must be a list of patterns"),
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
    assert preset.network.kwargs() == {"num_classes": 10, "dropout_rate": 0.0, "input_mean": None,
                                       "input_std": None, "sync_batch_norm": False}
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
    train, test, steps = classifier_datasets(run)
    assert steps == 4 and len(test) == 2
    assert int(train.cardinality()) == int(tf.data.INFINITE_CARDINALITY)  # epochs follow each other
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


# ----------------------------------------------------------------------------- documented run


def test_the_imagenet_preset_of_the_documented_run():
    config = ClassifierRun(out="unused", preset="autoaugment_imagenet").config()
    data, network = config.data, config.network
    assert (data.dataset, data.image_size, data.eval_resize, data.policy, data.cutout) == ("imagenet", 224, 256, "imagenet", 0)
    assert network.num_classes == 1000 and network.normalize == "imagenet"
    # the standard ImageNet statistics, moved from [0, 1] to the [-1, 1] images of ascendgan
    mean, std = classifier_presets.NORMALIZATIONS["imagenet"]
    np.testing.assert_allclose(mean, [-0.03, -0.088, -0.188], atol=1e-12)
    np.testing.assert_allclose(std, [0.458, 0.448, 0.45], atol=1e-12)
    ascend_mean, ascend_std = classifier_presets.NORMALIZATIONS["imagenet_ascend"]
    np.testing.assert_allclose((np.array(ascend_mean) + 1) * 127.5, [121, 115, 100])
    np.testing.assert_allclose(np.array(ascend_std) * 127.5, [70, 68, 71])
    # optimizer and schedule are the documented run's
    cifar = classifier_preset()
    assert config.optimizer == cifar.optimizer and config.schedule == cifar.schedule
    model = build_classifier(classifier_preset("autoaugment_imagenet", smoke=True))
    assert model.num_classes == 1000 and model.input_mean == pytest.approx(list(mean))
    smoke = classifier_preset("autoaugment_imagenet", smoke=True).data
    assert (smoke.image_size, smoke.eval_resize) == (32, 36)


def test_per_device_batches_and_npu_shards(tmp_path):
    assert data_parallel_batch(None, 128) == (128, None)
    assert data_parallel_batch(get_strategy("cpu"), 128) == (128, None)
    precision = resolve_precision("float32", device="npu")
    npu = Strategy("npu", tf.distribute.get_strategy(), precision, rank=RankInfo(rank_size=8, rank_id=3))
    # each of the 8 NPU processes reads every 8th example from its rank on, 128 at a time
    assert npu.num_replicas == 8 and data_parallel_batch(npu, 128) == (128, (8, 3))

    run = ClassifierRun(out=str(tmp_path), smoke=True, overrides={"batch_size": 4})
    images, labels = load_images(run, "train")  # 32 synthetic images
    two = Strategy("npu", tf.distribute.get_strategy(), precision, rank=RankInfo(rank_size=2, rank_id=1))
    train, test, steps = classifier_datasets(run, strategy=two)
    assert steps == 4  # 16 examples in the shard of rank 1, in batches of 4
    seen = [y for _, batch in zip(range(steps), train) for y in batch[1].numpy().tolist()]
    odd = labels[1::2].tolist()
    assert sorted(seen) == sorted(odd)  # one epoch of rank 1 is exactly its shard
    assert sum(len(b[1]) for b in test) == 16  # every process evaluates the whole test split


def test_epochs_are_reshuffled_the_same_way_every_time(tmp_path):
    images, labels = synthetic_cifar(12, seed=1)
    labels = np.arange(12, dtype=np.int32)  # labels name the examples

    def epochs(seed):
        stream = image_batches(images, labels, 4, shuffle=True, seed=seed, drop_remainder=True, repeat=True)
        order = [y for batch in stream.take(6) for y in batch[1].numpy().tolist()]
        return order[:12], order[12:]

    first, second = epochs(5)
    assert sorted(first) == sorted(second) == list(range(12)) and first != second
    assert epochs(5) == (first, second)  # a pure function of the seed
    assert epochs(6) != (first, second)


def test_step_log_line():
    lines = []
    log = StepLog(every_n_steps=2, total_steps=6, learning_rate=lambda step: 0.1 * step,
                  print_fn=lines.append)

    class Model:
        class optimizer:  # noqa: N801 - a stand-in with the one attribute read
            iterations = tf.Variable(0, dtype=tf.int64)

    log.set_model(Model())
    log.on_epoch_begin(0)
    for step in (1, 2):
        Model.optimizer.iterations.assign(step)
        log.on_train_batch_end(step - 1, {"loss": 1.23456, "top1": 0.5, "ms_per_step": 40.0,
                                          "images_per_s": 3200.0})
    assert lines == ["step 2/6  epoch 1  loss 1.2346  top1 0.5000  lr 0.200000  batch 40.0 ms  FPS 3200.0"]
