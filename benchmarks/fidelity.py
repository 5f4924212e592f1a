"""Fidelity at equal wall-clock: FID against training time, ascendgan beside a plain-Keras peer.

Each group of configurations (``--group ours,peer``) trains at the same time, one process per
CPU core (pinned with ``sched_setaffinity``; TensorFlow and oneDNN limited to one thread),
for ``--budget`` seconds counted from each process's launch, so start-up, data loading,
checkpoints and sample grids count as they do for a user. Groups run one after another.
Then every ``--score-every`` seconds of each run's clock, the newest generator saved by then
is scored with the shipped MNIST extractor: ``fid_mnist_cnn`` of ``--samples`` images against
the test split's shipped statistics (the runs train on the 60,000 train digits, so the test
split is held out). The results JSON records the machine, the commands, every point and the
step rates; ``--plot`` draws FID against minutes.

Configurations (:data:`CONFIGS`):

- ``ours``: ``ascendgan train dcgan`` (the ``mnist`` preset, precision ``auto``), checkpoints
  every ``--checkpoint-every`` steps;
- ``ours_fp32`` / ``ours_bf16``: the same with ``--precision float32`` / ``mixed_bfloat16``;
- ``ours_ema``: ``--set ema_decay=0.999`` (samples from the averaged generator);
- ``ours_diffaugment``: ``--diff-augment translation,cutout``;
- ``peer`` / ``peer_bf16``: :mod:`benchmarks.peers.keras_dcgan`, TensorFlow's DCGAN
  tutorial in plain Keras, float32 / ``mixed_bfloat16``.

Example (the documented run, about 50 minutes on 2 cores)::

    python benchmarks/fidelity.py --data ../shared/data/mnist --budget 900 \\
        --group ours,peer --group ours_fp32,ours_ema --group ours_diffaugment,peer_bf16 \\
        --plot docs/images/fidelity_dcgan_mnist.png

``--tiny`` (tests): 2 configurations, a few seconds each, 200 samples.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # `python benchmarks/fidelity.py` from anywhere
    sys.path.insert(0, ROOT)

from ascendgan.files import write_json  # noqa: E402
from benchmarks import harness  # noqa: E402

_OURS = ["train", "dcgan", "--preset", "mnist", "--steps", "100000000", "--fid-every", "0",
         "--keep", "100000", "--no-resume", "--quiet"]
_PEER = ["-m", "benchmarks.peers.keras_dcgan"]

#: name -> (kind, extra command-line arguments, label in the plot)
CONFIGS = {
    "ours": ("ours", [], "ascendgan, precision auto"),
    "ours_fp32": ("ours", ["--precision", "float32"], "ascendgan, float32"),
    "ours_bf16": ("ours", ["--precision", "mixed_bfloat16"], "ascendgan, mixed_bfloat16"),
    "ours_ema": ("ours", ["--set", "ema_decay=0.999"], "ascendgan, auto + EMA 0.999"),
    "ours_diffaugment": ("ours", ["--diff-augment", "translation,cutout"],
                         "ascendgan, auto + DiffAugment translation,cutout"),
    "peer": ("peer", [], "plain Keras (TF tutorial), float32"),
    "peer_bf16": ("peer", ["--precision", "mixed_bfloat16"], "plain Keras (TF tutorial), mixed_bfloat16"),
}

_STEP = re.compile(r"(?:ckpt-|step_)(\d+)")


def command(name, data, out, checkpoint_every, snapshot_seconds, tiny=False):
    """The child process's argument list for a configuration."""
    if name not in CONFIGS:
        raise ValueError(f"`--group` names must be among {sorted(CONFIGS)}. Received: {name!r}")
    kind, extra, _ = CONFIGS[name]
    if kind == "ours":
        args = _OURS + ["--data", data, "--out", out, "--checkpoint-every", str(checkpoint_every)]
        if tiny:
            args += ["--set", "base_filters=4", "--batch-size", "8", "--no-tensorboard"]
    else:
        args = _PEER + ["--data", data, "--out", out, "--snapshot-seconds", str(snapshot_seconds)]
        if tiny:
            args += ["--batch-size", "8"]
    return ([_console_script()] if kind == "ours" else [sys.executable]) + args + extra


