"""The machine's own matmul peak, measured in the benchmark run that uses it (issue 15).

Two numbers per precision anchor every achieved FLOP/s of ``run.py --peers``:

* **measured**: the best GFLOP/s of square matrix products (``2·n³`` FLOPs each) over
  several sizes, with TensorFlow (``tf.linalg.matmul``) and, when it is installed, PyTorch
  (``torch.mm``), each in a fresh process using every core. The best of both frameworks
  is the machine's measured peak: it is what a well-tuned kernel reaches here, whichever
  library ships it.
* **nominal**: cores x base clock x FLOPs per cycle of the vector units, from
  ``/proc/cpuinfo``. The base clock understates a boosting CPU, so a measured peak above
  the nominal one is expected there; the nominal figure is context, the measured one the
  anchor.

bf16 products take bfloat16 inputs and accumulate in float32 (oneDNN's AVX512_BF16 / AMX
kernels), the arithmetic of ``mixed_bfloat16`` convolutions.
"""

from __future__ import annotations

import os
import time

#: Matrix sizes n of the n x n x n products (the best one counts).
SIZES = (1024, 2048, 3072, 4096)
#: Sizes of a ``--tiny`` run.
TINY_SIZES = (256, 512)
#: Timed repetitions per size (the fastest counts), after one untimed product.
REPEATS = 4
#: The frameworks measured.
FRAMEWORKS = ("tensorflow", "torch")
#: The two precisions, named as the Keras dtype policies they anchor.
PRECISIONS = ("float32", "mixed_bfloat16")


def cpuinfo():
    """The first processor's fields of ``/proc/cpuinfo`` (``{"model name": ..., "cpu
    family": ..., ...}``) and its flags as ``" flag flag ... "`` (space-padded, so that
    ``" avx512f " in flags`` tests one flag); ``({}, "")`` where there is no such file."""
    fields, flags = {}, ""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "flags" and not flags:
                    flags = f" {value.strip()} "
                elif key and key != "flags" and key not in fields:
                    fields[key] = value.strip()
    except OSError:
        pass
    return fields, flags


def flops_per_cycle(vendor, family, flags):
    """FP32 and BF16 FLOPs per cycle per core of the CPU's widest vector FMA.

    Two FMA pipes per core on every x86 CPU this covers; each FMA is 2 FLOPs per lane.
    AVX-512 on AMD Zen 4 (family 25) runs on 256-bit pipes, so it doubles nothing there;
    on Intel it does. AVX512_BF16's ``vdpbf16ps`` does two bf16 products per fp32 lane.
    AMX (``amx_bf16``) tiles do 1,024 bf16 FLOPs per cycle per core.
    """
    if " avx512f " in flags:
        width = 8 if (vendor == "AuthenticAMD" and family == 25) else 16
    elif " avx2 " in flags and " fma " in flags:
        width = 8
    else:
        width = 4
    fp32 = 2 * 2 * width  # two pipes, FMA
    if " amx_bf16 " in flags:
        bf16 = 1024
    elif " avx512_bf16 " in flags:
        bf16 = 2 * fp32
    else:
        bf16 = fp32  # bf16 is converted and computed in fp32
    return fp32, bf16


def nominal_peak():
    """``{"float32": GFLOP/s, "mixed_bfloat16": GFLOP/s, ...}`` at the base clock."""
    fields, flags = cpuinfo()
    cores = os.cpu_count() or 1
    try:
        family = int(fields.get("cpu family", "0"))
        mhz = float(fields.get("cpu MHz", "0"))
    except ValueError:
        family, mhz = 0, 0.0
    fp32, bf16 = flops_per_cycle(fields.get("vendor_id", ""), family, flags)
    ghz = mhz / 1000.0
    return {
        "float32": round(cores * ghz * fp32, 1),
        "mixed_bfloat16": round(cores * ghz * bf16, 1),
        "cores": cores,
        "clock_ghz": round(ghz, 3),
        "fp32_flops_per_cycle_per_core": fp32,
        "bf16_flops_per_cycle_per_core": bf16,
    }


def _best_time(run, repeats):
    run()  # untimed: first-call allocation and kernel selection
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _tensorflow_products(precision, sizes, repeats):
    import tensorflow as tf

    dtype = tf.bfloat16 if precision == "mixed_bfloat16" else tf.float32
    results = {}
    for n in sizes:
        a = tf.cast(tf.random.uniform((n, n), -1.0, 1.0, seed=1), dtype)
        b = tf.cast(tf.random.uniform((n, n), -1.0, 1.0, seed=2), dtype)

        def run(a=a, b=b):
            tf.linalg.matmul(a, b)[0, 0].numpy()  # .numpy(): wait for the product

        results[str(n)] = round(2 * n**3 / _best_time(run, repeats) / 1e9, 1)
    return results


def _torch_products(precision, sizes, repeats):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    dtype = torch.bfloat16 if precision == "mixed_bfloat16" else torch.float32
    generator = torch.Generator().manual_seed(0)
    results = {}
    for n in sizes:
        a = (torch.rand(n, n, generator=generator) * 2 - 1).to(dtype)
        b = (torch.rand(n, n, generator=generator) * 2 - 1).to(dtype)
        results[str(n)] = round(2 * n**3 / _best_time(lambda a=a, b=b: torch.mm(a, b), repeats) / 1e9, 1)
    return results


def measure(framework, precision, sizes=SIZES, repeats=REPEATS):
    """GFLOP/s of ``n x n`` products per size ``n`` (``{str(n): GFLOP/s}``) with one
    framework in this process.

    Raises:
        ValueError: naming the argument, for an unknown framework or precision.
        ImportError: when the framework is not installed.
    """
    from ascendgan.validation import check_choice

    check_choice("framework", framework, FRAMEWORKS)
    check_choice("precision", precision, PRECISIONS)
    products = _tensorflow_products if framework == "tensorflow" else _torch_products
    return products(precision, tuple(sizes), repeats)


def best(measurements):
    """The measured peak per precision from ``{framework: {precision: {size: GFLOP/s}}}``:
    ``{precision: {"gflops": best, "framework": ..., "size": ...}}``."""
    peaks = {}
    for framework, by_precision in measurements.items():
        for precision, by_size in by_precision.items():
            for size, gflops in (by_size or {}).items():
                if gflops > peaks.get(precision, {}).get("gflops", 0.0):
                    peaks[precision] = {"gflops": gflops, "framework": framework,
                                        "size": int(size)}
    return peaks


__all__ = ["FRAMEWORKS", "PRECISIONS", "SIZES", "TINY_SIZES", "best", "cpuinfo", "flops_per_cycle",
           "measure", "nominal_peak"]
