"""Comparing two results (offline vs online, before vs after conversion) value by value."""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ascendgan.inference.binary import read_bin


@dataclasses.dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes:
        max_abs_diff: largest absolute difference over all compared values.
        mean_abs_diff: mean absolute difference over all compared values.
        per_file: ``{file name: max abs diff}`` (one entry ``"array"`` for arrays / files).
        only_in_a: file names found only in ``a``.
        only_in_b: file names found only in ``b``.
    """

    max_abs_diff: float
    mean_abs_diff: float
    per_file: dict
    only_in_a: list
    only_in_b: list

    def within(self, tolerance):
        """True when every file matched and ``max_abs_diff <= tolerance``."""
        return not self.only_in_a and not self.only_in_b and self.max_abs_diff <= tolerance

    def __str__(self):
        lines = [f"{name}: max abs diff {diff:.3g}" for name, diff in sorted(self.per_file.items())]
        lines.append(
            f"{len(self.per_file)} compared: max abs diff {self.max_abs_diff:.3g}, "
            f"mean abs diff {self.mean_abs_diff:.3g}"
        )
        if self.only_in_a:
            lines.append(f"only in a: {self.only_in_a}")
        if self.only_in_b:
            lines.append(f"only in b: {self.only_in_b}")
        return "\n".join(lines)


def _as_table(source, dtype, name):
    if isinstance(source, (str, os.PathLike)):
        path = str(source)
        if os.path.isdir(path):
            return {f: os.path.join(path, f) for f in os.listdir(path) if f.endswith(".bin")}
        if os.path.isfile(path):
            return {"array": path}
        raise ValueError(f"`{name}` path {path!r} does not exist.")
    return {"array": np.asarray(source, dtype)}


def compare(a, b, dtype="float32"):
    """Maximum and mean absolute difference between two results (e.g. online vs offline).

    Args:
        a: a ``.bin`` file, a folder of ``.bin`` files (matched by file name) or an array.
        b: the same kinds.
        dtype: dtype of the raw files.

    Returns:
        A :class:`Comparison` (``str()`` gives a report).

    Raises:
        ValueError: naming the files when two matched files differ in size, or when
            nothing can be compared.

    Example:

    >>> report = compare(np.array([0.0, 1.0]), np.array([0.0, 1.5]))
    >>> report.max_abs_diff
    0.5
    """
    table_a, table_b = _as_table(a, dtype, "a"), _as_table(b, dtype, "b")
    common = sorted(set(table_a) & set(table_b))
    if not common:
        raise ValueError(
            f"Nothing to compare: no file names in common (a: {sorted(table_a)[:5]}, b: {sorted(table_b)[:5]})."
        )

    def load(value):
        return read_bin(value, dtype).astype(np.float64) if isinstance(value, str) else value.astype(np.float64)

    per_file, total, count = {}, 0.0, 0
    for key in common:
        left, right = load(table_a[key]), load(table_b[key])
        if left.size != right.size:
            raise ValueError(
                f"{key!r} holds {left.size} values in a and {right.size} in b; they cannot be compared."
            )
        diff = np.abs(left.reshape(-1) - right.reshape(-1))
        per_file[key] = float(diff.max()) if diff.size else 0.0
        total += float(diff.sum())
        count += diff.size
    return Comparison(
        max_abs_diff=max(per_file.values()),
        mean_abs_diff=total / max(count, 1),
        per_file=per_file,
        only_in_a=sorted(set(table_a) - set(table_b)),
        only_in_b=sorted(set(table_b) - set(table_a)),
    )


__all__ = ["Comparison", "compare"]
