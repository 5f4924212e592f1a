"""ascendgan.validation: one helper per kind of mistake, Keras's "Received:" messages."""

import numpy as np
import pytest

from ascendgan.validation import (
    check_bool,
    check_choice,
    check_class_ids,
    check_int,
    check_number,
    check_seed,
)


def test_check_int_accepts_integers_in_range_and_returns_python_ints():
    assert check_int("steps", 3, minimum=1) == 3
    value = check_int("steps", np.int64(7), minimum=1, maximum=7)
    assert value == 7 and type(value) is int
    assert check_int("limit", None, minimum=1, allow_none=True) is None


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "4", None, 9])
def test_check_int_refuses_what_is_not_an_integer_in_range(value):
    with pytest.raises(ValueError, match=r"^`steps` must be an integer >= 1 and <= 8\. Received: steps="):
        check_int("steps", value, minimum=1, maximum=8)


def test_check_number_bounds_and_exclusive_ends():
    assert check_number("learning_rate", 2e-4, minimum=0, min_inclusive=False) == 2e-4
    assert check_number("beta_1", 0, minimum=0, maximum=1, max_inclusive=False) == 0.0
    for value in (0, -1e-3):
        with pytest.raises(ValueError, match=r"`learning_rate` must be a number > 0\. Received: learning_rate="):
            check_number("learning_rate", value, minimum=0, min_inclusive=False)
    for value in (1.0, 5, float("nan"), float("inf"), False, "0.5"):
        with pytest.raises(ValueError, match=r"`beta_1` must be a number >= 0 and < 1\. Received"):
            check_number("beta_1", value, minimum=0, maximum=1, max_inclusive=False)
    assert check_number("truncation", None, minimum=0, allow_none=True) is None


def test_check_bool_choice_and_seed():
    assert check_bool("flip", False) is False
    for value in (0, 1, "yes", np.bool_(True)):
        with pytest.raises(ValueError, match=r"`flip` must be True or False\. Received: flip="):
            check_bool("flip", value)
    assert check_choice("pairs", "edges", ("ab", "edges")) == "edges"
    with pytest.raises(ValueError, match=r"`pairs` must be one of \('ab', 'edges'\)\. Received: pairs='AB'"):
        check_choice("pairs", "AB", ("ab", "edges"))
    assert check_seed("seed", 0) == 0 and check_seed("seed", None, allow_none=True) is None
    for value in (-1, 1.5, True):
        with pytest.raises(ValueError, match=r"`seed` must be a non-negative integer\. Received: seed="):
            check_seed("seed", value)


def test_check_class_ids():
    ids = check_class_ids("labels", [0, 2, 1], 3, num_classes=3)
    assert ids.dtype == np.int32 and ids.tolist() == [0, 2, 1]
    assert check_class_ids("label", 4, 3, num_classes=5).tolist() == [4, 4, 4]  # one id for all
    assert check_class_ids("labels", None, 3, num_classes=None) is None
    with pytest.raises(ValueError, match=r"unconditional; `labels` must be None"):
        check_class_ids("labels", [0, 1], 2, num_classes=None)
    with pytest.raises(ValueError, match=r"class-conditional \(num_classes=3\); `labels` must give class ids"):
        check_class_ids("labels", None, 2, num_classes=3)
    with pytest.raises(ValueError, match=r"`labels` must be class ids in \[0, 3\)\. Received values in \[-1, 3\]"):
        check_class_ids("labels", [-1, 3], 2, num_classes=3)
    with pytest.raises(ValueError, match=r"one integer class id or 2 class ids\. Received: 2 values of dtype float"):
        check_class_ids("labels", [1.7, 0.0], 2, num_classes=3)  # refused, not truncated to 1
    with pytest.raises(ValueError, match=r"or 2 class ids\. Received: 3 values"):
        check_class_ids("labels", [0, 1, 2], 2, num_classes=3)
