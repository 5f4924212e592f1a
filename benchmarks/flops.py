"""FLOP counting on TensorFlow graphs: the counted FLOPs of a training iteration, the
forward FLOPs per image of each network, and the analytic "backward = 2x forward" estimate.

Counts come from the graph of the traced function (``tf.function(model.train_step)``, the
function ``fit()`` wraps) and TensorFlow's profiler cost functions: ``Conv2D`` =
2·N·H_out·W_out·C_out·k_h·k_w·C_in, likewise for the backward convolutions and matrix
products.
"""

from __future__ import annotations

import collections

#: Op types that call other functions; their bodies are not counted.
FUNCTION_OPS = ("If", "StatelessIf", "While", "StatelessWhile", "PartitionedCall",
                "StatefulPartitionedCall", "Case", "StatelessCase")


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


def conv_backprop_flops(op):
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
    convolution gradients are counted exactly by :func:`conv_backprop_flops`. Ops without a
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
        if op.type in FUNCTION_OPS:
            uncounted.add(op.type)
            continue
        if op.type in ("Conv2DBackpropInput", "Conv2DBackpropFilter"):
            flops = conv_backprop_flops(op)
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


def _specs(structure):
    import tensorflow as tf

    return tf.nest.map_structure(lambda a: tf.TensorSpec(a.shape, tf.as_dtype(a.dtype)), structure)


def train_step_flops(subject):
    """FLOPs of one training iteration of a benchmark subject (see ``subjects.build``).

    Returns:
        ``(total, by_op_type, uncounted)`` of ``tf.function(model.train_step)`` traced on
        the iteration's batch shape.
    """
    import tensorflow as tf

    model = subject["model"]
    batch = subject["batch"]
    if subject["kind"] == "gan" and model.discriminator_steps > 1:
        # fit() regroups k batches into one iteration of k x batch_size
        k = model.discriminator_steps
        batch = tf.nest.map_structure(lambda a: tf.concat([a] * k, 0), batch)
    return function_flops(tf.function(model.train_step), _specs(batch))


def forward_flops(subject):
    """Forward FLOPs per image of every network of a subject: ``{name: FLOPs}``."""
    result = {}
    for name, (network, example) in subject["networks"].items():
        total, _, _ = function_flops(lambda x, n=network: n(x, training=True), _specs(example))
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
        name: the model name (for the record: the formula follows the networks).
        forward_per_image: ``{"generator": F_G, "discriminator": F_D}`` (a GAN) or
            ``{"classifier": F}``.
        batch_size: b, the batch of one D step.
        discriminator_steps: k.
        reuse_fakes: the GAN runs its generator once per iteration.

    Returns:
        the estimated FLOPs of one iteration (int).
    """
    if "classifier" in forward_per_image:
        return int(3 * batch_size * forward_per_image["classifier"])
    g, d = forward_per_image["generator"], forward_per_image["discriminator"]
    k, b = discriminator_steps, batch_size
    return int(k * b * (g + 6 * d) + b * ((2 if reuse_fakes else 3) * g + 3 * d))


def flop_fields(name, subject, median_seconds):
    """The FLOP fields of a result: counted, per op type, forward per image, analytic,
    achieved GFLOP/s at ``median_seconds`` per iteration."""
    total, by_type, uncounted = train_step_flops(subject)
    forward = forward_flops(subject)
    config = subject["config"]
    return {
        "flops_per_iteration": total,
        "flops_by_op_type": dict(sorted(by_type.items(), key=lambda kv: -kv[1])),
        "flops_uncounted_function_ops": uncounted,
        "forward_flops_per_image": forward,
        "analytic_flops_per_iteration": analytic_flops(
            name, forward, subject["batch_size"], config.get("discriminator_steps", 1),
            config.get("reuse_fakes", False)),
        "achieved_gflops_per_s": round(total / median_seconds / 1e9, 2),
    }
