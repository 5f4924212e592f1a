"""The documented GAN runs: a :class:`GANRun` describes one, :func:`train_gan` trains it.

``ascendgan train`` and the scripts in ``examples/`` are two front doors to the same
functions: they build a :class:`GANRun` (the CLI from its arguments, the examples in code)
and call :func:`train_gan`; :func:`load_run` rebuilds a trained GAN from its run directory for
``ascendgan sample`` / ``evaluate`` / ``export``. See :mod:`ascendgan.recipes.run_dir` for the
run directory's layout.
"""

from __future__ import annotations

import dataclasses
import math
import os

import tensorflow as tf

from ascendgan import compat, metrics
from ascendgan import strategy as strategy_lib
from ascendgan.models import get_family
from ascendgan.recipes.datasets import HELD_OUT, DataSource, preset_dataset, training_split
from ascendgan.recipes.graph_run import train_graph
from ascendgan.recipes.run_dir import RunDirectory
from ascendgan.recipes.storage import CopyBack, pull_run, push_run
from ascendgan.training.callbacks import SampleGrid, Throughput
from ascendgan.training.checkpoints import (
    UNREADABLE,
    CheckpointError,
    GANCheckpoint,
    newest_restorable,
    orphan_files,
    remove_partial_saves,
    restore_checkpoint,
    restore_latest,
    set_aside,
    write_checkpoint_state,
)
from ascendgan.validation import check_bool, check_int, check_seed

keras = compat.keras

#: Generator steps of a ``smoke`` run unless ``steps`` says otherwise.
SMOKE_STEPS = 2
#: Batch size of a ``smoke`` run unless ``batch_size`` says otherwise.
SMOKE_BATCH_SIZE = 2
#: Images per FID measured during training (``fid_every``): cheap, and enough for a curve.
TRAINING_FID_SAMPLES = 2_000
#: The default ``fid_every`` is the first multiple of the checkpoint period at or above this
#: many steps (a 2,000-sample MNIST FID costs about as much as 40 DCGAN steps).
TRAINING_FID_MIN_STEPS = 1_000


