"""``run.py --peers``: ascendgan and its peers timed side by side in one run (issue 15).

One run, one machine:

* **rounds**: each round measures the machine's matmul peak (``benchmarks/peak.py``) and then
  runs, for every model and precision, ascendgan (``fit()``, the documented configuration,
  no XLA) and each peer (``benchmarks/peers/timing.py``: PyTorch, and for DCGAN a
  hand-written plain-Keras loop), every configuration in a fresh process with the same
  batch shapes, warm-up and timed iterations. The order of the subjects alternates between
  rounds so that neither side always runs first. A configuration's time is the median over
  rounds of each round's median iteration.
* **ratios** at equal precision: the peer's median time / ascendgan's (> 1: ascendgan is
  faster; both train on the same images per iteration).
* **fractions of peak**: the FLOPs of ascendgan's traced training step
  (``benchmarks/flops.py``; the peers run the same architectures and the same iteration,
  so the same count) / median time, against the run's measured peak of that precision
  (the median over rounds of each round's best product) and the nominal one.
* **memory**: each process's peak resident set (``VmHWM``), framework and data included,
  and its resident set right after importing the framework.
* **scaling** (``--scaling``): DCGAN time per image from batch 16 to 256 (ascendgan and
  PyTorch); BigGAN at 32, 64 and 128 pixels (its cifar10, imagenet64 and imagenet128
  presets) at one fixed batch against counted FLOPs; BigGAN (cifar10) sampling throughput
  through Keras, the exported SavedModel and the exported frozen graph.
"""

from __future__ import annotations

import statistics

from benchmarks import peak
from benchmarks.peers.timing import PEERS

#: Models of ``--peers`` (those with peers).
PEER_MODELS = ("dcgan", "pix2pix", "biggan")
#: Timed iterations / warm-up iterations per model.
ITERATIONS = {"dcgan": 10, "pix2pix": 10, "biggan": 3}
WARMUP = {"dcgan": 3, "pix2pix": 3, "biggan": 1}
#: Rounds per model (BigGAN's iterations take tens of seconds).
ROUNDS = {"dcgan": 3, "pix2pix": 3, "biggan": 2}
#: The issue's targets.
TARGET_RATIO = 1.5
TARGET_PEAK_WHEN_BEYOND = 0.90
TARGET_BF16_FRACTION = {"dcgan": 0.80, "biggan": 0.80, "pix2pix": 0.65}
#: Scaling: DCGAN batches, BigGAN subjects and their fixed batch, sampling batch.
DCGAN_BATCHES = (16, 32, 64, 128, 256)
BIGGAN_RESOLUTIONS = {"biggan": 32, "biggan64": 64, "biggan128": 128}
BIGGAN_SCALING_BATCH = 8
SAMPLING_FORMATS = ("keras", "saved_model", "frozen_graph")
SAMPLING_BATCH = 64
#: ``--tiny``: the documented architectures at this batch, one timed iteration.
TINY_BATCH = 2


def subjects_of(model):
    """``("ours", *peers)`` of a model."""
    return ("ours",) + PEERS[model]


def plan(models, precisions, rounds=None, tiny=False):
    """The jobs of the run, round by round: ``[[job, ...], ...]``.

    A job is a dict: ``kind`` (``"peak"`` or ``"train"``), and for a peak ``framework`` and
    ``precision``; for a training run ``subject`` (``"ours"``, ``"torch"``, ``"keras"``),
    ``model``, ``precision``, ``iterations``, ``warmup``, ``batch_size`` (None: documented)
    and ``count_flops`` (ours, first round only).
    """
    if rounds is None:
        rounds = {model: 1 for model in models} if tiny else dict(ROUNDS)
    most = max((rounds.get(m, 1) for m in models), default=1)
    schedule = []
    for r in range(most):
        jobs = [{"kind": "peak", "framework": f, "precision": p}
                for f in peak.FRAMEWORKS for p in precisions]
        for model in models:
            if r >= rounds.get(model, 1):
                continue
            for precision in precisions:
                order = subjects_of(model)
                if r % 2:  # alternate who goes first
                    order = tuple(reversed(order))
                for subject in order:
                    jobs.append({
                        "kind": "train", "subject": subject, "model": model,
                        "precision": precision, "round": r,
                        "iterations": 1 if tiny else ITERATIONS[model],
                        "warmup": 1 if tiny else WARMUP[model],
                        "batch_size": TINY_BATCH if tiny else None,
                        "count_flops": subject == "ours" and r == 0,
                    })
        schedule.append(jobs)
    return schedule


