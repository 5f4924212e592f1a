"""Keras callbacks for GAN training: sample grids and throughput in the progress bar.

Checkpoints are in :mod:`ascendgan.training.checkpoints`."""

from __future__ import annotations

import os
import time

import numpy as np
import tensorflow as tf

from ascendgan import compat, sampling

keras = compat.keras


class SampleGrid(keras.callbacks.Callback):
    """Writes a grid of samples from fixed inputs every ``every_n_steps`` generator steps.

    The same latents (drawn from ``seed``) are used for every grid, so successive grids
    show how the same samples evolve. Class-conditional GANs get one row per class (up to
    ``columns`` images each). For a :class:`~ascendgan.models.Pix2Pix` pass ``sources``
    (and optionally ``targets``): each row then shows source, translation and target.

    Grids are written as ``<directory>/step_<NNNNNNN>.png`` and, with ``log_dir``, as a
    TensorBoard image summary.

    Args:
        directory: where PNG files go (any file system ``tf.io.gfile`` supports).
        every_n_steps: generator steps between grids; the end of training writes one too.
        num_images: images in the grid (unconditional GANs).
        columns: images per row; default ``ceil(sqrt(num_images))`` (conditional: 8).
        seed: seed of the fixed latents.
        truncation: truncation threshold for the samples (``None``: the full prior).
        sources: Pix2Pix source images ``(n, h, w, c)`` in [-1, 1].
        targets: Pix2Pix target images for the same sources (optional).
        log_dir: TensorBoard log directory for image summaries (optional).

    Example:

    >>> grid = SampleGrid("runs/dcgan/samples", every_n_steps=200)   # doctest: +SKIP
    >>> gan.fit(dataset, callbacks=[grid])                            # doctest: +SKIP
    """

    def __init__(self, directory, every_n_steps=200, num_images=64, columns=None, seed=0,
                 truncation=None, sources=None, targets=None, log_dir=None):
        super().__init__()
        if not isinstance(every_n_steps, int) or every_n_steps < 1:
            raise ValueError(f"`every_n_steps` must be a positive integer. Received: {every_n_steps!r}")
        if not isinstance(num_images, int) or num_images < 1:
            raise ValueError(f"`num_images` must be a positive integer. Received: {num_images!r}")
        self.directory = str(directory)
        self.every_n_steps = every_n_steps
        self.num_images = num_images
        self.columns = columns
        self.seed = seed
        self.truncation = truncation
        self.sources = None if sources is None else np.asarray(sources, np.float32)
        self.targets = None if targets is None else np.asarray(targets, np.float32)
        self.log_dir = log_dir
        self._writer = None
        self.written = []
        self._last_step = None

    def _step(self):
        return int(self.model.generator_optimizer.iterations.numpy())

    def pictures(self):
        """The images of one grid (numpy, [-1, 1]) and its column count."""
        gan = self.model
        if self.sources is not None:
            translated = np.asarray(tf.cast(gan.translate(self.sources), tf.float32))
            parts = [self.sources, translated] + ([self.targets] if self.targets is not None else [])
            parts = [_to_channels(part, translated.shape[-1]) for part in parts]
            rows = np.stack(parts, axis=1)  # (n, parts, h, w, c): one row per source
            return rows.reshape((-1,) + rows.shape[2:]), len(parts)
        if gan.num_classes:
            columns = self.columns or 8
            classes = min(gan.num_classes, max(1, self.num_images // columns))
            labels = np.repeat(np.arange(classes), columns)
            images = gan.generate(len(labels), labels=labels, truncation=self.truncation, seed=self.seed)
            return images, columns
        images = gan.generate(self.num_images, truncation=self.truncation, seed=self.seed)
        return images, self.columns

    def write(self):
        """Writes the grid for the current step; returns the PNG path."""
        step = self._step()
        images, columns = self.pictures()
        path = os.path.join(self.directory, f"step_{step:07d}.png")
        picture = sampling.image_grid(images, columns=columns)
        try:
            sampling.save_png(picture, path)
        except tf.errors.OpError as error:  # fit would take OutOfRangeError for the data's end
            raise OSError(f"Could not write the sample grid {path}: {error.message}") from None
        if self.log_dir:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))
            # record_if(True): Keras's TensorBoard callback records only every update_freq
            # steps while training; a grid is written when it is due, whatever that says.
            with self._writer.as_default(), tf.summary.record_if(True):
                tf.summary.image("samples", picture[None], step=step)
            self._writer.flush()
        self.written.append(path)
        self._last_step = step
        return path

    def on_train_batch_end(self, batch, logs=None):
        if self._step() % self.every_n_steps == 0:
            self.write()

    def on_train_end(self, logs=None):
        if self._step() != self._last_step:
            self.write()


def _to_channels(images, channels):
    if images.shape[-1] == channels:
        return images
    if images.shape[-1] == 1:
        return np.repeat(images, channels, axis=-1)
    return np.repeat(images.mean(axis=-1, keepdims=True), channels, axis=-1)


class Throughput(keras.callbacks.Callback):
    """Adds ``ms_per_step`` and ``images_per_s`` to the logs, so the progress bar and
    TensorBoard show them.

    Times are wall-clock between consecutive ends of training steps (the first step of a
    ``fit`` call, which includes tracing, is not counted). Place it before callbacks that
    read the logs.

    Args:
        images_per_step: real images one training step consumes (batch size times
            discriminator steps).
        smoothing: weight of the newest step in the running average (1 = no smoothing).
    """

    def __init__(self, images_per_step, smoothing=0.1):
        super().__init__()
        if not images_per_step > 0:
            raise ValueError(f"`images_per_step` must be > 0. Received: {images_per_step!r}")
        self.images_per_step = images_per_step
        self.smoothing = smoothing
        self.ms_per_step = None
        self._last = None

    def on_train_begin(self, logs=None):
        self._last = None
        self.ms_per_step = None

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self._last is not None:
            milliseconds = 1000.0 * (now - self._last)
            if self.ms_per_step is None:
                self.ms_per_step = milliseconds
            else:
                self.ms_per_step += self.smoothing * (milliseconds - self.ms_per_step)
        self._last = now
        if logs is not None and self.ms_per_step is not None:
            logs["ms_per_step"] = self.ms_per_step
            logs["images_per_s"] = 1000.0 * self.images_per_step / self.ms_per_step

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.ms_per_step is not None:
            logs["ms_per_step"] = self.ms_per_step
            logs["images_per_s"] = 1000.0 * self.images_per_step / self.ms_per_step


__all__ = ["SampleGrid", "Throughput"]
