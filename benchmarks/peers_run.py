"""The ``run.py --peers`` command: runs :mod:`benchmarks.side_by_side`'s plan, one fresh
process per measurement, and writes the results JSON (raw results, per-round peaks, the
summary, the scaling rows, the machine), the Markdown tables and the plot."""

from __future__ import annotations

import importlib.util
import os
import time

from benchmarks import peak, side_by_side
from benchmarks.harness import default_output, now, report, run_child, wait_for_quiet, write_report


def _arguments(job, tiny):
    """``run.py`` child arguments of one job."""
    if job["kind"] == "peak":
        arguments = ["--peak-one", f"{job['framework']}:{job['precision']}"]
        return arguments + (["--tiny"] if tiny else [])
    if job["kind"] == "sampling":
        arguments = ["--sampling-one", f"{job['format']}:{job['precision']}:{job['batch_size']}:"
                                       f"{job['iterations']}"]
        return arguments + (["--tiny"] if job.get("tiny_networks") else [])
    if job["subject"] == "ours":
        arguments = ["--one", f"{job['model']}:{job['precision']}:off:{job['iterations']}",
                     "--warmup", str(job["warmup"])]
        if not job["count_flops"]:
            arguments.append("--no-flops")
        if job.get("tiny_networks"):
            arguments.append("--tiny")
    else:
        arguments = ["--peer-one", f"{job['subject']}:{job['model']}:{job['precision']}:"
                                   f"{job['iterations']}", "--warmup", str(job["warmup"])]
    if job.get("batch_size") is not None:
        arguments += ["--batch-size", str(job["batch_size"])]
    return arguments


def _describe(job):
    return {key: value for key, value in job.items() if key not in ("count_flops",)}


def _line(job, result):
    if "error" in result:
        return f"FAILED {_label(job)}: {result['error'].splitlines()[-1]}"
    if job["kind"] == "peak":
        best = max(result["gflops"].values())
        return f"peak   {job['framework']:10s} {job['precision']:15s} {best:8.1f} GFLOP/s  {result['gflops']}"
    if job["kind"] == "sampling":
        return (f"sample {job['format']:12s} {job['precision']:15s} batch {job['batch_size']:4d}"
                f" {result['ms_per_batch']:9.1f} ms {result['images_per_s']:9.1f} img/s")
    flops = result.get("flops_per_iteration")
    return (f"{_label(job):40s} {result['ms_per_iteration']:10.1f} ms"
            f" {result['images_per_s']:8.1f} img/s  peak RSS {result.get('peak_rss_mib') or 0:7.0f} MiB"
            + (f"  {flops / 1e9:.1f} GFLOP" if flops else "")
            + f"  load {result['load_average_before'][0]:.2f}")


def _label(job):
    if job["kind"] != "train":
        return f"{job['kind']} {job.get('framework') or job.get('format')} {job['precision']}"
    batch = f" b{job['batch_size']}" if job.get("batch_size") else ""
    return f"{job['subject']:5s} {job['model']:9s} {job['precision']}{batch} r{job['round']}"


def run_peers(args, argv):
    """Runs the plan, prints each measurement as it lands, writes JSON / Markdown / PNG."""
    have_torch = importlib.util.find_spec("torch") is not None
    schedule = side_by_side.plan(args.models, args.precisions, args.model_rounds, args.tiny)
    extra = (side_by_side.scaling_plan(args.scaling_precision, args.tiny)
             if args.scaling else [])
    output = args.output or default_output().replace(".json", "-peers.json")
    started = now()
    results, peaks, skipped = [], [], []
    quiet = None
    if args.wait_load:
        quiet = wait_for_quiet(args.wait_load, args.wait_max)
    for jobs in schedule + ([extra] if extra else []):
        measured = {}
        for job in jobs:
            uses_torch = job.get("subject") == "torch" or job.get("framework") == "torch"
            if uses_torch and not have_torch:
                skipped.append(_describe(job))
                continue
            clock = time.perf_counter()
            result = run_child(_arguments(job, args.tiny), _describe(job))
            if "error" not in result:
                result.update({key: job[key] for key in ("subject", "round", "scaling", "kind")
                               if key in job})
                result["process_s"] = round(time.perf_counter() - clock, 1)
            print(_line(job, result), flush=True)
            if job["kind"] == "peak":
                if "error" not in result:
                    measured.setdefault(job["framework"], {})[job["precision"]] = result["gflops"]
            else:
                results.append(result)
        if measured:
            peaks.append(measured)
    nominal = peak.nominal_peak()
    summary = side_by_side.summarize(results, peaks, nominal)
    scaling = side_by_side.scaling_summary(results) if args.scaling else None
    payload = report(started, "python benchmarks/run.py " + " ".join(argv), results)
    payload.update({"kind": "peers", "peaks_per_round": peaks, "nominal_peak": nominal,
                    "summary": summary, "scaling": scaling,
                    "skipped": {"torch not installed": skipped} if skipped else {},
                    "load_average_end": [round(x, 2) for x in os.getloadavg()]})
    if quiet is not None:
        payload["waited_for_load_below"] = args.wait_load
        payload["taken_under_load"] = not quiet
    write_report(output, payload)
    table = side_by_side.markdown(summary, scaling)
    print(table, flush=True)
    if skipped:
        print(f"skipped {len(skipped)} PyTorch measurements: torch is not installed "
              "(pip install -e '.[bench]')", flush=True)
    if args.plot:
        side_by_side.plot(summary, scaling, args.plot)
        print(f"wrote {args.plot}", flush=True)
    print(f"wrote {output}", flush=True)
    return payload


def sampling_throughput(format, precision, batch_size, iterations, tiny=False):
    """Images per second of BigGAN's (cifar10 preset) averaged generator at ``batch_size``,
    called through Keras (``generator(..., training=False)`` in a ``tf.function``) or
    through the model exported by ``ascendgan.export`` (``"saved_model"``,
    ``"frozen_graph"``) and loaded by ``ascendgan.inference.load_exported``."""
    import tempfile

    import numpy as np
    import tensorflow as tf

    from ascendgan import compat
    from ascendgan.export import export
    from ascendgan.inference import load_exported
    from ascendgan.validation import check_choice
    from benchmarks.subjects import build_gan

    check_choice("format", format, side_by_side.SAMPLING_FORMATS)
    compat.set_precision(precision)
    gan, _, _ = build_gan("biggan", tiny=tiny)
    gan.build_models()
    rng = np.random.default_rng(0)
    z = rng.standard_normal((batch_size, gan.latent_dim)).astype(np.float32)
    y = rng.integers(0, gan.num_classes, (batch_size,)).astype(np.int32)
    if format == "keras":
        generator = gan.sampling_generator(True)
        call = tf.function(lambda z, y: generator([z, y], training=False))

        def run():
            call(z, y).numpy()
    else:
        folder = tempfile.mkdtemp()
        path = os.path.join(folder, "model.pb" if format == "frozen_graph" else "saved_model")
        export(gan, path, format=format, batch_size=batch_size)
        model = load_exported(path)

        def run():
            model(z=z, y=y)
    run()  # untimed: tracing, graph loading
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    return {"kind": "sampling", "format": format, "precision": precision,
            "batch_size": batch_size, "iterations": iterations,
            "ms_per_batch": round(1000 * median, 2), "images_per_s": round(batch_size / median, 1),
            "ms_all": [round(1000 * t, 2) for t in times]}


__all__ = ["run_peers", "sampling_throughput"]