def scaling_plan(precision, tiny=False):
    """The scaling and sampling jobs (run once, after the rounds)."""
    jobs = []
    batches = (TINY_BATCH,) if tiny else DCGAN_BATCHES
    for batch in batches:
        for subject in ("ours", "torch"):
            jobs.append({"kind": "train", "subject": subject, "model": "dcgan",
                         "precision": precision, "round": "scaling", "scaling": "batch",
                         "iterations": 1 if tiny else 5, "warmup": 1 if tiny else 2,
                         "batch_size": batch, "count_flops": False})
    for model in (("biggan",) if tiny else tuple(BIGGAN_RESOLUTIONS)):
        jobs.append({"kind": "train", "subject": "ours", "model": model, "precision": precision,
                     "round": "scaling", "scaling": "resolution",
                     "iterations": 1 if tiny else 3, "warmup": 1,
                     "batch_size": TINY_BATCH if tiny else BIGGAN_SCALING_BATCH,
                     "count_flops": True, "tiny_networks": tiny})
    for fmt in SAMPLING_FORMATS:
        jobs.append({"kind": "sampling", "model": "biggan", "format": fmt,
                     "precision": precision, "batch_size": TINY_BATCH if tiny else SAMPLING_BATCH,
                     "iterations": 2 if tiny else 10, "tiny_networks": tiny})
    return jobs


# ----------------------------------------------------------------------------- the summary


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def measured_peaks(peaks):
    """Median over rounds of each round's best product per precision:
    ``{precision: GFLOP/s}`` from a list of per-round ``{framework: {precision: {n: GFLOP/s}}}``."""
    per_round = [peak.best(measurements) for measurements in peaks]
    out = {}
    for precision in peak.PRECISIONS:
        values = [r[precision]["gflops"] for r in per_round if precision in r]
        if values:
            out[precision] = round(statistics.median(values), 1)
    return out


def target_for(peer_ms, flops, peak_gflops):
    """The issue's target for one ratio: ``("ratio", 1.5)`` or, when 1.5x the peer's speed
    lies beyond the machine (``peer_ms / 1.5`` below ``flops / peak``), ``("peak", 0.9)``."""
    if flops and peak_gflops and peer_ms / TARGET_RATIO < 1000 * flops / (peak_gflops * 1e9):
        return "peak", TARGET_PEAK_WHEN_BEYOND
    return "ratio", TARGET_RATIO


