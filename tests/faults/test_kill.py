"""Kill -9 of a training subprocess (issue 14, the fault-injection suite): killed at random
moments and in the middle of checkpoint writes, every run resumes, every complete checkpoint
stays readable (a kill in the middle of a write may leave that newest checkpoint's index torn,
which the next start must skip), and the run ends with the training state of an uninterrupted
run, bit for bit (all but ``save_counter``, see ``_harness.BOOKKEEPING``).

Each run is ``ascendgan train dcgan --smoke --steps 10 --checkpoint-every 1 --keep 2`` (see
``_harness.TinyRun``) in a subprocess that inherits the Keras mode of the test run. The default
run kills twice (once while a checkpoint is being written, once at a seeded moment of training);
``-m slow`` adds 30 kill points (at least 20 kills) at seeded points of every kind (see ``_harness.TRIGGERS``) and checks
that uninterrupted runs are bit-reproducible. Each test writes ``kills.json`` (points, observed
phases, findings) to its temporary directory and prints a summary.
"""

import os
import random

import _harness as harness  # tests/faults/_harness.py (pytest puts this folder on sys.path)
import pytest

pytestmark = pytest.mark.faults

STEPS = 10
#: The default run's kill points: while the 2nd checkpoint is written, then at a seeded moment
#: within the first 0.25 s after the resumed process begins its first save.
FAST_POINTS = (
    harness.KillPoint("temp", occurrence=2),
    *harness.kill_points(7, ["training"], startup_seconds=8.0, training_seconds=0.25),
)
#: The slow suite's seeds: each gives the six triggers in a seeded order with seeded delays
#: and occurrences (5 x 6 = 30 kill points; a point is missed when its run ends first).
SLOW_SEEDS = (101, 102, 103, 104, 105)


class Reference:
    """An uninterrupted run, started in the background so it overlaps the kills."""

    def __init__(self, folder):
        self.run = harness.TinyRun(os.path.join(folder, "uninterrupted"), steps=STEPS)
        os.makedirs(folder, exist_ok=True)
        self.process = harness.start(self.run, os.path.join(folder, "uninterrupted.log"))
        self._values = None

    def values(self):
        if self._values is None:
            code = harness.wait_and_close(self.process)
            with open(self.process.log.name) as log:
                assert code == 0, log.read()[-3000:]
            self._values = harness.final_values(self.run)
        return self._values


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    started = Reference(str(tmp_path_factory.mktemp("reference")))
    yield started
    if started.process.poll() is None:  # a test failed before it needed the reference
        started.process.kill()
    harness.wait_and_close(started.process)


def _chain(reference, folder, points):
    os.makedirs(os.path.join(folder, "logs"), exist_ok=True)
    tiny = harness.TinyRun(os.path.join(folder, "run"), steps=STEPS)
    records, runs, problems = harness.kill_and_resume(tiny, points, os.path.join(folder, "logs"),
                                                      reference.values)
    summary = {"kills": sum(r["killed"] for r in records), "phases": harness.phase_counts(records),
               "torn": sum(bool(r.get("torn")) for r in records), "problems": len(problems)}
    harness.write_report(os.path.join(folder, "kills.json"),
                         {"summary": summary, "points": records, "runs": runs, "problems": problems})
    return records, runs, problems


@pytest.fixture(scope="module")
def fast_chain(reference, tmp_path_factory):
    return _chain(reference, str(tmp_path_factory.mktemp("kills")), FAST_POINTS)


def test_killed_runs_resume_to_the_uninterrupted_weights(fast_chain):
    records, runs, problems = fast_chain
    assert not problems, "\n".join(problems)
    assert [r["killed"] for r in records] == [True, True], records
    assert records[0]["phase"] == "checkpoint_write", records[0]  # killed with ckpt-2_temp/ present
    assert len(runs) == 1 and f"{STEPS} of {STEPS}" in runs[0]["final_run"][1], runs


def test_resumed_runs_keep_at_most_keep_checkpoints(fast_chain):
    # `--keep 2`: a resume must not leave the checkpoints it started from behind for good
    _, runs, _ = fast_chain
    assert len(runs[-1]["checkpoints_after"]) <= 2, runs[-1]


@pytest.mark.slow
def test_uninterrupted_runs_are_bit_reproducible(reference, tmp_path):
    again = harness.TinyRun(str(tmp_path / "again"), steps=STEPS)
    harness.check_ok(harness.run(again))
    assert harness.differences(reference.values(), harness.final_values(again)) == []


@pytest.mark.slow
def test_many_kills_at_seeded_points_all_resume_exactly(reference, tmp_path):
    records, problems = [], []
    for seed in SLOW_SEEDS:
        triggers = list(harness.TRIGGERS)
        random.Random(seed).shuffle(triggers)
        points = harness.kill_points(seed, triggers, startup_seconds=8.0, training_seconds=0.3)
        chain_records, _, chain_problems = _chain(reference, str(tmp_path / f"seed-{seed}"), points)
        records += chain_records
        problems += chain_problems
    phases = harness.phase_counts(records)
    harness.write_report(str(tmp_path / "kills.json"),
                         {"summary": {"kills": sum(r["killed"] for r in records), "phases": phases,
                     "torn": sum(bool(r.get("torn")) for r in records)},
                          "points": records, "problems": problems})
    assert not problems, "\n".join(problems)
    assert sum(r["killed"] for r in records) >= 20, phases
    assert {"startup", "checkpoint_write"} <= set(phases), phases  # checkpoint writes included
