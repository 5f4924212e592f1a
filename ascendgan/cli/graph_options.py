"""``--graph-mode`` and ``--npu-option key=value``: training in a TF1 graph with a session,
and the Ascend session / ``NPURunConfig`` options of the documented scripts.

The option names are the Ascend TF adapter's: the parameters of
``npu_bridge.estimator.npu.npu_config.NPURunConfig`` that the adapter turns into
``NpuOptimizer`` session parameters (``iterations_per_loop``, ``hcom_parallel``,
``enable_data_pre_proc``, ``precision_mode``, ``modify_mixlist``, ``op_select_implmode``,
...), and the flat session parameters that its ``dump_config`` / ``profiling_config``
objects stand for (``enable_dump``, ``dump_path``, ``dump_step``, ``dump_mode``,
``enable_dump_debug``, ``dump_debug_mode``, ``profiling_mode``, ``profiling_options``).
``NPURunConfig``'s Estimator-only parameters (``model_dir``, ``save_checkpoints_steps``,
``keep_checkpoint_max``, ...) are not session options: the run's own arguments cover them.

Example:

>>> import argparse
>>> parser = add_graph_arguments(argparse.ArgumentParser())
>>> args = parser.parse_args(["--graph-mode", "--npu-option", "iterations_per_loop=10",
...                           "--npu-option", "enable_dump=true"])
>>> args.graph_mode, graph_options_from_arguments(args)
(True, {'iterations_per_loop': 10, 'enable_dump': True})
"""

from __future__ import annotations

import argparse
import json

#: ``NPURunConfig`` parameters (hicann/tensorflow, ``tf_adapter/python/npu_bridge/estimator/
#: npu/npu_config.py``) that configure the session, not the Estimator.
RUN_CONFIG_SESSION_OPTIONS = (
    "iterations_per_loop", "enable_data_pre_proc", "precision_mode", "enable_reduce_precision",
    "variable_format_optimize", "mix_compile_mode", "hcom_parallel", "graph_memory_max_size",
    "variable_memory_max_size", "stream_max_parallel_num", "is_tailing_optimization",
    "horovod_mode", "graph_run_mode", "op_debug_level", "enable_scope_fusion_passes",
    "enable_exception_dump", "op_select_implmode", "optypelist_for_implmode",
    "dynamic_input_config", "aoe_mode", "work_path", "buffer_optimize", "enable_small_channel",
    "fusion_switch_file", "enable_compress_weight", "compress_weight_conf",
    "op_compiler_cache_mode", "op_compiler_cache_dir", "debug_dir", "hcom_multi_mode",
    "dynamic_input", "dynamic_graph_execute_mode", "dynamic_inputs_shape_range",
    "local_rank_id", "local_device_list", "session_device_id", "modify_mixlist",
    "op_precision_mode", "device_type", "soc_config", "hccl_timeout", "op_wait_timeout",
    "op_execute_timeout", "HCCL_algorithm", "customize_dtypes", "op_debug_config",
    "memory_config", "experimental_config", "topo_sorting_mode", "aoe_config_file",
    "insert_op_file", "stream_sync_timeout", "event_sync_timeout", "external_weight",
    "deterministic", "frozen_variable", "variable_placement", "jit_compile",
    "precision_mode_v2", "ac_parallel_enable", "quant_dumpable", "input_fusion_size",
    "compile_dynamic_mode", "graph_max_parallel_model_num", "export_compile_stat",
    "aicore_num", "oo_constant_folding", "input_batch_cpy", "shape_generalization_mode",
    "all_tensor_not_empty", "auto_multistream_parallel_mode", "oo_level",
    "optimization_switch",
)
#: The session parameters of ``NPURunConfig(dump_config=DumpConfig(...),
#: profiling_config=ProfilingConfig(...))``, as the documented scripts set them directly.
DUMP_AND_PROFILING_OPTIONS = (
    "enable_dump", "dump_path", "dump_step", "dump_mode", "enable_dump_debug", "dump_debug_mode",
    "profiling_mode", "profiling_options",
)
#: Every key ``--npu-option`` accepts.
NPU_OPTIONS = tuple(sorted(RUN_CONFIG_SESSION_OPTIONS + DUMP_AND_PROFILING_OPTIONS))


def npu_option(text):
    """An ``argparse`` type: ``key=value`` with a known key; the value is JSON (``10``,
    ``true``, ``0.5``) or else a string (``allow_mix_precision``, ``/tmp/dump``)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--npu-option expects key=value. Received: {text!r}")
    key, value = (part.strip() for part in text.split("=", 1))
    if key not in NPU_OPTIONS:
        raise argparse.ArgumentTypeError(
            f"--npu-option key must be one of {', '.join(NPU_OPTIONS)}. Received: {key!r}")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    if not isinstance(parsed, (bool, int, float, str)):
        raise argparse.ArgumentTypeError(
            f"--npu-option {key} must be a bool, number or string. Received: {value!r}")
    return key, parsed


def add_graph_arguments(parser):
    """Adds ``--graph-mode`` and ``--npu-option`` to an ``argparse`` parser; returns it."""
    parser.add_argument("--graph-mode", action="store_true",
                        help="train in a TF1 graph with a session and TF1 optimizers (the documented "
                             "Ascend scripts' way; needs TF_USE_LEGACY_KERAS=1)")
    parser.add_argument("--npu-option", dest="npu_options", metavar="KEY=VALUE", type=npu_option,
                        action="append", default=[],
                        help="an Ascend session / NPURunConfig option, e.g. iterations_per_loop=10, "
                             "enable_dump=true, dump_path=/tmp/dump (repeatable)")
    return parser


def graph_options_from_arguments(args):
    """The ``{key: value}`` NPU options of arguments parsed with :func:`add_graph_arguments`
    (a later ``--npu-option`` of the same key wins)."""
    return dict(getattr(args, "npu_options", None) or [])


__all__ = ["DUMP_AND_PROFILING_OPTIONS", "NPU_OPTIONS", "RUN_CONFIG_SESSION_OPTIONS",
           "add_graph_arguments", "graph_options_from_arguments", "npu_option"]
