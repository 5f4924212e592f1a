"""Precision names: Keras policies and Ascend's precision modes."""

import pytest

from ascendgan.strategy import (
    ASCEND_PRECISION_MODES,
    PRECISIONS,
    precision_policy,
    resolve_precision,
)

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
    assert set(PRECISIONS) == set(TABLE)
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
