"""Training-speed benchmark of ascendgan's documented models (one command).

Times full training iterations -- every discriminator step, the generator step, the
optimizers, EMA and metrics -- exactly as ``fit()`` runs them, for each documented model
at its documented configuration and batch, in ``float32`` and ``mixed_bfloat16``, with
and without XLA (``compile(jit_compile=True)``). Prints a table (median ms per iteration,
images/s, FLOPs per iteration, achieved FLOP/s) and writes JSON.

Usage::

    python benchmarks/run.py                                  # everything (slow: ~1 h)
    python benchmarks/run.py --models dcgan,pix2pix --xla off
    python benchmarks/run.py --models wrn --iterations 3 --warmup 1
    python benchmarks/run.py --tiny --iterations 2 --warmup 1  # seconds; a smoke run
    python benchmarks/run.py --models dcgan --profile /tmp/prof  # op-type time breakdown
    python benchmarks/run.py --peers --scaling --plot docs/images/benchmarks_peers.png
        # ascendgan beside PyTorch and plain Keras, the machine's peak, memory, scaling

Method (see benchmarks/README.md and docs/benchmarks.md):

* each (model, precision, xla) configuration runs in a fresh Python process (a clean
  Keras session and dtype policy), unless ``--in-process``;
* the model trains with ``fit()`` on one in-memory batch repeated forever
  (``steps_per_epoch = warmup + iterations``); a callback stamps the end of every
  iteration, the first ``warmup`` iterations (tracing, compilation, allocator warm-up)
  are dropped, and the median of the remaining iteration times is reported;
* FLOPs per iteration are counted on the graph of the traced training step
  (``tf.function(model.train_step)``, the function ``fit()`` wraps) with TensorFlow's
  profiler cost functions (``Conv2D`` = 2·N·H_out·W_out·C_out·k_h·k_w·C_in, likewise for
  the backward convolutions and matrix products); the forward FLOPs per image of every
  network are counted the same way, which gives the analytic estimate "backward = 2x
  forward" as a cross-check.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.flops import analytic_flops, function_flops  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    default_output,
    now,
    report,
    run_in_child,
    run_one,
    wait_for_quiet,
    write_report,
)
from benchmarks.side_by_side import PEER_MODELS, ROUNDS  # noqa: E402
from benchmarks.subjects import ALL_NAMES, MODEL_NAMES, MODELS, PRECISIONS, gan_optimizers  # noqa: E402

# ----------------------------------------------------------------------------- arguments


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=None,
                        help=f"comma-separated subset of {','.join(MODEL_NAMES)} (default: all; "
                             f"with --peers {','.join(PEER_MODELS)})")
    parser.add_argument("--precisions", default=",".join(PRECISIONS),
                        help="comma-separated subset of float32,mixed_bfloat16")
    parser.add_argument("--xla", default="off,on",
                        help="off, on or off,on (the classifier runs without XLA only)")
    parser.add_argument("--iterations", type=int, default=10, help="timed iterations per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations first")
    parser.add_argument("--model-iterations", default="wrn=3,biggan=5,biggan_pytorch=5",
                        help="per-model iterations, e.g. wrn=3,biggan=5 (overrides --iterations)")
    parser.add_argument("--tiny", action="store_true", help="tiny networks (a smoke run)")
    parser.add_argument("--no-flops", action="store_true", help="skip FLOP counting")
    parser.add_argument("--profile", default=None, metavar="DIR",
                        help="also profile each run, writing traces under DIR")
    parser.add_argument("--output", default=None,
                        help="JSON file (default benchmarks/results/<UTC date>.json)")
    parser.add_argument("--threads", default=None, metavar="INTRA,INTER",
                        help="intra-op and inter-op thread counts (default: TensorFlow's)")
    parser.add_argument("--optimizer", default="default", choices=("default", "keras_adam"),
                        help="GAN optimizers: the library's FusedAdam (default) or Keras's own "
                             "Adam (the before/after experiment)")
    parser.add_argument("--fresh-fakes", action="store_true",
                        help="DCGAN / Pix2Pix with reuse_fakes=False: a second generator pass "
                             "for the G step (the before/after experiment)")
    parser.add_argument("--batch-norm", default="fused", choices=("fused", "keras"),
                        help="keras: DCGAN / Pix2Pix with Keras's unfused BatchNormalization "
                             "(the before/after experiment)")
    parser.add_argument("--in-process", action="store_true",
                        help="run every configuration in this process (default: one fresh "
                             "process per configuration)")
    parser.add_argument("--wait-load", type=float, default=None, metavar="LOAD",
                        help="before each model wait until the 1-minute load average is "
                             "below LOAD (at most --wait-max seconds)")
    parser.add_argument("--wait-max", type=float, default=1800.0,
                        help="longest wait for --wait-load, in seconds")
    parser.add_argument("--append", action="store_true",
                        help="add the results to --output's existing ones")
    parser.add_argument("--table", default=None, metavar="JSON",
                        help="print the Markdown table of a results file and exit (a --peers "
                             "file: its tables, and its plot with --plot)")
    parser.add_argument("--peers", action="store_true",
                        help="time ascendgan beside its peers (PyTorch; plain Keras for DCGAN) "
                             "in interleaved rounds, with the machine's matmul peak and memory "
                             "(models dcgan,pix2pix,biggan; XLA off)")
    parser.add_argument("--rounds", default=None, metavar="MODEL=N,...",
                        help="--peers: rounds per model (default dcgan=3,pix2pix=3,biggan=2)")
    parser.add_argument("--scaling", action="store_true",
                        help="--peers: also DCGAN batch 16-256, BigGAN 32/64/128 and BigGAN "
                             "sampling throughput (Keras, SavedModel, frozen graph)")
    parser.add_argument("--scaling-precision", default="mixed_bfloat16",
                        help="--scaling: the precision of the scaling runs")
    parser.add_argument("--plot", default=None, metavar="PNG",
                        help="--peers: write the ratio and scaling plots there")
    parser.add_argument("--batch-size", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child-process mode
    parser.add_argument("--peer-one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--peak-one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--sampling-one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.models is None:
        args.models = ",".join(PEER_MODELS if args.peers else MODEL_NAMES)
    args.models = [m for m in args.models.split(",") if m]
    args.precisions = [p for p in args.precisions.split(",") if p]
    args.xla = [{"off": False, "on": True}[x] for x in args.xla.split(",") if x]
    valid = PEER_MODELS if args.peers else ALL_NAMES
    for model in args.models:
        if model not in valid:
            parser.error(f"--models: unknown model {model!r}; valid: {','.join(valid)}")
    for precision in args.precisions:
        if precision not in PRECISIONS:
            parser.error(f"--precisions: unknown {precision!r}; valid: {','.join(PRECISIONS)}")
    per_model = {}
    for item in filter(None, args.model_iterations.split(",")):
        key, _, value = item.partition("=")
        per_model[key] = int(value)
    args.per_model = per_model
    args.model_rounds = None
    if args.rounds is not None:
        args.model_rounds = {}
        for item in filter(None, args.rounds.split(",")):
            key, _, value = item.partition("=")
            if key not in PEER_MODELS or not value.isdigit() or int(value) < 1:
                parser.error(f"--rounds: expected MODEL=N with MODEL in {','.join(PEER_MODELS)} "
                             f"and N >= 1; received {item!r}")
            args.model_rounds[key] = int(value)
        args.model_rounds = {**ROUNDS, **args.model_rounds}
    if args.plot and importlib.util.find_spec("matplotlib") is None:  # before a long run
        parser.error("--plot: writing the PNG needs matplotlib, which is not installed "
                     "(pip install -e '.[bench]'); received --plot " + args.plot)
    if args.scaling_precision not in PRECISIONS:
        parser.error(f"--scaling-precision: expected one of {','.join(PRECISIONS)}; received "
                     f"{args.scaling_precision!r}")
    if args.threads is not None:
        args.threads = tuple(int(n) for n in args.threads.split(","))
    return args


def configurations(args):
    """The (model, precision, xla, iterations) runs the arguments ask for."""
    runs = []
    for model in args.models:
        iterations = args.iterations if args.tiny else args.per_model.get(model, args.iterations)
        for precision in args.precisions:
            for xla in args.xla:
                if xla and MODELS[model]["family"] is None:  # the classifier: no XLA variant
                    continue
                runs.append((model, precision, xla, iterations))
    return runs


def format_row(result):
    """One line of the printed table."""
    gflop = result.get("flops_per_iteration")
    achieved = result.get("achieved_gflops_per_s")
    return (f"{result['model']:8s} {result['precision']:15s} {'xla' if result['xla'] else '-':4s}"
            f" {result['ms_per_iteration']:10.1f} {result['images_per_s']:9.1f}"
            f" {(gflop or 0) / 1e9:9.1f} {achieved or 0:8.1f}"
            f"  load {result['load_average_before'][0]:.2f}")


HEADER = (f"{'model':8s} {'precision':15s} {'xla':4s} {'ms/iter':>10s} {'img/s':>9s}"
          f" {'GFLOP/it':>9s} {'GFLOP/s':>8s}")


# ----------------------------------------------------------------------------- the table


def _variant(result):
    parts = []
    optimizer = result.get("optimizer", "default")
    if optimizer in ("keras_adam", "keras"):  # "keras": results written before FusedAdam
        parts.append("Keras Adam")
    elif optimizer == "fused_adam":  # the experiment's name before it became the default
        parts.append("fused adam")
    if result.get("batch_norm", "fused") != "fused":
        parts.append("Keras BN")
    if result.get("reuse_fakes") is False and result.get("model") in ("dcgan", "pix2pix"):
        parts.append("fresh fakes")
    return ", ".join(parts) or "as shipped"


def markdown_table(report):
    """The results of a report as a Markdown table (one row per configuration)."""
    lines = [
        "| model | precision | XLA | variant | batch | ms / iteration (median) | min-max |"
        " images/s | GFLOP / iteration | achieved GFLOP/s | load avg |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    variants = ("as shipped", "fresh fakes", "Keras Adam", "Keras Adam, fresh fakes",
                "fused adam", "Keras BN", "Keras Adam, Keras BN")

    def order(r):
        model = MODEL_NAMES.index(r["model"]) if r["model"] in MODEL_NAMES else len(MODEL_NAMES)
        variant = _variant(r) if "error" not in r else ""
        return (model, variants.index(variant) if variant in variants else len(variants),
                PRECISIONS.index(r["precision"]) if r["precision"] in PRECISIONS else 9,
                bool(r["xla"]))

    for r in sorted(report["results"], key=order):
        if "error" in r:
            lines.append(f"| {r['model']} | {r['precision']} | {'on' if r['xla'] else 'off'} |"
                         f" | | failed: {r['error'].splitlines()[-1][:80]} | | | | | |")
            continue
        batch = r["batch_size"]
        if r.get("discriminator_steps", 1) > 1:
            batch = f"{batch} x {r['discriminator_steps']}"
        flops = r.get("flops_per_iteration")
        lines.append(
            f"| {r['model']} | {r['precision']} | {'on' if r['xla'] else 'off'} |"
            f" {_variant(r)} | {batch} | **{r['ms_per_iteration']:,.0f}** |"
            f" {r['ms_min']:,.0f}-{r['ms_max']:,.0f} | {r['images_per_s']:,.1f} |"
            f" {flops / 1e9:,.1f} | {r.get('achieved_gflops_per_s', 0):,.0f} |"
            f" {r['load_average_before'][0]:.2f} |" if flops else
            f"| {r['model']} | {r['precision']} | {'on' if r['xla'] else 'off'} |"
            f" {_variant(r)} | {batch} | **{r['ms_per_iteration']:,.0f}** |"
            f" {r['ms_min']:,.0f}-{r['ms_max']:,.0f} | {r['images_per_s']:,.1f} | | |"
            f" {r['load_average_before'][0]:.2f} |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the command


def _child(args):
    """One measurement in this (fresh) process, its JSON written to ``--output``."""
    if args.one:
        model, precision, xla, iterations = args.one.split(":")
        result = run_one(model, precision, xla == "on", int(iterations), args.warmup,
                         tiny=args.tiny, count_flops=not args.no_flops,
                         profile_dir=args.profile, threads=args.threads,
                         optimizer=args.optimizer, batch_norm=args.batch_norm,
                         fresh_fakes=args.fresh_fakes, batch_size=args.batch_size)
    elif args.peer_one:
        from benchmarks.peers.timing import run_peer

        subject, model, precision, iterations = args.peer_one.split(":")
        result = run_peer(subject, model, precision, int(iterations), args.warmup,
                          batch_size=args.batch_size)
    elif args.peak_one:
        from benchmarks import peak

        framework, precision = args.peak_one.split(":")
        result = {"framework": framework, "precision": precision,
                  "gflops": peak.measure(framework, precision,
                                         peak.TINY_SIZES if args.tiny else peak.SIZES)}
    else:
        from benchmarks.peers_run import sampling_throughput

        fmt, precision, batch, iterations = args.sampling_one.split(":")
        result = sampling_throughput(fmt, precision, int(batch), int(iterations), tiny=args.tiny)
    with open(args.output, "w") as handle:
        json.dump(result, handle)
    return result



def main(argv=None):
    """The command: runs the asked configurations, prints the table, writes JSON."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    if args.one or args.peer_one or args.peak_one or args.sampling_one:
        return _child(args)  # child process: one measurement, result to --output

    if args.table:
        with open(args.table) as handle:
            saved = json.load(handle)
        if saved.get("kind") == "peers":  # a --peers file: its tables (and --plot)
            from benchmarks import side_by_side

            print(side_by_side.markdown(saved["summary"], saved.get("scaling")))
            if args.plot:
                side_by_side.plot(saved["summary"], saved.get("scaling"), args.plot)
            return saved
        print(markdown_table(saved))
        return saved

    if args.peers:
        from benchmarks.peers_run import run_peers

        return run_peers(args, argv)
    output = args.output or default_output()
    print(HEADER, flush=True)
    results = []
    started = now()
    quiet, previous_model = None, None
    for model, precision, xla, iterations in configurations(args):
        if args.wait_load and model != previous_model:  # before each model (our own runs
            quiet = wait_for_quiet(args.wait_load, args.wait_max)  # load the machine too)
        previous_model = model
        if args.in_process:
            result = run_one(model, precision, xla, iterations, args.warmup, tiny=args.tiny,
                             count_flops=not args.no_flops, profile_dir=args.profile,
                             threads=args.threads, optimizer=args.optimizer,
                             batch_norm=args.batch_norm, fresh_fakes=args.fresh_fakes)
        else:
            result = run_in_child(args, model, precision, xla, iterations)
        if quiet is not None:
            result["waited_for_load_below"] = args.wait_load
            result["taken_under_load"] = not quiet
        results.append(result)
        if "error" in result:
            print(f"{model:8s} {precision:15s} {'xla' if xla else '-':4s} FAILED: "
                  f"{result['error'].splitlines()[-1]}", flush=True)
        else:
            print(format_row(result), flush=True)
    payload = report(started, "python benchmarks/run.py " + " ".join(argv), results)
    payload = write_report(output, payload, append=args.append)
    print(f"wrote {output}", flush=True)
    return payload


__all__ = ["MODELS", "analytic_flops", "configurations", "function_flops", "gan_optimizers",
           "main", "markdown_table", "run_one"]


if __name__ == "__main__":
    main()