@dataclasses.dataclass
class GANRun:
    """One training run of a registered model family.

    Every field has the documented default: ``GANRun("dcgan")`` is the README's main job.

    Args:
        family: a registered family (``ascendgan.models.family_names()``).
        preset: the family's preset (default: the family's default preset).
        overrides: flat preset keys to change (e.g. ``{"base_filters": 32}``).
        data: a :class:`~ascendgan.recipes.DataSource` (where the images are).
        out: run directory (default ``runs/<family>_<preset>``).
        epochs: passes over the data (default: the preset's), unless ``steps`` is given.
        steps: total generator steps (overrides ``epochs``).
        batch_size: images per discriminator step (default: the preset's).
        sample_every: generator steps between sample grids (default: the preset's).
        checkpoint_every: generator steps between checkpoints (default: the preset's).
        keep: checkpoints kept (default: the preset's).
        num_samples: images per sample grid.
        seed: seed of data order, latents and initial weights.
        smoke: the preset's tiny ``smoke`` network, batch 2 and 2 steps, to check the
            pipeline end to end.
        diff_augment: DiffAugment policy applied to real and fake images before D
            (e.g. ``"color,translation,cutout"``).
        resume: continue from the latest checkpoint in ``out/checkpoints``.
        tensorboard: write TensorBoard scalars and images to ``out/logs``.
        verbose: Keras progress-bar verbosity.
        strategy: an ``ascendgan.strategy.Strategy`` (device, precision, loss scaling, data
            parallelism); default ``ascendgan.strategy.get_strategy(precision="auto")``, the
            precision the documented runs use on this device (recorded in ``run.json``).
        train_url: where the run directory is copied to (ModelArts' ``--train_url``:
            ``obs://``, ``s3://``, ``gs://`` or a local folder): the run is pulled back from
            there first, so a restarted job resumes, and copied there after every checkpoint
            and at the end (:mod:`ascendgan.recipes.storage`). ``out`` stays the local copy.
        final_fid: after training, print and record in ``run.json`` the FID of the final
            generator in the shipped domain extractor's features (MNIST / CIFAR-10 presets;
            :func:`final_fid`).
        fid_every: generator steps between FIDs measured during training on
            :data:`TRAINING_FID_SAMPLES` images, MNIST / CIFAR-10 presets only (the shipped
            domain extractor against the held-out split's statistics): printed and written
            to TensorBoard (``out/logs/metrics``). Default: the first multiple of the
            checkpoint period at or above :data:`TRAINING_FID_MIN_STEPS` (off for a smoke
            run); ``0``: off.
        graph_mode: train in a TF1 graph with ``Strategy.session()`` and the wrapped TF1
            optimizers, as the documented Ascend scripts do (legacy Keras only; see
            :mod:`ascendgan.recipes.graph_run`); the same checkpoints as eager mode.
        npu_options: NPU session / ``NPURunConfig`` options for graph mode
            (``iterations_per_loop``, ``enable_dump``, ...; ``--npu-option key=value``).
    """

    family: str
    preset: str | None = None
    overrides: dict = dataclasses.field(default_factory=dict)
    data: DataSource = dataclasses.field(default_factory=DataSource)
    out: str | None = None
    epochs: int | None = None
    steps: int | None = None
    batch_size: int | None = None
    sample_every: int | None = None
    checkpoint_every: int | None = None
    keep: int | None = None
    num_samples: int = 64
    seed: int = 0
    smoke: bool = False
    diff_augment: str | None = None
    resume: bool = True
    tensorboard: bool = True
    verbose: int = 1
    strategy: object = None
    train_url: str | None = None
    final_fid: bool = True
    fid_every: int | None = None
    graph_mode: bool = False
    npu_options: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        family = get_family(self.family)  # an unknown family lists the registered ones
        self.preset = self.preset or family.default_preset
        self.overrides = dict(self.overrides or {})
        # an unknown preset, override key or bad value fails here, naming what is valid
        family.preset(self.preset, self.overrides)
        if not isinstance(self.data, DataSource):
            raise ValueError(f"`data` must be an ascendgan.recipes.DataSource. Received: data={self.data!r}")
        for name in ("epochs", "steps", "batch_size", "sample_every", "checkpoint_every", "keep"):
            check_int(name, getattr(self, name), minimum=1, allow_none=True)
        check_int("num_samples", self.num_samples, minimum=1)
        check_int("fid_every", self.fid_every, minimum=0, allow_none=True)
        check_seed("seed", self.seed)
        check_bool("graph_mode", self.graph_mode)
        if not isinstance(self.npu_options, dict):
            raise ValueError(f"`npu_options` must be a dict. Received: npu_options={self.npu_options!r}")
        self.out = str(self.out or os.path.join("runs", f"{self.family}_{self.preset}"))

    def effective_overrides(self, num_replicas=1):
        """The overrides the networks are built with: the preset's smoke sizes (``smoke``),
        ``synchronized_batch_norm=True`` with more than one replica, then :attr:`overrides`."""
        smoke = dict(get_family(self.family).preset(self.preset).smoke) if self.smoke else {}
        return replica_overrides({**smoke, **self.overrides}, num_replicas)

    def batch_size_for(self, preset):
        """The batch size: the run's, else 2 for a smoke run, else the preset's."""
        return self.batch_size or (SMOKE_BATCH_SIZE if self.smoke else preset.schedule.batch_size)


def replica_overrides(overrides, num_replicas):
    """``overrides`` with ``synchronized_batch_norm=True`` added when training on more than
    one replica (batch statistics of the global batch, as one device would compute them),
    unless ``overrides`` sets it."""
    overrides = dict(overrides or {})
    if num_replicas > 1:
        overrides.setdefault("synchronized_batch_norm", True)
    return overrides


