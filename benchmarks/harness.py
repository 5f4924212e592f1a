"""The timing harness: one configuration timed with ``fit()`` (:func:`run_one`), the same
in a fresh interpreter (:func:`run_in_child`), the machine description and the results
JSON (:func:`report`, :func:`write_report`).

Method: the model trains with ``fit()`` on one in-memory batch repeated forever
(``steps_per_epoch = warmup + iterations``); :func:`iteration_timer` stamps the end of every
iteration, the first ``warmup`` iterations (tracing, compilation, allocator warm-up) are
dropped, and the median of the remaining iteration times is reported.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks import flops, peak, profiling, subjects
from benchmarks.peers.timing import resident_mib

#: The command script a child process runs (``--one``).
RUN_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")
#: Values of ``run_one(optimizer=...)``.
OPTIMIZERS = ("default", "keras_adam")
#: Values of ``run_one(batch_norm=...)``: the networks' ``batch_norm`` argument.
BATCH_NORMS = ("fused", "keras")


def iteration_timer():
    """A Keras callback stamping the start and end of every training iteration.

    Its ``durations()`` are the wall-clock times between consecutive iteration ends (what a
    training loop sees, input pipeline and callbacks included); ``step_durations()`` the
    times from each iteration's start to its end (the training function alone). (Built on
    first use: Keras is imported lazily, so ``run.py --table`` starts fast.)
    """
    from ascendgan import compat

    class IterationTimer(compat.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begins, self.ends = [], []

        def on_train_batch_begin(self, batch, logs=None):
            self.begins.append(time.perf_counter())

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())

        def durations(self):
            return [b - a for a, b in zip(self.ends, self.ends[1:])]

        def step_durations(self):
            return [e - b for b, e in zip(self.begins, self.ends)]

    return IterationTimer()


def _dataset(batch):
    import tensorflow as tf

    return tf.data.Dataset.from_tensors(batch).repeat().prefetch(2)


def train(subject, steps, xla, callbacks, compile=True, optimizer="default"):
    """Runs ``steps`` training iterations of a subject with ``fit()`` (compiling first
    unless told not to: a second ``fit`` then reuses the traced training function)."""
    if compile:
        subjects.compile_subject(subject, steps, xla, optimizer)
    subject["model"].fit(_dataset(subject["batch"]), epochs=1, steps_per_epoch=steps,
                         callbacks=callbacks, verbose=0)


def machine():
    """A JSON-able description of the machine and the software versions."""
    import tensorflow as tf

    from ascendgan import compat

    fields, flags = peak.cpuinfo()
    cpu, family = fields.get("model name"), fields.get("cpu family")
    memory = None
    try:
        with open("/proc/meminfo") as handle:
            memory = round(int(handle.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": (cpu or platform.processor()) + (f" (family {family})" if family else ""),
        "cpu_model_number": fields.get("model"),
        "flags": flags.split(),
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "avx512f": " avx512f " in f" {flags} ",
        "avx512_bf16": " avx512_bf16 " in f" {flags} ",
        "amx_bf16": " amx_bf16 " in f" {flags} ",
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": compat.keras.__version__ if hasattr(compat.keras, "__version__") else None,
        "keras_mode": "keras3" if compat.KERAS_3 else "tf_keras",
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
        "torch": _torch_version(),
    }


def _torch_version():
    """The installed PyTorch's version, without importing it (None when absent)."""
    from importlib import metadata

    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None


def _check(name, precision, iterations, warmup, optimizer, batch_norm):
    from ascendgan.validation import check_choice, check_int

    check_choice("name", name, subjects.ALL_NAMES)
    check_choice("precision", precision, subjects.PRECISIONS)
    check_int("iterations", iterations, minimum=1)
    check_int("warmup", warmup, minimum=1)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("batch_norm", batch_norm, BATCH_NORMS)


def _timings(timer, warmup, images_per_iteration):
    # durations()[i] is iteration i + 1; keep iterations after the warm-up
    times = timer.durations()[warmup - 1:]
    steps_only = timer.step_durations()[warmup:]
    median = statistics.median(times)
    return median, {
        "first_iteration_ms": round(1000 * timer.step_durations()[0], 1),
        "ms_per_iteration": round(1000 * median, 2),
        "ms_min": round(1000 * min(times), 2),
        "ms_max": round(1000 * max(times), 2),
        "ms_step_only_median": round(1000 * statistics.median(steps_only), 2),
        "ms_all": [round(1000 * t, 2) for t in times],
        "images_per_s": round(images_per_iteration / median, 2),
    }


