"""TF1-style graph code (``tf.compat.v1.Session``) on every device.

:func:`session_config` returns the ``ConfigProto`` for a device: a plain one on CPU and
GPU (``allow_soft_placement``); on an Ascend NPU the one the documented Ascend scripts
build (DCGAN's, byte for byte): the ``NpuOptimizer`` custom graph optimizer with
``use_off_line`` and ``precision_mode`` (and any other adapter option) and TensorFlow's
``remapping`` and ``memory_optimization`` rewrites turned off.
:func:`session` opens a session with it (importing ``npu_bridge.npu_init`` first on an
NPU, which registers ``NpuOptimizer``).  :func:`wrap_graph_optimizer` prepares a
``tf.compat.v1.train`` optimizer: :class:`GraphLossScaleOptimizer` with an ascendgan
manager on CPU / GPU; on an NPU the documented chain
``npu_tf_optimizer(NPULossScaleOptimizer(opt, manager, is_distributed=RANK_SIZE > 1))``
with the adapter's equivalent manager.

Example:

>>> config = session_config("cpu")
>>> len(config.graph_options.rewrite_options.custom_optimizers)
0
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2

from ascendgan.strategy import loss_scale as loss_scale_lib
from ascendgan.strategy import npu as npu_lib
from ascendgan.strategy.precision import resolve_precision

DEVICES = ("cpu", "gpu", "npu")


def _check_device(device):
    if device not in DEVICES:
        raise ValueError(f"`device` must be one of {DEVICES}. Received: device={device!r}")


def _set_parameter(custom_op, name, value):
    entry = custom_op.parameter_map[name]
    if isinstance(value, bool):
        entry.b = value
    elif isinstance(value, int):
        entry.i = value
    elif isinstance(value, float):
        entry.f = value
    elif isinstance(value, (str, bytes)):
        entry.s = tf.compat.as_bytes(value)
    else:
        raise ValueError(
            f"NPU option {name!r} must be a bool, int, float or str. Received: "
            f"{type(value).__name__}"
        )


def session_config(device: str = "cpu", precision: str = "float32", npu_options=None,
                   config=None) -> config_pb2.ConfigProto:
    """The ``tf.compat.v1.ConfigProto`` for graph code on ``device``.

    Args:
        device: ``"cpu"``, ``"gpu"`` or ``"npu"``.
        precision: a precision name (see ``resolve_precision``); on an NPU its
            ``npu_precision_mode`` becomes the ``precision_mode`` parameter.
        npu_options: extra ``NpuOptimizer`` parameters (``{"iterations_per_loop": 10,
            "enable_data_pre_proc": True, ...}``; bool -> ``.b``, int -> ``.i``, float ->
            ``.f``, str -> ``.s``); they override the defaults. NPU only.
        config: a ``ConfigProto`` to start from (copied, not modified).

    Returns:
        a ``ConfigProto``: on CPU / GPU a plain one (``allow_soft_placement``); on NPU the
        documented scripts' one: the ``NpuOptimizer`` custom optimizer
        (``use_off_line=True``, which is also the adapter's default, ``precision_mode``,
        then ``npu_options``) and ``remapping`` / ``memory_optimization`` OFF, nothing
        else (soft placement stays as in ``config``).

    Example:

    >>> npu = session_config("npu", precision="allow_mix_precision")
    >>> op = npu.graph_options.rewrite_options.custom_optimizers[0]
    >>> op.name, op.parameter_map["precision_mode"].s
    ('NpuOptimizer', b'allow_mix_precision')
    """
    _check_device(device)
    if npu_options and device != "npu":
        raise ValueError(f"`npu_options` only apply to device='npu'. Received: device={device!r}")
    result = config_pb2.ConfigProto()
    if config is not None:
        result.CopyFrom(config)
    if device != "npu":
        result.allow_soft_placement = True
        return result
    resolved = resolve_precision(precision, device="npu")
    rewrites = result.graph_options.rewrite_options
    custom_op = next((op for op in rewrites.custom_optimizers if op.name == "NpuOptimizer"), None)
    if custom_op is None:
        custom_op = rewrites.custom_optimizers.add()
        custom_op.name = "NpuOptimizer"
    parameters = {"use_off_line": True, "precision_mode": resolved.npu_precision_mode}
    parameters.update(npu_options or {})
    for name, value in parameters.items():
        _set_parameter(custom_op, name, value)
    rewrites.remapping = rewriter_config_pb2.RewriterConfig.OFF
    rewrites.memory_optimization = rewriter_config_pb2.RewriterConfig.OFF
    return result


def session(device: str = "cpu", precision: str = "float32", graph=None, npu_options=None,
            config=None):
    """A ``tf.compat.v1.Session`` configured by :func:`session_config`.

    On an NPU, ``npu_bridge.npu_init`` is imported first (it registers the adapter's
    graph optimizer); a clear ``ImportError`` names the package when it is missing.

    Args:
        device, precision, npu_options, config: see :func:`session_config`.
        graph: the ``tf.Graph`` to run (default: the current default graph).

    Returns:
        an open session; use it as a context manager.

    Example:

    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     total = tf.constant(2.0) + 3.0
    >>> with session("cpu", graph=g) as sess:
    ...     float(sess.run(total))
    5.0
    """
    config = session_config(device, precision, npu_options=npu_options, config=config)
    if device == "npu":
        npu_lib.import_adapter(npu_lib.TF1_PACKAGE + ".npu_init")
    return tf.compat.v1.Session(graph=graph, config=config)


class GraphLossScaleOptimizer(tf.compat.v1.train.Optimizer):
    """Loss scaling for a ``tf.compat.v1.train`` optimizer in graph (or eager) code, with
    an ascendgan loss-scale manager (TF1's / Ascend's ``LossScaleOptimizer`` pattern).

    ``compute_gradients`` differentiates ``loss · scale`` and divides the gradients by
    the scale; ``apply_gradients`` applies them when all are finite, skips the update
    otherwise, and advances the manager.  ``minimize`` combines both.

    Args:
        optimizer: a ``tf.compat.v1.train.Optimizer``.
        manager: a ``FixedLossScaleManager`` or ``ExponentialUpdateLossScaleManager``.
        name: the optimizer name.

    Example:

    >>> opt = GraphLossScaleOptimizer(tf.compat.v1.train.GradientDescentOptimizer(0.1),
    ...                               loss_scale_lib.FixedLossScaleManager(128))
    >>> opt.manager.get_config()["loss_scale"]
    128.0
    """

    def __init__(self, optimizer, manager, name="GraphLossScaleOptimizer"):
        if not isinstance(optimizer, tf.compat.v1.train.Optimizer):
            raise ValueError(
                "`optimizer` must be a tf.compat.v1.train.Optimizer. Received: "
                f"{type(optimizer).__name__}"
            )
        if not isinstance(manager, loss_scale_lib.LossScaleManager):
            raise ValueError(
                f"`manager` must be a LossScaleManager. Received: {type(manager).__name__}")
        super().__init__(use_locking=False, name=name)
        self.optimizer = optimizer
        self.manager = manager
        manager.build()

    def compute_gradients(self, loss, var_list=None, **kwargs):
        scale = self.manager.get_loss_scale()
        if callable(loss):
            def scaled():
                value = loss()
                return value * tf.cast(scale, value.dtype)
        else:
            scaled = loss * tf.cast(scale, loss.dtype)
        pairs = self.optimizer.compute_gradients(scaled, var_list=var_list, **kwargs)
        grads = self.manager.unscale([g for g, _ in pairs])
        return list(zip(grads, [v for _, v in pairs]))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        pairs = list(grads_and_vars)
        gradients = [g for g, _ in pairs]
        finite = self.manager.check_finite(gradients, [v for _, v in pairs])

        def apply():
            with tf.control_dependencies(
                    [self.optimizer.apply_gradients(pairs, global_step=global_step, name=name)]):
                return tf.constant(True)

        if self.manager.skips_non_finite:
            applied = tf.cond(finite, apply, lambda: tf.constant(False))
        else:
            applied = apply()
        with tf.control_dependencies([applied]):
            updated = self.manager.update_loss_scale(finite)
        return tf.group(applied, updated)

    def get_slot(self, var, name):
        return self.optimizer.get_slot(var, name)

    def get_slot_names(self):
        return self.optimizer.get_slot_names()

    def variables(self):
        return self.optimizer.variables() + list(self.manager.variables)


def wrap_graph_optimizer(optimizer, device: str = "cpu", precision: str = "float32",
                         loss_scale="auto", rank_size: int | None = None):
    """Prepares a TF1 optimizer for ``device``: loss scaling, and on an NPU the adapter's
    wrappers in the documented order.

    Args:
        optimizer: a ``tf.compat.v1.train.Optimizer``.
        device: ``"cpu"``, ``"gpu"`` or ``"npu"``.
        precision: a precision name; ``loss_scale="auto"`` scales when it computes in
            float16 (on an NPU with the documented ``"ascend"`` manager).
        loss_scale: ``"auto"``, ``"dynamic"``, ``"ascend"``, a number, a manager (used as a
            template) or ``None``; see ``make_loss_scale_manager``.
        rank_size: processes of an NPU data-parallel job (default: ``RANK_SIZE``).

    Returns:
        the optimizer to call ``minimize`` on: on CPU / GPU the optimizer itself or a
        :class:`GraphLossScaleOptimizer`; on an NPU, for every ``rank_size``,
        ``npu_tf_optimizer(NPULossScaleOptimizer(optimizer, <manager>,
        is_distributed=rank_size > 1))``, or ``npu_tf_optimizer(optimizer)`` without loss
        scaling.

    Example:

    >>> opt = wrap_graph_optimizer(tf.compat.v1.train.AdamOptimizer(1e-3), "cpu",
    ...                            precision="mixed_float16")
    >>> type(opt).__name__
    'GraphLossScaleOptimizer'
    """
    _check_device(device)
    resolved = resolve_precision(precision, device=device)
    loss_scale = loss_scale_lib.resolve_loss_scale(loss_scale, resolved.loss_scaling,
                                                   device=device)
    if device == "npu":
        if rank_size is None:
            rank_size = npu_lib.rank_from_environment().rank_size
        manager = loss_scale_lib.make_loss_scale_manager(loss_scale)
        return npu_lib.graph_optimizer(optimizer, manager, rank_size)
    manager = loss_scale_lib.make_loss_scale_manager(loss_scale)
    return optimizer if manager is None else GraphLossScaleOptimizer(optimizer, manager)


__all__ = [
    "DEVICES",
    "GraphLossScaleOptimizer",
    "session",
    "session_config",
    "wrap_graph_optimizer",
]
