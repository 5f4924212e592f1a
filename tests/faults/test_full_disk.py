"""A full disk while training (issue 14, the fault-injection suite, and case 10): the run stops
with a clear one-line error instead of hanging or reporting success, the previous checkpoint
stays intact and restorable, and the next start leaves nothing of the failed write behind.

Two ways to fill the disk, each in a subprocess ``ascendgan train dcgan --smoke`` (see
``_harness.TinyRun``) that inherits the Keras mode of the test run:

- a file-size limit (``RLIMIT_FSIZE``, SIGXFSZ ignored): writing a file beyond it fails with
  ``EFBIG`` ("File too large"); works without privileges. Every checkpoint has the same size,
  so the limit is applied to a resumed run: its earlier checkpoints fit, its next one does not.
- a small tmpfs (``ENOSPC``, "No space left on device"), when ``mount`` is permitted (root):
  room for one checkpoint, not for the second; then remounted larger, as a user would free space.
"""

import os
import subprocess

import _harness as harness  # tests/faults/_harness.py (pytest puts this folder on sys.path)
import numpy as np
import pytest

from ascendgan.recipes import load_run

pytestmark = pytest.mark.faults

#: Larger than run.json, the state file and a checkpoint index; smaller than a checkpoint's data
#: file (about 500 kB for the smoke DCGAN).
FILE_LIMIT = 64 * 1024
#: A tmpfs holding one smoke-DCGAN checkpoint (and run.json), not two.
SMALL_DISK = "768k"


def _error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("ascendgan: error:")]


def _output(result):
    """The end of a run's output without TensorFlow's start-up log lines."""
    lines = (result.stdout + result.stderr).splitlines()
    return "\n".join(line for line in lines if not line.startswith(("I0000", "WARNING: All log")))[-3000:]


def _assert_clear_error(result, *fragments):
    """A failed run: non-zero exit, one ``ascendgan: error:`` line holding every fragment."""
    assert result.returncode != 0, "the run reported success although a write failed:\n" + _output(result)
    lines = _error_lines(result)
    assert len(lines) == 1, _output(result)
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _assert_intact(tiny, expected):
    """The checkpoints in ``expected`` (``{prefix: values}`` read before the failure) are
    unchanged, and ``ascendgan sample``'s loader restores the newest of them completely."""
    for prefix, values in expected.items():
        assert harness.differences(values, harness.checkpoint_values(prefix)) == [], prefix
    _assert_restorable(tiny, max(expected, key=lambda p: int(p.rsplit("-", 1)[1])))


def _assert_restorable(tiny, newest):
    """Every checkpoint of the run is readable; the run loads from ``newest``."""
    assert harness.unreadable_checkpoints(tiny.checkpoints) == {}
    gan, path = load_run(tiny.out)
    assert path == newest
    assert gan.generator.weights and all(np.all(np.isfinite(w.numpy())) for w in gan.generator.weights)


def test_file_too_large_on_a_checkpoint_write_stops_the_run_and_keeps_the_previous_one(tmp_path):
    tiny = harness.TinyRun(str(tmp_path / "run"), steps=2)
    harness.check_ok(harness.run(tiny))
    before = {p: harness.checkpoint_values(p) for p in harness.checkpoints_in(tiny.checkpoints)}
    assert [os.path.basename(p) for p in before] == ["ckpt-1", "ckpt-2"]

    # resumed for 2 more steps; the save of step 3 cannot write its data file
    failed = harness.run(tiny, steps=4, preexec_fn=harness.file_size_limit(FILE_LIMIT))
    _assert_clear_error(failed, "File too large", tiny.checkpoints)
    _assert_intact(tiny, before)

    # the next start (no limit, a checkpoint only at step 4) cleans the failed write up
    harness.check_ok(harness.run(tiny, steps=4, checkpoint_every=4))
    assert harness.leftovers(tiny.out) == []
    assert os.path.exists(os.path.join(tiny.checkpoints, "ckpt-4.index"))


@pytest.mark.slow
def test_file_too_large_while_resuming_keeps_the_previous_run(tmp_path):
    tiny = harness.TinyRun(str(tmp_path / "run"), steps=2)
    harness.check_ok(harness.run(tiny))
    with open(os.path.join(tiny.out, "run.json")) as handle:
        record = handle.read()
    before = {p: harness.checkpoint_values(p) for p in harness.checkpoints_in(tiny.checkpoints)}

    # 100 bytes: the first small file a resume writes fails (the `checkpoint` state file, or
    # run.json), and its atomic write must leave the previous one in place
    failed = harness.run(tiny, steps=3, preexec_fn=harness.file_size_limit(100))
    _assert_clear_error(failed, "File too large", tiny.out)
    with open(os.path.join(tiny.out, "run.json")) as handle:
        assert handle.read() == record
    _assert_intact(tiny, before)

    harness.check_ok(harness.run(tiny, steps=3))
    assert harness.leftovers(tiny.out) == []


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of :data:`SMALL_DISK` mounted in ``tmp_path`` (skips when mounting is not
    permitted); yields ``(path, grow)`` where ``grow()`` remounts it larger."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK}", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")

    def grow():
        subprocess.run(["mount", "-o", "remount,size=16m", str(mount_point)], check=True)

    try:
        yield mount_point, grow
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.mark.slow
def test_no_space_left_stops_the_run_and_resumes_exactly_once_there_is_room(small_disk, tmp_path):
    mount_point, grow = small_disk
    tiny = harness.TinyRun(str(mount_point / "run"), steps=3, keep=1)
    reference = harness.TinyRun(str(tmp_path / "uninterrupted"), steps=3, keep=1)
    background = harness.start(reference, str(tmp_path / "uninterrupted.log"))

    failed = harness.run(tiny)  # ckpt-1 fits, the write of ckpt-2 does not
    _assert_clear_error(failed, "No space left on device", tiny.checkpoints)
    assert [os.path.basename(p) for p in harness.checkpoints_in(tiny.checkpoints)] == ["ckpt-1"]
    _assert_restorable(tiny, os.path.join(tiny.checkpoints, "ckpt-1"))  # resuming from it is exact (below)

    grow()  # the user frees space and resumes (saving only at the end: ckpt-2 is not rewritten)
    resumed = harness.check_ok(harness.run(tiny, checkpoint_every=3))
    assert "3 of 3 (resumed from 1)" in resumed.stdout
    assert harness.leftovers(tiny.out) == []
    assert harness.wait_and_close(background) == 0
    expected, _ = harness.split_bookkeeping(harness.final_values(reference))
    received, _ = harness.split_bookkeeping(harness.final_values(tiny))
    assert harness.differences(expected, received) == []
