"""Keras callbacks for GAN training: checkpoints (atomic, resumable)."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat

keras = compat.keras


class GANCheckpoint(keras.callbacks.Callback):
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
        super().__init__()
        if every_n_steps is not None and (not isinstance(every_n_steps, int) or every_n_steps < 1):
            raise ValueError(f"`every_n_steps` must be a positive integer or None. Received: {every_n_steps!r}")
        if not isinstance(max_to_keep, int) or max_to_keep < 1:
            raise ValueError(f"`max_to_keep` must be a positive integer. Received: {max_to_keep!r}")
        self.directory = str(directory)
        self.every_n_steps = every_n_steps
        self.max_to_keep = max_to_keep
        self.restore = restore
        self.manager = None
        self.restored_path = None

    def _ensure_manager(self):
        if self.manager is None:
            self.manager = tf.train.CheckpointManager(
                self.model.checkpoint(),
                self.directory,
                max_to_keep=self.max_to_keep,
                step_counter=self.model.generator_optimizer.iterations,
            )
        return self.manager

    def on_train_begin(self, logs=None):
        manager = self._ensure_manager()
        if self.restore and manager.latest_checkpoint:
            manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
            self.restored_path = manager.latest_checkpoint

    def _step(self):
        return int(self.model.generator_optimizer.iterations.numpy())

    def save(self):
        """Writes a checkpoint numbered by the generator step; returns its path."""
        return self._ensure_manager().save(checkpoint_number=self._step())

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps and self._step() % self.every_n_steps == 0:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_steps is None:
            self.save()


def restore_latest(gan, directory):
    """Restores the latest checkpoint of ``directory`` into ``gan``; returns its path or None."""
    gan.build_models()
    latest = tf.train.latest_checkpoint(str(directory))
    if latest:
        gan.checkpoint().restore(latest).expect_partial()
    return latest


__all__ = ["GANCheckpoint", "restore_latest"]
