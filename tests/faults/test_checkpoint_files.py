"""Damaged run directories (issue 14, cases 1-4 and 10): resume and loading never destroy a
run, skip what cannot be read with a warning naming it, and refuse to write when nothing
restores.

One tiny DCGAN smoke run (4 generator steps, a checkpoint every step) is trained once per
module; every test damages its own copy.
"""

import glob
import hashlib
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from ascendgan.recipes import GANRun, RunDirectory, load_run, train_gan
from ascendgan.training import CheckpointError, CheckpointWarning, find_checkpoints

STEPS = 4


def _run(out, **fields):
    settings = dict(smoke=True, steps=STEPS, checkpoint_every=1, keep=10, out=str(out),
                    tensorboard=False, verbose=0, final_fid=False)
    settings.update(fields)
    return GANRun("dcgan", **settings)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("template") / "run"
    train_gan(_run(out))
    return out


@pytest.fixture
def run_dir(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def _digests(folder):
    """{relative path: sha256} of every file under ``folder``."""
    found = {}
    for path in glob.glob(os.path.join(str(folder), "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                found[os.path.relpath(path, folder)] = hashlib.sha256(handle.read()).hexdigest()
    return found


def _ckpt(run_dir, n):
    return os.path.join(str(run_dir), "checkpoints", f"ckpt-{n}")


def _truncate(prefix):
    data = glob.glob(prefix + ".data-*")[0]
    with open(data, "rb") as handle:
        content = handle.read()
    with open(data, "wb") as handle:
        handle.write(content[: len(content) // 2])


def test_lost_state_file_resumes_from_newest_checkpoint_and_keeps_older_ones(run_dir):
    # case 1: before, a lost `checkpoint` file made the run restart at 0 and overwrite ckpt-N
    os.remove(os.path.join(run_dir, "checkpoints", "checkpoint"))
    older = _digests(os.path.join(run_dir, "checkpoints"))
    result = train_gan(_run(run_dir, steps=STEPS + 1))
    assert result["resumed_from"] == STEPS
    assert result["final_step"] == STEPS + 1
    after = _digests(os.path.join(run_dir, "checkpoints"))
    for name, digest in older.items():  # nothing that existed was rewritten
        assert after[name] == digest, name
    assert tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints")).endswith(f"ckpt-{STEPS + 1}")


def test_lost_state_file_still_samples(run_dir):
    os.remove(os.path.join(run_dir, "checkpoints", "checkpoint"))
    _, path = load_run(run_dir)
    assert path == _ckpt(run_dir, STEPS)


def test_lost_newest_index_resumes_from_previous_and_sets_its_data_aside(run_dir):
    # case 1: the newest ckpt-N.index lost; its data file is moved aside, not overwritten
    newest = _ckpt(run_dir, STEPS)
    data = glob.glob(newest + ".data-*")[0]
    with open(data, "rb") as handle:
        orphan = handle.read()
    os.remove(newest + ".index")
    result = train_gan(_run(run_dir))
    assert result["resumed_from"] == STEPS - 1 and result["final_step"] == STEPS
    moved = os.path.join(run_dir, "checkpoints", "unreadable", os.path.basename(data))
    with open(moved, "rb") as handle:
        assert handle.read() == orphan


def test_failed_resume_writes_nothing(run_dir):
    # case 2: a resume with other network settings failed on a shape mismatch after run.json
    # had been overwritten with the new settings
    before = _digests(run_dir)
    with pytest.raises(CheckpointError) as caught, pytest.warns(CheckpointWarning):
        train_gan(_run(run_dir, overrides={"base_filters": 8}))
    message = str(caught.value)
    assert "\n" not in message
    assert "None of the 4 checkpoints" in message and "base_filters" in message
    assert "--no-resume" in message
    assert _digests(run_dir) == before
    load_run(run_dir)  # the intact run still loads


def test_no_resume_moves_the_old_run_aside(run_dir):
    before = _digests(run_dir)
    result = train_gan(_run(run_dir, overrides={"base_filters": 8}, steps=1, resume=False))
    assert result["resumed_from"] == 0 and result["final_step"] == 1
    previous = glob.glob(os.path.join(run_dir, "previous-*"))
    assert len(previous) == 1
    assert _digests(previous[0]) == before  # the whole earlier run, byte for byte
    record = json.loads(open(os.path.join(run_dir, "run.json")).read())
    assert record["overrides"]["base_filters"] == 8


def test_unrelated_checkpoint_is_refused(run_dir, tmp_path):
    # case 3: --checkpoint of another model restored nothing and sampled random weights
    other = tf.train.Checkpoint(weights=tf.Variable(np.ones((3, 3), np.float32))).save(str(tmp_path / "other" / "ckpt"))
    with pytest.raises(CheckpointError, match="is not a checkpoint of this model") as caught:
        load_run(run_dir, other)
    assert other in str(caught.value) and "generator" in str(caught.value)


def test_checkpoint_of_a_different_generator_is_refused(run_dir, tmp_path):
    train_gan(_run(tmp_path / "bigger", overrides={"base_filters": 8}, steps=1))
    with pytest.raises(CheckpointError, match="does not restore") as caught:
        load_run(run_dir, str(tmp_path / "bigger" / "checkpoints" / "ckpt-1"))
    assert "ckpt-1" in str(caught.value)


def test_given_checkpoint_restores_exactly_that_one(run_dir, tmp_path):
    gan, path = load_run(run_dir, _ckpt(run_dir, 2))
    assert path == _ckpt(run_dir, 2)
    # reference: the same run directory holding only ckpt-1 and ckpt-2, loaded by default
    only_two = tmp_path / "only_two"
    shutil.copytree(run_dir, only_two)
    for n in range(3, STEPS + 1):
        for name in glob.glob(_ckpt(only_two, n) + ".*"):
            os.remove(name)
    reference, _ = load_run(only_two)
    newest, _ = load_run(run_dir)
    z = np.random.default_rng(0).normal(size=(2, gan.latent_dim)).astype("float32")
    image = gan.generator(z, training=False).numpy()
    np.testing.assert_array_equal(image, reference.generator(z, training=False).numpy())
    assert np.abs(image - newest.generator(z, training=False).numpy()).max() > 1e-6


@pytest.mark.parametrize("damage", ["truncate", "bitflip", "delete_data"])
def test_damaged_newest_checkpoint_falls_back_to_previous(run_dir, damage):
    # case 4: a truncated newest checkpoint crashed every command with IndexError, naming no file
    newest = _ckpt(run_dir, STEPS)
    data = glob.glob(newest + ".data-*")[0]
    if damage == "truncate":
        _truncate(newest)
    elif damage == "bitflip":
        content = bytearray(open(data, "rb").read())
        for offset in range(0, len(content), 512):  # every tensor over 512 bytes is hit
            content[offset] ^= 0x40
        open(data, "wb").write(bytes(content))
    else:
        os.remove(data)
    with pytest.warns(CheckpointWarning, match=f"ckpt-{STEPS}"):
        _, path = load_run(run_dir)
    assert path == _ckpt(run_dir, STEPS - 1)
    with pytest.warns(CheckpointWarning, match=f"ckpt-{STEPS}"):
        result = train_gan(_run(run_dir, steps=STEPS + 1))
    assert result["resumed_from"] == STEPS - 1 and result["final_step"] == STEPS + 1
    assert os.listdir(os.path.join(run_dir, "checkpoints", "unreadable"))
    assert find_checkpoints(os.path.join(run_dir, "checkpoints"))[0] == _ckpt(run_dir, STEPS + 1)


def test_every_checkpoint_damaged_is_a_clear_error_naming_each(run_dir):
    for prefix in find_checkpoints(os.path.join(run_dir, "checkpoints")):
        _truncate(prefix)
    before = _digests(run_dir)
    with pytest.raises(CheckpointError) as caught, pytest.warns(CheckpointWarning):
        load_run(run_dir)
    for n in range(1, STEPS + 1):
        assert f"ckpt-{n} " in str(caught.value)
    with pytest.raises(CheckpointError), pytest.warns(CheckpointWarning):
        train_gan(_run(run_dir))
    assert _digests(run_dir) == before


def test_leftover_temp_folders_are_removed_on_start(run_dir):
    # case 10: ckpt-N_temp/ folders were left behind after a kill or a full disk
    temp = os.path.join(run_dir, "checkpoints", f"ckpt-{STEPS + 1}_temp")
    os.makedirs(temp)
    open(os.path.join(temp, "part-00000-of-00001.data-00000-of-00001"), "wb").write(b"\0" * 10)
    open(os.path.join(run_dir, "checkpoints", "checkpoint.tmp1234"), "w").write("partial")
    train_gan(_run(run_dir, steps=STEPS + 1))
    names = os.listdir(os.path.join(run_dir, "checkpoints"))
    assert not [n for n in names if n.endswith("_temp") or n.startswith("checkpoint.tmp")]


def test_run_json_is_written_after_the_restore(run_dir, monkeypatch):
    # case 2 again: the record is written last, so a failing restore leaves the old one
    calls = []
    original = RunDirectory.write

    def write(self, record):
        calls.append(len(find_checkpoints(self.checkpoints)))
        return original(self, record)

    monkeypatch.setattr(RunDirectory, "write", write)
    result = train_gan(_run(run_dir, steps=STEPS + 1))
    assert result["resumed_from"] == STEPS and calls == [STEPS]


def test_keep_is_enforced_across_resumes(tmp_path):
    # the rewritten state file carries the checkpoints' times, so the manager still deletes
    # the oldest beyond `keep` after a resume (before, every pre-resume checkpoint stayed)
    out = tmp_path / "run"
    for steps in (2, 3, 5):
        train_gan(_run(out, steps=steps, keep=1))
    assert find_checkpoints(os.path.join(out, "checkpoints")) == [_ckpt(out, 5)]


def test_torn_first_checkpoint_of_an_interrupted_save_starts_afresh(tmp_path):
    # a kill while TensorFlow wrote the first ckpt-1.index left a torn index next to its
    # ckpt-1_temp/ folder; before, every later start stopped with "None of the 1 checkpoints"
    out = tmp_path / "run"
    train_gan(_run(out, steps=1))
    checkpoints = os.path.join(out, "checkpoints")
    open(_ckpt(out, 1) + ".index", "wb").close()  # 0 bytes, as a kill mid-write leaves it
    os.makedirs(_ckpt(out, 1) + "_temp")
    os.remove(os.path.join(checkpoints, "checkpoint"))
    with pytest.warns(CheckpointWarning, match="ckpt-1"):
        result = train_gan(_run(out, steps=2))
    assert result["resumed_from"] == 0 and result["final_step"] == 2
    assert os.path.exists(os.path.join(checkpoints, "unreadable", "ckpt-1.index"))


def test_a_torn_checkpoint_without_an_interrupted_save_is_still_an_error(run_dir):
    for prefix in find_checkpoints(os.path.join(run_dir, "checkpoints")):
        open(prefix + ".index", "wb").close()
    with pytest.raises(CheckpointError, match="None of the 4"), pytest.warns(CheckpointWarning):
        train_gan(_run(run_dir))
