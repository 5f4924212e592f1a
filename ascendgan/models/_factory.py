"""Preset handling shared by the model factories (not public API)."""

from __future__ import annotations

import copy


def apply_overrides(family: str, presets: dict, name: str, overrides: dict) -> dict:
    """A copy of ``presets[name]`` with ``overrides`` applied.

    Raises:
        ValueError: for an unknown preset or override key, listing the valid ones.
    """
    if name not in presets:
        raise ValueError(f"Unknown {family} preset {name!r}. Valid presets: {sorted(presets)}")
    row = copy.deepcopy(presets[name])
    unknown = sorted(set(overrides) - set(row))
    if unknown:
        raise ValueError(
            f"Unknown {family} override key(s) {unknown} for preset {name!r}. Valid keys: {sorted(row)}"
        )
    row.update(overrides)
    return row
