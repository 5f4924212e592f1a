"""ModelArts storage (``ascendgan.recipes.storage``): data copied to a local cache, archives
unpacked, the run directory copied to ``train_url`` and pulled back from it.

A local folder stands in for the bucket. ``moxing`` is replaced by a recording stand-in whose
module path (``moxing.framework.file``, reached as ``moxing.file``), function names and
parameter names are those of ModelArts' MoXing file API as documented in
huaweicloud/ModelArts-Lab (docs/moxing_api_doc/MoXing_API_File_apidoc.md and the
``copy_parallel`` docstring quoted in its migration guides): ``copy(src_url, dst_url,
client_id)``, ``copy_parallel(src_url, dst_url, file_list, threads, is_processing, use_queue)``,
``exists(url)``, ``is_directory(url)``, ``get_size(url, recursive)``, ``walk(url, topdown,
onerror, followlinks)``, ``remove(url, recursive)``, ``make_dirs(url)``, ``rename(src_url,
dst_url)``. Its ``obs://bucket/key`` objects live in a local folder and, like OBS objects,
appear only once their upload completed.
"""

import io
import os
import shutil
import sys
import tarfile
import tempfile
import types
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import data as data_lib
from ascendgan import strategy as strategy_lib
from ascendgan.cli import build_parser
from ascendgan.cli.train import run_from_arguments
from ascendgan.recipes import (
    CopyBack,
    DataSource,
    GANRun,
    RunDirectory,
    localize_data,
    pull_run,
    push_run,
    runs,
    storage,
    train_gan,
)


class Killed(BaseException):
    """A kill in the middle of a copy (a BaseException: no ``except Exception`` stops it)."""


def _png(seed):
    pixels = np.random.default_rng(seed).integers(0, 255, (6, 6, 3), dtype=np.uint8)
    return tf.io.encode_png(pixels).numpy()


def _files(root):
    """``{relative path: bytes}`` of a folder (the record and partial copies aside)."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            relative = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if relative != storage.RECORD and ".partial-" not in name:
                with open(os.path.join(folder, name), "rb") as handle:
                    found[relative] = handle.read()
    return found


# ---------------------------------------------------------------------------- the moxing stand-in
class FakeOBS:
    """The objects of ``obs://`` URLs, in a local folder; calls recorded; kills injected."""

    def __init__(self, root):
        self.root = str(root)
        self.calls = []
        self.writes_left = None  # None: never killed; n: killed before the (n+1)-th object write

    def local(self, url):
        return os.path.join(self.root, url.split("://", 1)[1]) if "://" in url else url

    def step(self, target):
        if self.writes_left is not None:
            if self.writes_left == 0:
                raise Killed(target)
            self.writes_left -= 1

    def put(self, source, target):
        self.step(target)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, target + ".upload")
        os.replace(target + ".upload", target)  # an object is visible once its upload completed

    def module(self):
        obs = self
        file = types.ModuleType("moxing.framework.file")

        def copy(src_url, dst_url, client_id=None):
            obs.calls.append(("copy", src_url, dst_url))
            obs.put(obs.local(src_url), obs.local(dst_url))

        def copy_parallel(src_url, dst_url, file_list=None, threads=16, is_processing=True,
                          use_queue=True):
            obs.calls.append(("copy_parallel", src_url, dst_url, None if file_list is None else list(file_list)))
            source, target = obs.local(src_url), obs.local(dst_url)
            if file_list is None:
                file_list = [os.path.relpath(os.path.join(f, n), source) for f, _, names in os.walk(source)
                             for n in names]
            for relative in file_list:
                obs.put(os.path.join(source, relative), os.path.join(target, relative))

        def exists(url):
            obs.calls.append(("exists", url))
            return os.path.exists(obs.local(url))

        def is_directory(url):
            obs.calls.append(("is_directory", url))
            return os.path.isdir(obs.local(url))

        def get_size(url, recursive=False):
            return os.path.getsize(obs.local(url))

        def walk(url, topdown=True, onerror=None, followlinks=False):
            obs.calls.append(("walk", url))
            root = obs.local(url)
            for folder, dirs, names in os.walk(root, topdown=topdown):
                yield url.rstrip("/") + folder[len(root.rstrip(os.sep)):].replace(os.sep, "/"), dirs, names

        def remove(url, recursive=False):
            obs.calls.append(("remove", url))
            path = obs.local(url)
            obs.step(path)
            if recursive and os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.isfile(path):
                os.remove(path)

        def make_dirs(url):
            os.makedirs(obs.local(url), exist_ok=True)

        def rename(src_url, dst_url):
            os.replace(obs.local(src_url), obs.local(dst_url))

        for function in (copy, copy_parallel, exists, is_directory, get_size, walk, remove, make_dirs, rename):
            setattr(file, function.__name__, function)
        return file


