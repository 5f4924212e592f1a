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
import collections
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

#: The benchmarked models, in table order.
MODEL_NAMES = ("dcgan", "pix2pix", "biggan", "biggan_pytorch", "wrn")
PRECISIONS = ("float32", "mixed_bfloat16")

#: Documented configuration of each model (``--tiny`` swaps in the small overrides).
MODELS = {
    "dcgan": {
        "title": "DCGAN 64x64 (celeba)",
        "factory": 'ascendgan.models.dcgan("celeba")',
        "batch_size": 64,
        "tiny": {"overrides": {"base_filters": 4, "image_size": 16}, "batch_size": 4},
    },
    "pix2pix": {
        "title": "Pix2Pix 256x256 (facades)",
        "factory": 'ascendgan.models.pix2pix("facades")',
        "batch_size": 1,
        "tiny": {"overrides": {"base_filters": 4, "discriminator_base_filters": 4,
                              "image_size": 32, "num_downsamplings": 5},
                 "batch_size": 1},
    },
    "biggan": {
        "title": "BigGAN CIFAR-10 32x32 (cifar10, 2 D steps)",
        "factory": 'ascendgan.models.biggan("cifar10")',
        "batch_size": 64,
        "tiny": {"overrides": {"base_channels": 4, "shared_embedding_dim": 8, "latent_dim": 8},
                 "batch_size": 4},
    },
    "biggan_pytorch": {
        "title": "BigGAN CIFAR-10 32x32, BigGAN-PyTorch's CIFAR script (base 64, no attention, "
                 "4 D steps, batch 50)",
        "factory": 'ascendgan.models.biggan("cifar10", base_channels=64, '
                   'attention_resolutions=(), discriminator_steps=4)',
        "overrides": {"base_channels": 64, "attention_resolutions": (), "discriminator_steps": 4},
        "batch_size": 50,
        "tiny": {"overrides": {"base_channels": 4, "shared_embedding_dim": 8, "latent_dim": 8,
                               "attention_resolutions": (), "discriminator_steps": 4},
                 "batch_size": 4},
    },
    "wrn": {
        "title": "WRN-28-10 AutoAugment classifier (CIFAR-10 32x32)",
        "factory": 'ascendgan.models.wide_resnet("wrn_28_10") + train_classifier',
        "batch_size": 128,
        "tiny": {"preset": "wrn_10_1", "batch_size": 4},
    },
}

#: Published / reference step times in ms (docs/benchmarks.md and the issue).
REFERENCES = {
    "dcgan": {"pytorch_fp32": 778, "pytorch_bf16_autocast": 438, "tf_tutorial_fp32": 779,
              "keras3_fp32": 636, "keras3_bf16": 482, "keras3_bf16_fused_bn": 385,
              "target_bf16": 310},
    "pix2pix": {"pytorch_fp32": 682, "pytorch_bf16_autocast": 542, "tf_tutorial_fp32": 704,
                "keras3_fp32": 636, "keras3_bf16": 453, "target_bf16": 280},
    "biggan": {"pytorch_fp32_documented_config": 27000, "ascend910": 196, "gpu": 347,
               "pytorch_author_config_fp32_batch50": 16400,
               "pytorch_author_config_fp32_batch64": 22200,
               "pytorch_author_config_bf16": 9600},
}


# ----------------------------------------------------------------------------- FLOP counting


def live_operations(graph):
    """The ops of ``graph`` that run: those the outputs, control outputs or a stateful op
    depend on.

    A traced function's graph also holds ops nobody uses -- e.g. ``tape.gradient`` builds
    the input gradient of a first convolution and the weight gradients of a network that
    is only differentiated through -- which TensorFlow prunes before running the
    function, so they must not be counted.

    Args:
        graph: a ``tf.Graph`` / ``FuncGraph``.

    Returns:
        the list of live ``tf.Operation`` in graph order.
    """
    seeds = [t.op for t in getattr(graph, "outputs", [])]
    seeds += list(getattr(graph, "control_outputs", []))
    seeds += [op for op in graph.get_operations() if op._is_stateful]  # noqa: SLF001
    live, stack = set(), list(seeds)
    while stack:
        op = stack.pop()
        if op in live:
            continue
        live.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return [op for op in graph.get_operations() if op in live]


