"""A classifier run through a strategy: the NPU path (per-device batches, shards, the
optimizer wrapped and the weights broadcast by the Strategy, only the chief writing), loss
scaling in the step, the log line, top-1 / top-5 over a list of checkpoints, fine-tuning
from another run (restore_path / restore_exclude) and the ImageNet preset on a tiny folder."""

import json
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.models.classifiers import restore_weights, wide_resnet
from ascendgan.models.classifiers.classifier_presets import SGDSettings
from ascendgan.recipes.classifier import (
    ClassifierCheckpoint,
    classifier_callbacks,
    compile_classifier,
    evaluate_checkpoints,
    fit_classifier,
    restore_classifier,
    start_classifier,
    train_classifier,
)
from ascendgan.recipes.classifier_run import ClassifierRun, StepLog, TrainingScalars, load_images
from ascendgan.schedules import CosineDecay
from ascendgan.strategy import RankInfo, Strategy, get_strategy, resolve_precision, wrap_optimizer
from ascendgan.training.checkpoints import CheckpointError

keras = compat.keras
PLAIN = {"policy": "none", "cutout": 0}


def smoke_run(out, **kwargs):
    kwargs = {"verbose": 0, "precision": "float32", **kwargs,
              "overrides": {**PLAIN, **kwargs.get("overrides", {})}}
    return ClassifierRun(out=str(out), smoke=True, **kwargs)


def npu_strategy(rank_size, rank_id, calls):
    """An NPU Strategy of one process of ``rank_size`` whose adapter calls are recorded at
    the Strategy API the trainer uses (the optimizer chain itself is tested in
    tests/strategy/test_npu.py); the wrapped optimizer is the CPU one."""
    strategy = Strategy("npu", tf.distribute.get_strategy(), resolve_precision("float32", device="npu"),
                        rank=RankInfo(rank_size=rank_size, rank_id=rank_id))

    def record_wrap(optimizer, loss_scale="auto"):
        calls.append(("wrap_optimizer", optimizer, loss_scale))
        return wrap_optimizer(optimizer, None, loss_scale)

    def record_broadcast(variables, root_rank=0):
        calls.append(("broadcast_variables", [id(v) for v in variables], root_rank))

    strategy.wrap_optimizer = record_wrap
    strategy.broadcast_variables = record_broadcast
    return strategy


class RecordBatches(keras.callbacks.Callback):
    def __init__(self, calls):
        super().__init__()
        self.calls = calls

    def on_train_begin(self, logs=None):
        self.calls.append(("fit",))


def test_an_npu_process_trains_its_shard_with_the_wrapped_optimizer(tmp_path, monkeypatch):
    calls, batches = [], []
    strategy = npu_strategy(2, 1, calls)
    run = smoke_run(tmp_path / "rank1", overrides={"batch_size": 4})
    import ascendgan.recipes.classifier as trainer

    original_fit = trainer.fit_classifier

    def fit(model, dataset, **kwargs):
        batches.extend(y.numpy().tolist() for _, y in dataset.take(kwargs["steps_per_epoch"]))
        kwargs["callbacks"] = [*kwargs["callbacks"], RecordBatches(calls)]
        return original_fit(model, dataset, **kwargs)

    monkeypatch.setattr(trainer, "fit_classifier", fit)
    outcome = train_classifier(run, strategy)
    model = outcome["model"]
    # the Strategy wrapped the model's SGD, then the weights were broadcast from rank 0, then fit
    assert [c[0] for c in calls] == ["wrap_optimizer", "broadcast_variables", "fit"]
    assert calls[0][1] is model.optimizer and isinstance(model.optimizer, keras.optimizers.SGD)
    assert calls[1][1] == [id(v) for v in model.variables] and calls[1][2] == 0
    # batch_size is per device: rank 1 of 2 reads 4 of its 16 examples (every other one) a step
    _, labels = load_images(run, "train")
    assert [len(b) for b in batches] == [4, 4] and outcome["results"]["step"] == 2
    assert set(sum(batches, [])) <= set(labels[1::2].tolist())
    # only the chief (rank 0) writes: no checkpoints, logs, model.json or results.json here
    assert not os.path.exists(run.path("checkpoints")) or not os.listdir(run.path("checkpoints"))
    assert not any(os.path.exists(run.path(name)) for name in ("logs", "model.json", "results.json"))
    assert outcome["results"]["num_images"] == 16  # but every process evaluates