@dataclasses.dataclass(frozen=True)
class TrainingPlan:
    """The numbers a run trains by: its values, else the preset's (see :func:`plan_training`)."""

    batch_size: int
    steps: int
    steps_per_epoch: int
    sample_every: int
    checkpoint_every: int
    keep: int
    fid_every: int = 0


def plan_training(run, preset, dataset_batches, discriminator_steps):
    """Batch size, total steps, steps per epoch and frequencies of a run.

    Args:
        run: the :class:`GANRun` (its values win).
        preset: the resolved preset (its ``schedule`` section gives the defaults).
        dataset_batches: full batches in one pass over the data (0 or less: unknown).
        discriminator_steps: batches one generator step consumes.
    """
    schedule = preset.schedule
    batch_size = run.batch_size_for(preset)
    sample_every = run.sample_every or schedule.sample_every
    checkpoint_every = run.checkpoint_every or schedule.checkpoint_every or sample_every
    keep = run.keep or schedule.max_checkpoints
    steps_per_epoch = max(1, dataset_batches // discriminator_steps) if dataset_batches > 0 else None
    steps = run.steps
    if steps is None:
        if run.smoke:
            steps = SMOKE_STEPS
        elif run.epochs is not None or schedule.epochs is not None:
            if steps_per_epoch is None:
                raise ValueError("The data set's size is unknown: pass `steps` instead of `epochs`.")
            steps = (run.epochs or schedule.epochs) * steps_per_epoch
        else:
            steps = schedule.steps
    steps_per_epoch = min(steps_per_epoch or steps, steps)
    fid_every = run.fid_every
    if fid_every is None:
        fid_every = 0 if run.smoke else checkpoint_every * math.ceil(TRAINING_FID_MIN_STEPS / checkpoint_every)
    return TrainingPlan(batch_size, steps, steps_per_epoch, sample_every, checkpoint_every, keep,
                        fid_every)


class StopAtStep(keras.callbacks.Callback):
    """Stops ``fit`` once the generator has taken ``last_step`` steps."""

    def __init__(self, last_step):
        super().__init__()
        self.last_step = last_step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.generator_optimizer.iterations.numpy()) >= self.last_step:
            self.model.stop_training = True


def run_callbacks(run_dir, plan, discriminator_steps, num_samples=64, seed=0, truncation=None,
                  sample_pairs=None, tensorboard=True, train_url=None, fid=None):
    """The callbacks of a documented run, in order: throughput, checkpoints, sample grids,
    stop at the last step, the FID during training, TensorBoard, the copy to ``train_url``.

    Args:
        run_dir: a :class:`~ascendgan.recipes.RunDirectory`.
        plan: the :class:`TrainingPlan`.
        discriminator_steps: batches per generator step (for images / s).
        num_samples: images per sample grid.
        seed: the sample grids' latent seed.
        truncation: the sample grids' truncation threshold.
        sample_pairs: ``(sources, targets)`` numpy batches for translation GANs' grids.
        tensorboard: also write TensorBoard logs.
        train_url: copy the run directory there after every checkpoint and at the end
            (:class:`~ascendgan.recipes.storage.CopyBack`, which also saves the last step).
        fid: a :class:`~ascendgan.metrics.GANMetrics` (:func:`training_fid`) or ``None``.
    """
    sources, targets = sample_pairs if sample_pairs is not None else (None, None)
    callbacks = [
        Throughput(plan.batch_size * discriminator_steps),
        GANCheckpoint(run_dir.checkpoints, every_n_steps=plan.checkpoint_every,
                      max_to_keep=plan.keep, restore=False),
        SampleGrid(run_dir.samples, every_n_steps=plan.sample_every, num_images=num_samples,
                   seed=seed, truncation=truncation, sources=sources, targets=targets,
                   log_dir=run_dir.logs if tensorboard else None),
        StopAtStep(plan.steps),
    ]
    if fid is not None:
        callbacks.append(fid)
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(
            run_dir.logs, update_freq=max(1, min(50, plan.sample_every, plan.steps)), write_graph=False))
    if train_url:  # last: the checkpoint, grids and logs of a step are written before the copy
        callbacks.append(CopyBack(run_dir.path, train_url, checkpoint=callbacks[1]))
    return callbacks


