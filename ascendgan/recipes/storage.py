"""Object storage and ModelArts: the data copied to a local cache, the run copied back.

A ModelArts training job gets ``--data_url`` (an OBS folder, or an archive such as ``cat.zip``)
and ``--train_url`` (where results go); the documented scripts copy the data to the node's disk
(``/cache``), train there and copy checkpoints, samples and logs back. Here:
:func:`localize_data` copies remote data to a local cache and unpacks zip / tar archives;
:func:`pull_run` brings a run directory back from ``train_url`` so a restarted job resumes;
:func:`push_run` / :class:`CopyBack` copy it to ``train_url`` after every checkpoint and at the
end: only what changed, each file atomically, checkpoint data before ``.index`` before the
``checkpoint`` state file (removals the other way), so ``train_url`` never shows a checkpoint
whose files are not all there. ``obs://`` and ``s3://`` go through ``moxing`` (ModelArts' OBS
library) when it can be imported; everything else through ``tf.io.gfile``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib

import tensorflow as tf

from ascendgan import compat
from ascendgan import data as data_lib
from ascendgan.files import write_json
from ascendgan.training.checkpoints import checkpoint_number

keras = compat.keras

#: The local disk of a ModelArts training node; the cache lives there when it exists.
MODELARTS_CACHE = "/cache"
#: File names read as archives (lower case).
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
#: Schemes whose objects appear only once their upload completed (no rename needed).
OBJECT_STORES = ("obs", "s3", "gs")
#: The file of a run directory that records what its ``train_url`` holds (never copied).
RECORD = ".train_url.json"


def is_remote(path):
    """True when ``path`` names a non-local file system (it has a ``scheme://`` prefix)."""
    return "://" in str(path)


def is_archive(path):
    """True when the name of ``path`` ends like a zip or tar archive (:data:`ARCHIVE_SUFFIXES`)."""
    return str(path).lower().rstrip("/").endswith(ARCHIVE_SUFFIXES)


def default_cache_dir():
    """Where remote data and unpacked archives go by default: ``$ASCENDGAN_CACHE`` when set,
    else ``/cache/ascendgan`` when ``/cache`` exists (a ModelArts node), else
    ``<temporary folder>/ascendgan-cache``."""
    if os.environ.get("ASCENDGAN_CACHE"):
        return os.path.expanduser(os.environ["ASCENDGAN_CACHE"])
    if os.path.isdir(MODELARTS_CACHE) and os.access(MODELARTS_CACHE, os.W_OK):
        return os.path.join(MODELARTS_CACHE, "ascendgan")
    return os.path.join(tempfile.gettempdir(), "ascendgan-cache")


def _join(root, relative):
    return f"{root.rstrip('/')}/{relative}" if is_remote(root) else os.path.join(root, *relative.split("/"))


def _relative(root, folder):
    """``folder``'s path below ``root`` (schemes aside: a walk of ``obs://`` may answer ``s3://``)."""
    root = str(root).split("://", 1)[-1].rstrip("/")
    folder = str(folder).split("://", 1)[-1].rstrip("/")
    return folder[len(root):].strip("/").replace(os.sep, "/")


class _FileSystem:
    """``moxing.file`` (ModelArts' OBS client) when given, else ``tf.io.gfile``."""

    def __init__(self, moxing=None):
        self.mox = None if moxing is None else moxing.file
        self.name = "tf.io.gfile" if moxing is None else "moxing"

    def exists(self, url):
        return bool(self.mox.exists(url)) if self.mox else tf.io.gfile.exists(url)

    def isdir(self, url):
        return bool(self.mox.is_directory(url)) if self.mox else tf.io.gfile.isdir(url)

    def list_files(self, root):
        """``{path relative to root: size}`` of every file under ``root``."""
        found = {}
        for folder, _dirs, names in (self.mox.walk(root) if self.mox else tf.io.gfile.walk(root)):
            prefix = _relative(root, folder)
            for name in names:
                relative = f"{prefix}/{name}" if prefix else name
                url = _join(root, relative)
                found[relative] = int(self.mox.get_size(url)) if self.mox else tf.io.gfile.stat(url).length
        return found

    def copy_files(self, source_root, target_root, names):
        """Copies ``names`` (relative paths) from one folder to another, each file atomically."""
        if self.mox:
            if names:  # file_list: paths relative to the source folder
                self.mox.copy_parallel(source_root, target_root, file_list=list(names))
            return
        in_place = is_remote(target_root) and target_root.split("://", 1)[0] in OBJECT_STORES
        for relative in names:
            source, target = _join(source_root, relative), _join(target_root, relative)
            if in_place:  # an object appears once its upload completed
                tf.io.gfile.copy(source, target, overwrite=True)
                continue
            tf.io.gfile.makedirs(target.rsplit("/", 1)[0] if is_remote(target) else os.path.dirname(target))
            partial = f"{target}.partial-{os.getpid()}"
            tf.io.gfile.copy(source, partial, overwrite=True)
            tf.io.gfile.rename(partial, target, overwrite=True)

    def fetch(self, url, local_path):
        if self.mox:
            self.mox.copy(url, local_path)
        else:
            tf.io.gfile.copy(url, local_path, overwrite=True)

    def copy_folder(self, url, local_dir):
        if not self.mox:  # skips files already there with the same size
            return data_lib.cache_locally(url, local_dir)
        self.mox.copy_parallel(url, local_dir)
        return os.path.abspath(local_dir)

    def remove(self, url):
        if self.mox:
            if self.mox.exists(url):
                self.mox.remove(url, recursive=False)
        elif tf.io.gfile.exists(url):
            tf.io.gfile.remove(url)


def _backend(url, argument):
    """moxing for an ``obs://`` / ``s3://`` url when importable, else tf.io.gfile (checked)."""
    if is_remote(url):
        try:
            if url.split("://", 1)[0] in ("obs", "s3"):  # the schemes moxing reads
                return _FileSystem(importlib.import_module("moxing"))
        except ImportError:
            pass
        try:
            tf.io.gfile.exists(url)
        except tf.errors.UnimplementedError as error:
            scheme = url.split("://", 1)[0]
            raise ValueError(
                f"`{argument}` must be local or on a file system this process can reach: "
                f"'{scheme}://' needs moxing (installed on ModelArts) or a TensorFlow file-system "
                f"plug-in ({type(error).__name__}). Received: {argument}={url!r}"
            ) from None
    return _FileSystem()


def _key(*parts):
    return hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:10]


