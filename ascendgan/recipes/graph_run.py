"""``train_gan``'s graph-mode twin: a :class:`~ascendgan.recipes.GANRun` trained in a TF1
graph with ``Strategy.session()`` (``ascendgan train --graph-mode``).

The run is the same as in eager mode: the same preset, data stream, seed, initial weights
(the networks are first built eagerly with the run's seed and their values copied into the
graph), losses, optimizers (TF1 Adam with the preset's settings, wrapped by
``Strategy.wrap_graph_optimizer``) and checkpoints (the eager keys, so ``load_run``,
``ascendgan sample`` / ``evaluate`` / ``export`` and an eager resume read them). NPU
session options (``iterations_per_loop``, ``enable_dump``, ...) come from the strategy's
``npu_options`` (``--npu-option key=value``). Needs legacy Keras (``TF_USE_LEGACY_KERAS=1``).
"""

from __future__ import annotations

import os

import tensorflow as tf

from ascendgan import compat
from ascendgan import strategy as strategy_lib
from ascendgan.models import get_family
from ascendgan.recipes.datasets import preset_dataset
from ascendgan.recipes.run_dir import RunDirectory
from ascendgan.training import weight_keys
from ascendgan.training.batches import regroup
from ascendgan.training.checkpoints import (
    checkpoint_manager,
    find_checkpoints,
    remove_partial_saves,
    write_checkpoint_state,
)
from ascendgan.training.graph import GraphTraining, require_legacy_keras


def _initial_values(family, preset, seed, image_shape, strategy):
    """The networks' initial weights of the eager run with ``seed`` (``{network: {key: array}}``)
    and the GAN's ``discriminator_steps``."""
    with strategy.scope():
        compat.set_random_seed(seed)
        gan = family.build(preset, seed=seed)
        gan.build_models(image_shape)
    values = {}
    for name in ("generator", "ema_generator", "discriminator"):
        model = getattr(gan, name, None)
        if model is not None:
            values[name] = {key: variable.numpy() for key, variable in weight_keys.variable_keys(model).items()}
    return values, gan.discriminator_steps


def train_graph(run, plan_training, run_record, npu_options=None, history=None):
    """Trains ``run`` in a TF1 graph; returns what ``train_gan`` returns (without sample grids).

    Args:
        run: a :class:`~ascendgan.recipes.GANRun` (its strategy: one replica; on an NPU from
            ``get_strategy("npu", graph_mode=True, npu_options=...)``).
        plan_training, run_record: ``ascendgan.recipes.runs``' functions of those names
            (passed in by ``train_gan``, which imports this module: no import cycle).
        npu_options: extra NPU session options for this run (override the strategy's).
        history: a list the logs of every step are appended to (tests, reports).

    Raises:
        RuntimeError: under Keras 3 (set ``TF_USE_LEGACY_KERAS=1``).
    """
    require_legacy_keras("--graph-mode (GANRun graph mode)")
    family = get_family(run.family)
    strategy = run.strategy or strategy_lib.get_strategy(precision="auto", graph_mode=True)
    source = run.data.localized()
    run_dir = RunDirectory(run.out)
    overrides = run.effective_overrides(1)
    preset = family.preset(run.preset, overrides)
    one_pass = preset_dataset(preset, source, run.batch_size_for(preset), seed=run.seed, repeat=False,
                              drop_remainder=True)
    image_shape = tuple(one_pass.element_spec[0].shape[1:]) if isinstance(one_pass.element_spec, tuple) \
        else tuple(one_pass.element_spec.shape[1:])
    initial, k = _initial_values(family, preset, run.seed, image_shape, strategy)
    plan = plan_training(run, preset, int(one_pass.cardinality()), k)

    graph = tf.Graph()
    with graph.as_default(), strategy.scope():
        tf.compat.v1.set_random_seed(run.seed)
        gan = family.build(preset, seed=run.seed)
        if run.diff_augment:
            gan.diff_augment = run.diff_augment
        dataset = regroup(preset_dataset(preset, source, plan.batch_size, seed=run.seed),
                          gan.discriminator_steps, plan.batch_size)
        element = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()
        training = GraphTraining(gan, strategy, element)
        checkpoint = training.checkpoint("all")
        manager = checkpoint_manager(checkpoint, run_dir.checkpoints, plan.keep)

    os.makedirs(run_dir.checkpoints, exist_ok=True)
    remove_partial_saves(run_dir.checkpoints)
    with strategy.session(graph=graph, npu_options=npu_options) as session:
        training.initialize(session)
        done = 0
        if run.resume and find_checkpoints(run_dir.checkpoints):
            path = find_checkpoints(run_dir.checkpoints)[0]
            training.restore(session, checkpoint, path)
            write_checkpoint_state(run_dir.checkpoints)
            done = training.step(session)
        else:
            if not run.resume:
                moved = run_dir.set_aside()
                if moved:
                    print(f"moved the earlier run of {run_dir.path} to {moved}")
            training.load_values(session, initial)
        record = run_record(run, source, plan, overrides, strategy)
        record["graph_mode"] = True
        run_dir.write(record)
        result = {"run_dir": run.out, "steps": plan.steps, "resumed_from": done, "samples": []}
        for _ in range(done):  # the data stream continues where the interrupted run stopped
            session.run(tf.nest.flatten(element))
        logs = {}
        step = done
        while step < plan.steps:
            logs = training.run_step(session)
            step += 1
            if history is not None:
                history.append(logs)
            if run.verbose:
                print(f"step {step}/{plan.steps} " + " ".join(f"{k}={v:.4g}" for k, v in logs.items()))
            if step % plan.checkpoint_every == 0 or step == plan.steps:
                with session.as_default():
                    manager.save(checkpoint_number=step)
        result.update(final_step=step, logs=logs)
        return result


__all__ = ["train_graph"]
