"""File helpers on ``tf.io.gfile``: every path may be local or on a file system TensorFlow
supports (``gs://``, ``s3://`` with the matching plug-in, ``hdfs://``, ``ram://``, ...)."""

from __future__ import annotations

import gzip
import os
import zlib

import tensorflow as tf

from ascendgan.data.errors import DataFormatError, DatasetNotFoundError

_GZIP_MAGIC = b"\x1f\x8b"


def is_remote(path) -> bool:
    """True when ``path`` names a non-local file system (it has a ``scheme://`` prefix)."""
    return "://" in str(path)


def as_path(path, argument: str = "path") -> str:
    """``path`` (str or os.PathLike) as a string; TypeError naming ``argument`` otherwise."""
    try:
        text = os.fspath(path)
    except TypeError:
        raise TypeError(
            f"`{argument}` must be a path (str or os.PathLike). Received: {argument}={path!r}"
        ) from None
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if not text:
        raise ValueError(f"`{argument}` must be a non-empty path. Received: {argument}={path!r}")
    if not is_remote(text):
        text = os.path.expanduser(text)
    return text


def join(*parts: str) -> str:
    """Joins path parts with ``/`` for remote paths and ``os.path.join`` for local ones."""
    if is_remote(parts[0]):
        head = parts[0].rstrip("/")
        return "/".join([head, *[p.strip("/") for p in parts[1:]]])
    return os.path.join(*parts)


def exists(path: str) -> bool:
    return tf.io.gfile.exists(path)


def isdir(path: str) -> bool:
    return tf.io.gfile.isdir(path)


def size(path: str) -> int:
    return tf.io.gfile.stat(path).length


def read_bytes(path: str) -> bytes:
    """The content of ``path``; DatasetNotFoundError naming it when it does not exist."""
    if not tf.io.gfile.exists(path):
        raise DatasetNotFoundError(f"File not found: {path!r}")
    with tf.io.gfile.GFile(path, "rb") as stream:
        return stream.read()


def read_maybe_gzip(path: str) -> bytes:
    """The content of ``path``, decompressed when it starts with the gzip magic bytes
    (whatever its extension); DataFormatError naming the file when that fails."""
    data = read_bytes(path)
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise DataFormatError(
            f"{path!r} starts like a gzip file but does not decompress ({error}); the file "
            "is truncated or corrupt. Download it again."
        ) from error


def first_existing(candidates):
    """The first of ``candidates`` that exists, or None."""
    for candidate in candidates:
        if tf.io.gfile.exists(candidate):
            return candidate
    return None


def keras_datasets_dir() -> str:
    """Where ``keras.datasets`` caches downloads: ``$KERAS_HOME/datasets`` or
    ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets")
