"""ascendgan.files: atomic writes leave the previous file or the new one, never half of one."""

import json
import os

import pytest
import tensorflow as tf

from ascendgan.files import atomic_write, write_json


def test_atomic_write_text_bytes_and_parent_folders(tmp_path):
    path = tmp_path / "a" / "b" / "note.txt"
    assert atomic_write(path, "hello") == str(path)
    assert path.read_text() == "hello"
    atomic_write(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert sorted(os.listdir(path.parent)) == ["note.txt"]  # no temporary file left


def test_write_json_is_sorted_and_indented(tmp_path):
    path = tmp_path / "run.json"
    write_json(path, {"b": 1, "a": [1, 2]})
    text = path.read_text()
    assert json.loads(text) == {"a": [1, 2], "b": 1}
    assert text.index('"a"') < text.index('"b"') and "\n  " in text


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    write_json(path, {"step": 1})

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(tf.io.gfile, "rename", disk_full)  # the last step fails
    with pytest.raises(OSError, match="No space left"):
        write_json(path, {"step": 2})
    assert json.loads(path.read_text()) == {"step": 1}
