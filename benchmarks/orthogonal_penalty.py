"""Before/after of one change: BigGAN's orthogonal penalty and its gradient over a generator's
kernels, computed as ascendgan does now (wide kernels from the row Gram) and as it did before
(every kernel from its column Gram ``WᵀW``), interleaved in one process.

    python benchmarks/orthogonal_penalty.py                 # BigGAN cifar10 generator
    python benchmarks/orthogonal_penalty.py --preset imagenet128 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def column_gram_energy(kernel):
    """The former computation: ``‖WᵀW ⊙ (1 - I)‖²_F`` from the column Gram, always."""
    import tensorflow as tf

    matrix = tf.reshape(tf.cast(kernel, tf.float32), (-1, tf.shape(kernel)[-1]))
    gram = tf.matmul(matrix, matrix, transpose_a=True)
    off_diagonal = gram * (1.0 - tf.eye(tf.shape(gram)[0], dtype=tf.float32))
    return tf.reduce_sum(tf.square(off_diagonal))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="cifar10")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    import tensorflow as tf

    import ascendgan
    from ascendgan.regularizers import _is_kernel, orthogonal_regularization

    gan = ascendgan.models.biggan(args.preset)
    gan.build_models()
    variables = gan.generator.trainable_variables
    kernels = [v for v in variables if _is_kernel(v)]

    @tf.function
    def now():
        with tf.GradientTape() as tape:
            value = orthogonal_regularization(variables, 1e-4)
        return value, tape.gradient(value, kernels)

    @tf.function
    def before():
        with tf.GradientTape() as tape:
            value = 1e-4 * tf.add_n([column_gram_energy(k) for k in kernels])
        return value, tape.gradient(value, kernels)

    for function in (now, before):  # trace, and agree
        value = function()[0]
    assert abs(float(now()[0]) - float(before()[0])) <= 1e-4 * abs(float(before()[0])) + 1e-6
    times = {"now": [], "before": []}
    for _ in range(args.repeats):
        for name, function in (("before", before), ("now", now)):
            start = time.perf_counter()
            values = function()
            _ = values[0].numpy()
            times[name].append(time.perf_counter() - start)
    widest = max(kernels, key=lambda k: k.shape[-1])
    print(f"BigGAN {args.preset} generator: {len(kernels)} kernels, widest {tuple(widest.shape)};"
          f" penalty {float(value):.6g}")
    for name in ("before", "now"):
        print(f"{name:7s} median {1000 * statistics.median(times[name]):8.1f} ms"
              f" (min {1000 * min(times[name]):.1f})")
    return times


if __name__ == "__main__":
    main()