def _conv_backprop_flops(op):
    """Exact multiply-adds of a convolution's input or kernel gradient, times 2.

    Both gradients do the forward convolution's work: ``2 · elements of the output
    gradient · k_h · k_w · C_in``. (TensorFlow's registered cost scales the *input* size by
    1 / stride², which overcounts convolutions whose input was padded by a separate op,
    e.g. PatchGAN's ``ZeroPadding2D`` + "valid" convolutions.) A transposed convolution is
    a ``Conv2DBackpropInput``: ``2 · H_in · W_in · C_in · C_out · k²``.
    """
    out_backprop = op.inputs[2].shape
    kernel = op.inputs[1].shape if op.type == "Conv2DBackpropInput" else op.outputs[0].shape
    if not (out_backprop.is_fully_defined() and kernel.is_fully_defined()):
        return 0
    kernel_h, kernel_w, channels_in, _ = kernel.as_list()
    return 2 * out_backprop.num_elements() * kernel_h * kernel_w * channels_in


def flops_by_op_type(graph):
    """FLOPs of every op of ``graph`` with a registered cost, summed per op type.

    Uses TensorFlow's profiler cost functions (``tensorflow.python.profiler.internal.
    flops_registry`` and the ``Conv2D`` statistics of ``nn_ops``): a convolution counts
    ``2 · output elements · k_h · k_w · C_in`` (one multiply and one add per term), a matrix
    product ``2 · m · n · k``, an element-wise op one FLOP per output element; the two
    convolution gradients are counted exactly by :func:`_conv_backprop_flops`. Ops without a
    registered cost (``FusedBatchNormV3``, ``Relu``, casts, ...) and ops whose shapes are
    not static count 0. Only :func:`live_operations` are counted.

    Args:
        graph: a ``tf.Graph`` / ``FuncGraph`` (e.g. ``concrete_function.graph``).

    Returns:
        ``(flops, uncounted)``: a dict ``{op type: FLOPs}`` (only types with FLOPs > 0) and
        a sorted list of op types that call other functions (``If``, ``While``,
        ``PartitionedCall``, ...) whose bodies are not counted.
    """
    from tensorflow.python.framework import ops as tf_ops
    from tensorflow.python.profiler.internal import flops_registry  # noqa: F401  (registers)

    totals = collections.Counter()
    uncounted = set()
    for op in live_operations(graph):
        if op.type in ("If", "StatelessIf", "While", "StatelessWhile", "PartitionedCall",
                       "StatefulPartitionedCall", "Case", "StatelessCase"):
            uncounted.add(op.type)
            continue
        if op.type in ("Conv2DBackpropInput", "Conv2DBackpropFilter"):
            flops = _conv_backprop_flops(op)
            if flops:
                totals[op.type] += flops
            continue
        try:
            stats = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops")
        except Exception:  # no cost function for this op type, or unknown shapes
            continue
        if stats is not None and stats.value:
            totals[op.type] += int(stats.value)
    return dict(totals), sorted(uncounted)


def function_flops(function, *args):
    """Total FLOPs of ``tf.function(function)`` traced on ``args`` (tensors or specs).

    Args:
        function: a Python callable of tensors (or an existing ``tf.function``).
        *args: its arguments; static shapes give exact counts.

    Returns:
        ``(total, by_op_type, uncounted)`` as in :func:`flops_by_op_type`.
    """
    import tensorflow as tf

    if not hasattr(function, "get_concrete_function"):
        function = tf.function(function)
    graph = function.get_concrete_function(*args).graph
    by_type, uncounted = flops_by_op_type(graph)
    return sum(by_type.values()), by_type, uncounted


# ----------------------------------------------------------------------------- the models


def _images(rng, shape):
    import numpy as np

    return rng.uniform(-1.0, 1.0, shape).astype(np.float32)


