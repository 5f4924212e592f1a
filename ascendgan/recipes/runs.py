"""The documented training runs as one function: data, model, callbacks, resume.

``ascendgan train`` and the scripts in ``examples/`` are two front doors to
:func:`train_gan`; :func:`load_run` rebuilds a trained GAN from its run directory for
``ascendgan sample`` / ``evaluate`` / ``export``.

A run directory holds::

    run.json          what was trained (family, preset, overrides, data, seed)
    checkpoints/      tf.train checkpoints (atomic, resumable)
    samples/          sample grids, step_NNNNNNN.png
    logs/             TensorBoard scalars and image summaries
"""

from __future__ import annotations

import json
import math
import os

import tensorflow as tf

from ascendgan import compat

keras = compat.keras

FAMILIES = ("dcgan", "biggan", "pix2pix")

#: Network overrides of the ``--smoke`` size: the same code path on a tiny network.
SMOKE_OVERRIDES = {
    "dcgan": {"base_filters": 4},
    "biggan": {"base_channels": 8, "shared_embedding_dim": 8, "latent_dim": 20},
    "pix2pix": {"base_filters": 4, "discriminator_base_filters": 4, "image_size": 64,
                "num_downsamplings": 6, "load_size": 72, "crop_size": 64},
}

DEFAULT_PRESETS = {"dcgan": "mnist", "biggan": "cifar10", "pix2pix": "facades"}


def build_gan(family, preset, overrides=None, seed=None):
    """The factory call ``ascendgan.models.<family>(preset, seed=seed, **overrides)``."""
    from ascendgan import models

    if family not in FAMILIES:
        raise ValueError(f"`family` must be one of {FAMILIES}. Received: family={family!r}")
    return getattr(models, family)(preset, seed=seed, **dict(overrides or {}))


def build_dataset(gan, data=None, batch_size=64, seed=0, pairs="ab", smoke=False,
                  skip_corrupt=False, limit=None, repeat=True, shuffle=True, drop_remainder=None):
    """The training data set of a GAN's preset: an infinite stream of batches.

    Args:
        gan: a GAN from a factory (its ``preset`` row names the data set and sizes).
        data: where the data is: MNIST IDX folder, CIFAR-10 batches or class folders, an
            image folder, a folder of A|B pairs or of photos (``pairs="edges"``). ``None``
            uses the MNIST test split shipped with the package for MNIST presets.
        batch_size: images per batch (one discriminator step).
        seed: shuffling and jitter seed.
        pairs: Pix2Pix only: ``"ab"`` (side-by-side A|B files) or ``"edges"`` (edges computed
            from a folder of photos, edges -> photo).
        smoke: accept any data-set size (tiny runs).
        skip_corrupt: skip unreadable images with a warning instead of failing.
        limit: use only the first ``limit`` examples (before shuffling).
        repeat: an infinite stream (training) or one pass (evaluation).
        shuffle: shuffle the examples.
        drop_remainder: drop a last partial batch (default: when ``repeat``).
    """
    from ascendgan import data as data_lib

    row = gan.preset or {}
    family, dataset = row.get("family"), row.get("dataset")
    if drop_remainder is None:
        drop_remainder = repeat
    common = dict(batch_size=batch_size, shuffle=shuffle, seed=seed, repeat=repeat,
                  drop_remainder=drop_remainder)
    if family == "pix2pix":
        if data is None:
            raise ValueError(
                "Pix2Pix needs `data`: a folder of side-by-side A|B images (`pairs='ab'`) or a "
                "folder of photos to derive edges -> photo pairs from (`pairs='edges'`). Received: data=None"
            )
        jitter = dict(load_size=row["load_size"], crop_size=row["crop_size"], flip=row["flip"])
        if pairs == "ab":
            return data_lib.paired_images(data, direction=row["direction"], jitter=True,
                                          skip_corrupt=skip_corrupt, limit=limit, **jitter, **common)
        if pairs == "edges":
            return data_lib.edge_pairs(data, jitter=True, skip_corrupt=skip_corrupt, limit=limit,
                                       **jitter, **common)
        raise ValueError(f"`pairs` must be 'ab' or 'edges'. Received: pairs={pairs!r}")
    with_labels = bool(gan.num_classes)
    size, channels = row["image_size"], row["channels"]
    if dataset == "mnist":
        split = "test" if data is None else "train"
        images = data_lib.mnist(data, split=split, with_labels=with_labels, limit=limit, **common)
        if size != 28:
            images = images.map(lambda *x: (tf.image.resize(x[0], (size, size)), *x[1:]))
        return images
    if dataset == "cifar10" and data is not None and not _is_flat_image_folder(data):
        return data_lib.cifar10(data, split="train", with_labels=with_labels, limit=limit, **common)
    if data is None:
        raise ValueError(
            f"The preset {row.get('name')!r} trains on {dataset!r}: pass `data`, the folder that holds "
            "it (an image folder works for every image preset). Received: data=None"
        )
    center_crop = row.get("crop_size")
    return data_lib.image_folder(
        data, image_size=size, center_crop=center_crop, channels=channels,
        crop_to_aspect_ratio=center_crop is None,  # photos of any shape: centred square, then resize
        with_labels=with_labels, skip_corrupt=skip_corrupt, limit=limit, **common,
    )