def summarize(results, peaks, nominal):
    """The rows of the side-by-side table from the raw results of a ``--peers`` run.

    Args:
        results: every training result (dicts with ``subject``, ``model``, ``precision``,
            ``round``, ``ms_per_iteration``, ``peak_rss_mib`` ...; ours with
            ``flops_per_iteration`` in its first round).
        peaks: the per-round peak measurements (see :func:`measured_peaks`).
        nominal: :func:`benchmarks.peak.nominal_peak`.

    Returns:
        ``{"peak_gflops": {...}, "rows": [...]}``; one row per (model, precision) with
        ``ours`` and every peer: ``ms`` (median over rounds), ``rounds_ms``, ``peak_rss_mib``,
        and for ours ``flops``, ``achieved_gflops``, ``fraction_of_peak``,
        ``fraction_of_nominal``; per peer ``ratio`` (peer ms / ours ms), ``target`` and
        ``met``.
    """
    measured = measured_peaks(peaks)
    timed = [r for r in results if "error" not in r and r.get("round") != "scaling"
             and r.get("kind") != "sampling"]
    rows = []
    keys = []
    for r in timed:
        key = (r["model"], r["precision"])
        if key not in keys:
            keys.append(key)
    for model, precision in keys:
        row = {"model": model, "precision": precision}
        flops = next((r.get("flops_per_iteration") for r in timed
                      if r["model"] == model and r["subject"] == "ours"
                      and r.get("flops_per_iteration")), None)
        for subject in subjects_of(model):
            mine = [r for r in timed if (r["model"], r["precision"], r["subject"])
                    == (model, precision, subject)]
            if not mine:
                continue
            ms = _median([r["ms_per_iteration"] for r in mine])
            entry = {"ms": round(ms, 1), "rounds_ms": [r["ms_per_iteration"] for r in mine],
                     "peak_rss_mib": _median([r.get("peak_rss_mib") for r in mine]),
                     "rss_after_import_mib": _median([r.get("rss_after_import_mib") for r in mine]),
                     "peak_above_import_mib": _median([
                         r["peak_rss_mib"] - r["rss_after_import_mib"] for r in mine
                         if r.get("peak_rss_mib") is not None
                         and r.get("rss_after_import_mib") is not None]),
                     "images_per_s": round(mine[0]["images_per_iteration"] / ms * 1000, 2)}
            if flops:
                achieved = flops / (ms / 1000) / 1e9
                entry["achieved_gflops"] = round(achieved, 1)
                if precision in measured:
                    entry["fraction_of_peak"] = round(achieved / measured[precision], 3)
                if nominal.get(precision):
                    entry["fraction_of_nominal"] = round(achieved / nominal[precision], 3)
            row[subject] = entry
        if flops:
            row["flops"] = flops
        if "ours" in row:
            ours = row["ours"]
            for subject in PEERS[model]:
                if subject not in row:
                    continue
                peer = row[subject]
                peer["ratio"] = round(peer["ms"] / ours["ms"], 3)
                peer["memory_ratio"] = (round(ours["peak_rss_mib"] / peer["peak_rss_mib"], 3)
                                        if ours["peak_rss_mib"] and peer["peak_rss_mib"] else None)
                peer["memory_above_import_ratio"] = (
                    round(ours["peak_above_import_mib"] / peer["peak_above_import_mib"], 3)
                    if ours["peak_above_import_mib"] and peer["peak_above_import_mib"] else None)
                if subject == "torch":
                    kind, value = target_for(peer["ms"], flops, measured.get(precision))
                    peer["target"] = {"kind": kind, "value": value}
                    peer["met"] = (peer["ratio"] >= value if kind == "ratio"
                                   else ours.get("fraction_of_peak", 0) >= value)
            if precision == "mixed_bfloat16" and "fraction_of_peak" in ours:
                ours["bf16_target"] = TARGET_BF16_FRACTION[model]
                ours["bf16_target_met"] = ours["fraction_of_peak"] >= TARGET_BF16_FRACTION[model]
        rows.append(row)
    return {"peak_gflops": measured, "nominal_gflops": nominal, "rows": rows}


def scaling_summary(results):
    """The batch and resolution scaling rows and the sampling throughputs."""
    batch, resolution, sampling = [], [], []
    for r in results:
        if "error" in r:
            continue
        if r.get("scaling") == "batch":
            batch.append({"subject": r["subject"], "batch_size": r["batch_size"],
                          "ms": r["ms_per_iteration"],
                          "ms_per_image": round(r["ms_per_iteration"] / r["images_per_iteration"], 3),
                          "peak_rss_mib": r.get("peak_rss_mib")})
        elif r.get("scaling") == "resolution":
            flops = r.get("flops_per_iteration")
            resolution.append({"model": r["model"], "resolution": BIGGAN_RESOLUTIONS[r["model"]],
                               "batch_size": r["batch_size"], "ms": r["ms_per_iteration"],
                               "flops": flops, "peak_rss_mib": r.get("peak_rss_mib"),
                               "achieved_gflops": (round(flops / r["ms_per_iteration"] / 1e6, 1)
                                                   if flops else None)})
        elif r.get("kind") == "sampling":
            sampling.append({key: r[key] for key in ("format", "batch_size", "ms_per_batch",
                                                     "images_per_s", "precision")})
    for subject in {row["subject"] for row in batch}:
        rows = [row for row in batch if row["subject"] == subject and row["batch_size"] >= 32]
        if rows:
            lowest = min(row["ms_per_image"] for row in rows)
            for row in rows:
                row["spread_from_best"] = round(row["ms_per_image"] / lowest - 1, 3)
    return {"batch": sorted(batch, key=lambda x: (x["subject"], x["batch_size"])),
            "resolution": sorted(resolution, key=lambda x: x["resolution"]),
            "sampling": sampling}


# ----------------------------------------------------------------------------- the tables

_NAMES = {"ours": "ascendgan", "torch": "PyTorch", "keras": "plain Keras"}
_PRECISION = {"float32": "fp32", "mixed_bfloat16": "bf16"}


