"""Copy a remote folder (object storage, HDFS, ...) to a local cache before training."""

from __future__ import annotations

import hashlib
import os

import tensorflow as tf

from ascendgan.data import _files
from ascendgan.data.errors import DatasetNotFoundError

__all__ = ["cache_locally", "default_cache_root"]


def default_cache_root() -> str:
    """The folder under which :func:`cache_locally` puts its copies by default:
    ``$ASCENDGAN_CACHE``, else ``$XDG_CACHE_HOME/ascendgan``, else ``~/.cache/ascendgan``.

    Example:

    >>> from ascendgan.data import default_cache_root
    >>> root = default_cache_root()   # e.g. '/home/me/.cache/ascendgan'
    >>> root.endswith("ascendgan") or "ASCENDGAN_CACHE" in __import__("os").environ
    True
    """
    if os.environ.get("ASCENDGAN_CACHE"):
        return os.path.expanduser(os.environ["ASCENDGAN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ascendgan")


def _default_destination(source: str) -> str:
    name = source.rstrip("/").rsplit("/", 1)[-1] or "data"
    digest = hashlib.sha256(source.rstrip("/").encode("utf-8")).hexdigest()[:10]
    return os.path.join(default_cache_root(), "data", f"{name}-{digest}")


def cache_locally(remote_dir, cache_dir=None):
    """Copies a folder from any ``tf.io.gfile`` file system to a local folder; returns it.

    The documented runs read their data from object storage; training reads every file
    many times, so copy once, then point the loaders at the local copy. Files are copied
    recursively (hidden ones too). A file already present in the cache with the same size
    is skipped, so a second call only copies what is new or changed in size (a file
    changed in place with the same size is *not* copied again: empty the cache to force
    it). Each file is written to a temporary name and renamed, so an interrupted copy
    never leaves a partial file under the real name.

    Args:
        remote_dir: the folder to copy, e.g. ``"gs://bucket/cats"`` or ``"obs://..."``
            (any scheme TensorFlow's file systems support) or a local folder.
        cache_dir: the local folder to copy into (its content mirrors ``remote_dir``).
            None: a local ``remote_dir`` is returned unchanged (nothing to copy), and a
            remote one goes to ``<default_cache_root()>/data/<name>-<hash of the URL>``.

    Returns:
        The local folder, as an absolute path string.

    Raises:
        DatasetNotFoundError: ``remote_dir`` does not exist or is not a folder.
        ValueError: ``cache_dir`` is not a local path.

    Example:

    >>> import ascendgan
    >>> local = ascendgan.data.cache_locally("gs://my-bucket/cats")   # doctest: +SKIP
    >>> ds = ascendgan.data.image_folder(local, image_size=64)          # doctest: +SKIP
    """
    source = _files.as_path(remote_dir, "remote_dir")
    if not tf.io.gfile.exists(source) or not tf.io.gfile.isdir(source):
        raise DatasetNotFoundError(
            f"`remote_dir` must be an existing folder. Received: remote_dir={source!r}, which "
            f"{'is a file' if tf.io.gfile.exists(source) else 'does not exist'}."
        )
    if cache_dir is None:
        if not _files.is_remote(source):
            return os.path.abspath(source)
        destination = _default_destination(source)
    else:
        destination = _files.as_path(cache_dir, "cache_dir")
        if _files.is_remote(destination):
            raise ValueError(
                f"`cache_dir` must be a local folder. Received: cache_dir={destination!r}"
            )
    destination = os.path.abspath(destination)
    root = source.rstrip("/")
    for folder, _dirs, names in tf.io.gfile.walk(root):
        relative = folder.rstrip("/")[len(root) :].lstrip("/")
        target_folder = os.path.join(destination, *[p for p in relative.split("/") if p])
        os.makedirs(target_folder, exist_ok=True)
        for name in names:
            origin = _files.join(folder, name)
            target = os.path.join(target_folder, name)
            if os.path.exists(target) and os.path.getsize(target) == _files.size(origin):
                continue
            # Streamed copy, then rename: ascendgan.files.atomic_write takes the whole
            # content in memory, which large data files should not need.
            partial = f"{target}.partial-{os.getpid()}"
            tf.io.gfile.copy(origin, partial, overwrite=True)
            os.replace(partial, target)
    return destination
