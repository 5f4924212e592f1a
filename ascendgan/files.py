"""Atomic file writes, local or remote (anything ``tf.io.gfile`` reads: ``gs://``, ``s3://``, ...).

A reader never sees a half-written file: the bytes go to ``<path>.tmp`` first, which is then
renamed over ``path``. A crash leaves the previous file (or none) and at most a ``.tmp`` file.
"""

from __future__ import annotations

import json
import posixpath

import tensorflow as tf


def _make_parent(path):
    parent = posixpath.dirname(str(path))
    if parent:
        tf.io.gfile.makedirs(parent)


def atomic_write(path, data):
    """Writes ``data`` (``bytes`` or ``str``) to ``path`` atomically; returns ``path``.

    Example:

    >>> import os, tempfile
    >>> path = atomic_write(os.path.join(tempfile.mkdtemp(), "a", "note.txt"), "hello")
    >>> open(path).read()
    'hello'
    """
    path = str(path)
    _make_parent(path)
    temporary = f"{path}.tmp"
    with tf.io.gfile.GFile(temporary, "wb" if isinstance(data, bytes) else "w") as handle:
        handle.write(data)
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return path


def write_json(path, payload, **dumps_kwargs):
    """Writes ``payload`` as indented, key-sorted JSON atomically; returns ``path``."""
    options = {"indent": 2, "sort_keys": True, **dumps_kwargs}
    return atomic_write(path, json.dumps(payload, **options))


__all__ = ["atomic_write", "write_json"]