def _use_keras_batch_norm():
    """Makes the DCGAN / Pix2Pix networks built afterwards use Keras's own (unfused)
    ``BatchNormalization`` -- the A/B experiment ``--batch-norm keras``; same variables."""
    from ascendgan import compat
    from ascendgan.models.dcgan import dcgan_discriminator, dcgan_generator
    from ascendgan.models.pix2pix import patchgan_discriminator, unet_generator

    def keras_batch_norm(synchronized=False):
        return compat.layers.BatchNormalization(
            momentum=0.9, epsilon=1e-5, synchronized=synchronized,
            gamma_initializer=compat.initializers.RandomNormal(mean=1.0, stddev=0.02))

    for module in (dcgan_generator, dcgan_discriminator, unet_generator, patchgan_discriminator):
        module.batch_norm = keras_batch_norm


def build(name, tiny=False, fresh_fakes=False):
    """Builds one benchmark subject at its documented (or ``tiny``) configuration.

    Args:
        name: one of ``MODEL_NAMES``.
        tiny: small networks and batches for smoke tests.
        fresh_fakes: DCGAN / Pix2Pix with ``reuse_fakes=False`` (a second generator pass
            for the G step) instead of their presets' one pass per iteration.

    Returns:
        a dict: ``kind`` (``"gan"`` or ``"classifier"``), ``model``, ``batch`` (the numpy
        batch one ``fit`` step reads before regrouping), ``batch_size``,
        ``images_per_iteration`` (real images one iteration consumes), ``networks``
        (``{name: (model, example input)}`` for the forward FLOP counts), ``config``
        (a JSON-able description).
    """
    import numpy as np

    import ascendgan

    spec = MODELS[name]
    overrides = spec["tiny"].get("overrides", {}) if tiny else dict(spec.get("overrides", {}))
    batch_size = spec["tiny"]["batch_size"] if tiny else spec["batch_size"]
    if fresh_fakes and name in ("dcgan", "pix2pix"):
        overrides["reuse_fakes"] = False
    rng = np.random.default_rng(0)
    if name == "dcgan":
        gan = ascendgan.models.dcgan("celeba", seed=0, **overrides)
        size, channels = gan.preset["image_size"], gan.preset["channels"]
        batch = _images(rng, (batch_size, size, size, channels))
        z = np.zeros((1, gan.latent_dim), np.float32)
        networks = {"generator": (gan.generator, z),
                    "discriminator": (gan.discriminator, batch[:1])}
    elif name == "pix2pix":
        gan = ascendgan.models.pix2pix("facades", seed=0, **overrides)
        size = gan.preset["image_size"]
        source = _images(rng, (batch_size, size, size, gan.generator.input_channels))
        target = _images(rng, (batch_size, size, size, gan.generator.output_channels))
        batch = (source, target)
        networks = {"generator": (gan.generator, source[:1]),
                    "discriminator": (gan.discriminator, [source[:1], target[:1]])}
    elif name in ("biggan", "biggan_pytorch"):
        gan = ascendgan.models.biggan("cifar10", seed=0, **overrides)
        size = gan.preset["image_size"]
        images = _images(rng, (batch_size, size, size, 3))
        labels = rng.integers(0, gan.num_classes, (batch_size,)).astype(np.int32)
        batch = (images, labels)
        z = np.zeros((1, gan.latent_dim), np.float32)
        networks = {"generator": (gan.generator, [z, labels[:1]]),
                    "discriminator": (gan.discriminator, [images[:1], labels[:1]])}
    elif name == "wrn":
        from ascendgan.models.classifiers import wide_resnet

        preset = spec["tiny"]["preset"] if tiny else "wrn_28_10"
        model = wide_resnet(preset, input_shape=(32, 32, 3))
        images = _images(rng, (batch_size, 32, 32, 3))
        labels = rng.integers(0, 10, (batch_size,)).astype(np.int32)
        return {
            "kind": "classifier", "model": model, "batch": (images, labels),
            "batch_size": batch_size, "images_per_iteration": batch_size,
            "networks": {"classifier": (model, images[:1])},
            "config": {"preset": preset, "batch_size": batch_size, "tiny": tiny},
        }
    else:
        raise ValueError(f"`name` must be one of {MODEL_NAMES}. Received: name={name!r}")
    steps = gan.discriminator_steps
    return {
        "kind": "gan", "model": gan, "batch": batch, "batch_size": batch_size,
        "images_per_iteration": batch_size * steps, "networks": networks,
        "config": {"preset": gan.preset["name"], "batch_size": batch_size,
                   "discriminator_steps": steps, "reuse_fakes": gan.reuse_fakes,
                   "overrides": overrides, "tiny": tiny},
    }


