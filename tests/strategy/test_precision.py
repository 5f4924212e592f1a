"""Precision names: Keras policies and Ascend's precision modes."""

import argparse

import pytest

from ascendgan.cli.strategy_options import add_strategy_arguments
from ascendgan.strategy import (
    ASCEND_PRECISION_MODES,
    PRECISIONS,
    precision_policy,
    resolve_precision,
)
from ascendgan.strategy import precision as precision_module
from ascendgan.strategy.precision import auto_precision

# name -> (policy on CPU/GPU, loss scaling, policy on NPU, adapter precision_mode on NPU)
TABLE = {
    "float32": ("float32", False, "float32", "must_keep_origin_dtype"),
    "mixed_float16": ("mixed_float16", True, "mixed_float16", "allow_fp32_to_fp16"),
    "mixed_bfloat16": ("mixed_bfloat16", False, "mixed_bfloat16", "must_keep_origin_dtype"),
    "allow_mix_precision": ("mixed_float16", True, "float32", "allow_mix_precision"),
    "allow_mix_precision_fp16": ("mixed_float16", True, "float32", "allow_mix_precision_fp16"),
    "allow_mix_precision_bf16": ("mixed_bfloat16", False, "float32", "allow_mix_precision_bf16"),
    "force_fp16": ("mixed_float16", True, "float32", "force_fp16"),
    "allow_fp32_to_fp16": ("float32", False, "float32", "allow_fp32_to_fp16"),
    "must_keep_origin_dtype": ("float32", False, "float32", "must_keep_origin_dtype"),
    "force_fp32": ("float32", False, "float32", "force_fp32"),
}


def test_every_name_is_in_the_table():
    assert set(PRECISIONS) == set(TABLE) | {"auto"}
    assert set(ASCEND_PRECISION_MODES) == set(TABLE) - {"float32", "mixed_float16", "mixed_bfloat16"}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_resolution_on_cpu_and_npu(name):
    policy, scaling, npu_policy, npu_mode = TABLE[name]
    cpu = resolve_precision(name, device="cpu")
    assert (cpu.policy, cpu.loss_scaling, cpu.name) == (policy, scaling, name)
    assert precision_policy(name) == policy
    npu = resolve_precision(name, device="npu")
    assert (npu.policy, npu.npu_precision_mode, npu.loss_scaling) == (npu_policy, npu_mode, scaling)
    assert cpu.compute_dtype == {"float32": "float32", "mixed_float16": "float16",
                                 "mixed_bfloat16": "bfloat16"}[policy]


@pytest.mark.parametrize("bad", ["float16", "fp16", "", None, 16])
def test_unknown_names_are_rejected_with_the_valid_list(bad):
    with pytest.raises(ValueError, match="precision.*allow_mix_precision"):
        resolve_precision(bad)


# ----------------------------------------------------------------------------- "auto"

AMD_EPYC_ZEN4 = {"fpu", "avx2", "avx512f", "avx512_vnni", "avx512_bf16"}
SAPPHIRE_RAPIDS = {"avx2", "avx512f", "amx_tile", "amx_bf16", "amx_int8"}
SKYLAKE = {"avx2", "avx512f", "avx512bw"}


@pytest.mark.parametrize("device, flags, capabilities, expected", [
    ("npu", SKYLAKE, [], "allow_mix_precision"),        # the Ascend scripts' precision_mode
    ("cpu", AMD_EPYC_ZEN4, [], "mixed_bfloat16"),      # native bf16 dot products
    ("cpu", SAPPHIRE_RAPIDS, [], "mixed_bfloat16"),    # AMX tiles
    ("cpu", SKYLAKE, [], "float32"),                   # bf16 would be emulated: slower
    ("cpu", set(), [], "float32"),                     # flags unreadable
    ("gpu", SKYLAKE, [(8, 0)], "mixed_float16"),       # tensor cores
    ("gpu", AMD_EPYC_ZEN4, [(8, 0), (6, 1)], "float32"),  # one Pascal GPU: no tensor cores
    ("multi_worker", AMD_EPYC_ZEN4, [], "mixed_bfloat16"),  # CPU workers
])
def test_auto_is_what_the_documented_runs_use_on_each_device(device, flags, capabilities, expected):
    assert auto_precision(device, flags=flags, capabilities=capabilities) == expected


def test_auto_resolves_to_a_concrete_name(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: frozenset(AMD_EPYC_ZEN4))
    resolved = resolve_precision("auto", device="cpu")
    assert (resolved.name, resolved.policy, resolved.loss_scaling) == ("mixed_bfloat16", "mixed_bfloat16", False)
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: frozenset(SKYLAKE))
    assert resolve_precision("auto", device="cpu").name == "float32"
    npu = resolve_precision("auto", device="npu")
    assert (npu.name, npu.policy, npu.npu_precision_mode, npu.loss_scaling) == (
        "allow_mix_precision", "float32", "allow_mix_precision", True)


def test_cpu_flags_reads_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512_bf16\n\n"
                    "processor\t: 1\nflags\t\t: fpu avx2 avx512_bf16\n")
    assert precision_module.cpu_flags(str(info)) == {"fpu", "avx2", "avx512_bf16"}
    assert precision_module.cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_command_line_default_is_auto():
    args = add_strategy_arguments(argparse.ArgumentParser()).parse_args([])
    assert args.precision == "auto"
