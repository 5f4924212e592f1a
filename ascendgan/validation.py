"""Argument checks shared by the whole package: one helper per kind of mistake.

Every check raises ``ValueError`` with Keras's message style, naming the argument, what was
expected and what was received::

    `batch_size` must be an integer >= 1. Received: batch_size=2.5

and returns the value converted to its plain Python type, so callers write
``batch_size = check_int("batch_size", batch_size, minimum=1)``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def _fail(name, expectation, value):
    raise ValueError(f"`{name}` must be {expectation}. Received: {name}={value!r}")


def _bounds(minimum, maximum, min_inclusive=True, max_inclusive=True):
    parts = []
    if minimum is not None:
        parts.append(f"{'>=' if min_inclusive else '>'} {minimum}")
    if maximum is not None:
        parts.append(f"{'<=' if max_inclusive else '<'} {maximum}")
    return " and ".join(parts)


def check_int(name, value, minimum=None, maximum=None, allow_none=False):
    """An integer (not a bool, not a float such as 2.5) within ``[minimum, maximum]``.

    Example:

    >>> check_int("steps", 3, minimum=1)
    3
    >>> check_int("steps", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: `steps` must be an integer >= 1. Received: steps=0
    """
    if value is None and allow_none:
        return None
    bound = _bounds(minimum, maximum)
    expectation = "an integer" + (f" {bound}" if bound else "") + (" or None" if allow_none else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        _fail(name, expectation, value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        _fail(name, expectation, value)
    return int(value)


def check_number(name, value, minimum=None, maximum=None, min_inclusive=True,
                 max_inclusive=True, allow_none=False):
    """A finite real number (not a bool) within the given bounds; returns a float.

    Example:

    >>> check_number("learning_rate", 2e-4, minimum=0, min_inclusive=False)
    0.0002
    >>> check_number("beta_1", 1.0, minimum=0, maximum=1, max_inclusive=False)
    Traceback (most recent call last):
    ...
    ValueError: `beta_1` must be a number >= 0 and < 1. Received: beta_1=1.0
    """
    if value is None and allow_none:
        return None
    bound = _bounds(minimum, maximum, min_inclusive, max_inclusive)
    expectation = "a number" + (f" {bound}" if bound else "") + (" or None" if allow_none else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        _fail(name, expectation, value)
    too_low = minimum is not None and (value < minimum if min_inclusive else value <= minimum)
    too_high = maximum is not None and (value > maximum if max_inclusive else value >= maximum)
    if too_low or too_high:
        _fail(name, expectation, value)
    return float(value)


def check_bool(name, value):
    """``True`` or ``False`` (not 0 / 1 or a string)."""
    if not isinstance(value, bool):
        _fail(name, "True or False", value)
    return value


def check_choice(name, value, choices):
    """One of ``choices``.

    Example:

    >>> check_choice("pairs", "edges", ("ab", "edges"))
    'edges'
    """
    if value not in tuple(choices):
        _fail(name, f"one of {tuple(choices)}", value)
    return value


def check_seed(name, value, allow_none=False):
    """A non-negative integer seed."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        _fail(name, "a non-negative integer" + (" or None" if allow_none else ""), value)
    return int(value)


def check_class_ids(name, labels, n, num_classes):
    """Class ids for ``n`` samples of a model with ``num_classes`` classes (``None``: an
    unconditional model, which takes no ids).

    ``labels`` is one integer id (used for every sample) or ``n`` of them; floats such as
    1.7 are refused, not truncated.

    Returns:
        an int32 numpy array of ``n`` ids in ``[0, num_classes)``, or ``None`` for an
        unconditional model.

    Example:

    >>> check_class_ids("labels", [0, 2], 2, num_classes=3)
    array([0, 2], dtype=int32)
    >>> check_class_ids("labels", [0, 3], 2, num_classes=3)
    Traceback (most recent call last):
    ...
    ValueError: `labels` must be class ids in [0, 3). Received values in [0, 3].
    """
    if num_classes is None:
        if labels is not None:
            raise ValueError(f"This GAN is unconditional; `{name}` must be None. Received: {name}={labels!r}")
        return None
    if labels is None:
        raise ValueError(
            f"This GAN is class-conditional (num_classes={num_classes}); `{name}` must give "
            f"class ids. Received: {name}=None"
        )
    array = np.asarray(labels)
    if array.ndim == 0:
        array = np.full((n,), array)
    array = array.reshape(-1)
    if array.shape[0] != n or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise ValueError(
            f"`{name}` must be one integer class id or {n} class ids. "
            f"Received: {array.shape[0]} values of dtype {array.dtype}"
        )
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(
            f"`{name}` must be class ids in [0, {num_classes}). "
            f"Received values in [{array.min()}, {array.max()}]."
        )
    return array.astype("int32")


__all__ = ["check_bool", "check_choice", "check_class_ids", "check_int", "check_number", "check_seed"]
