import hashlib
import os
import pathlib

import pytest
import tensorflow as tf

from ascendgan.data import DatasetNotFoundError, cache_locally, default_cache_root


def _tree(root):
    """{relative path: bytes} of every file under ``root``."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = pathlib.Path(path).read_bytes()
    return found


@pytest.fixture
def source(tmp_path):
    root = tmp_path / "remote"
    (root / "a" / "b").mkdir(parents=True)
    (root / "top.jpg").write_bytes(b"1234")
    (root / "a" / "mid.png").write_bytes(b"abcdef")
    (root / "a" / "b" / "deep.txt").write_bytes(b"")
    return root


def test_copies_a_folder_recursively(source, tmp_path):
    destination = cache_locally(str(source), cache_dir=tmp_path / "cache")
    assert destination == os.path.abspath(tmp_path / "cache")
    assert _tree(destination) == _tree(source)


def test_skips_files_of_the_same_size_and_recopies_changed_sizes(source, tmp_path):
    destination = cache_locally(source, cache_dir=tmp_path / "cache")
    (source / "top.jpg").write_bytes(b"9999")  # same size: treated as already copied
    (source / "a" / "mid.png").write_bytes(b"longer content")  # new size: copied again
    (source / "new.jpg").write_bytes(b"n")
    cache_locally(source, cache_dir=tmp_path / "cache")
    copied = _tree(destination)
    assert copied["top.jpg"] == b"1234"
    assert copied["a/mid.png"] == b"longer content"
    assert copied["new.jpg"] == b"n"
    assert not [name for name in copied if ".partial" in name]


def test_copies_from_a_tensorflow_file_system(tmp_path):
    remote = "ram://h1_cache_test/bucket/cats"
    tf.io.gfile.makedirs(remote + "/sub")
    with tf.io.gfile.GFile(remote + "/0.jpg", "wb") as stream:
        stream.write(b"\xff\xd8jpeg")
    with tf.io.gfile.GFile(remote + "/sub/1.jpg", "wb") as stream:
        stream.write(b"second")
    destination = cache_locally(remote, cache_dir=str(tmp_path / "local"))
    assert _tree(destination) == {"0.jpg": b"\xff\xd8jpeg", os.path.join("sub", "1.jpg"): b"second"}


def test_default_destinations(tmp_path, monkeypatch, source):
    assert cache_locally(str(source)) == os.path.abspath(source)  # local: nothing to copy
    monkeypatch.setenv("ASCENDGAN_CACHE", str(tmp_path / "root"))
    assert default_cache_root() == str(tmp_path / "root")
    remote = "ram://h1_cache_test/default/photos"
    tf.io.gfile.makedirs(remote)
    with tf.io.gfile.GFile(remote + "/x.png", "wb") as stream:
        stream.write(b"x")
    destination = cache_locally(remote)
    digest = hashlib.sha256(remote.encode()).hexdigest()[:10]
    assert destination == os.path.join(str(tmp_path / "root"), "data", f"photos-{digest}")
    assert _tree(destination) == {"x.png": b"x"}


def test_bad_arguments(tmp_path, source):
    with pytest.raises(
        DatasetNotFoundError, match=r"`remote_dir` must be an existing folder.*does not exist"
    ):
        cache_locally(tmp_path / "missing")
    with pytest.raises(DatasetNotFoundError, match="is a file"):
        cache_locally(source / "top.jpg")
    with pytest.raises(ValueError, match=r"`cache_dir` must be a local folder"):
        cache_locally(source, cache_dir="ram://somewhere")
