"""The convolutions of the documented models, alone: GFLOP/s of one convolution's forward pass
plus both gradients (input and kernel) at the models' shapes, beside TensorFlow's matmul peak
measured in the same process. It answers "how fast can this model be on this machine with
TensorFlow's (oneDNN's) convolution kernels": a model whose convolutions are its time cannot
run faster than its convolutions do here.

Also compared: a stride-2 4x4 convolution computed as space-to-depth followed by a stride-1
2x2 convolution (the same sums in another order), which would let oneDNN run a stride-1
kernel instead.

    python benchmarks/conv_layers.py --output benchmarks/results/conv-layers-<date>.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: (model, layer, batch, input size, input channels, output channels, kernel, stride)
SHAPES = (
    ("dcgan", "D conv 2", 64, 32, 64, 128, 4, 2),
    ("dcgan", "D conv 3", 64, 16, 128, 256, 4, 2),
    ("dcgan", "D conv 4", 64, 8, 256, 512, 4, 2),
    ("pix2pix", "U-Net encoder 2", 1, 128, 64, 128, 4, 2),
    ("pix2pix", "U-Net encoder 5", 1, 16, 512, 512, 4, 2),
    ("pix2pix", "U-Net encoder 7", 1, 4, 512, 512, 4, 2),
    ("biggan", "G block conv, 32x32", 64, 32, 384, 384, 3, 1),
    ("biggan", "D block conv, 16x16", 64, 16, 384, 384, 3, 1),
)


def _median_ms(function, argument, repeats):
    function(argument)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        outputs = function(argument)
        for output in outputs:
            output.numpy()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(precision, repeats=6, space_to_depth=True):
    import tensorflow as tf

    dtype = tf.bfloat16 if precision == "mixed_bfloat16" else tf.float32
    rows = []
    for model, layer, n, size, cin, cout, k, s in SHAPES:
        x = tf.cast(tf.random.uniform((n, size, size, cin), -1, 1, seed=0), dtype)
        kernel = tf.random.uniform((k, k, cin, cout), -0.05, 0.05, seed=1)

        @tf.function
        def direct(x, kernel=kernel, s=s):
            with tf.GradientTape() as tape:
                tape.watch([x, kernel])
                y = tf.nn.conv2d(x, tf.cast(kernel, dtype), s, "SAME")
                loss = tf.reduce_sum(tf.cast(y, tf.float32))
            # the loss is returned so that the forward convolution runs (the gradients of a
            # sum do not need it, and TensorFlow prunes what nothing needs)
            return [loss, *tape.gradient(loss, [x, kernel])]

        out = size // s
        flops = 3 * 2 * n * out * out * cout * k * k * cin  # forward + input + kernel gradient
        ms = _median_ms(direct, x, repeats)
        row = {"model": model, "layer": layer, "shape": [n, size, size, cin, cout, k, s],
               "gflop": round(flops / 1e9, 2), "ms": round(ms, 2),
               "gflops_per_s": round(flops / ms / 1e6, 1)}
        if space_to_depth and k == 4 and s == 2:
            @tf.function
            def s2d(x, kernel=kernel, cin=cin, cout=cout):
                with tf.GradientTape() as tape:
                    tape.watch([x, kernel])
                    blocks = tf.nn.space_to_depth(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), 2)
                    # kernel tap (2a + i, 2b + j) acts on block (a, b), channel group (i, j)
                    taps = tf.reshape(tf.cast(kernel, dtype), (2, 2, 2, 2, cin, cout))
                    taps = tf.reshape(tf.transpose(taps, (0, 2, 1, 3, 4, 5)), (2, 2, 4 * cin, cout))
                    y = tf.nn.conv2d(blocks, taps, 1, "VALID")
                    loss = tf.reduce_sum(tf.cast(y, tf.float32))
                return [loss, *tape.gradient(loss, [x, kernel])]

            row["space_to_depth_ms"] = round(_median_ms(s2d, x, repeats), 2)
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--precisions", default="float32,mixed_bfloat16")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)

    from benchmarks import peak
    from benchmarks.harness import machine, now

    started = now()
    payload = {"started": started, "command": "python benchmarks/conv_layers.py " + " ".join(argv or sys.argv[1:]),
               "machine": machine(), "precisions": {}}
    for precision in args.precisions.split(","):
        matmul = peak.measure("tensorflow", precision, (2048, 4096))
        rows = measure(precision, args.repeats)
        best = max(matmul.values())
        for row in rows:
            row["of_tensorflow_matmul_peak"] = round(row["gflops_per_s"] / best, 3)
        payload["precisions"][precision] = {"tensorflow_matmul_gflops": matmul, "layers": rows}
        print(f"{precision}: TensorFlow matmul {matmul} GFLOP/s")
        for row in rows:
            extra = (f"  space-to-depth {row['space_to_depth_ms']:.1f} ms"
                     if "space_to_depth_ms" in row else "")
            print(f"  {row['model']:8s} {row['layer']:22s} {row['gflop']:6.2f} GFLOP {row['ms']:8.1f} ms"
                  f" {row['gflops_per_s']:7.1f} GFLOP/s ({row['of_tensorflow_matmul_peak']:.0%}){extra}")
    payload["finished"] = now()
    if args.output:
        with open(args.output, "w") as handle:
            json.dump(payload, handle, indent=1)
        print(f"wrote {args.output}")
    return payload


if __name__ == "__main__":
    main()