def _stem(path):
    name = str(path).rstrip("/").rsplit("/", 1)[-1]
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or "data"
    return name or "data"


def _visible(folder):
    return sorted(name for name in os.listdir(folder) if not name.startswith(".") and name != "__MACOSX")


def _extract(archive, target):
    if archive.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(target)  # zipfile drops leading '/' and '..' parts of member names
        return
    with tarfile.open(archive, "r:*") as handle:
        if hasattr(tarfile, "data_filter"):  # refuses absolute names, '..' and links leaving target
            handle.extractall(target, filter="data")
            return
        members = [m for m in handle.getmembers() if m.isfile() or m.isdir()]  # Python < 3.10.12
        if any(m.name.startswith("/") or ".." in m.name.split("/") for m in members):
            raise tarfile.TarError("a member would be written outside the folder")
        handle.extractall(target, members=members)


def unpack_archive(archive, destination=None):
    """Unpacks a local zip / tar archive once; returns ``destination``, or its only folder
    when the archive holds one top folder (hidden entries and ``__MACOSX`` aside).

    ``destination`` defaults to a folder named after the archive under
    :func:`default_cache_dir`; when it exists the archive is not read again (unpacking goes to
    a temporary folder renamed at the end). DataFormatError when the archive cannot be read
    or a member would land outside ``destination``.
    """
    archive = str(archive)
    if destination is None:
        stat = os.stat(archive)
        destination = os.path.join(default_cache_dir(), "data",
                                   f"{_stem(archive)}-{_key(os.path.abspath(archive), stat.st_size, stat.st_mtime_ns)}")
    destination = os.path.abspath(str(destination))
    if not os.path.isdir(destination):
        partial = f"{destination}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        try:
            _extract(archive, partial)
            try:
                os.rename(partial, destination)
            except OSError:
                if not os.path.isdir(destination):  # else another process unpacked it first
                    raise
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as error:
            raise data_lib.DataFormatError(
                f"`data` must be a readable zip or tar archive: {archive!r} cannot be unpacked "
                f"({type(error).__name__}: {error})."
            ) from None
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    entries = _visible(destination)
    if len(entries) == 1 and os.path.isdir(os.path.join(destination, entries[0])):
        return os.path.join(destination, entries[0])
    return destination


