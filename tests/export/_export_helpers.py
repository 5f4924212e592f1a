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


def fake_run(directory, family, preset, overrides, perturb=True, seed=0):
    """A run directory as `ascendgan train` leaves it (run.json + one checkpoint), without
    training: the family's GAN built from the preset, its averaged generator perturbed."""
    import os

    from ascendgan.models import get_family
    from ascendgan.recipes import RunDirectory

    gan = get_family(family).build(get_family(family).preset(preset, overrides), seed=seed)
    gan.compile()
    gan.build_models()
    if perturb and gan.ema_generator is not None:
        perturb_ema(gan)
    run_dir = RunDirectory(str(directory))
    run_dir.write({"family": family, "preset": preset, "overrides": overrides, "seed": seed,
                   "precision": "float32", "data": None})
    manager = tf.train.CheckpointManager(gan.checkpoint("all"), run_dir.checkpoints, max_to_keep=1)
    path = manager.save(checkpoint_number=1)
    assert os.path.exists(path + ".index")
    return gan
