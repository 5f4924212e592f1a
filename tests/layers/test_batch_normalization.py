"""The batch normalization of the DCGAN / Pix2Pix networks (Keras's layer on one fused
kernel) against Keras's own layer and numpy, and every batch-norm layer's
``synchronized=True`` on two replicas against one device with the whole batch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.layers.batch_normalization import BatchNormalization

keras = compat.keras
HERE = Path(__file__).parent




@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_fused_batch_norm_matches_keras(policy):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(2.0, 3.0, (3, 5, 4, 6)).astype("float32"))
    weights = tf.constant((np.arange(x.shape.num_elements()) % 7).reshape(x.shape), tf.float32)
    with compat.precision_scope(policy):
        ours = BatchNormalization(momentum=0.9, epsilon=1e-5)
        theirs = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
        for layer in (ours, theirs):
            layer.build(x.shape)
            layer.gamma.assign(np.linspace(0.5, 1.5, 6).astype("float32"))
            layer.beta.assign(np.linspace(-1, 1, 6).astype("float32"))
        outputs, grads = [], []
        for layer in (ours, theirs):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, training=True)
                loss = tf.reduce_sum(tf.cast(y, tf.float32) * weights)
            outputs.append(np.asarray(tf.cast(y, tf.float32)))
            grads.append([np.asarray(g) for g in tape.gradient(loss, [x, layer.gamma])])
            assert y.dtype == (tf.bfloat16 if policy == "mixed_bfloat16" else tf.float32)
        inference = [np.asarray(tf.cast(layer(x), tf.float32)) for layer in (ours, theirs)]
    tol = 0.05 if policy == "mixed_bfloat16" else 1e-4
    np.testing.assert_allclose(outputs[0], outputs[1], atol=tol)
    np.testing.assert_allclose(inference[0], inference[1], atol=tol)
    np.testing.assert_allclose(grads[0][0], grads[1][0], atol=tol * 10)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-3, atol=tol * 10)
    # moving statistics: numpy mean and variance with each Keras's convention (Keras 3
    # averages the biased batch variance, tf_keras's fused layer the unbiased one)
    # (the layer sees x rounded to its compute dtype)
    compute = tf.bfloat16 if policy == "mixed_bfloat16" else tf.float32
    values = np.asarray(tf.cast(tf.cast(x, compute), tf.float32)).reshape(-1, 6)
    np.testing.assert_allclose(np.asarray(ours.moving_mean), 0.1 * values.mean(0), atol=1e-4)
    np.testing.assert_allclose(
        np.asarray(ours.moving_variance), 0.9 + 0.1 * values.var(0, ddof=0 if compat.KERAS_3 else 1),
        rtol=1e-4)
    assert [compat.variable_name(w) for w in ours.weights] == [
        compat.variable_name(w) for w in theirs.weights]
    assert type(ours).__name__ == "BatchNormalization"
    restored = BatchNormalization.from_config(ours.get_config())
    assert restored.get_config() == ours.get_config()


def test_fused_batch_norm_freezes_when_not_trainable():
    x = tf.constant(np.random.default_rng(1).normal(size=(2, 3, 3, 4)).astype("float32"))
    layer = BatchNormalization()
    layer.build(x.shape)
    layer.trainable = False
    y = layer(x, training=True)  # Keras: a frozen BN runs in inference mode
    np.testing.assert_allclose(np.asarray(layer.moving_mean), np.zeros(4))
    np.testing.assert_allclose(np.asarray(y), np.asarray(x) / np.sqrt(1 + 1e-3), atol=1e-5)


def test_synchronized_layers_on_two_replicas_match_one_device_with_the_whole_batch():
    result = subprocess.run(
        [sys.executable, str(HERE / "_synchronized_bn.py")], capture_output=True, text=True,
        timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, cwd=str(HERE),
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    for name in ("BatchNormalization", "FusedBatchNormalization", "ResBlockUp"):
        synced, local = result[name]["True"], result[name]["False"]
        assert synced["moving_count"] >= 2
        # two replicas with half a batch each = one device with the whole batch ...
        assert synced["output"] < 1e-5 and synced["moving"] < 1e-5, name
        # ... which per-replica statistics are not (the halves have different means)
        assert local["output"] > 0.5 and local["moving"] > 0.1, name
    # the networks pass synchronized_batch_norm=True to every normalization layer
    assert result["network_flags"] == {"dcgan": [True], "unet": [True], "biggan": [True]}


@pytest.mark.parametrize("factory, preset, small", [
    ("dcgan", "mnist", {"base_filters": 4}),
    ("pix2pix", "facades_128", {"base_filters": 4, "discriminator_base_filters": 4}),
    ("biggan", "cifar10", {"base_channels": 4}),
])
def test_factories_take_synchronized_batch_norm(factory, preset, small):
    from ascendgan import models

    gan = getattr(models, factory)(preset, synchronized_batch_norm=True, **small)
    assert gan.generator.get_config()["synchronized_batch_norm"] is True
    restored = type(gan.generator).from_config(gan.generator.get_config())
    assert restored.synchronized_batch_norm is True
    assert getattr(models, factory)(preset, **small).generator.get_config()["synchronized_batch_norm"] is False
    # DCGAN / Pix2Pix check with ascendgan.validation (ValueError); BigGAN's own check is a TypeError
    error = TypeError if factory == "biggan" else ValueError
    with pytest.raises(error, match="`synchronized_batch_norm` must be True or False. Received"):
        type(gan.generator)(synchronized_batch_norm="yes")


def test_training_on_several_replicas_synchronizes_batch_norm_unless_told_otherwise():
    from ascendgan.recipes import replica_overrides

    assert replica_overrides({"base_filters": 4}, 1) == {"base_filters": 4}
    assert replica_overrides({"base_filters": 4}, 2) == {"base_filters": 4, "synchronized_batch_norm": True}
    assert replica_overrides({"synchronized_batch_norm": False}, 8) == {"synchronized_batch_norm": False}
    assert replica_overrides(None, 2) == {"synchronized_batch_norm": True}


# ----------------------------------------------------------------------------- batch_norm="keras"

NETWORKS = [
    ("DCGANGenerator", {"image_size": 16, "base_filters": 4, "latent_dim": 8}, (2, 8)),
    ("DCGANDiscriminator", {"image_size": 16, "base_filters": 4}, (2, 16, 16, 3)),
    ("UNetGenerator", {"image_size": 32, "base_filters": 4, "dropout": 0.0}, (2, 32, 32, 3)),
    ("PatchGANDiscriminator", {"base_filters": 4, "target_channels": 0}, (2, 32, 32, 3)),
]


@pytest.mark.parametrize("name, kwargs, shape", NETWORKS)
def test_networks_switch_to_keras_batch_norm_with_the_same_variables(name, kwargs, shape):
    from ascendgan import models

    cls = getattr(models, name)
    fused, plain = cls(**kwargs), cls(batch_norm="keras", **kwargs)
    assert (fused.batch_norm, plain.batch_norm) == ("fused", "keras")
    norms = [[layer for layer in net._flatten_layers() if "Normalization" in type(layer).__name__]
             for net in (fused, plain)]
    assert norms[0] and len(norms[0]) == len(norms[1])
    assert {type(layer) for layer in norms[0]} == {BatchNormalization}
    assert {type(layer) for layer in norms[1]} == {keras.layers.BatchNormalization}
    assert {(layer.momentum, layer.epsilon) for layer in norms[1]} == {(0.9, 1e-5)}
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype("float32")
    fused(x), plain(x)
    # same variables: a checkpoint of one loads into the other and computes the same
    assert [(compat.variable_name(w), tuple(w.shape)) for w in fused.weights] == [
        (compat.variable_name(w), tuple(w.shape)) for w in plain.weights]
    plain.set_weights(fused.get_weights())
    for training in (False, True):
        np.testing.assert_allclose(np.asarray(plain(x, training=training)),
                                   np.asarray(fused(x, training=training)), atol=1e-4)
    # the argument is part of the config; configs saved before it existed mean "fused"
    config = plain.get_config()
    assert config["batch_norm"] == "keras"
    assert cls.from_config(config).get_config() == config
    old = {key: value for key, value in fused.get_config().items() if key != "batch_norm"}
    assert cls.from_config(old).batch_norm == "fused"
    with pytest.raises(ValueError, match=r"`batch_norm` must be one of \('fused', 'keras'\). "
                                         r"Received: batch_norm='cudnn'"):
        cls(batch_norm="cudnn", **kwargs)
