"""Helpers shared by the export tests (imported by name: tests/export is on sys.path)."""

import numpy as np
import tensorflow as tf


def perturb_ema(gan, scale=0.05):
    """Makes the averaged generator's kernels differ from the raw generator's."""
    rng = np.random.default_rng(1)
    gan.ema_generator.set_weights(
        [w + scale * rng.standard_normal(w.shape).astype(w.dtype) if w.ndim > 1 else w
         for w in gan.generator.get_weights()]
    )
    return gan


def latents(batch=2, seed=0, latent_dim=120):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, latent_dim)).astype("float32"),
            rng.integers(0, 10, batch).astype("int32"))


def run_frozen(graph_def, feeds):
    """Runs a frozen GraphDef in a fresh graph and TF1 session, as ATC-style tools see it."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run("output:0", {f"{name}:0": value for name, value in feeds.items()})


def keras_images(model, inputs, training=False):
    return np.asarray(tf.cast(model(inputs, training=training), tf.float32))