def localize_data(path, cache=None):
    """The local path to read data ``path`` (``--data`` / ``--data_url``) from.

    - a local folder: itself (copied into ``cache`` first when ``cache`` is given);
    - a remote folder (``obs://``, ``s3://``, ``gs://``, ...): copied to ``cache``, default
      ``<default_cache_dir()>/data/<name>-<hash>`` (``moxing.file.copy_parallel``, else
      ``tf.io.gfile`` skipping files already there with the same size);
    - a zip / tar archive (a remote one downloaded to ``<default_cache_dir()>/downloads``
      first), or a folder holding one archive and nothing else: unpacked
      (:func:`unpack_archive`) into a folder of ``cache`` or of :func:`default_cache_dir`;
    - any other remote file (e.g. ``mnist.npz``): downloaded; a local one: itself.

    Raises DatasetNotFoundError (no such ``path``), DataFormatError (an unreadable archive),
    ValueError (``cache`` not local, or no file system reaches ``path``).
    """
    if path is None:
        return None
    path = str(path)
    if cache is not None and is_remote(cache):
        raise ValueError(f"`cache` must be a local folder. Received: cache={str(cache)!r}")
    backend = _backend(path, "data")
    if not backend.exists(path):
        raise data_lib.DatasetNotFoundError(
            f"`data` must be an existing folder, file or archive. Not found: {path!r}")
    root = default_cache_dir()
    if backend.isdir(path):
        if is_remote(path):
            target = cache or os.path.join(root, "data", f"{_stem(path)}-{_key(path.rstrip('/'))}")
            os.makedirs(target, exist_ok=True)
            folder = backend.copy_folder(path.rstrip("/"), target)
        else:
            folder = data_lib.cache_locally(path, cache) if cache else path
        entries = _visible(folder)  # a folder holding one archive: cat.zip's folder on OBS
        if len(entries) == 1 and is_archive(entries[0]) and os.path.isfile(_join(folder, entries[0])):
            return unpack_archive(_join(folder, entries[0]))
        return folder
    local = path
    if is_remote(path):
        name = path.rstrip("/").rsplit("/", 1)[-1]
        downloads = os.path.join(root, "downloads", _key(path))
        local = os.path.join(downloads, name)
        if not os.path.isfile(local):
            os.makedirs(downloads, exist_ok=True)
            partial = f"{local}.partial-{os.getpid()}"
            backend.fetch(path, partial)
            os.replace(partial, local)
    if not is_archive(local):
        return local
    if cache:
        stat = os.stat(local)
        return unpack_archive(local, os.path.join(cache, f"{_stem(local)}-{_key(path, stat.st_size)}"))
    return unpack_archive(local)


def _rank(relative):
    """Copy order: other files 0, checkpoint data 1, ``.index`` 2, the ``checkpoint`` state 3."""
    name = relative.rsplit("/", 1)[-1]
    if name == "checkpoint":
        return 3
    if name.endswith(".index"):
        return 2
    return 1 if ".data-" in name else 0


def _prefix(relative):
    return relative[: -len(".index")] if relative.endswith(".index") else relative.split(".data-")[0]


def _skipped(relative):
    """Never copied: the record, unfinished saves and copies, pull staging folders."""
    parts = relative.split("/")
    name = parts[-1]
    return (relative == RECORD or any(p.endswith("_temp") or p.startswith(".pull-") for p in parts[:-1])
            or ".partial-" in name or name.endswith(".tmp") or name.startswith("checkpoint.tmp"))


