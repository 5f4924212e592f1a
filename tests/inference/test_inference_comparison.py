"""Comparing results value by value (ascendgan.inference.comparison)."""


import numpy as np
import pytest

from ascendgan import inference


def test_compare_reports_per_file_and_overall_differences(tmp_path):
    inference.write_bin([0.0, 1.0, 2.0], tmp_path / "a" / "x_output_0.bin", "float32")
    inference.write_bin([0.0, 1.5, 2.0], tmp_path / "b" / "x_output_0.bin", "float32")
    inference.write_bin([1.0, 1.0], tmp_path / "a" / "w_output_0.bin", "float32")
    inference.write_bin([1.0, 0.75], tmp_path / "b" / "w_output_0.bin", "float32")
    inference.write_bin([1.0], tmp_path / "a" / "only_a.bin", "float32")
    report = inference.compare(tmp_path / "a", tmp_path / "b")
    assert report.per_file == {"w_output_0.bin": 0.25, "x_output_0.bin": 0.5}
    assert report.max_abs_diff == 0.5
    assert report.mean_abs_diff == pytest.approx(0.75 / 5)
    assert report.only_in_a == ["only_a.bin"] and report.only_in_b == []
    assert not report.within(1.0)  # a file is unmatched
    assert "x_output_0.bin: max abs diff 0.5" in str(report) and "only in a" in str(report)
    single = inference.compare(tmp_path / "a" / "x_output_0.bin", np.array([0.0, 1.0, 2.25]))
    assert single.max_abs_diff == 0.25 and single.within(0.25) and not single.within(0.2)


def test_compare_errors(tmp_path):
    inference.write_bin([1.0, 2.0], tmp_path / "a" / "x.bin", "float32")
    inference.write_bin([1.0], tmp_path / "b" / "x.bin", "float32")
    with pytest.raises(ValueError, match="'x.bin' holds 2 values in a and 1 in b"):
        inference.compare(tmp_path / "a", tmp_path / "b")
    inference.write_bin([1.0], tmp_path / "c" / "y.bin", "float32")
    with pytest.raises(ValueError, match="no file names in common"):
        inference.compare(tmp_path / "a", tmp_path / "c")
    with pytest.raises(ValueError, match="`b` path"):
        inference.compare(tmp_path / "a", tmp_path / "nope")