def parameter_count(model):
    """Trainable parameters of a Keras model."""
    return int(sum(int(w.shape.num_elements()) for w in model.trainable_weights))


class IterationTimer:
    """A Keras callback stamping the end (and start) of every training iteration.

    ``durations()`` are the wall-clock times between consecutive iteration ends (what a
    training loop sees, input pipeline and callbacks included); ``step_durations()`` the
    times from each iteration's start to its end (the training function alone).
    """

    def __new__(cls):
        from ascendgan import compat

        class _Timer(compat.keras.callbacks.Callback):
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

        return _Timer()


def _gan_optimizers(gan, optimizer):
    """The GAN's optimizers: the library default (``{}``: ``FusedAdam``) or, for the
    before/after experiment, Keras's own Adam with the preset's settings."""
    if optimizer == "default":
        return {}
    from ascendgan import compat

    preset = gan.preset or {}

    def make(which):
        rate = preset.get(f"{which}_learning_rate", preset.get("learning_rate", 2e-4))
        return compat.keras.optimizers.Adam(
            rate, beta_1=preset.get("beta_1", 0.5), beta_2=preset.get("beta_2", 0.999))

    return {"generator_optimizer": make("generator"),
            "discriminator_optimizer": make("discriminator")}


def _dataset(batch):
    import tensorflow as tf

    return tf.data.Dataset.from_tensors(batch).repeat().prefetch(2)


def _train(subject, steps, xla, callbacks, compile=True, optimizer="default"):
    """Runs ``steps`` training iterations with ``fit()`` (compiling first unless told not to:
    a second ``fit`` then reuses the traced training function)."""
    model = subject["model"]
    if subject["kind"] == "gan":
        if compile:
            model.compile(jit_compile=xla, **_gan_optimizers(model, optimizer))
        model.fit(_dataset(subject["batch"]), epochs=1, steps_per_epoch=steps,
                  callbacks=callbacks, verbose=0)
    else:
        from ascendgan.training.classifier import train_classifier

        if xla:
            raise ValueError("train_classifier compiles without XLA; the classifier has no "
                             "XLA variant. Received: xla=True")
        if compile:
            train_classifier(model, _dataset(subject["batch"]), epochs=1,
                             steps_per_epoch=steps, callbacks=callbacks, verbose=0)
        else:
            model.fit(_dataset(subject["batch"]), epochs=1, steps_per_epoch=steps,
                      callbacks=callbacks, verbose=0)


def _train_step_flops(subject):
    import tensorflow as tf

    model = subject["model"]
    batch = subject["batch"]
    if subject["kind"] == "gan" and model.discriminator_steps > 1:
        # fit() regroups k batches into one iteration of k x batch_size
        k = model.discriminator_steps
        batch = tf.nest.map_structure(lambda a: tf.concat([a] * k, 0), batch)
    specs = tf.nest.map_structure(lambda a: tf.TensorSpec(a.shape, tf.as_dtype(a.dtype)), batch)
    return function_flops(tf.function(model.train_step), specs)


def _forward_flops(subject):
    import tensorflow as tf

    result = {}
    for name, (network, example) in subject["networks"].items():
        specs = tf.nest.map_structure(
            lambda a: tf.TensorSpec(a.shape, tf.as_dtype(a.dtype)), example)
        total, _, _ = function_flops(lambda x, n=network: n(x, training=True), specs)
        result[name] = total
    return result


def analytic_flops(name, forward_per_image, batch_size, discriminator_steps=1, reuse_fakes=False):
    """FLOPs of one iteration estimated from forward FLOPs with "backward = 2x forward".

    The count of the issue and of the PyTorch references: every network pass forward costs
    F, its backward 2F (input and weight gradients).

    * GAN iteration, per D step: G forward (b), D forward on real and fake (2b), D backward
      (2 · 2b); then the G step: G forward (b), D forward (b), D backward (2b), G backward
      (2b). With F_G, F_D the per-image forward FLOPs:
      ``k · b · (F_G + 6 F_D) + b · (3 F_G + 3 F_D)``. With ``reuse_fakes`` the G step
      skips its generator forward: ``b · (F_G + 6 F_D) + b · (2 F_G + 3 F_D)``.
    * Classifier: ``3 · b · F``.

    Args:
        name: the model name (``"wrn"`` is a classifier, the others GANs).
        forward_per_image: ``{"generator": F_G, "discriminator": F_D}`` or
            ``{"classifier": F}``.
        batch_size: b, the batch of one D step.
        discriminator_steps: k.
        reuse_fakes: the GAN runs its generator once per iteration.

    Returns:
        the estimated FLOPs of one iteration (int).
    """
    if name == "wrn":
        return int(3 * batch_size * forward_per_image["classifier"])
    g, d = forward_per_image["generator"], forward_per_image["discriminator"]
    k, b = discriminator_steps, batch_size
    return int(k * b * (g + 6 * d) + b * ((2 if reuse_fakes else 3) * g + 3 * d))