def test_the_chief_writes_and_the_others_only_read(tmp_path):
    chief = classifier_callbacks(smoke_run(tmp_path, verbose=1), strategy=npu_strategy(8, 0, []))
    other = classifier_callbacks(smoke_run(tmp_path, verbose=1), strategy=npu_strategy(8, 5, []))
    assert [type(c).__name__ for c in chief] == ["Throughput", "ClassifierCheckpoint", "TrainingScalars", "StepLog"]
    assert [type(c).__name__ for c in other] == ["Throughput", "ClassifierCheckpoint"]
    assert chief[0].images_per_step == 8 * 8  # FPS over the 8 devices
    assert chief[1].chief and not other[1].chief
    assert isinstance(chief[2], TrainingScalars) and isinstance(chief[3], StepLog)


def test_loss_scaling_in_the_step_is_exact_in_float32():
    """The documented Ascend manager (2**32 ...) scales the loss and unscales the gradients by
    a power of two: in float32 the weights are bit-identical to an unscaled run, and the logs
    report the scale."""
    rng = np.random.default_rng(0)
    images = rng.normal(0, 1, (16, 8, 8, 3)).astype("float32")
    labels = rng.integers(0, 4, 16).astype("int32")
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    results = {}
    for loss_scale in (None, "ascend"):
        compat.set_random_seed(1)
        model = wide_resnet("wrn_10_1", input_shape=(8, 8, 3), num_classes=4)
        strategy = get_strategy("cpu", loss_scale=loss_scale)
        with strategy.scope():
            compile_classifier(model, SGDSettings(learning_rate=0.1), CosineDecay(0.1, 4), strategy=strategy)
            history = fit_classifier(model, data, epochs=2, verbose=0)
        results[loss_scale] = ([np.asarray(w) for w in model.weights], history.history)
    for a, b in zip(results[None][0], results["ascend"][0]):
        np.testing.assert_array_equal(a, b)
    logs = results["ascend"][1]
    assert logs["loss_scale"] == [2.0**32] * 2 and logs["overflows"] == [0.0, 0.0]
    assert "loss_scale" not in results[None][1] and logs["loss"] == results[None][1]["loss"]


def test_log_lines_and_top_k_over_a_list_of_checkpoints(tmp_path, capsys):
    run = ClassifierRun(out=str(tmp_path), smoke=True, verbose=2, precision="float32",
                        overrides={**PLAIN, "checkpoint_every": 1})
    outcome = train_classifier(run)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    # 2 steps of lr 0.06 cosine: lr(1) = 0.03, lr(2) = 0; FPS = 8 images / batch time
    assert lines[0].startswith("step 1/2  epoch 1  loss ") and "lr 0.030000" in lines[0]
    assert lines[1].startswith("step 2/2  epoch 1  loss ") and "lr 0.000000" in lines[1]
    ms = float(lines[1].split("batch ")[1].split(" ms")[0])
    fps = float(lines[1].split("FPS ")[1])
    assert fps == pytest.approx(8000.0 / ms, rel=2e-3)

    evaluated = evaluate_checkpoints(run)
    assert [os.path.basename(r["checkpoint"]) for r in evaluated] == ["ckpt-1", "ckpt-2"]
    images, labels = load_images(run, "test")
    for result in evaluated:
        model = wide_resnet("wrn_10_1", input_shape=(32, 32, 3), **run.config().network.kwargs())
        restore_classifier(model, result["checkpoint"])
        logits = model(images / 127.5 - 1.0, training=False).numpy()
        order = np.argsort(-logits, axis=1, kind="stable")
        assert result["top1"] == pytest.approx(np.mean(order[:, 0] == labels))
        assert result["top5"] == pytest.approx(np.mean([label in row[:5] for label, row in zip(labels, order)]))
    assert evaluated[-1]["top1"] == outcome["results"]["top1"]
    chosen = evaluate_checkpoints(run, [evaluated[1]["checkpoint"], evaluated[0]["checkpoint"]])
    assert [r["top5"] for r in chosen] == [evaluated[1]["top5"], evaluated[0]["top5"]]
    with pytest.raises(FileNotFoundError, match="No classifier checkpoint"):
        evaluate_checkpoints(smoke_run(tmp_path / "empty"))


# ----------------------------------------------------------------------------- fine-tuning


def _source_checkpoint(tmp_path):
    compat.set_random_seed(3)
    source = wide_resnet("wrn_10_1", input_shape=(32, 32, 3), num_classes=10)
    for variable in source.weights:  # values no initializer gives
        variable.assign(tf.random.normal(variable.shape, seed=1) + 3.0)
    prefix = tf.train.Checkpoint(model=source).save(str(tmp_path / "source" / "ckpt"))
    return source, prefix


