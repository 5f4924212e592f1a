"""Checkpoints: one ``tf.train.CheckpointManager`` factory and the periodic-checkpoint
callbacks built on it (atomic, resumable).

``tf.train.CheckpointManager`` writes the data files completely before it replaces the
``checkpoint`` index file atomically, so a crash mid-write leaves the previous checkpoint as
the latest one. :class:`PeriodicCheckpoint` is the shared callback (save every N steps or
every epoch, restore on start); :class:`GANCheckpoint` checkpoints a ``GAN``, and the
classifier trainer and ``GANMetrics``' best checkpoint use the same pieces.
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.validation import check_int

keras = compat.keras


def checkpoint_manager(checkpoint, directory, max_to_keep=1, step_counter=None):
    """The ``tf.train.CheckpointManager`` every checkpoint of this package is written by.

    Args:
        checkpoint: a ``tf.train.Checkpoint``.
        directory: where checkpoints go (any file system ``tf.io.gfile`` supports).
        max_to_keep: number of checkpoints kept (>= 1).
        step_counter: the variable that numbers checkpoints by default.
    """
    max_to_keep = check_int("max_to_keep", max_to_keep, minimum=1)
    return tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=max_to_keep,
                                      step_counter=step_counter)


class PeriodicCheckpoint(keras.callbacks.Callback):
    """Saves a checkpoint every ``every_n_steps`` steps (or every epoch) and restores the
    latest one when training begins.

    Subclasses say what is saved (:meth:`make_checkpoint`) and which variable counts the
    steps (:meth:`step_counter`).

    Args:
        directory: where checkpoints go.
        every_n_steps: save every this many steps; ``None`` saves at the end of every epoch.
        max_to_keep: number of checkpoints kept.
        restore: restore the latest checkpoint in ``directory`` when training begins.
    """

    def __init__(self, directory, every_n_steps=None, max_to_keep=1, restore=True):
        super().__init__()
        self.directory = str(directory)
        self.every_n_steps = check_int("every_n_steps", every_n_steps, minimum=1, allow_none=True)
        self.max_to_keep = check_int("max_to_keep", max_to_keep, minimum=1)
        self.restore = restore
        self.manager = None
        self.restored_path = None

    def make_checkpoint(self):
        """The ``tf.train.Checkpoint`` to save (subclasses)."""
        raise NotImplementedError

    def step_counter(self):
        """The step variable that numbers checkpoints (subclasses)."""
        raise NotImplementedError

    def _ensure_manager(self):
        if self.manager is None:
            self.manager = checkpoint_manager(self.make_checkpoint(), self.directory,
                                              self.max_to_keep, self.step_counter())
        return self.manager

    def restore_latest(self):
        """Restores the latest checkpoint, if any; returns its path or None."""
        manager = self._ensure_manager()
        if manager.latest_checkpoint:
            manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
            self.restored_path = manager.latest_checkpoint
        return manager.latest_checkpoint

    def on_train_begin(self, logs=None):
        if self.restore:
            self.restore_latest()
        else:
            self._ensure_manager()

    def _step(self):
        return int(self.step_counter().numpy())

    def save(self):
        """Writes a checkpoint numbered by the current step; returns its path."""
        return self._ensure_manager().save(checkpoint_number=self._step())

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps and self._step() % self.every_n_steps == 0:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_steps is None:
            self.save()


class GANCheckpoint(PeriodicCheckpoint):
    """Saves and restores everything a ``GAN`` needs to continue training exactly.

    The checkpoint (``GAN.checkpoint()``) holds the generator, the discriminator, the
    averaged generator, both optimizers (with their step counters), the spectral-norm
    vectors and batch-norm statistics (as model variables) and the state of the model's
    latent random-number generator. Writing goes through ``tf.train.CheckpointManager``:
    the data files are complete before the ``checkpoint`` index file is replaced
    atomically, so a crash mid-write leaves the previous checkpoint as the latest one.

    Args:
        directory: where checkpoints go (any file system ``tf.io.gfile`` supports).
        every_n_steps: save every this many generator steps; ``None`` saves at the end of
            every epoch.
        max_to_keep: number of checkpoints kept.
        restore: restore the latest checkpoint in ``directory`` when training begins.

    Example:

    >>> ckpt = GANCheckpoint("runs/dcgan/ckpt", every_n_steps=200)   # doctest: +SKIP
    >>> gan.fit(dataset, epochs=25, callbacks=[ckpt])                 # doctest: +SKIP
    """

    def __init__(self, directory, every_n_steps=None, max_to_keep=1, restore=True):
        super().__init__(directory, every_n_steps=every_n_steps, max_to_keep=max_to_keep,
                         restore=restore)

    def make_checkpoint(self):
        return self.model.checkpoint()

    def step_counter(self):
        return self.model.generator_optimizer.iterations


def restore_latest(gan, directory):
    """Restores the latest checkpoint of ``directory`` into ``gan``; returns its path or None."""
    gan.build_models()
    latest = tf.train.latest_checkpoint(str(directory))
    if latest:
        gan.checkpoint().restore(latest).expect_partial()
    return latest


__all__ = ["GANCheckpoint", "PeriodicCheckpoint", "checkpoint_manager", "restore_latest"]