@pytest.fixture
def obs(tmp_path, monkeypatch):
    fake = FakeOBS(tmp_path / "obs")
    file = fake.module()
    moxing, framework = types.ModuleType("moxing"), types.ModuleType("moxing.framework")
    moxing.framework, framework.file, moxing.file = framework, file, file
    for name, module in (("moxing", moxing), ("moxing.framework", framework), ("moxing.framework.file", file)):
        monkeypatch.setitem(sys.modules, name, module)
    return fake


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ASCENDGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RANK_ID", raising=False)
    return tmp_path / "cache"


# ---------------------------------------------------------------------------- data
def test_the_cache_is_modelarts_cache_when_it_exists_else_a_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("ASCENDGAN_CACHE")
    monkeypatch.setattr(storage, "MODELARTS_CACHE", str(tmp_path / "absent"))
    assert storage.default_cache_dir() == os.path.join(tempfile.gettempdir(), "ascendgan-cache")
    (tmp_path / "node_cache").mkdir()
    monkeypatch.setattr(storage, "MODELARTS_CACHE", str(tmp_path / "node_cache"))
    assert storage.default_cache_dir() == str(tmp_path / "node_cache" / "ascendgan")
    monkeypatch.setenv("ASCENDGAN_CACHE", str(tmp_path / "mine"))
    assert storage.default_cache_dir() == str(tmp_path / "mine")


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as handle:
        for name, payload in members.items():
            handle.writestr(name, payload)
    return path


def _tar_gz(path, members):
    with tarfile.open(path, "w:gz") as handle:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            handle.addfile(info, io.BytesIO(payload))
    return path


def test_a_zip_with_a_top_folder_is_an_image_folder(tmp_path, cache):
    images = {f"cat/{i}.png": _png(i) for i in range(3)}
    archive = _zip(tmp_path / "cat.zip", {**images, "__MACOSX/cat/._0.png": b"resource fork"})
    source = DataSource(str(archive)).localized()
    assert os.path.basename(source.path) == "cat" and source.path.startswith(str(cache))
    assert _files(source.path) == {name.split("/", 1)[1]: payload for name, payload in images.items()}
    assert len(data_lib.image_folder_arrays(source.path, image_size=6)) == 3
    stamp = os.stat(os.path.join(source.path, "0.png")).st_mtime_ns
    assert DataSource(str(archive)).localized().path == source.path  # unpacked once
    assert os.stat(os.path.join(source.path, "0.png")).st_mtime_ns == stamp


def test_a_tar_gz_without_a_top_folder_unpacks_as_it_is(tmp_path):
    members = {"a.png": _png(1), "b/c.png": _png(2)}
    local = localize_data(_tar_gz(tmp_path / "photos.tar.gz", members))
    assert _files(local) == members


