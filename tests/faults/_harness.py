"""The fault-injection suite's harness: a tiny ``ascendgan train`` run as a subprocess, killed
with SIGKILL at chosen moments or run under a file-size limit, and what its run directory holds
afterwards.

Every subprocess runs ``ascendgan train dcgan --smoke`` (the smoke network, batch 2, 8 MNIST
images, a checkpoint every step, no TensorBoard) and inherits ``TF_USE_LEGACY_KERAS`` from the
test's environment, so the suite runs in the Keras mode of the test run.

A :class:`KillPoint` says when to kill: after a delay from the process start (``"delay"``), after
a delay from the start of its first save (``"training"``), or as soon as the checkpoint folder
shows the n-th event of a save (``"temp"``: a ``ckpt-N_temp/`` folder appears; ``"index"``: a new
``ckpt-N.index`` appears; ``"state"``: the ``checkpoint`` state file is replaced; ``"sweep"``: an
older checkpoint's ``.index`` disappears). The folder is looked at every 0.3 ms once it is in use. After the kill, :func:`observed_phase` names what the
folder shows the process was doing (:data:`PHASES`).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf

import ascendgan

#: The ``ascendgan`` command (the package has no ``__main__``).
BOOT = "import sys; from ascendgan.cli import main; sys.exit(main(sys.argv[1:]))"
#: The folder holding the ``ascendgan`` package the tests import (the children import it too).
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(ascendgan.__file__)))
#: Seconds a subprocess may take before the suite calls it a hang.
TIMEOUT = 600
#: Seconds between two looks at the checkpoint folder while waiting for a kill event.
POLL = 0.0003

#: What the process was doing when it was killed, as the checkpoint folder shows it.
PHASES = {
    "startup": "before its first checkpoint (importing, loading data, building, restoring)",
    "checkpoint_write": "writing a checkpoint (a ckpt-N_temp/ folder, or a data file without index)",
    "before_state": "after a checkpoint's files, before the `checkpoint` state file names it",
    "state_write": "writing the `checkpoint` state file (a checkpoint.tmp* file)",
    "sweep": "deleting checkpoints beyond `keep` (state lists more than keep or a deleted one, "
             "or an older data file has lost its index)",
    "between_checkpoints": "training between two complete checkpoints",
}
#: The kill triggers (see the module docstring).
TRIGGERS = ("delay", "training", "temp", "index", "state", "sweep")

#: Checkpoint entries that are not training state: ``tf.train.Checkpoint``'s own count of the
#: saves made through one checkpoint object. ``GANCheckpoint`` numbers checkpoints by the
#: generator step, and its ``tf.train.Checkpoint`` is a new object in every process, so after a
#: resume this counts the saves of the last process only (see the suite's report).
BOOKKEEPING = ("save_counter/.ATTRIBUTES/VARIABLE_VALUE",)

_INDEX = re.compile(r"^ckpt-(\d+)\.index$")
_DATA = re.compile(r"^ckpt-(\d+)\.data-\d+-of-\d+$")


@dataclasses.dataclass(frozen=True)
class TinyRun:
    """One ``ascendgan train dcgan --smoke`` command and its run directory."""

    out: str
    steps: int = 6
    checkpoint_every: int = 1
    keep: int = 2
    limit: int = 8
    seed: int = 0

    def argv(self, **changes):
        """The command line; ``changes`` replace fields for this call (e.g. ``steps=4``)."""
        run = dataclasses.replace(self, **changes)
        return [sys.executable, "-c", BOOT, "train", "dcgan", "--smoke", "--steps", str(run.steps),
                "--checkpoint-every", str(run.checkpoint_every), "--keep", str(run.keep),
                "--limit", str(run.limit), "--seed", str(run.seed), "--no-tensorboard", "--quiet",
                "--sample-every", "1000", "--num-samples", "4", "--out", os.path.abspath(run.out)]

    @property
    def checkpoints(self):
        return os.path.join(self.out, "checkpoints")


def child_env():
    """The test's environment (``TF_USE_LEGACY_KERAS`` included), with TensorFlow quiet and the
    ``ascendgan`` the tests import first on the path (the children run from their run's folder)."""
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    return env


def child_cwd(tiny):
    """The children's working directory: the run directory's parent (never the repository, so
    ``python -c`` imports the same ``ascendgan`` as the tests, via :func:`child_env`)."""
    parent = os.path.dirname(os.path.abspath(tiny.out))
    os.makedirs(parent, exist_ok=True)
    return parent


def file_size_limit(limit):
    """A ``preexec_fn``: files the child writes may not grow beyond ``limit`` bytes; writes past
    it fail with EFBIG (SIGXFSZ, which would kill the process, is ignored)."""

    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run(tiny, timeout=TIMEOUT, preexec_fn=None, **changes):
    """Runs the command to its end; returns the ``CompletedProcess`` (text output).

    A run that does not end within ``timeout`` seconds is killed and reported as a hang.
    """
    try:
        return subprocess.run(tiny.argv(**changes), env=child_env(), cwd=child_cwd(tiny), capture_output=True,
                              text=True, timeout=timeout, preexec_fn=preexec_fn)
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"`{' '.join(tiny.argv(**changes)[3:])}` hung for {timeout} s") from error


