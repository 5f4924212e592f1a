"""Precision settings: Keras dtype policies and Ascend's ``precision_mode`` names.

One name chooses how a model computes on every device.  The Keras names
(``float32``, ``mixed_float16``, ``mixed_bfloat16``) are Keras dtype policies; Ascend's
``precision_mode`` names (``allow_mix_precision``, ``allow_fp32_to_fp16``, ``force_fp16``,
``must_keep_origin_dtype``, ...) are accepted too and mean the closest Keras policy on a
CPU or GPU.  On an Ascend NPU an Ascend name is handed to the adapter unchanged (the
adapter rewrites the graph itself), and a Keras name is paired with the adapter
``precision_mode`` that keeps the dtypes Keras chose.

Example:

>>> from ascendgan.strategy import resolve_precision
>>> p = resolve_precision("allow_mix_precision")
>>> p.policy, p.loss_scaling
('mixed_float16', True)
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

#: The Keras dtype policies ascendgan trains with.
KERAS_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")

#: Ascend ``precision_mode`` name -> the Keras policy that does the same on a CPU / GPU.
#: ``allow_fp32_to_fp16`` lowers to float16 only the operators that have no float32
#: kernel on the NPU; every CPU / GPU operator has one, so it is float32 there.
ASCEND_PRECISION_MODES = {
    "allow_mix_precision": "mixed_float16",
    "allow_mix_precision_fp16": "mixed_float16",
    "allow_mix_precision_bf16": "mixed_bfloat16",
    "force_fp16": "mixed_float16",
    "allow_fp32_to_fp16": "float32",
    "must_keep_origin_dtype": "float32",
    "force_fp32": "float32",
}

#: Keras policy -> the adapter ``precision_mode`` used on an NPU when a Keras name is
#: given: the graph already holds the dtypes Keras chose, so the adapter keeps them
#: (``allow_fp32_to_fp16`` is Ascend's advice for graphs that cast by themselves: float32
#: operators without a float32 NPU kernel still run).
NPU_MODE_FOR_POLICY = {
    "float32": "must_keep_origin_dtype",
    "mixed_float16": "allow_fp32_to_fp16",
    "mixed_bfloat16": "must_keep_origin_dtype",
}

#: ``"auto"``: the precision the documented runs use on each device (:func:`auto_precision`).
AUTO = "auto"

#: Every accepted precision name.
PRECISIONS = (AUTO,) + KERAS_POLICIES + tuple(ASCEND_PRECISION_MODES)

#: CPU flags (``/proc/cpuinfo``) of native bfloat16 arithmetic: AVX512_BF16 (dot products)
#: and AMX (tile matrix multiplies).
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")

#: The first GPU compute capability with float16 tensor cores (Volta).
TENSOR_CORE_CAPABILITY = (7, 0)

_HALF_PRECISION_MODES = {"allow_mix_precision", "allow_mix_precision_fp16", "force_fp16"}


@dataclasses.dataclass(frozen=True)
class Precision:
    """A resolved precision setting.

    Attributes:
        name: the name asked for (a Keras policy or an Ascend ``precision_mode``).
        policy: the Keras dtype policy models are built with on this device.
        npu_precision_mode: the ``precision_mode`` handed to the Ascend adapter.
        loss_scaling: whether float16 gradients need loss scaling (float16 compute,
            either by Keras or by the adapter).
        device: the device kind this was resolved for (``"npu"`` or ``"cpu"`` / ``"gpu"``).

    Example:

    >>> resolve_precision("mixed_bfloat16").loss_scaling
    False
    """

    name: str
    policy: str
    npu_precision_mode: str
    loss_scaling: bool
    device: str = "cpu"

    @property
    def compute_dtype(self) -> str:
        """The dtype layers compute in (``"float32"``, ``"float16"`` or ``"bfloat16"``)."""
        return {"float32": "float32", "mixed_float16": "float16",
                "mixed_bfloat16": "bfloat16"}[self.policy]


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's feature flags (Linux ``/proc/cpuinfo``); empty where it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def gpu_capabilities():
    """The compute capabilities (``(major, minor)``) of the GPUs TensorFlow sees."""
    found = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        found.append(tuple(details.get("compute_capability") or (0, 0)))
    return found


def auto_precision(device: str = "cpu", flags=None, capabilities=None) -> str:
    """The precision ``"auto"`` means on ``device``: what the documented runs use there.

    - ``"npu"``: ``allow_mix_precision`` (the Ascend scripts' ``precision_mode``; the
      adapter computes in float16 where it is safe, with loss scaling).
    - ``"gpu"``: ``mixed_float16`` (dynamic loss scaling) when every GPU has float16 tensor
      cores (compute capability >= 7.0), else ``float32``.
    - a CPU: ``mixed_bfloat16`` when it computes bfloat16 natively (AVX512_BF16 or AMX;
      no loss scaling: bfloat16 has float32's exponent range), else ``float32``.

    Args:
        device: ``"npu"``, ``"gpu"``, ``"cpu"`` or ``"multi_worker"`` (GPUs if any, else CPU).
        flags: the CPU flags (default: :func:`cpu_flags`).
        capabilities: GPU compute capabilities (default: :func:`gpu_capabilities`).

    Example:

    >>> auto_precision("cpu", flags={"avx512f", "avx512_bf16"})
    'mixed_bfloat16'
    >>> auto_precision("cpu", flags={"avx2"})
    'float32'
    >>> auto_precision("npu")
    'allow_mix_precision'
    """
    if device == "npu":
        return "allow_mix_precision"
    if device in ("gpu", "multi_worker"):
        capabilities = gpu_capabilities() if capabilities is None else list(capabilities)
        if capabilities:
            fast = all(tuple(c) >= TENSOR_CORE_CAPABILITY for c in capabilities)
            return "mixed_float16" if fast else "float32"
    flags = cpu_flags() if flags is None else flags
    return "mixed_bfloat16" if any(flag in flags for flag in BF16_CPU_FLAGS) else "float32"


def resolve_precision(name: str = "float32", device: str = "cpu") -> Precision:
    """Resolves a precision name for a device.

    Args:
        name: ``"auto"`` (:func:`auto_precision`: the resolved :class:`Precision` carries
            the concrete name), ``"float32"``, ``"mixed_float16"``, ``"mixed_bfloat16"`` or an Ascend
            ``precision_mode`` (``"allow_mix_precision"``, ``"allow_mix_precision_fp16"``,
            ``"allow_mix_precision_bf16"``, ``"allow_fp32_to_fp16"``, ``"force_fp16"``,
            ``"force_fp32"``, ``"must_keep_origin_dtype"``).
        device: ``"npu"`` resolves for the Ascend adapter: an Ascend name keeps the Keras
            policy at float32 and lets the adapter convert; a Keras name keeps its policy.
            Any other device resolves to the Keras policy in the table above.

    Returns:
        a :class:`Precision`.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).

    Example:

    >>> resolve_precision("allow_mix_precision", device="npu").policy
    'float32'
    >>> resolve_precision("mixed_float16", device="npu").npu_precision_mode
    'allow_fp32_to_fp16'
    """
    if not isinstance(name, str) or name not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: precision={name!r}")
    if name == AUTO:  # the concrete name is what a run records
        name = auto_precision(device)
    if name in KERAS_POLICIES:
        policy = name
        npu_mode = NPU_MODE_FOR_POLICY[name]
        loss_scaling = name == "mixed_float16"
    else:
        policy = ASCEND_PRECISION_MODES[name]
        npu_mode = name
        loss_scaling = name in _HALF_PRECISION_MODES
        if device == "npu":
            policy = "float32"  # the adapter converts the float32 graph itself
    return Precision(name=name, policy=policy, npu_precision_mode=npu_mode,
                     loss_scaling=loss_scaling, device="npu" if device == "npu" else device)


def precision_policy(name: str) -> str:
    """The Keras dtype policy a precision name means on a CPU or GPU.

    Example:

    >>> precision_policy("force_fp16")
    'mixed_float16'
    """
    return resolve_precision(name).policy


__all__ = [
    "AUTO",
    "ASCEND_PRECISION_MODES",
    "BF16_CPU_FLAGS",
    "KERAS_POLICIES",
    "NPU_MODE_FOR_POLICY",
    "PRECISIONS",
    "Precision",
    "TENSOR_CORE_CAPABILITY",
    "auto_precision",
    "cpu_flags",
    "gpu_capabilities",
    "precision_policy",
    "resolve_precision",
]