# ----------------------------------------------------------------------------- profiling

XLA_PROFILE_NOTE = ("no TensorFlow op events: with XLA the step runs as compiled clusters, "
                    "which this op-type breakdown does not see")


def op_type_times(logdir):
    """Total host time per TensorFlow op type in the newest profiler trace under ``logdir``.

    Reads the ``*.xplane.pb`` that ``tf.profiler.experimental`` writes; op events are named
    ``"<op name>:<op type>"`` (with oneDNN, convolutions and batch norms appear as
    ``_MklNativeConv2D``, ``_MklNativeFusedBatchNormV3``, ...). Ops of the two inter-op
    threads overlap in time, so the totals add up to more than the wall time.

    Returns:
        ``{op type: seconds}``, largest first.
    """
    import glob

    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    paths = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True),
                   key=os.path.getmtime)
    if not paths:
        raise FileNotFoundError(f"no *.xplane.pb trace under {logdir!r}")
    space = xplane_pb2.XSpace()
    with open(paths[-1], "rb") as handle:
        space.ParseFromString(handle.read())
    totals = collections.Counter()
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                label = names.get(event.metadata_id, "")
                if ":" not in label or label.startswith("__inference") or "/" not in label:
                    continue
                op_type = label.rsplit(":", 1)[1]
                if not op_type or " " in op_type:
                    continue
                totals[op_type] += event.duration_ps * 1e-12
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def _profile(subject, xla, steps, logdir):
    import tensorflow as tf

    _train(subject, 1, xla, [], compile=False)  # the second fit's own first step
    tf.profiler.experimental.start(logdir)
    try:
        _train(subject, steps, xla, [], compile=False)
    finally:
        tf.profiler.experimental.stop()
    return op_type_times(logdir)


# ----------------------------------------------------------------------------- one run


