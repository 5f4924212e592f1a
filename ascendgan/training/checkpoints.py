"""Checkpoints: one ``tf.train.CheckpointManager`` factory and the periodic-checkpoint
callbacks built on it (atomic, resumable).

``tf.train.CheckpointManager`` writes the data files completely before it replaces the
``checkpoint`` index file atomically, so a crash mid-write leaves the previous checkpoint as
the latest one. :class:`PeriodicCheckpoint` is the shared callback (save every N steps or
every epoch, restore on start); :class:`GANCheckpoint` checkpoints a ``GAN``, and the
classifier trainer and ``GANMetrics``' best checkpoint use the same pieces.
"""

from __future__ import annotations

import os
import re
import warnings

import tensorflow as tf

from ascendgan import compat
from ascendgan.validation import check_choice, check_int

keras = compat.keras


#: Subfolder of a checkpoint directory that unreadable checkpoints are moved to.
UNREADABLE = "unreadable"


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
        self._interrupted = []

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
        self._ensure_manager()
        path, skipped = _newest(self.restore_checkpoint, self.directory, self._interrupted)
        self.restored_path = path
        if skipped:  # continue from the restored one; the skipped ones are not overwritten
            set_aside([p for p, _ in skipped], os.path.join(self.directory, UNREADABLE))
            write_checkpoint_state(self.directory)
            self.manager = None
            self._ensure_manager()
        return path

    def restore_checkpoint(self, path):
        """Restores one checkpoint completely (:class:`CheckpointError` otherwise)."""
        return restore_into(self._ensure_manager().checkpoint, path)

    def on_train_begin(self, logs=None):
        self._interrupted = remove_partial_saves(self.directory)
        if self.restore:
            self.restore_latest()
        else:
            self._ensure_manager()

    def _step(self):
        return int(self.step_counter().numpy())

    def save(self):
        """Writes a checkpoint numbered by the current step; returns its path.

        Raises:
            CheckpointWriteError: the file system refused the write (full disk, file-size
                limit, permissions), naming the checkpoint. TensorFlow reports some of these
                as ``OutOfRangeError``, which ``fit`` would take for the end of the data and
                silently stop or skip ahead, so it is raised as an ``OSError`` instead.
        """
        step = self._step()
        try:
            return self._ensure_manager().save(checkpoint_number=step)
        except tf.errors.OpError as error:
            target = os.path.join(self.directory, f"ckpt-{step}")
            raise CheckpointWriteError(f"Could not write checkpoint {target}: {_short(error)}") from None

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

    def restore_checkpoint(self, path):
        # the checkpoint's own layout (older layouts too), checked like every GAN restore
        return restore_checkpoint(self.model, path, "all")


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (full disk, file-size limit, permissions); the
    previous checkpoints are untouched."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or that does not restore every variable it must.

    The message names the checkpoint and what went wrong (the read error, or the objects
    of the model the checkpoint holds no value for).
    """


_CHECKPOINT_NUMBER = re.compile(r"-(\d+)$")


def checkpoint_number(path):
    """The number of a checkpoint prefix (``.../ckpt-15`` -> 15), or -1."""
    match = _CHECKPOINT_NUMBER.search(str(path))
    return int(match.group(1)) if match else -1


def find_checkpoints(directory):
    """The checkpoints of ``directory``, newest (highest number) first.

    Found by their ``.index`` files, so a lost or stale ``checkpoint`` state file hides
    none of them.
    """
    directory = str(directory)
    if not tf.io.gfile.isdir(directory):
        return []
    prefixes = [name[: -len(".index")] for name in tf.io.gfile.listdir(directory)
                if name.endswith(".index") and not name.startswith(".")]
    prefixes.sort(key=lambda name: (checkpoint_number(name), name), reverse=True)
    return [os.path.join(directory, name) for name in prefixes]


def orphan_files(directory):
    """Data files of ``directory`` whose ``.index`` is missing (a checkpoint that cannot be
    restored, and whose number a new save would reuse)."""
    directory = str(directory)
    if not tf.io.gfile.isdir(directory):
        return []
    indexed = {os.path.basename(path) for path in find_checkpoints(directory)}
    return sorted(os.path.join(directory, name) for name in tf.io.gfile.listdir(directory)
                  if ".data-" in name and name.split(".data-")[0] not in indexed)


def remove_partial_saves(directory):
    """Deletes what an interrupted save leaves behind: ``ckpt-N_temp/`` folders and
    temporary state files (``checkpoint.tmp*``, ``*.tempstate*``); never a checkpoint.

    Returns:
        The prefixes (``.../ckpt-N``) whose save was interrupted: TensorFlow removes
        ``ckpt-N_temp/`` only after ``ckpt-N.index`` is complete, so such a checkpoint may be
        torn (callers try it, and treat a failure as an unfinished save, not a damaged run).
    """
    directory = str(directory)
    if not tf.io.gfile.isdir(directory):
        return []
    interrupted = []
    for name in tf.io.gfile.listdir(directory):
        name = name.rstrip("/")
        path = os.path.join(directory, name)
        if name.endswith("_temp") and tf.io.gfile.isdir(path):
            tf.io.gfile.rmtree(path)
            interrupted.append(path[: -len("_temp")])
        elif name.startswith("checkpoint.tmp") or ".tempstate" in name:
            tf.io.gfile.remove(path)
    return interrupted


def _short(error):
    text = re.sub(r"\{\{function_node [^}]*\}\}|\[Op:\w+\]", "", str(error))
    text = " ".join(text.split())
    return f"{type(error).__name__}: {text[:300]}{' ...' if len(text) > 300 else ''}"


def restore_checkpoint(gan, path, part="all"):
    """Restores checkpoint ``path`` into ``gan`` and checks that it restored completely.

    Args:
        gan: a ``GAN`` (its models are built first; for ``part="all"`` build it with the
            image shape beforehand so the discriminator and both optimizers exist).
        path: a checkpoint prefix (``.../ckpt-15``).
        part: ``"all"`` (everything training needs: both networks, the averaged generator,
            both optimizers, the latent generator's state) or ``"generator"`` (the generator
            and the averaged generator, for sampling, evaluation and export).

    Returns:
        ``path``.

    Raises:
        CheckpointError: the files cannot be read (missing, truncated, corrupt), or some
            variable of ``part`` has no value in the checkpoint (another model's checkpoint);
            the message names the checkpoint.
    """
    check_choice("part", part, ("all", "generator"))
    gan.build_models()
    what = "generator" if part == "generator" else "networks or optimizer"
    return restore_into(_gan_checkpoint(gan, part, str(path)), path, what)


def _gan_checkpoint(gan, part, path):
    try:
        return gan.checkpoint(part, path=path)
    except TypeError:  # a GAN subclass overriding checkpoint() without the keywords
        return gan.checkpoint()


def restore_into(checkpoint, path, what="variables"):
    """Restores ``path`` into a ``tf.train.Checkpoint`` and checks that every existing object
    of it got a value (:class:`CheckpointError` otherwise, naming ``path``); returns ``path``."""
    path = str(path)
    try:
        tf.train.load_checkpoint(path)  # the index: names and shapes of every saved value
    except Exception as error:  # noqa: BLE001 - any read failure is reported with the file
        raise CheckpointError(f"Checkpoint {path} cannot be read ({_short(error)}).") from error
    try:
        status = checkpoint.restore(path)
    except Exception as error:  # noqa: BLE001 - truncated data, bad checksum, wrong shapes
        raise CheckpointError(f"Checkpoint {path} does not restore here ({_short(error)}).") from error
    try:
        status.assert_existing_objects_matched()
    except AssertionError as error:
        status.expect_partial()  # no second warning about the unused values
        raise CheckpointError(
            f"Checkpoint {path} is not a checkpoint of this model: it holds no value for some of "
            f"its {what} ({_short(error)})."
        ) from error
    status.expect_partial()  # e.g. a generator-only restore leaves the rest of the file unused
    return path


def newest_restorable(gan, directory, part="all", interrupted=()):
    """Restores the newest checkpoint of ``directory`` that restores completely into ``gan``
    (:func:`restore_checkpoint`).

    Unreadable or incomplete checkpoints are skipped with a :class:`CheckpointWarning`
    naming each.

    Args:
        interrupted: prefixes whose save was interrupted (:func:`remove_partial_saves`): when
            they fail too, they do not count as a damaged run (a run killed while writing its
            first checkpoint starts afresh).

    Returns:
        ``(path, skipped)``: the restored checkpoint (``None`` when ``directory`` holds no
        checkpoint, or only interrupted ones that fail) and the ``[(path, CheckpointError)]``
        skipped before it.

    Raises:
        CheckpointError: checkpoints exist but none restores; the message names each.
    """
    return _newest(lambda path: restore_checkpoint(gan, path, part), directory, interrupted)


def _newest(restore, directory, interrupted=()):
    skipped = []
    interrupted = {str(path) for path in interrupted}
    for path in find_checkpoints(directory):
        try:
            return restore(path), skipped
        except CheckpointError as error:
            warnings.warn(f"Skipping checkpoint {path}: {error}", CheckpointWarning, stacklevel=3)
            skipped.append((path, error))
    if all(path in interrupted for path, _ in skipped):
        return None, skipped
    if skipped:
        listing = "; ".join(str(error).rstrip(".") for _, error in skipped)
        raise CheckpointError(f"None of the {len(skipped)} checkpoints in {directory} restores: {listing}.")
    return None, skipped


class CheckpointWarning(UserWarning):
    """A checkpoint was skipped because it cannot be read or does not restore completely."""


def set_aside(paths, destination):
    """Moves each checkpoint prefix's files (``ckpt-N.index``, ``ckpt-N.data-*``) into
    ``destination`` (never deletes); a path that is a file is moved as it is. Returns the moved files' new paths."""
    moved = []
    tf.io.gfile.makedirs(str(destination))
    for prefix in paths:
        files = [str(prefix)] if tf.io.gfile.exists(str(prefix)) else tf.io.gfile.glob(str(prefix) + ".*")
        for name in files:
            target = os.path.join(str(destination), os.path.basename(name))
            tf.io.gfile.rename(name, target, overwrite=True)
            moved.append(target)
    return moved


def write_checkpoint_state(directory):
    """Rewrites the ``checkpoint`` state file from the checkpoints present in ``directory``
    (newest = latest), so ``tf.train.CheckpointManager`` continues from them."""
    found = list(reversed(find_checkpoints(directory)))  # oldest first, as the manager keeps them
    if found:
        # with their times, so the manager still deletes the oldest beyond max_to_keep
        times = [tf.io.gfile.stat(path + ".index").mtime_nsec / 1e9 for path in found]
        tf.compat.v1.train.update_checkpoint_state(
            str(directory), found[-1], all_model_checkpoint_paths=found,
            all_model_checkpoint_timestamps=times, last_preserved_timestamp=min(times) - 1.0)


def restore_latest(gan, directory, part="all"):
    """Restores the newest checkpoint of ``directory`` that restores completely into ``gan``
    (see :func:`newest_restorable`); returns its path, or ``None`` when there is none."""
    return newest_restorable(gan, directory, part)[0]


__all__ = ["UNREADABLE", "CheckpointError", "CheckpointWarning", "CheckpointWriteError", "GANCheckpoint", "PeriodicCheckpoint", "checkpoint_manager",
           "checkpoint_number", "find_checkpoints", "orphan_files", "newest_restorable", "remove_partial_saves",
           "restore_checkpoint", "restore_into", "restore_latest", "set_aside", "write_checkpoint_state"]
