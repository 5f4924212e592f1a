"""Data parallelism of the classifier on 2 logical CPU devices (``tf.distribute``): the same
weights after N steps as one device on the full batch.

Logical devices must be configured before TensorFlow initializes, so the training runs in
a fresh process: this file, run as a script, prints one ``RESULT {json}`` line.
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _child():
    from ascendgan.strategy import configure_logical_cpus

    configure_logical_cpus(2)

    import shutil
    import tempfile

    import numpy as np
    import tensorflow as tf

    from ascendgan import compat
    from ascendgan.models.classifiers import wide_resnet
    from ascendgan.models.classifiers.classifier_presets import SGDSettings
    from ascendgan.recipes.classifier import compile_classifier, fit_classifier, train_classifier
    from ascendgan.recipes.classifier_run import ClassifierRun
    from ascendgan.strategy import get_strategy

    one = get_strategy("cpu", precision="float32")
    two = get_strategy("cpu", devices=2, precision="float32")
    rng = np.random.default_rng(0)
    images = rng.normal(0, 1, (32, 8, 8, 3)).astype("float32")
    labels = rng.integers(0, 4, 32).astype("int32")
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)  # the global batch

    def fit(strategy, sync):
        compat.clear_session()
        with strategy.scope():
            compat.set_random_seed(0)
            model = wide_resnet("wrn_10_1", input_shape=(8, 8, 3), num_classes=4, sync_batch_norm=sync)
            initial = [np.asarray(w) for w in model.weights]
            compile_classifier(model, SGDSettings(learning_rate=0.02), strategy=strategy)
            history = fit_classifier(model, data, epochs=2, verbose=0)  # 8 steps
        return initial, [np.asarray(w) for w in model.weights], history.history["loss"]

    def spread(a, b):
        return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))

    result = {"replicas": two.num_replicas}
    for sync in (True, False):
        init_one, one_weights, one_loss = fit(one, sync)
        init_two, two_weights, two_loss = fit(two, sync)
        result[f"sync={sync}"] = {"initial_diff": spread(init_one, init_two),
                                  "weight_diff": spread(one_weights, two_weights),
                                  "weight_change": spread(init_one, one_weights),
                                  "loss_one": one_loss, "loss_two": two_loss}

    # The whole run: 1 device x batch 8 versus 2 replicas x batch 4 per device, same seed.
    out = tempfile.mkdtemp()
    overrides = {"policy": "none", "cutout": 0, "crop_padding": 0, "flip": False, "sync_batch_norm": True,
                 "steps_per_epoch": 3, "epochs": 2, "checkpoint_every": None, "learning_rate": 0.02}
    runs = {}
    for name, strategy, batch in (("one", one, 8), ("two", two, 4)):
        run = ClassifierRun(out=os.path.join(out, name), smoke=True, verbose=0, precision="float32",
                            overrides={**overrides, "batch_size": batch})
        outcome = train_classifier(run, strategy)
        runs[name] = ([np.asarray(w) for w in outcome["model"].weights], outcome["results"]["step"])
    shutil.rmtree(out, ignore_errors=True)
    result["run_weight_diff"] = spread(runs["one"][0], runs["two"][0])
    result["run_steps"] = [runs["one"][1], runs["two"][1]]
    print("RESULT " + json.dumps(result))


def test_two_replicas_train_the_weights_of_one_device_on_the_full_batch():
    completed = subprocess.run(
        [sys.executable, os.path.abspath(__file__)], capture_output=True, text=True, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, cwd=HERE,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert completed.returncode == 0 and lines, completed.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["replicas"] == 2
    synced = result["sync=True"]
    # same initial weights; 8 SGD steps with momentum later the weights moved by > 0.01, and
    # two replicas of 4 examples (gradients all-reduced, batch statistics over both) match
    # one device on the batch of 8
    assert synced["initial_diff"] == 0.0 and synced["weight_change"] > 1e-2
    assert synced["weight_diff"] < 1e-4
    assert synced["loss_two"] == pytest.approx(synced["loss_one"], rel=1e-5)
    # per-replica batch statistics (the documented runs' default) are a different computation
    assert result["sync=False"]["weight_diff"] > 1e-3
    # train_classifier: batch_size is per device, the data order does not depend on the replicas
    assert result["run_steps"] == [6, 6] and result["run_weight_diff"] < 1e-4


if __name__ == "__main__":
    _child()