def machine():
    """A JSON-able description of the machine and the software versions."""
    import tensorflow as tf

    from ascendgan import compat

    cpu, family = None, None
    flags = ""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name") and cpu is None:
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("cpu family") and family is None:
                    family = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = line.split(":", 1)[1]
    except OSError:
        pass
    memory = None
    try:
        with open("/proc/meminfo") as handle:
            memory = round(int(handle.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": (cpu or platform.processor()) + (f" (family {family})" if family else ""),
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
    }


def run_one(name, precision="float32", xla=False, iterations=10, warmup=3, tiny=False,
            count_flops=True, profile_dir=None, threads=None, optimizer="default",
            batch_norm="fused", fresh_fakes=False):
    """Builds one model, trains ``warmup + iterations`` iterations and times them.

    Args:
        name: one of ``MODEL_NAMES``.
        precision: ``"float32"`` or ``"mixed_bfloat16"`` (the global Keras dtype policy;
            it is reset to float32 afterwards).
        xla: compile the training step with XLA (``jit_compile=True``).
        iterations: timed iterations (>= 1).
        warmup: iterations run first and not timed (>= 1: the first traces the step).
        tiny: small networks (for tests).
        count_flops: trace the training step again to count its FLOPs.
        profile_dir: when set, after timing run a few more iterations under the
            TensorFlow profiler writing there, and add the op-type time breakdown.
        optimizer: ``"default"`` (the models' default optimizers; the GANs' is
            ``ascendgan.optimizers.FusedAdam``) or ``"keras_adam"`` (GANs with Keras's own
            Adam, the same maths in a dozen element-wise ops: the before/after experiment).
        batch_norm: ``"fused"`` (the networks as they are) or ``"keras"`` (DCGAN / Pix2Pix
            with Keras's unfused ``BatchNormalization``: the before/after experiment).
        fresh_fakes: DCGAN / Pix2Pix without ``reuse_fakes`` (see :func:`build`).
        threads: ``(intra_op, inter_op)`` thread counts to set first (0 = TensorFlow's
            default); must come before TensorFlow runs anything in this process.

    Returns:
        a JSON-able dict of the measurements (see benchmarks/README.md for the fields).
    """
    from ascendgan import compat

    if name not in MODELS:
        raise ValueError(f"`name` must be one of {MODEL_NAMES}. Received: name={name!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: {precision!r}")
    if not (isinstance(iterations, int) and iterations >= 1):
        raise ValueError(f"`iterations` must be an integer >= 1. Received: {iterations!r}")
    if optimizer not in ("default", "keras_adam"):
        raise ValueError(f"`optimizer` must be 'default' or 'keras_adam'. Received: {optimizer!r}")
    if not (isinstance(warmup, int) and warmup >= 1):
        raise ValueError(f"`warmup` must be an integer >= 1. Received: {warmup!r}")
    if threads is not None:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(int(threads[0]))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads[1]))
    if batch_norm not in ("fused", "keras"):
        raise ValueError(f"`batch_norm` must be 'fused' or 'keras'. Received: {batch_norm!r}")
    if batch_norm == "keras":
        _use_keras_batch_norm()
    load_before = os.getloadavg()
    compat.set_precision(precision)
    try:
        subject = build(name, tiny, fresh_fakes=fresh_fakes)
        timer = IterationTimer()
        start = time.perf_counter()
        _train(subject, warmup + iterations, xla, [timer], optimizer=optimizer)
        wall = time.perf_counter() - start
        load_after = os.getloadavg()
        # durations()[i] is iteration i + 1; keep iterations after the warm-up
        times = timer.durations()[warmup - 1:]
        steps_only = timer.step_durations()[warmup:]
        median = statistics.median(times)
        result = {
            "model": name,
            "title": MODELS[name]["title"],
            "precision": precision,
            "xla": bool(xla),
            "optimizer": optimizer,
            "batch_norm": batch_norm,
            **subject["config"],
            "images_per_iteration": subject["images_per_iteration"],
            "parameters": {key: parameter_count(net)
                           for key, (net, _) in subject["networks"].items()},
            "warmup": warmup,
            "iterations": iterations,
            "first_iteration_ms": round(1000 * timer.step_durations()[0], 1),
            "ms_per_iteration": round(1000 * median, 2),
            "ms_min": round(1000 * min(times), 2),
            "ms_max": round(1000 * max(times), 2),
            "ms_step_only_median": round(1000 * statistics.median(steps_only), 2),
            "ms_all": [round(1000 * t, 2) for t in times],
            "images_per_s": round(subject["images_per_iteration"] / median, 2),
            "wall_s": round(wall, 1),
            "threads": list(threads) if threads is not None else "default",
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        }
        if count_flops:
            total, by_type, uncounted = _train_step_flops(subject)
            forward = _forward_flops(subject)
            steps = subject["config"].get("discriminator_steps", 1)
            result.update(
                flops_per_iteration=total,
                flops_by_op_type=dict(sorted(by_type.items(), key=lambda kv: -kv[1])),
                flops_uncounted_function_ops=uncounted,
                forward_flops_per_image=forward,
                analytic_flops_per_iteration=analytic_flops(
                    name, forward, subject["batch_size"], steps,
                    subject["config"].get("reuse_fakes", False)),
                achieved_gflops_per_s=round(total / median / 1e9, 2),
            )
        if profile_dir is not None:
            logdir = os.path.join(profile_dir, f"{name}_{precision}_{'xla' if xla else 'graph'}")
            profile_steps = 3 if subject["images_per_iteration"] * 1 <= 256 else 2
            times_by_type = _profile(subject, xla, profile_steps, logdir)
            times_by_type = {k: v for k, v in times_by_type.items() if v > 0}
            total_time = sum(times_by_type.values()) or 1.0
            result["profile"] = {"note": XLA_PROFILE_NOTE} if not times_by_type else {
                "iterations": profile_steps,
                "op_type_share": {k: round(v / total_time, 4)
                                  for k, v in list(times_by_type.items())[:25]},
                "op_type_ms_per_iteration": {k: round(1000 * v / profile_steps, 2)
                                             for k, v in list(times_by_type.items())[:25]},
            }
        return result
    finally:
        compat.set_precision("float32")