def _console_script():
    """The ``ascendgan`` command installed beside this Python (the README's CLI)."""
    path = os.path.join(os.path.dirname(sys.executable), "ascendgan")
    if not os.path.exists(path):
        raise FileNotFoundError(f"The `ascendgan` command is not installed beside {sys.executable}: "
                                "pip install -e . first.")
    return path


def _pin(core):
    def pin():
        os.sched_setaffinity(0, {core})
    return pin


def train_group(names, args, work):
    """Trains the configurations of one group side by side, one core each, for the budget;
    returns ``{name: {"command", "core", "launched", "returncode"}}``."""
    cores = sorted(os.sched_getaffinity(0))
    if len(names) > len(cores):
        raise ValueError(f"A group runs one configuration per core: {len(cores)} cores here. "
                         f"Received: --group {','.join(names)}")
    env = dict(os.environ, OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
               TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    runs = {}
    for core, name in zip(cores, names):
        out = os.path.join(work, name)
        argv = command(name, args.data, out, args.checkpoint_every, args.snapshot_seconds, args.tiny)
        log = open(os.path.join(work, f"{name}.log"), "w")
        launched = time.time()
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                   preexec_fn=_pin(core))
        runs[name] = {"command": argv, "core": core, "launched": launched, "out": out,
                      "process": process, "log": log}
    for name, run in runs.items():
        process = run.pop("process")
        try:
            process.wait(timeout=max(0.0, run["launched"] + args.budget - time.time()))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        run.pop("log").close()
        run["returncode"] = process.returncode
        run["stopped"] = time.time()
        if process.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL):
            with open(os.path.join(work, f"{name}.log")) as handle:
                tail = handle.read()[-2000:]
            raise RuntimeError(f"{name} failed (exit {process.returncode}):\n{tail}")
    return runs


def snapshots(name, run):
    """``[(seconds since launch, step, path)]`` of a run's saved generators, oldest first."""
    if CONFIGS[name][0] == "ours":
        files = glob.glob(os.path.join(run["out"], "checkpoints", "ckpt-*.index"))
    else:
        files = glob.glob(os.path.join(run["out"], "snapshots", "step_*.npz"))
    found = []
    for path in files:
        match = _STEP.search(os.path.basename(path))
        if match and not path.endswith(".tmp.npz"):
            found.append((os.path.getmtime(path) - run["launched"], int(match.group(1)),
                          path[: -len(".index")] if path.endswith(".index") else path))
    return sorted(found)


def _score_ours(path, run_dir, samples, seed, domain="mnist", split="test"):
    from ascendgan import metrics
    from ascendgan.recipes import load_run

    gan, _ = load_run(run_dir, checkpoint=path)
    return metrics.domain_fid(gan, domain, num_samples=samples, split=split, seed=seed)


def score_run_directory(run_dir, launched, samples=10_000, seed=1, every=1):
    """The FID curve of any ascendgan run on MNIST / CIFAR-10 (``--run-dir``): every
    ``every``-th checkpoint, its seconds since ``launched`` (a UNIX time) and its domain FID
    against the held-out split's shipped statistics (:func:`ascendgan.recipes.held_out_split`)."""
    from ascendgan import compat
    from ascendgan.recipes import DataSource, RunDirectory, held_out_split, run_preset

    record = RunDirectory(run_dir).read()
    preset = run_preset(record)
    domain, split = preset.data.kind, held_out_split(preset, DataSource(record.get("data")))
    found = snapshots("ours", {"out": run_dir, "launched": launched})
    points = []
    for elapsed, step, path in found[every - 1::every]:
        compat.keras.backend.clear_session()
        result = _score_ours(path, run_dir, samples, seed, domain, split)
        name = f"fid_{metrics_suffix(result)}"
        points.append({"minutes": round(elapsed / 60, 2), "step": step, name: float(result[name])})
        print(points[-1], flush=True)
    return {"run_dir": run_dir, "domain": domain, "reference_split": split, "samples": samples,
            "record": record, "points": points}