def _is_flat_image_folder(path):
    names = tf.io.gfile.listdir(path)
    return any(name.lower().endswith((".jpg", ".jpeg", ".png")) for name in names)


def _write_json(path, payload):
    temporary = f"{path}.tmp"
    with tf.io.gfile.GFile(temporary, "w") as handle:
        handle.write(json.dumps(payload, indent=2, sort_keys=True))
    tf.io.gfile.rename(temporary, path, overwrite=True)


def read_run(run_dir):
    """The ``run.json`` of a run directory (what was trained)."""
    path = os.path.join(str(run_dir), "run.json")
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(
            f"`run_dir` must be a run directory written by `ascendgan train` (with a run.json). "
            f"Not found: {path}"
        )
    with tf.io.gfile.GFile(path) as handle:
        return json.loads(handle.read())


def load_run(run_dir, checkpoint=None):
    """Rebuilds the GAN of a run directory and restores its latest (or a given) checkpoint.

    Returns:
        ``(gan, checkpoint_path)``.
    """
    from ascendgan.strategy import resolve_precision
    from ascendgan.training.checkpoints import restore_latest

    run = read_run(run_dir)
    # the networks compute in the precision they were trained in, so samples match the run's
    policy = resolve_precision(run.get("precision") or "float32", "cpu").policy
    with compat.precision_scope(policy):
        gan = build_gan(run["family"], run["preset"], run.get("overrides"), seed=run.get("seed"))
        gan.compile()
    if checkpoint:
        gan.build_models()
        gan.checkpoint().restore(checkpoint).expect_partial()
        return gan, checkpoint
    path = restore_latest(gan, os.path.join(str(run_dir), "checkpoints"))
    if path is None:
        raise FileNotFoundError(f"No checkpoint in {os.path.join(str(run_dir), 'checkpoints')}")
    return gan, path


class _StopAtStep(keras.callbacks.Callback):
    def __init__(self, last_step):
        super().__init__()
        self.last_step = last_step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.generator_optimizer.iterations.numpy()) >= self.last_step:
            self.model.stop_training = True


def replica_overrides(overrides, num_replicas):
    """``overrides`` with ``synchronized_batch_norm=True`` added when training on more than
    one replica (batch statistics of the global batch, as one device would compute them),
    unless ``overrides`` sets it."""
    overrides = dict(overrides or {})
    if num_replicas > 1:
        overrides.setdefault("synchronized_batch_norm", True)
    return overrides