def _local_files(root):
    """``{relative path: (size, mtime_ns)}`` of the files of a local run directory."""
    found = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".pull-")]
        for name in names:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            if not _skipped(relative):
                stat = os.stat(path)
                found[relative] = (stat.st_size, stat.st_mtime_ns)
    return found


def _check_locations(run_dir, train_url):
    if not isinstance(train_url, (str, os.PathLike)) or not str(train_url).strip():
        raise ValueError(f"`train_url` must be a folder or URL (str). Received: train_url={train_url!r}")
    if is_remote(run_dir):
        raise ValueError(
            "`out` must be a local folder when `train_url` is set (the run is written locally and "
            f"copied to train_url). Received: out={str(run_dir)!r}")
    url = str(train_url)
    return os.path.abspath(str(run_dir)), (url.rstrip("/") if is_remote(url) else os.path.abspath(url))


def _read_record(run_dir, train_url):
    try:
        with open(os.path.join(run_dir, RECORD), encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict) or record.get("train_url") != train_url:
        return {}
    return {name: tuple(stamp) for name, stamp in record.get("files", {}).items()}


def _write_record(run_dir, train_url, known):
    write_json(os.path.join(run_dir, RECORD),
               {"train_url": train_url, "files": {name: list(stamp) for name, stamp in known.items()}})


