"""Run by test_distribute.py in a fresh process: a GAN under MirroredStrategy on two
logical CPU devices versus the same GAN on one device (logical devices must be configured
before TensorFlow initializes, so this cannot run inside the pytest process).

Prints one JSON line with the measured differences.
"""

import json
import sys

from ascendgan.strategy import configure_logical_cpus

configure_logical_cpus(2)

import numpy as np  # noqa: E402
from _strategy_gans import data_latent_dataset as dataset  # noqa: E402
from _strategy_gans import make_data_latent_gan as make_gan  # noqa: E402

from ascendgan import compat  # noqa: E402
from ascendgan.optimizers import FusedAdam  # noqa: E402
from ascendgan.strategy import (  # noqa: E402
    ExponentialUpdateLossScaleManager,
    get_strategy,
)

keras = compat.keras


def weights(model, trainable=False):
    return [np.asarray(v) for v in (model.trainable_weights if trainable else model.weights)]


def train(strategy, optimizer=lambda: keras.optimizers.SGD(0.05), reuse_fakes=False):
    compat.clear_session()
    with strategy.scope():
        compat.set_random_seed(0)
        gan = make_gan(ema_decay=0.5, reuse_fakes=reuse_fakes)
        gan.initial = weights(gan.discriminator, trainable=True)
        gan.compile(optimizer(), optimizer(), loss="hinge")
        gan.fit(dataset(), epochs=2, verbose=0)
    return gan


def replica_values(variable):
    inner = compat.full_precision(variable)
    values = getattr(inner, "values", None)
    return [np.asarray(v) for v in values] if values is not None else [np.asarray(inner)]


def main():
    single = train(get_strategy("cpu"))
    mirrored_strategy = get_strategy("cpu", devices=2)
    mirrored = train(mirrored_strategy)
    result = {"replicas": mirrored_strategy.num_replicas}
    result["max_weight_diff"] = max(
        float(np.max(np.abs(a - b)))
        for model in ("generator", "discriminator", "ema_generator")
        for a, b in zip(weights(getattr(single, model)), weights(getattr(mirrored, model)))
    )
    result["max_weight_change"] = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(single.initial, weights(single.discriminator, trainable=True))
    )
    spread = []
    for model in (mirrored.generator, mirrored.discriminator, mirrored.ema_generator):
        for variable in model.non_trainable_weights + model.trainable_weights:
            values = replica_values(variable)
            spread.append(max(float(np.max(np.abs(v - values[0]))) for v in values))
    result["max_replica_spread"] = max(spread)
    result["ema_differs_from_generator"] = not all(
        np.array_equal(a, b) for a, b in zip(weights(mirrored.generator, trainable=True),
                                             weights(mirrored.ema_generator, trainable=True)))
    result["u_vectors"] = sum(
        compat.variable_name(v) == "u" for v in mirrored.discriminator.non_trainable_weights)

    # One generator pass per iteration (reuse_fakes): two replicas give one device's weights.
    reuse_single = train(get_strategy("cpu"), reuse_fakes=True)
    reuse_mirrored = train(mirrored_strategy, reuse_fakes=True)
    result["reuse_fakes_max_weight_diff"] = max(
        float(np.max(np.abs(a - b)))
        for model in ("generator", "discriminator", "ema_generator")
        for a, b in zip(weights(getattr(reuse_single, model)), weights(getattr(reuse_mirrored, model))))
    result["reuse_fakes_differs_from_default"] = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(weights(single.generator), weights(reuse_single.generator)))

    # The library's default optimizer (one fused kernel per variable) under the mirrored
    # strategy: the same weights as Keras's Adam on one device.
    keras_adam = train(get_strategy("cpu"), lambda: keras.optimizers.Adam(1e-3, beta_1=0.5))
    fused_mirrored = train(mirrored_strategy, lambda: FusedAdam(1e-3, beta_1=0.5))
    result["fused_adam_type"] = type(fused_mirrored.generator_optimizer).__name__
    result["adam_max_weight_change"] = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(keras_adam.initial, weights(keras_adam.discriminator, trainable=True)))
    result["fused_adam_max_weight_diff"] = max(
        float(np.max(np.abs(a - b)))
        for model in ("generator", "discriminator")
        for a, b in zip(weights(getattr(keras_adam, model)), weights(getattr(fused_mirrored, model))))
    result["fused_adam_replica_spread"] = max(
        max(float(np.max(np.abs(v - replica_values(w)[0]))) for v in replica_values(w))
        for w in fused_mirrored.discriminator.weights + fused_mirrored.generator.weights)

    # Loss scaling across replicas: replica 1 alone overflows at one step; both skip it.
    manager = ExponentialUpdateLossScaleManager(16.0, incr_every_n_steps=100,
                                                decr_every_n_nan_or_inf=1, decr_ratio=0.5)
    with mirrored_strategy.scope():
        compat.set_random_seed(0)
        gan = make_gan()
        gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05), loss="hinge",
                    loss_scale=manager)
        gan.fit(dataset().take(1), epochs=1, verbose=0)
        before = weights(gan.discriminator, trainable=True)
        gan.poison.assign(1.0)
        history = gan.fit(dataset().take(1), epochs=1, verbose=0)
        after = weights(gan.discriminator, trainable=True)
    d_manager = gan.wrapped_discriminator_optimizer.loss_scale_manager
    result["skip_unchanged"] = all(np.array_equal(a, b) for a, b in zip(before, after))
    result["skip_state"] = d_manager.state()
    result["skip_replica_spread"] = max(
        max(float(np.max(np.abs(v - replica_values(w)[0]))) for v in replica_values(w))
        for w in gan.discriminator.weights)
    result["g_overflows"] = gan.wrapped_generator_optimizer.loss_scale_manager.state()["overflows"]
    result["history_d_loss_scale"] = float(history.history["d_loss_scale"][-1])
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