def markdown(summary, scaling=None):
    """The Markdown tables of a ``--peers`` run's summary (and scaling)."""
    peaks = summary["peak_gflops"]
    nominal = summary["nominal_gflops"]
    lines = [f"Measured matmul peak (median over rounds of the best product): "
             f"fp32 **{peaks.get('float32', 0):.0f}** GFLOP/s, bf16 "
             f"**{peaks.get('mixed_bfloat16', 0):.0f}** GFLOP/s; nominal at the base clock "
             f"({nominal.get('clock_ghz')} GHz x {nominal.get('cores')} cores): fp32 "
             f"{nominal.get('float32')}, bf16 {nominal.get('mixed_bfloat16')} GFLOP/s.", "",
             "| model | precision | ascendgan ms / iteration | PyTorch ms | ratio | plain Keras ms |"
             " ratio | GFLOP / iteration | achieved GFLOP/s | of measured peak | target |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for row in summary["rows"]:
        ours = row.get("ours", {})
        torch_ = row.get("torch", {})
        keras_ = row.get("keras", {})
        target = torch_.get("target")
        if target:
            goal = (f"{target['value']:.1f}x PyTorch" if target["kind"] == "ratio"
                    else f"{target['value']:.0%} of peak")
            goal += ": met" if torch_.get("met") else ": missed"
        else:
            goal = ""
        if "bf16_target" in ours:
            goal += (f"; {ours['bf16_target']:.0%} of bf16 peak: "
                     + ("met" if ours["bf16_target_met"] else "missed"))
        lines.append(
            f"| {row['model']} | {_PRECISION[row['precision']]} | **{ours.get('ms', 0):,.0f}** |"
            f" {torch_.get('ms', 0):,.0f} | **{torch_.get('ratio', 0):.2f}x** |"
            f" {_cell(keras_, 'ms', '{:,.0f}')} | {_cell(keras_, 'ratio', '{:.2f}x')} |"
            f" {row.get('flops', 0) / 1e9:,.1f} | {ours.get('achieved_gflops', 0):,.0f} |"
            f" {ours.get('fraction_of_peak', 0):.0%} | {goal} |")
    lines += ["", "Peak resident memory in MiB: the whole process (in brackets: after importing "
                  "the framework, before building anything; and the growth above that).", "",
              "| model | precision | ascendgan | PyTorch | plain Keras | ours / PyTorch, whole |"
              " ours / PyTorch, growth |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in summary["rows"]:
        ours, torch_, keras_ = row.get("ours", {}), row.get("torch", {}), row.get("keras", {})
        lines.append(
            f"| {row['model']} | {_PRECISION[row['precision']]} |"
            f" {_memory(ours)} | {_memory(torch_)} | {_memory(keras_) if keras_ else ''} |"
            f" {_cell(torch_, 'memory_ratio', '{:.2f}')} |"
            f" {_cell(torch_, 'memory_above_import_ratio', '{:.2f}')} |")
    if scaling:
        lines += ["", "| DCGAN batch | ascendgan ms / image | PyTorch ms / image |",
                  "| ---: | ---: | ---: |"]
        by = {(r["subject"], r["batch_size"]): r for r in scaling["batch"]}
        for batch in sorted({r["batch_size"] for r in scaling["batch"]}):
            lines.append(f"| {batch} | {_cell(by.get(('ours', batch), {}), 'ms_per_image', '{:.2f}')} |"
                         f" {_cell(by.get(('torch', batch), {}), 'ms_per_image', '{:.2f}')} |")
        lines += ["", "| BigGAN resolution | batch | ms / iteration | GFLOP / iteration |"
                  " achieved GFLOP/s | peak RSS MiB |", "| ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in scaling["resolution"]:
            lines.append(f"| {r['resolution']} | {r['batch_size']} x 2 D steps | {r['ms']:,.0f} |"
                         f" {(r['flops'] or 0) / 1e9:,.1f} | {r['achieved_gflops'] or 0:,.0f} |"
                         f" {r['peak_rss_mib'] or 0:,.0f} |")
        lines += ["", "| BigGAN sampling through | batch | ms / batch | images / s |",
                  "| --- | ---: | ---: | ---: |"]
        for r in scaling["sampling"]:
            lines.append(f"| {r['format']} | {r['batch_size']} | {r['ms_per_batch']:,.1f} |"
                         f" {r['images_per_s']:,.0f} |")
    return "\n".join(lines)


def _cell(entry, key, fmt):
    value = entry.get(key)
    return fmt.format(value) if value is not None else ""


def _memory(entry):
    if not entry or entry.get("peak_rss_mib") is None:
        return ""
    return (f"{entry['peak_rss_mib']:,.0f} ({entry.get('rss_after_import_mib') or 0:,.0f};"
            f" +{entry.get('peak_above_import_mib') or 0:,.0f})")


def plot(summary, scaling, path):
    """A PNG of the run: ratios per configuration, ascendgan's fraction of the measured
    peak, DCGAN ms / image against batch, BigGAN time and FLOPs against resolution."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot, ticker

    panels = 4 if scaling else 2
    figure, axes = pyplot.subplots(1, panels, figsize=(4.6 * panels, 4.0), squeeze=False)
    axes = axes[0]
    labels, values = [], []
    for row in summary["rows"]:
        for subject in PEERS[row["model"]]:
            if subject in row and "ratio" in row[subject]:
                labels.append(f"{row['model']} {_PRECISION[row['precision']]}\nvs {_NAMES[subject]}")
                values.append(row[subject]["ratio"])
    axes[0].barh(range(len(values)), values, color="#4c72b0")
    axes[0].set_yticks(range(len(values)), labels, fontsize=7)
    axes[0].axvline(1.0, color="black", linewidth=0.8)
    axes[0].axvline(TARGET_RATIO, color="#c44e52", linestyle="--", linewidth=0.8, label="1.5x target")
    axes[0].set_xlabel("peer time / ascendgan time\n(higher: ascendgan faster)")
    axes[0].legend(fontsize=7)
    axes[0].invert_yaxis()
    rows = [r for r in summary["rows"] if "fraction_of_peak" in r.get("ours", {})]
    axes[1].barh(range(len(rows)), [100 * r["ours"]["fraction_of_peak"] for r in rows],
                 color=["#55a868" if r["precision"] == "mixed_bfloat16" else "#8172b2" for r in rows])
    axes[1].set_yticks(range(len(rows)),
                       [f"{r['model']} {_PRECISION[r['precision']]}" for r in rows], fontsize=7)
    axes[1].axvline(100 * TARGET_PEAK_WHEN_BEYOND, color="#c44e52", linestyle="--", linewidth=0.8,
                    label="90%")
    axes[1].set_xlim(0, 110)
    axes[1].set_xlabel("ascendgan's achieved FLOP/s, % of the\nmeasured matmul peak of its precision")
    axes[1].legend(fontsize=7)
    axes[1].invert_yaxis()
    if scaling:
        for subject, style in (("ours", "o-"), ("torch", "s--")):
            batch_rows = [r for r in scaling["batch"] if r["subject"] == subject]
            if batch_rows:
                axes[2].plot([r["batch_size"] for r in batch_rows],
                             [r["ms_per_image"] for r in batch_rows], style, label=_NAMES[subject])
        axes[2].set_xscale("log", base=2)
        axes[2].xaxis.set_major_formatter(ticker.ScalarFormatter())
        axes[2].set_xlabel("DCGAN batch size")
        axes[2].set_ylabel("ms per image")
        axes[2].set_ylim(bottom=0)
        axes[2].legend(fontsize=7)
        resolution = scaling["resolution"]
        if resolution:
            base = resolution[0]
            axes[3].plot([r["resolution"] for r in resolution],
                         [r["ms"] / base["ms"] for r in resolution], "o-", label="time")
            if all(r["flops"] for r in resolution):
                axes[3].plot([r["resolution"] for r in resolution],
                             [r["flops"] / base["flops"] for r in resolution], "s--", label="FLOPs")
            axes[3].set_xscale("log", base=2)
            axes[3].set_yscale("log")
            axes[3].set_xticks([r["resolution"] for r in resolution])
            highest = max(max(r["ms"] / base["ms"] for r in resolution),
                          max((r["flops"] or 0) / (base["flops"] or 1) for r in resolution))
            axes[3].set_yticks([2**i for i in range(0, int(highest).bit_length() + 1)])
            for axis in (axes[3].xaxis, axes[3].yaxis):
                axis.set_major_formatter(ticker.ScalarFormatter())
                axis.set_minor_formatter(ticker.NullFormatter())
            axes[3].set_xlabel(f"BigGAN resolution (batch {base['batch_size']})")
            axes[3].set_ylabel(f"relative to {base['resolution']}x{base['resolution']}")
            axes[3].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


__all__ = ["PEER_MODELS", "markdown", "measured_peaks", "plan", "plot", "scaling_plan",
           "scaling_summary", "summarize", "target_for"]