def test_restore_weights_leaves_the_excluded_layer(tmp_path):
    source, prefix = _source_checkpoint(tmp_path)
    target = wide_resnet("wrn_10_1", input_shape=(32, 32, 3), num_classes=4)
    initial_dense = [np.asarray(w) for w in target.classifier.weights]
    loaded = restore_weights(target, tmp_path / "source", exclude=("logits",))
    assert loaded["checkpoint"] == prefix and sorted(loaded["excluded"]) == ["classifier.bias", "classifier.kernel"]
    assert len(loaded["restored"]) == len(target.weights) - 2
    by_path = {compat.variable_path(w): w for w in source.weights}
    dense = {id(w) for w in target.classifier.weights}
    for weight in target.weights:
        if id(weight) in dense:
            continue
        np.testing.assert_array_equal(np.asarray(weight), np.asarray(by_path[compat.variable_path(weight)]))
    for kept, before in zip(target.classifier.weights, initial_dense):
        np.testing.assert_array_equal(np.asarray(kept), before)
    # the attribute path works as a pattern too; the final layer's shape differs otherwise
    assert sorted(restore_weights(target, prefix, exclude=r"^classifier\.")["excluded"]) == [
        "classifier.bias", "classifier.kernel"]
    with pytest.raises(CheckpointError, match=r"ckpt-1: classifier\.kernel \(key 'model/classifier/.*kernel/"
                                              r"\.ATTRIBUTES/VARIABLE_VALUE'\) has shape \[64, 10\] there and \[64, 4\] here"):
        restore_weights(target, prefix)
    deeper = wide_resnet("wrn_16_1", input_shape=(32, 32, 3), num_classes=10)
    with pytest.raises(CheckpointError, match=r"has no value for group1_block2\..*exclude it with restore_exclude"):
        restore_weights(deeper, prefix)
    with pytest.raises(FileNotFoundError, match="is not a checkpoint"):
        restore_weights(target, tmp_path / "source" / "nothing")
    with pytest.raises(ValueError, match="`restore_exclude` must be regular expressions"):
        restore_weights(target, prefix, exclude=("(",))


def test_a_fresh_run_starts_from_restore_path_and_a_resumed_one_from_its_checkpoint(tmp_path):
    source, prefix = _source_checkpoint(tmp_path)
    run = smoke_run(tmp_path / "finetune", overrides={"num_classes": 4, "normalize": "none"},
                    restore_path=str(tmp_path / "source"), restore_exclude=("logits",))
    assert run.config().network.num_classes == 4
    strategy = get_strategy("cpu", precision="float32")
    with strategy.scope():
        model, _ = start_classifier(run, strategy, run.config(), steps=2)
    np.testing.assert_array_equal(np.asarray(model.stem.kernel), np.asarray(source.stem.kernel))
    assert model.classifier.kernel.shape[-1] == 4
    # a run that has checkpoints of its own resumes them instead
    checkpoint = ClassifierCheckpoint(run.path("checkpoints"))
    checkpoint.set_model(model)
    checkpoint.save()
    with strategy.scope():
        fresh, _ = start_classifier(run, strategy, run.config(), steps=2)
    assert not np.array_equal(np.asarray(fresh.stem.kernel), np.asarray(source.stem.kernel))


# ----------------------------------------------------------------------------- ImageNet


def test_the_imagenet_preset_on_a_tiny_class_folder(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for name in ("n01440764", "n01443537"):
            (tmp_path / "data" / split / name).mkdir(parents=True)
            for i in range(4):
                image = rng.integers(0, 256, (24 + 4 * i, 20, 3), dtype=np.uint8)
                tf.io.write_file(str(tmp_path / "data" / split / name / f"{i}.png"), tf.io.encode_png(image))
    run = ClassifierRun(out=str(tmp_path / "run"), preset="autoaugment_imagenet", data=str(tmp_path / "data"),
                        smoke=True, verbose=0, precision="float32",
                        overrides={"num_classes": 2, "image_size": 16, "eval_resize": 20, "batch_size": 4,
                                   "steps_per_epoch": None})
    outcome = train_classifier(run)
    results = outcome["results"]
    assert results["step"] == 2 and results["num_images"] == 8  # 8 training images / 4, all of val
    assert outcome["model"].num_classes == 2 and outcome["model"].input_mean is not None
    saved = json.loads(pathlib.Path(run.path("model.json")).read_text())
    assert saved["num_classes"] == 2
    records = ClassifierRun(out=str(tmp_path / "tfr"), preset="autoaugment_imagenet", data=str(tmp_path / "x"),
                            data_format="tfrecord", smoke=True, verbose=0, overrides={"steps_per_epoch": None})
    (tmp_path / "x").mkdir()
    for split in ("train-00000-of-00001", "validation-00000-of-00001"):
        with tf.io.TFRecordWriter(str(tmp_path / "x" / split)) as writer:
            writer.write(b"")  # the length of TFRecords is unknown until read
    with pytest.raises(ValueError, match=r"`steps_per_epoch` is required.*1,281,167 training images"):
        train_classifier(records, get_strategy("cpu", precision="float32"))
