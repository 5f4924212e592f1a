"""A run directory without training, for the `ascendgan sample` and `ascendgan infer` tests
(imported by name: tests/ is on sys.path through tests/conftest.py)."""

import numpy as np
import tensorflow as tf

from ascendgan.models import get_family
from ascendgan.recipes import RunDirectory


def fake_run(directory, family, preset, overrides, seed=0):
    """run.json and one checkpoint, as `ascendgan train` leaves them; the averaged
    generator's kernels perturbed so that it differs from the raw generator."""
    gan = get_family(family).build(get_family(family).preset(preset, overrides), seed=seed)
    gan.compile()
    gan.build_models()
    if gan.ema_generator is not None:
        rng = np.random.default_rng(1)
        gan.ema_generator.set_weights([w + 0.05 * rng.standard_normal(w.shape).astype(w.dtype)
                                       if w.ndim > 1 else w for w in gan.generator.get_weights()])
    run_dir = RunDirectory(str(directory))
    run_dir.write({"family": family, "preset": preset, "overrides": overrides, "seed": seed,
                   "precision": "float32", "data": None})
    tf.train.CheckpointManager(gan.checkpoint("all"), run_dir.checkpoints, max_to_keep=1).save(
        checkpoint_number=1)
    return gan