def train_gan(run):
    """Trains a :class:`GANRun` (the engine of ``ascendgan train`` and the examples).

    Training resumes from the latest checkpoint in ``run.out/checkpoints`` and continues to
    the same final step; the data stream is skipped forward to where the interrupted run
    stopped.

    Returns:
        A dict: run directory, total steps, the step it resumed from, the final step, the last
        logs and the sample-grid paths.

    Example:

    >>> from ascendgan.recipes import GANRun, train_gan
    >>> result = train_gan(GANRun("dcgan", smoke=True, out="/tmp/dcgan_smoke"))  # doctest: +SKIP
    """
    if not isinstance(run, GANRun):
        raise ValueError(f"`run` must be an ascendgan.recipes.GANRun. Received: run={run!r}")
    if run.graph_mode:  # a TF1 graph and session, as the documented Ascend scripts train
        return train_graph(run, plan_training, run_record, npu_options=run.npu_options or None)
    family = get_family(run.family)
    strategy = run.strategy or strategy_lib.get_strategy(precision="auto")
    source = run.data.localized()
    run_dir = RunDirectory(run.out)
    if run.train_url:  # a restarted job continues from what train_url holds
        pull_run(run.train_url, run.out)
    # Only tf.distribute replicas share batch statistics (NPU processes run one replica each).
    overrides = run.effective_overrides(strategy.distribute.num_replicas_in_sync)
    with strategy.scope():  # the precision policy and the tf.distribute scope
        compat.set_random_seed(run.seed)
        preset = family.preset(run.preset, overrides)
        gan = family.build(preset, seed=run.seed)
        if run.diff_augment:
            gan.diff_augment = run.diff_augment
        k = gan.discriminator_steps
        one_pass = preset_dataset(preset, source, run.batch_size_for(preset), seed=run.seed, repeat=False,
                                  drop_remainder=True)
        plan = plan_training(run, preset, int(one_pass.cardinality()), k)
        dataset = preset_dataset(preset, source, plan.batch_size, seed=run.seed)

        gan.compile()
        first = next(iter(dataset.take(1)))
        gan.build_models(tuple(first[0].shape[1:]))
        record = run_record(run, source, plan, overrides, strategy)
        done = start_run(gan, run, run_dir, record)
        result = {"run_dir": run.out, "steps": plan.steps, "resumed_from": done, "samples": []}
        if done >= plan.steps:
            result["final_step"] = done
            return result
        if done:
            dataset = dataset.skip(done * k)  # the batches the interrupted run consumed

        pairs = None
        if preset.data.kind == "paired":  # translation grids: fixed source images
            sample_batch = next(iter(preset_dataset(preset, source, min(run.num_samples, 4),
                                                    seed=run.seed + 1).take(1)))
            pairs = tuple(x.numpy() for x in sample_batch)
        callbacks = run_callbacks(run_dir, plan, k, num_samples=run.num_samples, seed=run.seed,
                                  truncation=preset.schedule.truncation, sample_pairs=pairs,
                                  tensorboard=run.tensorboard, train_url=run.train_url,
                                  fid=training_fid(preset, source, plan.fid_every, run.seed,
                                                   run_dir.logs if run.tensorboard else None))
        history = gan.fit(
            dataset,
            epochs=math.ceil(plan.steps / plan.steps_per_epoch),
            initial_epoch=done // plan.steps_per_epoch,
            steps_per_epoch=plan.steps_per_epoch,
            callbacks=callbacks,
            verbose=run.verbose,
        )
        final = int(gan.generator_optimizer.iterations.numpy())
        if final < plan.steps:  # the data set repeats: only an error ends fit early
            raise RuntimeError(f"Training stopped at generator step {final} of {plan.steps} "
                               f"without an error from fit; the run in {run.out} can be resumed.")
        if final % plan.checkpoint_every and not run.train_url:  # CopyBack saves and copies it
            callbacks[1].save()
        result.update(final_step=final, samples=callbacks[2].written,
                      logs={key: float(values[-1]) for key, values in history.history.items()})
    evaluation = record_final_fid(gan, run, run_dir, record, preset, source)
    if evaluation:
        result["evaluation"] = evaluation
    return result


