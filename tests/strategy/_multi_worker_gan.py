"""Run by test_distribute.py as one of several worker processes: RANK_SIZE / RANK_ID /
WORKER_HOSTS come from the environment; prints the trained weights' checksum."""

import json
import sys

from ascendgan.strategy import get_strategy

strategy = get_strategy("multi_worker")  # first: collective ops are set up at start-up

import numpy as np  # noqa: E402
from _strategy_gans import data_latent_dataset, make_data_latent_gan  # noqa: E402

from ascendgan import compat  # noqa: E402

keras = compat.keras


def main():
    with strategy.scope():
        compat.set_random_seed(0)
        gan = make_data_latent_gan()
        gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05), loss="hinge",
                    loss_scale="dynamic")  # the loss-scale path of no-merge-call strategies
        gan.fit(data_latent_dataset(global_batch=8).take(2), epochs=1, verbose=0)
    weights = [np.asarray(v) for v in gan.generator.weights + gan.discriminator.weights]
    print("RESULT " + json.dumps({
        "replicas": strategy.num_replicas,
        "d_state": gan.wrapped_discriminator_optimizer.loss_scale_manager.state(),
        "checksum": float(sum(np.sum(w.astype("float64") * (i + 1)) for i, w in enumerate(weights))),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