def test_unreadable_or_escaping_archives_are_refused(tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(data_lib.DataFormatError, match=r"`data` must be a readable zip or tar archive: .*broken.zip"):
        localize_data(broken)
    escaping = _tar_gz(tmp_path / "evil.tgz", {"../evil.png": _png(0)})
    with pytest.raises(data_lib.DataFormatError, match=r"evil.tgz' cannot be unpacked"):
        localize_data(escaping)
    assert not list(tmp_path.parent.rglob("evil.png"))
    with pytest.raises(data_lib.DatasetNotFoundError, match=r"Not found: .*missing.zip"):
        localize_data(tmp_path / "missing.zip")


def test_obs_data_needs_moxing_or_a_file_system():
    with pytest.raises(ValueError, match=r"`data` must be local or on a file system this process can reach: "
                                         r"'obs://' needs moxing .* Received: data='obs://bucket/cats'"):
        localize_data("obs://bucket/cats")


def test_remote_folders_and_archives_are_copied_with_moxing(obs, cache):
    bucket = os.path.join(obs.root, "bucket")
    os.makedirs(os.path.join(bucket, "cats"))
    for i in range(2):
        with open(os.path.join(bucket, "cats", f"{i}.png"), "wb") as handle:
            handle.write(_png(i))
    local = localize_data("obs://bucket/cats/")
    assert _files(local) == _files(os.path.join(bucket, "cats")) and local.startswith(str(cache))
    assert ("copy_parallel", "obs://bucket/cats", local, None) in obs.calls

    os.makedirs(os.path.join(bucket, "zipped"))  # data_url: the folder cat.zip arrives in
    _zip(os.path.join(bucket, "zipped", "cat.zip"), {"cat/0.png": _png(0)})
    assert _files(localize_data("obs://bucket/zipped")) == {"0.png": _png(0)}
    obs.calls.clear()
    folder = localize_data("obs://bucket/zipped/cat.zip")  # the archive itself
    assert _files(folder) == {"0.png": _png(0)}
    copies = [call for call in obs.calls if call[0] == "copy"]
    assert len(copies) == 1 and copies[0][1] == "obs://bucket/zipped/cat.zip"
    assert copies[0][2].startswith(os.path.join(str(cache), "downloads")) and ".partial-" in copies[0][2]


def test_remote_folders_are_copied_with_gfile_without_moxing(cache):
    tf.io.gfile.makedirs("ram://h9_storage/cats")
    with tf.io.gfile.GFile("ram://h9_storage/cats/0.png", "wb") as handle:
        handle.write(_png(0))
    local = DataSource("ram://h9_storage/cats").localized().path
    assert local.startswith(str(cache)) and _files(local) == {"0.png": _png(0)}


# ---------------------------------------------------------------------------- copy back and pull
def _saver(folder, keep=1):
    value = tf.Variable(0.0)
    checkpoint = tf.train.Checkpoint(value=value)
    return value, tf.train.CheckpointManager(checkpoint, os.path.join(folder, "checkpoints"), max_to_keep=keep)


def _save(saved, number, content):
    value, manager = saved
    value.assign(float(content))
    return manager.save(checkpoint_number=number)


def _check_checkpoints(folder):
    """Every ``.index`` in ``folder/checkpoints`` has its data; returns ``{number: saved value}``."""
    found = {}
    for name in sorted(os.listdir(os.path.join(folder, "checkpoints"))):
        if name.endswith(".index"):
            reader = tf.train.load_checkpoint(os.path.join(folder, "checkpoints", name[: -len(".index")]))
            found[int(name[5:-6])] = float(reader.get_tensor("value/.ATTRIBUTES/VARIABLE_VALUE"))
    return found


def _local_run(folder):
    os.makedirs(os.path.join(folder, "samples"))
    with open(os.path.join(folder, "run.json"), "w") as handle:
        handle.write('{"family": "dcgan"}')
    with open(os.path.join(folder, "samples", "step_0000001.png"), "wb") as handle:
        handle.write(_png(1))
    saved = _saver(folder)
    _save(saved, 1, 1)
    return saved


def test_copy_back_goes_data_index_state_and_removes_index_before_data(tmp_path, obs):
    run = str(tmp_path / "run")
    saved = _local_run(run)
    first = push_run(run, "obs://bucket/job")
    copies = [call[3] for call in obs.calls if call[0] == "copy_parallel"]
    assert copies == [["run.json", "samples/step_0000001.png"], ["checkpoints/ckpt-1.data-00000-of-00001"],
                      ["checkpoints/ckpt-1.index"], ["checkpoints/checkpoint"]]
    assert {call[1:3] for call in obs.calls if call[0] == "copy_parallel"} == {(run, "obs://bucket/job")}
    assert first == {"uploaded": [n for batch in copies for n in batch], "removed": []}

    obs.calls.clear()
    _save(saved, 2, 2)  # keep=1: ckpt-1 is deleted locally
    with open(os.path.join(run, "samples", "step_0000002.png"), "wb") as handle:
        handle.write(_png(2))
    push_run(run, "obs://bucket/job")
    steps = [(call[0], call[3] if call[0] == "copy_parallel" else call[1]) for call in obs.calls
             if call[0] in ("copy_parallel", "remove")]
    assert steps == [
        ("copy_parallel", ["samples/step_0000002.png"]),
        ("copy_parallel", ["checkpoints/ckpt-2.data-00000-of-00001"]),
        ("copy_parallel", ["checkpoints/ckpt-2.index"]),
        ("copy_parallel", ["checkpoints/checkpoint"]),
        ("remove", "obs://bucket/job/checkpoints/ckpt-1.index"),
        ("remove", "obs://bucket/job/checkpoints/ckpt-1.data-00000-of-00001"),
    ]
    bucket = os.path.join(obs.root, "bucket", "job")
    assert _files(bucket) == _files(run) and _check_checkpoints(bucket) == {2: 2.0}
    obs.calls.clear()
    assert push_run(run, "obs://bucket/job") == {"uploaded": [], "removed": []}  # nothing changed


class GfileKills:
    """``tf.io.gfile.copy`` / ``remove`` that die at the (n+1)-th write (a copy after writing
    half the file)."""

    def __init__(self, monkeypatch, writes_left):
        self.writes_left = writes_left
        self.copy, self.remove = tf.io.gfile.copy, tf.io.gfile.remove
        monkeypatch.setattr(tf.io.gfile, "copy", self.dying_copy)
        monkeypatch.setattr(tf.io.gfile, "remove", self.dying_remove)

    def restore(self, monkeypatch):
        monkeypatch.setattr(tf.io.gfile, "copy", self.copy)
        monkeypatch.setattr(tf.io.gfile, "remove", self.remove)

    def dying_copy(self, source, target, overwrite=False):
        if self.writes_left == 0:
            with open(source, "rb") as handle:
                payload = handle.read()
            with open(target, "wb") as handle:
                handle.write(payload[: len(payload) // 2])
            raise Killed(target)
        self.writes_left -= 1
        return self.copy(source, target, overwrite=overwrite)

    def dying_remove(self, path):
        if self.writes_left == 0:
            raise Killed(path)
        self.writes_left -= 1
        return self.remove(path)


@pytest.mark.parametrize("rewrite", [False, True], ids=["next-checkpoint", "same-number-rewritten"])
@pytest.mark.parametrize("via", ["moxing", "gfile"])
def test_a_kill_during_a_copy_back_never_leaves_an_index_whose_data_is_missing(tmp_path, monkeypatch, via, rewrite, request):
    run = str(tmp_path / "run")
    saved = _local_run(run)
    if via == "moxing":
        fake = request.getfixturevalue("obs")
        url, bucket = "obs://bucket/job", os.path.join(fake.root, "bucket", "job")
    else:
        url = bucket = str(tmp_path / "bucket" / "job")
    push_run(run, url)
    before = (tmp_path / "before")
    shutil.copytree(bucket, before)
    shutil.copy(os.path.join(run, storage.RECORD), tmp_path / "record")
    _save(saved, 1 if rewrite else 2, 7)  # a new checkpoint, or ckpt-1 written again with other values
    expected = {1 if rewrite else 2: 7.0}
    for kill_after in range(100):
        shutil.rmtree(bucket)
        shutil.copytree(before, bucket)
        shutil.copy(tmp_path / "record", os.path.join(run, storage.RECORD))
        if via == "moxing":
            fake.writes_left = kill_after
        else:
            kills = GfileKills(monkeypatch, kill_after)
        try:
            push_run(run, url)
            finished = True
        except Killed:
            finished = False
        checkpoints = _check_checkpoints(bucket)  # every index has all its data, of its own save
        assert set(checkpoints.items()) <= {(1, 1.0), *expected.items()}, (kill_after, checkpoints)
        for name, payload in _files(bucket).items():  # no file half-copied under its real name
            old = before / name
            assert payload == _files(run).get(name) or (old.exists() and payload == old.read_bytes()), name
        if via == "moxing":
            fake.writes_left = None
        else:
            kills.restore(monkeypatch)
        push_run(run, url)  # the next copy completes what the killed one left
        assert _files(bucket) == _files(run) and _check_checkpoints(bucket) == expected
        if finished:
            break
    assert kill_after == (4 if rewrite else 5)  # a kill before each copy and each removal


def test_a_pull_brings_the_run_back_and_a_kill_never_leaves_an_index_without_data(tmp_path, monkeypatch):
    bucket = str(tmp_path / "bucket")
    saved = _local_run(bucket)
    _save(saved, 2, 2)
    os.makedirs(os.path.join(bucket, "checkpoints", "ckpt-3_temp"))  # an unfinished save is not pulled
    with open(os.path.join(bucket, "checkpoints", "ckpt-3_temp", "part-00000-of-00001.index"), "wb") as handle:
        handle.write(b"unfinished")
    original, moves = os.replace, []

    def dying_replace(source, target):
        if len(moves) == kill_after:
            raise Killed(target)
        moves.append(os.path.relpath(target, run))
        original(source, target)

    for kill_after in (0, 1, 2, 3):  # run.json, sample, data, index, state
        run, moves = str(tmp_path / f"run{kill_after}"), []
        monkeypatch.setattr(os, "replace", dying_replace)
        with pytest.raises(Killed):
            pull_run(bucket, run)
        monkeypatch.setattr(os, "replace", original)
        if os.path.isdir(os.path.join(run, "checkpoints")):
            assert _check_checkpoints(run) in ({}, {2: 2.0})
    run, moves, kill_after = str(tmp_path / "run"), [], None
    monkeypatch.setattr(os, "replace", dying_replace)
    assert pull_run(bucket, run) == ["checkpoints/checkpoint", "checkpoints/ckpt-2.data-00000-of-00001",
                                     "checkpoints/ckpt-2.index", "run.json", "samples/step_0000001.png"]
    monkeypatch.setattr(os, "replace", original)
    assert moves[-3:] == [os.path.join("checkpoints", n) for n in
                          ("ckpt-2.data-00000-of-00001", "ckpt-2.index", "checkpoint")]
    assert _files(run) == {n: p for n, p in _files(bucket).items() if "_temp" not in n}
    assert push_run(run, bucket) == {"uploaded": [], "removed": []}  # pulled files are not sent back


def test_local_files_win_except_data_without_its_index(tmp_path):
    bucket, run = str(tmp_path / "bucket"), str(tmp_path / "run")
    _save(_saver(bucket), 2, 2)
    _save(_saver(run), 2, 5)
    os.remove(os.path.join(run, "checkpoints", "ckpt-2.index"))  # an interrupted local save
    assert pull_run(bucket, run) == ["checkpoints/ckpt-2.data-00000-of-00001", "checkpoints/ckpt-2.index"]
    assert _check_checkpoints(run) == {2: 2.0}


def test_a_run_moved_aside_is_mirrored_and_foreign_files_are_left(tmp_path):
    bucket, run = str(tmp_path / "bucket"), str(tmp_path / "run")
    _local_run(bucket)
    with open(os.path.join(bucket, "notes.txt"), "w") as handle:
        handle.write("not the run's")
    pull_run(bucket, run)
    os.remove(os.path.join(run, "notes.txt"))  # a pulled file deleted locally is deleted there ...
    moved = RunDirectory(run).set_aside()  # --no-resume
    result = push_run(run, bucket)
    aside = os.path.basename(moved)
    assert sorted(n for n in _files(bucket) if not n.startswith(aside)) == []
    assert {n.split("/", 1)[1] for n in _files(bucket)} >= {"run.json", "checkpoints/ckpt-1.index"}
    assert result["removed"][:3] == ["checkpoints/checkpoint", "checkpoints/ckpt-1.index",
                                     "checkpoints/ckpt-1.data-00000-of-00001"]
    with open(os.path.join(bucket, "foreign.txt"), "w") as handle:  # ... one it never had is not
        handle.write("someone else's")
    push_run(run, bucket)
    assert os.path.exists(os.path.join(bucket, "foreign.txt"))


def test_only_the_first_process_copies_and_bad_locations_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK_ID", "3")
    copy_back = CopyBack(str(tmp_path / "run"), str(tmp_path / "bucket"))
    assert copy_back.enabled is False and copy_back.sync() is None
    assert not (tmp_path / "bucket").exists()
    with pytest.raises(ValueError, match=r"`out` must be a local folder when `train_url` is set.*Received: out='gs://b/run'"):
        push_run("gs://b/run", str(tmp_path / "bucket"))
    with pytest.raises(ValueError, match=r"`train_url` must be a folder or URL \(str\). Received: train_url=3"):
        pull_run(3, str(tmp_path / "run"))


def test_the_command_takes_data_url_and_train_url():
    args = build_parser().parse_args(["train", "dcgan", "--smoke", "--data_url", "obs://bucket/mnist",
                                      "--train_url", "obs://bucket/output"])
    run = run_from_arguments(args)
    assert (run.data.path, run.train_url) == ("obs://bucket/mnist", "obs://bucket/output")
    args = build_parser().parse_args(["train", "dcgan", "--data", "cat.zip", "--train-url", "out"])
    assert (run_from_arguments(args).data.path, run_from_arguments(args).train_url) == ("cat.zip", "out")


# ---------------------------------------------------------------------------- training jobs
def _job(out, train_url, steps, checkpoint_every=1):
    return GANRun("dcgan", smoke=True, data=DataSource(limit=16), out=str(out), steps=steps,
                  checkpoint_every=checkpoint_every, sample_every=1, keep=1, tensorboard=False,
                  verbose=0, train_url=None if train_url is None else str(train_url),
                  strategy=strategy_lib.get_strategy("cpu", precision="float32"))


def _train(monkeypatch, run):
    """``train_gan`` with train_url wired as sent to the lead: pull first, CopyBack last."""
    if run.train_url:
        pull_run(run.train_url, run.out)
        original = runs.run_callbacks
        monkeypatch.setattr(runs, "run_callbacks",
                            lambda *args, **kwargs: original(*args, **{**kwargs, "train_url": run.train_url}))
    return train_gan(run)


def test_a_restarted_job_resumes_from_train_url(tmp_path, monkeypatch):
    bucket = tmp_path / "bucket"
    _train(monkeypatch, _job(tmp_path / "node1", bucket, steps=2))
    assert sorted(_files(bucket)) == ["checkpoints/checkpoint", "checkpoints/ckpt-2.data-00000-of-00001",
                                      "checkpoints/ckpt-2.index", "run.json", "samples/step_0000001.png",
                                      "samples/step_0000002.png"]
    # a new node: empty local disk, same train_url; checkpoints every 2 steps, 3 steps in all
    result = _train(monkeypatch, _job(tmp_path / "node2", bucket, steps=3, checkpoint_every=2))
    assert (result["resumed_from"], result["final_step"]) == (2, 3)
    # train_url mirrors the local run; the checkpoint files' bytes aside: train_gan saves the
    # last step again after CopyBack saved and copied it (only the save counter differs)
    bucket_files, local_files = _files(bucket), _files(tmp_path / "node2")
    assert sorted(bucket_files) == sorted(local_files)
    assert {n: p for n, p in bucket_files.items() if not n.startswith("checkpoints/")} == {
        n: p for n, p in local_files.items() if not n.startswith("checkpoints/")}
    assert {"checkpoints/ckpt-3.index", "samples/step_0000003.png"} <= set(bucket_files)
    assert RunDirectory(str(bucket)).read()["family"] == "dcgan"  # a complete run directory
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(bucket / "checkpoints")))
    steps = [reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
             if k.startswith("generator_optimizer/") and "iter" in k and "slots" not in k]
    assert [int(s) for s in steps] == [3]


def test_a_job_copies_back_through_moxing(tmp_path, monkeypatch, obs):
    _train(monkeypatch, _job(tmp_path / "node", "obs://bucket/output", steps=2))
    uploads = [call[3] for call in obs.calls if call[0] == "copy_parallel" and call[2] == "obs://bucket/output"]
    ranks = [storage._rank(batch[0]) for batch in uploads]
    # step 1 (run.json + grid, data, index, state), step 2 (grid, data, index, state), then
    # run.json with the final FID
    assert ranks == [0, 1, 2, 3, 0, 1, 2, 3, 0]
    assert uploads[8] == ["run.json"]
    assert [n for batch in uploads[4:8] for n in batch] == [
        "samples/step_0000002.png", "checkpoints/ckpt-2.data-00000-of-00001", "checkpoints/ckpt-2.index",
        "checkpoints/checkpoint"]
    assert _check_checkpoints_any(os.path.join(obs.root, "bucket", "output")) == ["ckpt-2"]


def _check_checkpoints_any(folder):
    names = os.listdir(os.path.join(folder, "checkpoints"))
    return sorted(n[: -len(".index")] for n in names if n.endswith(".index"))


def test_train_gan_itself_copies_back_and_resumes(tmp_path):
    bucket = tmp_path / "bucket"
    train_gan(_job(tmp_path / "node1", bucket, steps=1))
    assert "checkpoints/ckpt-1.index" in _files(bucket)
    result = train_gan(_job(tmp_path / "node2", bucket, steps=2))
    assert result["resumed_from"] == 1 and "checkpoints/ckpt-2.index" in _files(bucket)
