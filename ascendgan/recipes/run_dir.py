"""The run directory: where a training run keeps what it was and what it made.

A run directory holds::

    run.json          what was trained (family, preset, overrides, data, seed, precision, ...)
    checkpoints/      tf.train checkpoints (atomic, resumable)
    samples/          sample grids, step_NNNNNNN.png
    logs/             TensorBoard scalars and image summaries
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os

import tensorflow as tf

from ascendgan.files import write_json


@dataclasses.dataclass(frozen=True)
class RunDirectory:
    """The paths of a run directory.

    Example:

    >>> RunDirectory("runs/dcgan_mnist").checkpoints
    'runs/dcgan_mnist/checkpoints'
    """

    path: str

    @property
    def record(self):
        """``run.json``."""
        return os.path.join(self.path, "run.json")

    @property
    def checkpoints(self):
        return os.path.join(self.path, "checkpoints")

    @property
    def samples(self):
        return os.path.join(self.path, "samples")

    @property
    def logs(self):
        return os.path.join(self.path, "logs")

    def read(self):
        """The ``run.json`` record as a dict.

        Raises:
            FileNotFoundError: when the directory holds no ``run.json``.
            ValueError: when ``run.json`` is not a JSON object (naming the file).
        """
        if not tf.io.gfile.exists(self.record):
            raise FileNotFoundError(
                "`run_dir` must be a run directory written by `ascendgan train` (with a run.json). "
                f"Not found: {self.record}"
            )
        with tf.io.gfile.GFile(self.record) as handle:
            text = handle.read()
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{self.record} is not valid JSON ({error}).") from None
        if not isinstance(record, dict) or "family" not in record:
            raise ValueError(f"{self.record} must be a JSON object with a 'family' key.")
        return record

    def set_aside(self):
        """Moves an earlier run's ``run.json``, checkpoints, samples and logs into
        ``previous-<UTC time>/`` of the directory (never deletes); returns that folder, or
        ``None`` when there was nothing to move."""
        parts = [p for p in (self.record, self.checkpoints, self.samples, self.logs) if tf.io.gfile.exists(p)]
        if not parts:
            return None
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
        target = os.path.join(self.path, f"previous-{stamp}")
        suffix = 1
        while tf.io.gfile.exists(target):
            suffix += 1
            target = os.path.join(self.path, f"previous-{stamp}-{suffix}")
        tf.io.gfile.makedirs(target)
        for part in parts:
            tf.io.gfile.rename(part, os.path.join(target, os.path.basename(part)))
        return target

    def write(self, record):
        """Writes ``record`` to ``run.json`` atomically."""
        tf.io.gfile.makedirs(self.path)
        write_json(self.record, record)


def read_run(run_dir):
    """The ``run.json`` of a run directory (what was trained)."""
    return RunDirectory(str(run_dir)).read()


__all__ = ["RunDirectory", "read_run"]