# ----------------------------------------------------------------------------- the command


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODEL_NAMES),
                        help=f"comma-separated subset of {','.join(MODEL_NAMES)}")
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
                        help="print the Markdown table of a results file and exit")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child-process mode
    args = parser.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    args.precisions = [p for p in args.precisions.split(",") if p]
    args.xla = [{"off": False, "on": True}[x] for x in args.xla.split(",") if x]
    for model in args.models:
        if model not in MODELS:
            parser.error(f"--models: unknown model {model!r}; valid: {','.join(MODEL_NAMES)}")
    for precision in args.precisions:
        if precision not in PRECISIONS:
            parser.error(f"--precisions: unknown {precision!r}; valid: {','.join(PRECISIONS)}")
    per_model = {}
    for item in filter(None, args.model_iterations.split(",")):
        key, _, value = item.partition("=")
        per_model[key] = int(value)
    args.per_model = per_model
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
                if xla and model == "wrn":
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


def wait_for_quiet(load, longest):
    """Waits until the 1-minute load average is below ``load``; False after ``longest`` s."""
    deadline = time.monotonic() + longest
    while os.getloadavg()[0] >= load:
        if time.monotonic() > deadline:
            return False
        time.sleep(10)
    return True


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


def _child(args, model, precision, xla, iterations):
    """Runs one configuration in a fresh interpreter and returns its result dict."""
    command = [sys.executable, os.path.abspath(__file__), "--one",
               f"{model}:{precision}:{'on' if xla else 'off'}:{iterations}",
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
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        path = handle.name
    command += ["--output", path]
    completed = subprocess.run(command, capture_output=True, text=True)
    try:
        if completed.returncode != 0:
            tail = completed.stderr.strip().splitlines()[-5:]
            return {"model": model, "precision": precision, "xla": xla,
                    "error": "\n".join(tail) or f"exit code {completed.returncode}"}
        with open(path) as handle:
            return json.load(handle)
    finally:
        os.unlink(path)


def main(argv=None):
    """The command: runs the asked configurations, prints the table, writes JSON."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.one:  # child process: one configuration, result to --output
        model, precision, xla, iterations = args.one.split(":")
        result = run_one(model, precision, xla == "on", int(iterations), args.warmup,
                         tiny=args.tiny, count_flops=not args.no_flops,
                         profile_dir=args.profile, threads=args.threads,
                         optimizer=args.optimizer, batch_norm=args.batch_norm,
                         fresh_fakes=args.fresh_fakes)
        with open(args.output, "w") as handle:
            json.dump(result, handle)
        return result

    if args.table:
        with open(args.table) as handle:
            report = json.load(handle)
        print(markdown_table(report))
        return report

    here = os.path.dirname(os.path.abspath(__file__))
    output = args.output or os.path.join(
        here, "results", f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}.json")
    print(HEADER, flush=True)
    results = []
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
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
            result = _child(args, model, precision, xla, iterations)
        if quiet is not None:
            result["waited_for_load_below"] = args.wait_load
            result["taken_under_load"] = not quiet
        results.append(result)
        if "error" in result:
            print(f"{model:8s} {precision:15s} {'xla' if xla else '-':4s} FAILED: "
                  f"{result['error'].splitlines()[-1]}", flush=True)
        else:
            print(format_row(result), flush=True)
    report = {
        "started": started,
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "references_ms": REFERENCES,
        "results": results,
    }
    if args.append and os.path.exists(output):
        with open(output) as handle:
            previous = json.load(handle)
        commands = previous.get("commands", [previous.get("command")])
        report["commands"] = [c for c in commands if c] + [report["command"]]
        report["started"] = previous.get("started", report["started"])
        report["results"] = previous.get("results", []) + results
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w") as handle:
        json.dump(report, handle, indent=1)
    print(f"wrote {output}", flush=True)
    return report


if __name__ == "__main__":
    main()