def metrics_suffix(result):
    """``mnist_cnn`` of a result whose values are named ``fid_mnist_cnn``."""
    return next(key for key in result.values if key.startswith("fid_"))[len("fid_"):]


def _score_peer(path, samples, seed):
    import tensorflow as tf

    from ascendgan import metrics
    from benchmarks.peers.keras_dcgan import LATENT_DIM, load_generator

    generator = load_generator(path)
    noise = tf.random.Generator.from_seed(seed)

    def draw(batch_size):
        return generator(noise.normal([batch_size, LATENT_DIM]), training=False)

    return metrics.domain_fid(draw, "mnist", num_samples=samples, split="test", seed=seed)


def score(name, run, args, cache):
    """The FID points of one run: at every ``--score-every`` seconds up to the budget, the
    newest snapshot saved by then."""
    from ascendgan import compat

    found = snapshots(name, run)
    points = []
    marks = [args.score_every * k for k in range(1, int(args.budget // args.score_every) + 1)]
    for mark in marks:
        ready = [entry for entry in found if entry[0] <= mark]
        if not ready:
            continue
        elapsed, step, path = ready[-1]
        if path not in cache:
            compat.keras.backend.clear_session()
            result = (_score_ours(path, run["out"], args.samples, args.seed) if CONFIGS[name][0] == "ours"
                      else _score_peer(path, args.samples, args.seed))
            cache[path] = {"fid": float(result["fid_mnist_cnn"]),
                           "protocol": {k: v for k, v in result.protocol.items()
                                        if isinstance(v, (str, int, float, bool)) or v is None}}
        points.append({"minutes": mark / 60, "snapshot_seconds": round(elapsed, 1), "step": step,
                       "fid_mnist_cnn": cache[path]["fid"]})
        scored = path
    last = found[-1] if found else (0.0, 0, None)
    return {"points": points, "snapshots": len(found), "last_step": last[1],
            "steps_per_second": round(last[1] / last[0], 3) if last[0] > 0 else None,
            "protocol": cache[scored]["protocol"] if points else None}


def plot(results, path):
    """FID against minutes, one line per configuration (matplotlib, the ``bench`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7.5, 4.8), dpi=110)
    for name, entry in results["configs"].items():
        points = entry["points"]
        if points:
            axes.plot([p["minutes"] for p in points], [p["fid_mnist_cnn"] for p in points], marker="o",
                      label=CONFIGS[name][2], linestyle="--" if CONFIGS[name][0] == "peer" else "-")
    target = results.get("blur_fid_test_reference")
    if target:
        axes.axhline(target / 5, color="grey", linewidth=0.8, linestyle=":")
        axes.text(0.01, target / 5, "target: 1/5 of the 1-pixel-blur value", va="bottom", fontsize=8,
                  color="grey", transform=axes.get_yaxis_transform())
    axes.set_yscale("log")
    axes.set_xlabel("minutes of training (one core each, same time, from process launch)")
    axes.set_ylabel("fid_mnist_cnn vs test split (log)")
    machine = results["machine"]
    axes.set_title(f"DCGAN on MNIST at equal wall-clock: {machine['cpu']}", fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path)
    pyplot.close(figure)
    return path


def markdown(results):
    """A table: FID of every configuration at every scoring point."""
    names = list(results["configs"])
    marks = sorted({p["minutes"] for entry in results["configs"].values() for p in entry["points"]})
    lines = ["| minutes | " + " | ".join(names) + " |", "| ---: |" + " ---: |" * len(names)]
    for mark in marks:
        cells = []
        for name in names:
            point = next((p for p in results["configs"][name]["points"] if p["minutes"] == mark), None)
            cells.append(f"{point['fid_mnist_cnn']:.2f} (step {point['step']})" if point else "")
        lines.append(f"| {mark:g} | " + " | ".join(cells) + " |")
    lines.append("| steps / s | " + " | ".join(
        str(results["configs"][name]["steps_per_second"]) for name in names) + " |")
    return "\n".join(lines)


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "mnist"),
                        help="MNIST IDX folder with the train split (default ../shared/data/mnist)")
    parser.add_argument("--group", action="append", default=None,
                        help="configurations trained side by side, comma-separated (repeatable; "
                             f"default ours,peer); names: {', '.join(CONFIGS)}")
    parser.add_argument("--budget", type=float, default=900.0, help="seconds per run (default 900)")
    parser.add_argument("--score-every", type=float, default=180.0, help="seconds between scoring points")
    parser.add_argument("--samples", type=int, default=10_000, help="images per FID (default 10,000)")
    parser.add_argument("--checkpoint-every", type=int, default=250, help="ascendgan's checkpoint steps")
    parser.add_argument("--snapshot-seconds", type=float, default=20.0, help="the peer's snapshot period")
    parser.add_argument("--seed", type=int, default=1, help="seed of the scored samples")
    parser.add_argument("--work", default="/tmp/ascendgan-fidelity", help="run folders and logs")
    parser.add_argument("--score-only", action="store_true", help="score the runs already in --work")
    parser.add_argument("--output", default=None, help="results JSON (default benchmarks/results/"
                                                       "fidelity-<UTC date>.json)")
    parser.add_argument("--plot", default=None, help="PNG of FID against minutes")
    parser.add_argument("--tiny", action="store_true", help="tiny networks, short budget (tests)")
    parser.add_argument("--run-dir", default=None, help="instead: score every checkpoint of this "
                                                        "ascendgan run (MNIST / CIFAR-10) and exit")
    parser.add_argument("--launched", type=float, default=None,
                        help="with --run-dir: the run's launch time (UNIX seconds; default: the "
                             "first checkpoint's time)")
    parser.add_argument("--every", type=int, default=1, help="with --run-dir: every N-th checkpoint")
    args = parser.parse_args(argv)
    args.group = [g.split(",") for g in (args.group or ["ours,peer"])]
    for name in (n for g in args.group for n in g):
        if name not in CONFIGS:
            parser.error(f"--group: unknown configuration {name!r}; known: {', '.join(CONFIGS)}")
    return args


def main(argv=None):
    args = _parse(argv)
    started = harness.now()
    if args.run_dir:
        launched = args.launched
        if launched is None:
            launched = min(entry[0] for entry in snapshots("ours", {"out": args.run_dir, "launched": 0.0}))
        curve = score_run_directory(args.run_dir, launched, args.samples, args.seed, args.every)
        results = {"started": started, "finished": harness.now(), "command": [sys.executable] + sys.argv,
                   "machine": harness.machine(), "launched": launched, **curve}
        output = args.output or os.path.join(ROOT, "benchmarks", "results",
                                             f"fidelity-run-{started[:10]}.json")
        write_json(output, results)
        print(f"results: {output}")
        return results
    os.makedirs(args.work, exist_ok=True)
    state_path = os.path.join(args.work, "runs.json")
    if args.score_only:
        with open(state_path) as handle:
            runs = json.load(handle)
    else:
        runs = {}
        for names in args.group:
            print(f"training side by side for {args.budget:g} s: {', '.join(names)}", flush=True)
            runs.update(train_group(names, args, args.work))
            with open(state_path, "w") as handle:
                json.dump(runs, handle, indent=1)
    cache = {}
    configs = {}
    for name, run in runs.items():
        configs[name] = {**score(name, run, args, cache), "command": run["command"], "core": run["core"]}
        print(name, [(p["minutes"], round(p["fid_mnist_cnn"], 2)) for p in configs[name]["points"]],
              flush=True)
    results = {
        "started": started, "finished": harness.now(), "command": [sys.executable] + sys.argv,
        "machine": harness.machine(), "load_average": os.getloadavg(),
        "budget_seconds": args.budget, "samples": args.samples, "groups": args.group,
        "blur_fid_test_reference": 63.0,  # docs/metrics.md calibration, mnist_cnn v1, vs test
        "configs": configs,
    }
    output = args.output or os.path.join(ROOT, "benchmarks", "results",
                                         f"fidelity-{started[:10]}.json")
    write_json(output, results)
    print(markdown(results))
    print(f"results: {output}")
    if args.plot:
        print(f"plot: {plot(results, args.plot)}")
    return results


if __name__ == "__main__":
    main()