def train_gan(family, preset=None, data=None, out=None, *, epochs=None, steps=None,
              batch_size=None, sample_every=None, checkpoint_every=None, keep=None,
              num_samples=64, precision="float32", seed=0, smoke=False, overrides=None,
              pairs="ab", diff_augment=None, skip_corrupt=False, limit=None, cache=None, verbose=1,
              tensorboard=True, resume=True, device="auto", loss_scale="auto", devices=None,
              strategy=None):
    """Trains a documented GAN (the engine of ``ascendgan train`` and the examples).

    Defaults come from the preset row (batch size, epochs or steps, sample and checkpoint
    frequency, kept checkpoints). Training resumes from the latest checkpoint in
    ``out/checkpoints`` and continues to the same final step; the data stream is skipped
    forward to where the interrupted run stopped.

    Args:
        family: ``"dcgan"``, ``"biggan"`` or ``"pix2pix"``.
        preset: the factory preset (default: mnist / cifar10 / facades).
        data: data location (see :func:`build_dataset`).
        out: run directory (default ``runs/<family>_<preset>``).
        epochs: passes over the data (default: the preset's), unless ``steps`` is given.
        steps: total generator steps (overrides ``epochs``).
        batch_size: images per discriminator step (default: the preset's).
        sample_every: generator steps between sample grids.
        checkpoint_every: generator steps between checkpoints.
        keep: checkpoints kept.
        num_samples: images per sample grid.
        precision: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"`` or an Ascend
            precision mode (``"allow_mix_precision"``, ...); see ``ascendgan.strategy``.
        seed: seed of data order, latents and initial weights.
        smoke: a tiny network and a few steps, to check the pipeline end to end.
        overrides: preset keys to change (e.g. ``{"base_filters": 32}``).
        pairs: Pix2Pix data layout, ``"ab"`` or ``"edges"``.
        diff_augment: DiffAugment policy applied to real and fake images before D
            (e.g. ``"color,translation,cutout"``).
        skip_corrupt: skip unreadable images with a warning.
        limit: use only this many training examples.
        cache: copy a remote ``data`` folder to this local folder first (skipping files
            already there), as the documented object-storage runs do.
        verbose: Keras progress-bar verbosity.
        tensorboard: write TensorBoard scalars and images to ``out/logs``.
        resume: continue from the latest checkpoint in ``out/checkpoints``.
        device: ``"auto"``, ``"cpu"``, ``"gpu"``, ``"npu"`` or ``"multi_worker"``.
        loss_scale: loss scaling (``"auto"``: dynamic when computing in float16;
            ``"ascend"``: the documented 2^32 / 1000 / 0.8 manager; a number; ``None``).
        devices: number of CPU / GPU replicas for data parallelism. With more than one
            replica the networks' batch norm is synchronized over the global batch
            (``synchronized_batch_norm=True``) unless ``overrides`` says otherwise.
        strategy: an ``ascendgan.strategy.Strategy`` (overrides ``device``, ``precision``,
            ``loss_scale`` and ``devices``).

    Returns:
        A dict: run directory, final step, last logs, sample-grid paths.
    """
    from ascendgan.training.callbacks import SampleGrid, Throughput
    from ascendgan.training.checkpoints import GANCheckpoint, restore_latest

    if family not in FAMILIES:
        raise ValueError(f"`family` must be one of {FAMILIES}. Received: family={family!r}")
    preset = preset or DEFAULT_PRESETS[family]
    overrides = dict(overrides or {})
    if smoke:
        overrides = {**SMOKE_OVERRIDES[family], **overrides}
    out = str(out or os.path.join("runs", f"{family}_{preset}"))
    if cache and data is not None:
        from ascendgan import data as data_lib

        data = data_lib.cache_locally(data, cache)
    from ascendgan import strategy as strategy_lib

    if strategy is None:
        strategy = strategy_lib.get_strategy(device, precision=precision, loss_scale=loss_scale,
                                             devices=devices)
    precision = strategy.precision.name  # what run.json records, and load_run rebuilds in
    # Only tf.distribute replicas share batch statistics (NPU processes run one replica each).
    overrides = replica_overrides(overrides, strategy.distribute.num_replicas_in_sync)
    with strategy.scope():  # the precision policy and the tf.distribute scope
        compat.set_random_seed(seed)
        gan = build_gan(family, preset, overrides, seed=seed)
        if diff_augment:
            gan.diff_augment = diff_augment
        row = gan.preset
        batch_size = int(batch_size or (2 if smoke else row["batch_size"]))
        sample_every = int(sample_every or row.get("sample_every", 500))
        checkpoint_every = int(checkpoint_every or row.get("checkpoint_every", sample_every))
        keep = int(keep or row.get("max_checkpoints", 3))
        k = gan.discriminator_steps

        options = dict(batch_size=batch_size, seed=seed, pairs=pairs, smoke=smoke,
                       skip_corrupt=skip_corrupt, limit=limit)
        dataset = build_dataset(gan, data, **options)
        batches = int(build_dataset(gan, data, repeat=False, drop_remainder=True, **options).cardinality())
        steps_per_epoch = max(1, batches // k) if batches > 0 else None
        if steps is None:
            if smoke:
                steps = 2
            elif epochs is not None or "epochs" in row:
                if steps_per_epoch is None:
                    raise ValueError("The data set's size is unknown: pass `steps` instead of `epochs`.")
                steps = int(epochs or row["epochs"]) * steps_per_epoch
            else:
                steps = int(row["steps"])
        steps = int(steps)
        steps_per_epoch = min(steps_per_epoch or steps, steps)

        tf.io.gfile.makedirs(out)
        _write_json(os.path.join(out, "run.json"), {
            "family": family, "preset": preset, "overrides": overrides, "seed": seed,
            "data": None if data is None else str(data), "pairs": pairs, "batch_size": batch_size,
            "steps": steps, "precision": precision, "diff_augment": diff_augment,
        })
        gan.compile()
        first = next(iter(dataset.take(1)))
        gan.build_models(tuple(first[0].shape[1:]))
        checkpoint_dir = os.path.join(out, "checkpoints")
        done = 0
        if resume and restore_latest(gan, checkpoint_dir):
            done = int(gan.generator_optimizer.iterations.numpy())
        result = {"run_dir": out, "steps": steps, "resumed_from": done, "samples": []}
        if done >= steps:
            result["final_step"] = done
            return result
        if done:
            dataset = dataset.skip(done * k)  # the batches the interrupted run consumed

        sources = targets = None
        if family == "pix2pix":
            sample_batch = next(iter(build_dataset(gan, data, **dict(options, batch_size=min(num_samples, 4),
                                                                       seed=seed + 1)).take(1)))
            sources, targets = (x.numpy() for x in sample_batch)
        grids = SampleGrid(os.path.join(out, "samples"), every_n_steps=sample_every, num_images=num_samples,
                           seed=seed, truncation=row.get("truncation") if family == "biggan" else None,
                           sources=sources, targets=targets,
                           log_dir=os.path.join(out, "logs") if tensorboard else None)
        callbacks = [
            Throughput(batch_size * k),
            GANCheckpoint(checkpoint_dir, every_n_steps=checkpoint_every, max_to_keep=keep, restore=False),
            grids,
            _StopAtStep(steps),
        ]
        if tensorboard:
            callbacks.append(keras.callbacks.TensorBoard(os.path.join(out, "logs"), update_freq=max(1, min(50, sample_every, steps)),
                                                         write_graph=False))
        history = gan.fit(
            dataset,
            epochs=math.ceil(steps / steps_per_epoch),
            initial_epoch=done // steps_per_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=callbacks,
            verbose=verbose,
        )
        final = int(gan.generator_optimizer.iterations.numpy())
        if final % checkpoint_every:
            callbacks[1].save()
        result.update(final_step=final, samples=grids.written,
                      logs={key: float(values[-1]) for key, values in history.history.items()})
        return result


__all__ = ["FAMILIES", "SMOKE_OVERRIDES", "build_dataset", "build_gan", "load_run", "read_run", "train_gan"]