def pull_run(train_url, run_dir):
    """Brings a run directory back from ``train_url`` (a restarted job resumes from there);
    returns the relative paths copied, sorted.

    Files of ``train_url`` missing locally are copied to a staging folder, then moved into
    place (other files, checkpoint data, ``.index`` files, the ``checkpoint`` state file), so
    an interrupted pull never leaves an index without its data. A local file wins, except
    checkpoint data without a local ``.index``, replaced by the remote checkpoint. What
    ``train_url`` holds is recorded in ``<run_dir>/.train_url.json`` for :func:`push_run`. A
    missing ``train_url`` is a fresh run.
    """
    run_dir, train_url = _check_locations(run_dir, train_url)
    backend = _backend(train_url, "train_url")
    os.makedirs(run_dir, exist_ok=True)
    remote = {}
    if backend.exists(train_url):
        remote = {n: s for n, s in backend.list_files(train_url).items() if not _skipped(n)}
    local = _local_files(run_dir)
    local_indexes = {_prefix(n) for n in local if _rank(n) == 2}
    remote_indexes = {_prefix(n) for n in remote if _rank(n) == 2}
    wanted = sorted(n for n in remote if n not in local or (
        _rank(n) == 1 and _prefix(n) not in local_indexes and _prefix(n) in remote_indexes))
    staging = os.path.join(run_dir, f".pull-{os.getpid()}")
    try:
        if wanted:
            backend.copy_files(train_url, staging, wanted)
            for rank in (0, 1, 2, 3):
                for name in (n for n in wanted if _rank(n) == rank):
                    target = _join(run_dir, name)
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    os.replace(_join(staging, name), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    local, previous, known, pulled = _local_files(run_dir), _read_record(run_dir, train_url), {}, set(wanted)
    for name, size in remote.items():  # (size there, local mtime when the same file is here)
        if name in pulled and local.get(name, (None,))[0] == size:
            known[name] = (size, local[name][1])
        elif name in previous and previous[name][0] == size:
            known[name] = previous[name]  # as the last copy left it
        else:
            known[name] = (size, None)  # differs or unknown: copied back by the next push
    if _first_rank():  # the process that copies back (one writer of the record)
        _write_record(run_dir, train_url, known)
    return wanted


def push_run(run_dir, train_url):
    """Copies what changed in a local run directory to ``train_url``; returns
    ``{"uploaded": [...], "removed": [...]}`` (relative paths, in the order processed).

    New or changed files (size or modification time differ from the last copy) go in the
    order: other files (samples, logs, ``run.json``), checkpoint data, ``.index`` files, the
    ``checkpoint`` state file. Files copied or pulled earlier that are gone locally (checkpoints
    beyond ``keep``, a run moved aside) are then removed: state, ``.index``, data, others. A
    checkpoint rewritten under a name ``train_url`` holds first loses its remote ``.index``.
    Files of ``train_url`` this run directory never had are left alone.
    """
    run_dir, train_url = _check_locations(run_dir, train_url)
    backend = _backend(train_url, "train_url")
    known = _read_record(run_dir, train_url)
    local = _local_files(run_dir)
    rewritten = {_prefix(n) for n, stamp in local.items() if _rank(n) == 1 and known.get(n, stamp) != stamp}
    removed = [n for n in sorted(known) if _rank(n) == 2 and _prefix(n) in rewritten]
    for name in removed:
        backend.remove(_join(train_url, name))
        known.pop(name)
    uploaded = []
    changed = [n for n, stamp in local.items() if known.get(n) != stamp]
    for rank in (0, 1, 2, 3):
        batch = sorted(n for n in changed if _rank(n) == rank)
        if batch:
            backend.copy_files(run_dir, train_url, batch)
            known.update((n, local[n]) for n in batch)
            _write_record(run_dir, train_url, known)
            uploaded += batch
    for rank in (3, 2, 1, 0):
        batch = sorted(n for n in known if n not in local and _rank(n) == rank)
        for name in batch:
            backend.remove(_join(train_url, name))
            known.pop(name)
        removed += batch
    _write_record(run_dir, train_url, known)
    return {"uploaded": uploaded, "removed": removed}


def _first_rank():
    return os.environ.get("RANK_ID", "0").strip() in ("", "0")


class CopyBack(keras.callbacks.Callback):
    """Copies the run directory to ``train_url`` after every checkpoint and when training ends.

    Place it after the checkpoint callback (and after sample grids and TensorBoard, so their
    files of the same step go too); :func:`~ascendgan.recipes.run_callbacks` puts it last.

    Args:
        run_dir: the local run directory.
        train_url: where the copy goes (``obs://``, ``s3://``, ``gs://``, ``hdfs://`` or local).
        checkpoint: the run's ``PeriodicCheckpoint`` (e.g. ``GANCheckpoint``): a copy follows
            each checkpoint it writes, and at the end the last step is saved first when it
            was not. ``None``: one copy at the end.
        enabled: copy at all; default: only in the first process of an Ascend job
            (``RANK_ID`` unset or 0).
    """

    def __init__(self, run_dir, train_url, checkpoint=None, enabled=None):
        super().__init__()
        self.run_dir, self.train_url = _check_locations(run_dir, train_url)
        self.checkpoint = checkpoint
        self.enabled = _first_rank() if enabled is None else bool(enabled)
        self.copied = None  # the checkpoint the last copy followed
        self.copies = 0

    def sync(self):
        """Copies the run directory now (:func:`push_run`); returns what was copied, or
        ``None`` when this process does not copy."""
        if not self.enabled:
            return None
        self.copies += 1
        return push_run(self.run_dir, self.train_url)

    def _latest(self):
        return getattr(getattr(self.checkpoint, "manager", None), "latest_checkpoint", None)

    def on_train_begin(self, logs=None):
        self.copied = self._latest()  # a restored checkpoint is there already

    def on_train_batch_end(self, batch, logs=None):
        latest = self._latest()
        if latest is not None and latest != self.copied:  # a checkpoint was written
            self.sync()
            self.copied = latest

    def on_epoch_end(self, epoch, logs=None):
        self.on_train_batch_end(None)

    def on_train_end(self, logs=None):
        if getattr(self.checkpoint, "manager", None) is not None:
            step = int(self.checkpoint.step_counter().numpy())
            latest = self._latest()
            if latest is None or checkpoint_number(latest) != step:
                self.checkpoint.save()  # the last step is always saved
        self.sync()
        self.copied = self._latest()


__all__ = ["ARCHIVE_SUFFIXES", "MODELARTS_CACHE", "OBJECT_STORES", "RECORD", "CopyBack",
           "default_cache_dir", "is_archive", "is_remote", "localize_data", "pull_run",
           "push_run", "unpack_archive"]