def record_final_fid(gan, run, run_dir, record, preset, source):
    """When ``run.final_fid`` and the preset's data has a shipped extractor (MNIST,
    CIFAR-10): measures :func:`final_fid`, adds it to ``run.json`` (copied to
    ``run.train_url`` too) and returns it; else ``None``."""
    if not run.final_fid or preset.data.kind not in metrics.DOMAIN_EXTRACTORS:
        return None
    evaluation = final_fid(gan, preset, source, run.smoke, run.seed)
    run_dir.write({**record, "evaluation": evaluation})
    if run.train_url:
        push_run(run.out, run.train_url)
    return evaluation


def final_fid(gan, preset, source, smoke=False, seed=0):
    """The domain FID of a trained GAN (the shipped MNIST / CIFAR-10 extractor) against the
    shipped statistics of the split it did not train on: what the main job prints.

    Returns:
        ``{"fid_<extractor>": value, "protocol": {...}}`` (10,000 samples; 500 for a smoke run).
    """
    result = metrics.domain_fid(gan, preset.data.kind, num_samples=500 if smoke else 10_000,
                                split=held_out_split(preset, source), seed=seed + 2)
    return {**{key: float(value) for key, value in result.values.items()},
            "protocol": {key: value for key, value in result.protocol.items()
                         if isinstance(value, (str, int, float, bool)) or value is None}}


def held_out_split(preset, source):
    """The shipped reference split of a run's domain FID: the split it did not train on
    (the shipped MNIST is the test split, so its reference is the train split)."""
    return HELD_OUT.get(training_split(preset, source.path)[1], "train")


def training_fid(preset, source, every, seed=0, log_dir=None):
    """The :class:`~ascendgan.metrics.GANMetrics` of ``GANRun.fid_every``: every ``every``
    generator steps, the domain FID of :data:`TRAINING_FID_SAMPLES` images (same latents
    each time) against the held-out split's shipped statistics, printed and written to
    TensorBoard in ``log_dir/metrics``; ``None`` when ``every`` is 0 or the preset's data has
    no shipped extractor."""
    domain = preset.data.kind
    if not every or domain not in metrics.DOMAIN_EXTRACTORS:
        return None
    extractor = metrics.domain_extractor(domain)
    reference = metrics.domain_reference(domain, held_out_split(preset, source), extractor=extractor)
    settings = metrics.EvaluationSettings(metrics=["fid"], num_samples=TRAINING_FID_SAMPLES,
                                          extractor=extractor, seed=seed + 3, batch_size=500,
                                          truncation=preset.schedule.truncation)
    return metrics.GANMetrics(reference, settings, every_n_steps=every, every_n_epochs=None,
                              log_dir=log_dir, verbose=1)


def run_preset(record):
    """The resolved :class:`~ascendgan.models.Preset` of a ``run.json`` record."""
    return get_family(record["family"]).preset(record["preset"], record.get("overrides"))


def load_run(run_dir, checkpoint=None):
    """Rebuilds the GAN of a run directory and restores its latest (or a given) checkpoint.

    The networks compute in the precision they were trained in, so samples match the run's.

    Returns:
        ``(gan, checkpoint_path)``.
    """
    directory = RunDirectory(str(run_dir))
    record = directory.read()
    policy = strategy_lib.resolve_precision(record.get("precision") or "float32", "cpu").policy
    with compat.precision_scope(policy):
        gan = get_family(record["family"]).build(run_preset(record), seed=record.get("seed"))
        gan.compile()
    if checkpoint and not tf.io.gfile.isdir(str(checkpoint)):
        return gan, restore_checkpoint(gan, checkpoint, "generator")
    folder = str(checkpoint) if checkpoint else directory.checkpoints
    path = restore_latest(gan, folder, "generator")
    if path is None:
        raise FileNotFoundError(f"No checkpoint in {folder} (no ckpt-N.index file).")
    return gan, path