def check_ok(result):
    """Asserts a ``CompletedProcess`` succeeded, showing the end of its output otherwise."""
    assert result.returncode == 0, (
        f"exit code {result.returncode}\n--- stdout\n{result.stdout[-2000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )
    return result


def start(tiny, log_path, **changes):
    """Starts the command in the background (output to ``log_path``); returns the ``Popen``."""
    log = open(log_path, "w")  # noqa: SIM115 - closed by wait_and_close
    process = subprocess.Popen(tiny.argv(**changes), env=child_env(), cwd=child_cwd(tiny), stdout=log,
                               stderr=subprocess.STDOUT)
    process.log = log
    return process


def wait_and_close(process, timeout=TIMEOUT):
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        process.kill()
        process.wait()
        raise AssertionError(f"the process hung for {timeout} s") from error
    finally:
        process.log.close()


# --- the checkpoint folder ------------------------------------------------------------------

def listing(directory):
    """The names in ``directory`` (empty when it does not exist)."""
    try:
        return frozenset(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()


def index_numbers(names):
    return sorted(int(m.group(1)) for m in map(_INDEX.match, names) if m)


def data_numbers(names):
    return sorted(int(m.group(1)) for m in map(_DATA.match, names) if m)


def state_paths(directory):
    """``(latest, all)`` checkpoint names of the ``checkpoint`` state file (``(None, [])``
    without one)."""
    try:
        with open(os.path.join(directory, "checkpoint")) as handle:
            text = handle.read()
    except FileNotFoundError:
        return None, []
    latest = re.search(r'^model_checkpoint_path: "([^"]*)"', text, re.M)
    every = re.findall(r'^all_model_checkpoint_paths: "([^"]*)"', text, re.M)
    base = lambda path: os.path.basename(path)  # noqa: E731
    return (base(latest.group(1)) if latest else None), [base(p) for p in every]


def observed_phase(directory, started_ns, keep):
    """What the checkpoint folder shows a killed process was doing (a key of :data:`PHASES`).

    Args:
        directory: the checkpoint folder.
        started_ns: ``time.time_ns()`` when the process started (its own checkpoints are the
            ones written later).
        keep: the run's ``--keep``.
    """
    names = listing(directory)
    if any(name.endswith("_temp") for name in names):
        return "checkpoint_write"
    if any(name.startswith("checkpoint.tmp") for name in names):
        return "state_write"
    indexed = set(index_numbers(names))
    newest = max(indexed) if indexed else None
    orphans = [n for n in data_numbers(names) if n not in indexed]
    if orphans and newest is not None and max(orphans) > newest:
        return "checkpoint_write"  # the data file is renamed into place before the index is written
    own = [n for n in indexed
           if os.stat(os.path.join(directory, f"ckpt-{n}.index")).st_mtime_ns >= started_ns]
    if not own:
        return "startup"
    latest, every = state_paths(directory)
    if latest != f"ckpt-{newest}":
        return "before_state"
    if orphans or len(every) > keep or any(int(p.split("-")[-1]) not in indexed for p in every):
        return "sweep"
    return "between_checkpoints"


def checkpoint_values(prefix):
    """``{key: numpy value}`` of every variable of checkpoint ``prefix`` (reading every value,
    so a truncated or corrupt data file fails here)."""
    reader = tf.train.load_checkpoint(prefix)
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()
            if key != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def checkpoints_in(directory):
    """The checkpoint prefixes of ``directory`` (by ``.index`` files), oldest first."""
    return [os.path.join(directory, f"ckpt-{n}") for n in index_numbers(listing(directory))]


def unreadable_checkpoints(directory):
    """``{prefix: error}`` of the checkpoints in ``directory`` that cannot be read completely."""
    failed = {}
    for prefix in checkpoints_in(directory):
        try:
            checkpoint_values(prefix)
        except Exception as error:  # noqa: BLE001 - any read failure is the finding
            failed[prefix] = f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
    return failed


def final_values(tiny):
    """The values of the run's final checkpoint (``ckpt-<steps>``)."""
    prefix = os.path.join(tiny.checkpoints, f"ckpt-{tiny.steps}")
    assert os.path.exists(prefix + ".index"), f"no final checkpoint {prefix}: {sorted(listing(tiny.checkpoints))}"
    return checkpoint_values(prefix)


def split_bookkeeping(values):
    """``(state, bookkeeping)``: the training state of a checkpoint's values, and the
    :data:`BOOKKEEPING` entries, which are compared separately."""
    state = {key: value for key, value in values.items() if key not in BOOKKEEPING}
    return state, {key: values[key] for key in BOOKKEEPING if key in values}


def differences(expected, received):
    """Human-readable differences between two ``{key: value}`` dicts (empty when bit-equal)."""
    found = [f"missing {key}" for key in sorted(set(expected) - set(received))]
    found += [f"unexpected {key}" for key in sorted(set(received) - set(expected))]
    for key in sorted(set(expected) & set(received)):
        a, b = np.asarray(expected[key]), np.asarray(received[key])
        if a.dtype != b.dtype or a.shape != b.shape or (a.tobytes() != b.tobytes()):
            if a.dtype.kind in "fc" and a.shape == b.shape:
                found.append(f"{key}: max |diff| {np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))):.3g}")
            else:
                found.append(f"{key}: {a!r} != {b!r}"[:200])
    return found


def leftovers(run_dir):
    """Files and folders an interrupted write leaves behind: ``ckpt-*_temp``, ``*.tmp*``."""
    found = glob.glob(os.path.join(run_dir, "**", "*_temp"), recursive=True)
    found += glob.glob(os.path.join(run_dir, "**", "*.tmp*"), recursive=True)
    return sorted(os.path.relpath(path, run_dir) for path in found)


# --- killing ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class KillPoint:
    """When to kill: ``trigger`` (see :data:`TRIGGERS`), its ``occurrence`` (n-th event of a
    save) or ``delay`` (seconds)."""

    trigger: str
    occurrence: int = 1
    delay: float = 0.0

    def describe(self):
        if self.trigger in ("delay", "training"):
            return f"{self.trigger} {self.delay:.3f}s"
        return f"{self.trigger} #{self.occurrence}"


def kill_points(seed, triggers, startup_seconds, training_seconds):
    """A reproducible list of kill points, one per trigger, drawn from ``random.Random(seed)``:
    delays uniform over the process start (``delay``) or the training window (``training``),
    occurrences 1 or 2."""
    rng = random.Random(seed)
    points = []
    for trigger in triggers:
        if trigger == "delay":
            points.append(KillPoint(trigger, delay=round(rng.uniform(0.5, startup_seconds), 3)))
        elif trigger == "training":
            points.append(KillPoint(trigger, delay=round(rng.uniform(0.0, training_seconds), 3)))
        else:
            points.append(KillPoint(trigger, occurrence=rng.randint(1, 2)))
    return points


def _snapshot(directory):
    """The checkpoint folder's names and the identity of its ``checkpoint`` state file."""
    try:
        state = os.stat(os.path.join(directory, "checkpoint"))
        state = (state.st_ino, state.st_mtime_ns, state.st_size)
    except FileNotFoundError:
        state = None
    return listing(directory), state


def _events(before, after):
    """The save events between two snapshots (:func:`_snapshot`) of the checkpoint folder."""
    (old, old_state), (new, new_state) = before, after
    added, gone = new - old, old - new
    events = []
    if any(name.endswith("_temp") for name in added):
        events.append("temp")
    if any(_INDEX.match(name) for name in added):
        events.append("index")
    if new_state is not None and new_state != old_state:
        events.append("state")
    if any(_INDEX.match(name) for name in gone):
        events.append("sweep")
    return events


def kill_at(tiny, point, log_path, timeout=TIMEOUT):
    """Starts the command and SIGKILLs it at ``point``.

    Returns:
        A dict: the point, whether the process was killed (``False`` when it ended first),
        its exit code, the observed phase (:func:`observed_phase`), seconds until the kill and
        the checkpoint folder's listing afterwards.
    """
    started_ns = time.time_ns()
    t0 = time.monotonic()
    process = start(tiny, log_path)
    before = _snapshot(tiny.checkpoints)
    counts = dict.fromkeys(TRIGGERS, 0)
    saving = None  # when this process began its first save
    killed = False
    try:
        while process.poll() is None:
            now = time.monotonic()
            if now - t0 > timeout:
                raise AssertionError(f"the process hung for {timeout} s ({point.describe()})")
            if point.trigger == "delay":
                killed = now - t0 >= point.delay
            else:
                after = _snapshot(tiny.checkpoints)
                if after != before:
                    for event in _events(before, after):
                        counts[event] += 1
                    saving = saving or (now if counts["temp"] else None)
                    before = after
                if point.trigger == "training":
                    killed = saving is not None and now - saving >= point.delay
                else:
                    killed = counts[point.trigger] >= point.occurrence
            if killed:
                process.send_signal(signal.SIGKILL)
                break
            if point.trigger == "delay":
                time.sleep(max(0.0, min(0.01, point.delay - (time.monotonic() - t0))))
            else:  # look continuously once the folder is in use (a save lasts a few ms)
                time.sleep(POLL if any(counts.values()) else 0.005)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.log.close()
    killed = killed and code == -signal.SIGKILL
    return {
        "point": point.describe(),
        "killed": killed,
        "exit_code": code,
        "phase": observed_phase(tiny.checkpoints, started_ns, tiny.keep) if killed else "finished",
        "seconds": round(time.monotonic() - t0, 3),
        "listing": sorted(listing(tiny.checkpoints)),
    }


def finish(tiny, reference, problems, record):
    """Runs the command to its end and checks the run directory: every checkpoint readable, the
    final training state bit-equal to ``reference`` (``{key: value}``, or a function returning
    it), nothing left behind; adds what went wrong to ``problems`` and what was seen to
    ``record``."""
    result = run(tiny)
    record["final_run"] = result.stdout.splitlines()[:2]
    if result.returncode != 0:
        problems.append(f"{tiny.out}: the resumed run failed ({result.returncode}): {result.stderr[-1500:]}")
        return
    unreadable = unreadable_checkpoints(tiny.checkpoints)
    if unreadable:
        problems.append(f"{tiny.out}: unreadable after the final run: {unreadable}")
    state, bookkeeping = split_bookkeeping(final_values(tiny))
    expected, expected_bookkeeping = split_bookkeeping(reference() if callable(reference) else reference)
    record["bookkeeping_differences"] = differences(expected_bookkeeping, bookkeeping)
    diff = differences(expected, state)
    if diff:
        problems.append(f"{tiny.out}: final weights differ from the uninterrupted run after "
                        f"{record['kills']}: {diff[:8]}")
    left = leftovers(tiny.out)
    if left:
        problems.append(f"{tiny.out}: left behind after the final run: {left}")
    record["checkpoints_after"] = [os.path.basename(p) for p in checkpoints_in(tiny.checkpoints)]


def _torn_apart(unreadable, record):
    """``(unreadable, torn)``: a kill while a checkpoint is written may leave that (newest)
    checkpoint unreadable (TensorFlow writes the merged ``.index`` in place, after renaming the
    data file), which the next start must skip; any other unreadable checkpoint is a fault."""
    newest = max((int(p.rsplit("-", 1)[1]) for p in unreadable), default=None)
    torn = {p: e for p, e in unreadable.items()
            if record["phase"] == "checkpoint_write" and int(p.rsplit("-", 1)[1]) == newest
            and max(index_numbers(record["listing"])) == newest}
    return {p: e for p, e in unreadable.items() if p not in torn}, torn


def kill_and_resume(tiny, points, log_dir, reference):
    """Kills the command at each of ``points`` in turn (each a fresh start that resumes), then
    runs it to its end and checks it (:func:`finish`). After each kill every checkpoint must be
    readable, except the one being written when the process was killed (``torn``, see
    :func:`_torn_apart`).

    A process that ends before its kill point finished the run: that run directory is checked
    and the next points go to a fresh one (``<out>-2``, ...), so every point is tried.

    Returns:
        ``(records, runs, problems)``: one record per point (:func:`kill_at`, plus the
        checkpoints the kill left unreadable), one per run directory (its kills, the final
        run's output, bookkeeping differences, checkpoints left), and what went wrong (empty
        when every checkpoint stayed readable, every run finished with the training state of
        ``reference`` bit for bit, and nothing was left behind).
    """
    records, runs, problems = [], [], []
    base = tiny.out
    current = {"out": tiny.out, "kills": []}
    for number, point in enumerate(points):
        log = os.path.join(log_dir, f"attempt-{number}.log")
        record = kill_at(tiny, point, log)
        record["out"] = tiny.out
        if not record["killed"] and record["exit_code"] != 0:
            with open(log) as handle:
                errors = [line for line in handle if line.startswith("ascendgan: error")] or ["(see the log)"]
            problems.append(f"{point.describe()}: exited with {record['exit_code']} before the kill ({log}): "
                            f"{errors[-1].strip()[:600]}")
        record["unreadable"], record["torn"] = _torn_apart(unreadable_checkpoints(tiny.checkpoints), record)
        if record["unreadable"]:
            problems.append(f"{point.describe()} ({record['phase']}): unreadable {record['unreadable']}")
        records.append(record)
        if record["killed"]:
            current["kills"].append(f"{point.describe()} -> {record['phase']}")
        elif record["exit_code"] == 0:  # the run ended: check it, continue in a fresh directory
            finish(tiny, reference, problems, current)
            runs.append(current)
            tiny = dataclasses.replace(tiny, out=f"{base}-{len(runs) + 1}")
            current = {"out": tiny.out, "kills": []}
    finish(tiny, reference, problems, current)
    runs.append(current)
    return records, runs, problems


def phase_counts(records):
    """``{phase: kills}`` over the records of killed processes."""
    counts = {}
    for record in records:
        if record.get("killed"):
            counts[record["phase"]] = counts.get(record["phase"], 0) + 1
    return counts


def write_report(path, payload):
    """Writes the suite's record (kill points, phases, findings) as JSON and prints a summary."""
    with open(path, "w") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True, default=str)
    print(f"\nfault report {path}: {json.dumps(payload.get('summary', {}), sort_keys=True)}")
