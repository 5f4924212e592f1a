"""Run by test_batch_normalization.py in a fresh process (logical CPU devices must be set
up before TensorFlow starts): every batch-norm layer of the library with
``synchronized=True`` on two replicas, each given half of a batch, against the same layer
on one device given the whole batch.

Prints one JSON line: per layer, the largest output and moving-statistics differences for
the synchronized layer and for the unsynchronized one (which must differ: the two halves
have different means).
"""

import json
import sys

from ascendgan.strategy import configure_logical_cpus

configure_logical_cpus(2)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ascendgan.layers import ResBlockUp  # noqa: E402
from ascendgan.layers.batch_normalization import FusedBatchNormalization  # noqa: E402
from ascendgan.models import BigGANGenerator, DCGANGenerator, UNetGenerator  # noqa: E402
from ascendgan.models._common import batch_norm_layer  # noqa: E402

LAYERS = {
    "BatchNormalization": lambda s: batch_norm_layer(synchronized=s),
    "FusedBatchNormalization": lambda s: FusedBatchNormalization(synchronized=s),
    "ResBlockUp": lambda s: ResBlockUp(4, condition=None, synchronized=s),
}


def moving(layer):
    return [np.asarray(w) for w in layer.weights if "moving" in w.name]


def compare(strategy, make, synchronized, x):
    single = make(synchronized)
    single.build(x.shape)
    with strategy.scope():
        layer = make(synchronized)
        layer.build(x.shape)
        layer.set_weights(single.get_weights())  # same (random) initial weights
    expected = np.asarray(single(tf.constant(x), training=True))
    halves = np.split(x, 2)
    inputs = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(halves[context.replica_id_in_sync_group]))
    outputs = tf.function(lambda b: strategy.run(lambda h: layer(h, training=True), args=(b,)))(inputs)
    got = np.concatenate([np.asarray(v) for v in strategy.experimental_local_results(outputs)])
    return {
        "output": float(np.max(np.abs(got - expected))),
        "moving": max(float(np.max(np.abs(a - b))) for a, b in zip(moving(single), moving(layer))),
        "moving_count": len(moving(layer)),
    }


def flags(model):
    return sorted({bool(getattr(layer, "synchronized", None)) for layer in model._flatten_layers()
                   if "Normalization" in type(layer).__name__ or type(layer).__name__ == "ResBlockUp"})


def main():
    rng = np.random.default_rng(0)
    # the two halves differ in mean and spread, so per-replica statistics are wrong
    x = np.concatenate([rng.normal(0.0, 1.0, (2, 4, 4, 3)), rng.normal(3.0, 2.0, (2, 4, 4, 3))])
    x = x.astype("float32")
    # One strategy for every comparison (collective keys are per strategy).
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    result = {name: {str(s): compare(strategy, make, s, x) for s in (True, False)}
              for name, make in LAYERS.items()}
    result["network_flags"] = {
        "dcgan": flags(DCGANGenerator(32, base_filters=4, latent_dim=8, synchronized_batch_norm=True)),
        "unet": flags(UNetGenerator(32, base_filters=4, num_downsamplings=5,
                                    synchronized_batch_norm=True)),
        "biggan": flags(BigGANGenerator(32, base_channels=4, latent_dim=20, num_classes=3,
                                        synchronized_batch_norm=True)),
    }
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