def start_run(gan, run, run_dir, record):
    """Prepares the run directory of a built, compiled ``gan`` for training; returns the
    generator step it continues from.

    - Leftovers of interrupted saves (``ckpt-N_temp/``, ``checkpoint.tmp*``) are removed.
    - ``run.resume``: the newest checkpoint that restores completely is restored; unreadable
      or incomplete ones (and data files without an index) are named in a warning and moved
      to ``checkpoints/unreadable/``.
      When checkpoints exist but none restores, :class:`CheckpointError` is raised and
      nothing is written.
    - not ``run.resume``: an earlier run in the directory (checkpoints, samples, logs,
      ``run.json``) is moved to ``previous-<UTC time>/``, never deleted.
    - ``run.json`` is written (atomically) last, once the model was built and restored.
    """
    interrupted = remove_partial_saves(run_dir.checkpoints)
    done = 0
    if run.resume:
        try:
            path, skipped = newest_restorable(gan, run_dir.checkpoints, "all", interrupted)
        except CheckpointError as error:
            raise CheckpointError(
                f"{error} {_settings_change(run_dir, record)}Nothing was written; to start afresh in "
                f"{run_dir.path}, pass --no-resume (GANRun(resume=False)), which moves the old run aside."
            ) from None
        unreadable = [p for p, _ in skipped] + orphan_files(run_dir.checkpoints)
        if unreadable:  # kept for inspection; a new save would reuse their numbers
            set_aside(unreadable, os.path.join(run_dir.checkpoints, UNREADABLE))
        if path:
            write_checkpoint_state(run_dir.checkpoints)
            done = int(gan.generator_optimizer.iterations.numpy())
    else:
        moved = run_dir.set_aside()
        if moved:
            print(f"moved the earlier run of {run_dir.path} to {moved}")
    run_dir.write(record)
    return done


def _settings_change(run_dir, record):
    """'run.json says ...; ' when the directory's run was built differently from ``record``."""
    try:
        old = run_dir.read()
    except (FileNotFoundError, ValueError):
        return ""
    keys = ("family", "preset", "overrides")
    if all(old.get(key) == record.get(key) for key in keys):
        return ""
    before = ", ".join(f"{key}={old.get(key)!r}" for key in keys)
    after = ", ".join(f"{key}={record.get(key)!r}" for key in keys)
    return f"The run in this directory was built with {before}; this run asks for {after}. "


def run_record(run, source, plan, overrides, strategy):
    """The ``run.json`` record of a run: what ``load_run``, ``ascendgan sample`` / ``evaluate``
    / ``export`` rebuild the GAN and its data from.

    Args:
        run: the :class:`GANRun`.
        source: the run's (localized) :class:`~ascendgan.recipes.DataSource`.
        plan: the :class:`TrainingPlan`.
        overrides: the overrides the networks were built with
            (:meth:`GANRun.effective_overrides`).
        strategy: the ``ascendgan.strategy.Strategy`` (its precision is recorded).
    """
    return {
        "family": run.family, "preset": run.preset, "overrides": dict(overrides), "seed": run.seed,
        "data": source.path, "data_url": run.data.path, "train_url": run.train_url,
        "pairs": source.pairs, "batch_size": plan.batch_size,
        "steps": plan.steps, "precision": strategy.precision.name,
        "diff_augment": run.diff_augment,
    }


__all__ = ["TRAINING_FID_MIN_STEPS", "TRAINING_FID_SAMPLES", "GANRun", "StopAtStep", "TrainingPlan", "load_run", "plan_training",
           "replica_overrides", "final_fid", "held_out_split", "record_final_fid", "training_fid", "run_callbacks", "run_preset", "run_record", "start_run", "train_gan"]
