"""Timing one peer configuration in this process (``run.py --peers`` runs each in a fresh
one): the peer's training iteration on one fixed batch, ``warmup`` untimed iterations then
``iterations`` timed ones, median reported, with the process's peak resident memory.

The batches have the shapes ascendgan's subject of the same model trains on
(``benchmarks/subjects.py``): DCGAN 64 images of 64x64, Pix2Pix one 256x256 pair, BigGAN
2 x 64 images of 32x32 with labels (two discriminator steps).
"""

from __future__ import annotations

import os
import statistics
import time

#: Peers per model: ``torch`` (PyTorch, ``peers/torch_*.py``), ``keras`` (plain Keras).
PEERS = {"dcgan": ("torch", "keras"), "pix2pix": ("torch",), "biggan": ("torch",)}
#: The documented batch of each model (ascendgan's presets).
BATCH_SIZES = {"dcgan": 64, "pix2pix": 1, "biggan": 64}


def resident_mib():
    """``(current, peak)`` resident memory of this process in MiB (Linux ``/proc``)."""
    current = peak = None
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    current = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return (round(current, 1) if current is not None else None,
            round(peak, 1) if peak is not None else None)


def _torch_iteration(model, precision, batch_size, seed):
    import numpy as np
    import torch

    from benchmarks.peers import torch_biggan, torch_dcgan, torch_pix2pix

    torch.set_num_threads(os.cpu_count() or 1)
    torch_precision = "bfloat16" if precision == "mixed_bfloat16" else "float32"
    rng = np.random.default_rng(seed)

    def images(*shape):
        return torch.from_numpy(rng.uniform(-1.0, 1.0, shape).astype(np.float32))

    if model == "dcgan":
        nets = torch_dcgan.build(batch_size, torch_precision, seed)
        real = images(batch_size, 3, 64, 64)
        return nets, lambda: nets[2](real), batch_size
    if model == "pix2pix":
        nets = torch_pix2pix.build(batch_size, torch_precision, seed)
        real, source = images(batch_size, 3, 256, 256), images(batch_size, 3, 256, 256)
        return nets, lambda: nets[2](real, source), batch_size
    nets = torch_biggan.build(batch_size, torch_precision, seed)
    steps = torch_biggan.DISCRIMINATOR_STEPS
    real = images(steps * batch_size, 3, 32, 32)
    labels = torch.from_numpy(rng.integers(0, 10, (steps * batch_size,)).astype(np.int64))
    return nets, lambda: nets[2](real, labels), steps * batch_size


def _keras_iteration(model, precision, batch_size, seed):
    import numpy as np

    from benchmarks.peers import keras_dcgan64

    if model != "dcgan":
        raise ValueError(f"The plain-Keras peer exists for dcgan only. Received: model={model!r}")
    nets = keras_dcgan64.build(batch_size, precision, seed)
    rng = np.random.default_rng(seed)
    real = rng.uniform(-1.0, 1.0, (batch_size, 64, 64, 3)).astype(np.float32)

    def run():
        d_loss, _ = nets[2](real)
        d_loss.numpy()  # wait for the step

    return nets, run, batch_size


def parameter_counts(peer, nets):
    if peer == "torch":
        from benchmarks.peers._torch_common import count_parameters

        return {"generator": count_parameters(nets[0]),
                "discriminator": count_parameters(nets[1])}
    from benchmarks.peers import keras_dcgan64

    g, d = keras_dcgan64.parameter_counts(nets[0], nets[1])
    return {"generator": g, "discriminator": d}


def run_peer(peer, model, precision, iterations=10, warmup=3, batch_size=None, seed=0):
    """Times one peer configuration; returns a JSON-able dict like ``harness.run_one``'s.

    Args:
        peer: ``"torch"`` or ``"keras"`` (see :data:`PEERS`).
        model: ``"dcgan"``, ``"pix2pix"`` or ``"biggan"``.
        precision: ``"float32"`` or ``"mixed_bfloat16"`` (PyTorch: bf16 autocast and
            channels_last).
        iterations, warmup: timed and untimed iterations (>= 1 each).
        batch_size: images per (discriminator) step; default the documented one.

    Raises:
        ValueError: naming the argument, for an unknown peer, model or precision.
    """
    from ascendgan.validation import check_choice, check_int

    check_choice("model", model, tuple(PEERS))
    check_choice("peer", peer, PEERS[model])
    check_choice("precision", precision, ("float32", "mixed_bfloat16"))
    check_int("iterations", iterations, minimum=1)
    check_int("warmup", warmup, minimum=1)
    batch_size = BATCH_SIZES[model] if batch_size is None else check_int("batch_size", batch_size, minimum=1)
    if peer == "torch":
        import torch  # noqa: F401  (imported before the baseline memory reading)
    else:
        import tensorflow  # noqa: F401
    load_before = os.getloadavg()
    rss_start, _ = resident_mib()
    build = _torch_iteration if peer == "torch" else _keras_iteration
    nets, run, images_per_iteration = build(model, precision, batch_size, seed)
    first = None
    times = []
    for i in range(warmup + iterations):
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        if i == 0:
            first = elapsed
        if i >= warmup:
            times.append(elapsed)
    rss_end, peak = resident_mib()
    median = statistics.median(times)
    return {
        "subject": peer,
        "model": model,
        "precision": precision,
        "batch_size": batch_size,
        "images_per_iteration": images_per_iteration,
        "parameters": parameter_counts(peer, nets),
        "warmup": warmup,
        "iterations": iterations,
        "first_iteration_ms": round(1000 * first, 1),
        "ms_per_iteration": round(1000 * median, 2),
        "ms_min": round(1000 * min(times), 2),
        "ms_max": round(1000 * max(times), 2),
        "ms_all": [round(1000 * t, 2) for t in times],
        "images_per_s": round(images_per_iteration / median, 2),
        "rss_after_import_mib": rss_start,
        "rss_end_mib": rss_end,
        "peak_rss_mib": peak,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


__all__ = ["BATCH_SIZES", "PEERS", "resident_mib", "run_peer"]