def run_one(name, precision="float32", xla=False, iterations=10, warmup=3, tiny=False,
            count_flops=True, profile_dir=None, threads=None, optimizer="default",
            batch_norm="fused", fresh_fakes=False, batch_size=None):
    """Builds one model, trains ``warmup + iterations`` iterations and times them.

    Args:
        name: one of ``subjects.MODEL_NAMES``.
        precision: ``"float32"`` or ``"mixed_bfloat16"`` (the global Keras dtype policy;
            it is reset to float32 afterwards).
        xla: compile the training step with XLA (``jit_compile=True``).
        iterations: timed iterations (>= 1).
        warmup: iterations run first and not timed (>= 1: the first traces the step).
        tiny: the family's smoke size (for tests).
        count_flops: trace the training step again to count its FLOPs.
        profile_dir: when set, after timing run a few more iterations under the
            TensorFlow profiler writing there, and add the op-type time breakdown.
        threads: ``(intra_op, inter_op)`` thread counts to set first (0 = TensorFlow's
            default); must come before TensorFlow runs anything in this process.
        optimizer: ``"default"`` (the models' default optimizers; the GANs' is
            ``ascendgan.optimizers.FusedAdam``) or ``"keras_adam"`` (GANs with Keras's own
            Adam, the same maths in a dozen element-wise ops: the before/after experiment).
        batch_norm: ``"fused"`` (the networks as shipped) or ``"keras"`` (DCGAN / Pix2Pix
            networks built with ``batch_norm="keras"``, Keras's unfused
            ``BatchNormalization``: the before/after experiment).
        fresh_fakes: DCGAN / Pix2Pix without ``reuse_fakes`` (see ``subjects.build``).
        batch_size: a GAN's batch instead of its documented one.

    Returns:
        a JSON-able dict of the measurements (see benchmarks/README.md for the fields).

    Raises:
        ValueError: naming the argument, for an unknown model, precision, optimizer or
            batch norm, or iteration counts below 1.
    """
    from ascendgan import compat

    _check(name, precision, iterations, warmup, optimizer, batch_norm)
    if threads is not None:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(int(threads[0]))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads[1]))
    load_before = os.getloadavg()
    rss_start, _ = resident_mib()
    compat.set_precision(precision)
    try:
        subject = subjects.build(name, tiny, fresh_fakes=fresh_fakes, batch_norm=batch_norm,
                                 batch_size=batch_size)
        timer = iteration_timer()
        start = time.perf_counter()
        train(subject, warmup + iterations, xla, [timer], optimizer=optimizer)
        wall = time.perf_counter() - start
        load_after = os.getloadavg()
        rss_end, rss_peak = resident_mib()  # before FLOP counting traces the step again
        median, timings = _timings(timer, warmup, subject["images_per_iteration"])
        result = {
            "model": name,
            "title": subjects.MODELS[name]["title"],
            "precision": precision,
            "xla": bool(xla),
            "optimizer": optimizer,
            "batch_norm": batch_norm,
            **subject["config"],
            "images_per_iteration": subject["images_per_iteration"],
            "parameters": {key: subjects.parameter_count(net)
                           for key, (net, _) in subject["networks"].items()},
            "warmup": warmup,
            "iterations": iterations,
            **timings,
            "wall_s": round(wall, 1),
            "threads": list(threads) if threads is not None else "default",
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "rss_after_import_mib": rss_start,
            "rss_end_mib": rss_end,
            "peak_rss_mib": rss_peak,
        }
        if count_flops:
            result.update(flops.flop_fields(name, subject, median))
        if profile_dir is not None:
            logdir = os.path.join(profile_dir, f"{name}_{precision}_{'xla' if xla else 'graph'}")
            steps = 3 if subject["images_per_iteration"] <= 256 else 2
            result["profile"] = profiling.profile_summary(
                lambda n: train(subject, n, xla, [], compile=False), steps, logdir)
        return result
    finally:
        compat.set_precision("float32")


def run_in_child(args, model, precision, xla, iterations, batch_size=None):
    """Runs one configuration in a fresh interpreter (``run.py --one``) and returns its
    result dict, or ``{model, precision, xla, error}`` with the tail of its stderr."""
    command = ["--one", f"{model}:{precision}:{'on' if xla else 'off'}:{iterations}",
               "--warmup", str(args.warmup)]
    if args.tiny:
        command.append("--tiny")
    if args.no_flops:
        command.append("--no-flops")
    if args.profile:
        command += ["--profile", args.profile]
    command += ["--optimizer", args.optimizer, "--batch-norm", args.batch_norm]
    if args.fresh_fakes:
        command.append("--fresh-fakes")
    if args.threads:
        command += ["--threads", ",".join(str(n) for n in args.threads)]
    if batch_size is not None:
        command += ["--batch-size", str(batch_size)]
    return run_child(command, {"model": model, "precision": precision, "xla": xla})


def run_child(arguments, describe):
    """Runs ``run.py ARGUMENTS --output TMP`` in a fresh interpreter; returns the JSON it
    wrote, or ``describe`` plus ``error`` (the tail of its stderr) when it failed."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        path = handle.name
    command = [sys.executable, RUN_SCRIPT, *arguments, "--output", path]
    completed = subprocess.run(command, capture_output=True, text=True)
    try:
        if completed.returncode != 0:
            tail = completed.stderr.strip().splitlines()[-5:]
            return {**describe, "error": "\n".join(tail) or f"exit code {completed.returncode}"}
        with open(path) as handle:
            return json.load(handle)
    finally:
        os.unlink(path)


def wait_for_quiet(load, longest):
    """Waits until the 1-minute load average is below ``load``; False after ``longest`` s."""
    deadline = time.monotonic() + longest
    while os.getloadavg()[0] >= load:
        if time.monotonic() > deadline:
            return False
        time.sleep(10)
    return True


def now():
    """The UTC time in ISO format, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def default_output():
    """``benchmarks/results/<UTC date>.json``."""
    return os.path.join(os.path.dirname(RUN_SCRIPT), "results",
                        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}.json")


def report(started, command, results):
    """The results JSON: times, command, machine, reference step times and the results."""
    return {
        "started": started,
        "finished": now(),
        "command": command,
        "machine": machine(),
        "references_ms": subjects.REFERENCES,
        "results": results,
    }


def write_report(output, payload, append=False):
    """Writes ``payload`` to ``output``; with ``append``, after the results already there
    (the commands are listed, the first start time kept). Returns what was written."""
    from ascendgan.files import write_json

    if append and os.path.exists(output):
        with open(output) as handle:
            previous = json.load(handle)
        commands = previous.get("commands", [previous.get("command")])
        payload = {**payload,
                   "commands": [c for c in commands if c] + [payload["command"]],
                   "started": previous.get("started", payload["started"]),
                   "results": previous.get("results", []) + payload["results"]}
    write_json(output, payload, indent=1, sort_keys=False)
    return payload
