"""Interpolation maths (ascendgan.sampling.interpolation): lerp and slerp."""

import numpy as np
import pytest

from ascendgan import sampling

# ----------------------------------------------------------------------------- lerp / slerp


def numpy_slerp(a, b, t):
    """Textbook slerp in float64: ω from the arccos of the cosine of the angle."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    return np.stack([(np.sin((1 - s) * omega) * a + np.sin(s * omega) * b) / np.sin(omega) for s in t])


def angle(u, v):
    u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
    return np.arccos(np.clip(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)), -1.0, 1.0))


def test_lerp_matches_the_closed_form_and_hits_the_endpoints_exactly(rng):
    a, b = rng.standard_normal((3, 5)).astype("float32"), rng.standard_normal((3, 5)).astype("float32")
    t = np.array([0.0, 0.25, 0.6, 1.0], np.float32)
    path = sampling.lerp(a, b, t).numpy()
    lerp_np = np.stack([a + s * (b - a) for s in t])
    assert path.shape == (4, 3, 5)
    np.testing.assert_allclose(path, lerp_np, atol=1e-6)
    assert np.array_equal(path[0], a) and np.array_equal(path[-1], b)
    assert sampling.lerp(a, b, 0.5).shape == (3, 5)


def test_slerp_matches_numpy_reference(rng):
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    t = np.linspace(0, 1, 7)
    np.testing.assert_allclose(sampling.slerp(a.astype("float32"), b.astype("float32"), t).numpy(),
                               numpy_slerp(a, b, t), atol=2e-5)


def test_slerp_quarter_circle_is_cos_sin():
    t = np.linspace(0, 1, 9)
    path = sampling.slerp([1.0, 0.0], [0.0, 1.0], t).numpy()
    expected = np.stack([np.cos(t * np.pi / 2), np.sin(t * np.pi / 2)], axis=1)
    np.testing.assert_allclose(path, expected, atol=1e-6)


def test_slerp_keeps_the_norm_is_exact_at_endpoints_and_uniform_in_angle(rng):
    a = rng.standard_normal(120)
    b = rng.standard_normal(120)
    b = b / np.linalg.norm(b) * np.linalg.norm(a)  # equal norms
    a32, b32 = a.astype("float32"), b.astype("float32")
    t = np.linspace(0, 1, 11).astype("float32")
    path = sampling.slerp(a32, b32, t).numpy()
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(a32), rtol=1e-5)
    assert np.array_equal(path[0], a32) and np.array_equal(path[-1], b32)
    omega = angle(a, b)
    angles = np.array([angle(a, point) for point in path])
    np.testing.assert_allclose(angles, t * omega, atol=1e-3)
    # linear interpolation does not keep the norm: its midpoint is shorter
    mid = sampling.lerp(a32, b32, 0.5).numpy()
    assert np.linalg.norm(mid) < 0.9 * np.linalg.norm(a32)


def test_slerp_rows_are_independent_pairs(rng):
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    t = np.array([0.0, 0.3, 1.0])
    path = sampling.slerp(a.astype("float32"), b.astype("float32"), t).numpy()
    assert path.shape == (3, 4, 6)
    for row in range(4):
        np.testing.assert_allclose(path[:, row], numpy_slerp(a[row], b[row], t), atol=2e-5)


@pytest.mark.parametrize(
    "a, b",
    [([1.0, 2.0], [2.0, 4.0]),       # parallel: angle 0
     ([1.0, 2.0], [-1.0, -2.0]),     # antiparallel: angle π
     ([0.0, 0.0], [3.0, -1.0])],     # a zero endpoint
    ids=["parallel", "antiparallel", "zero"],
)
def test_slerp_falls_back_to_lerp_where_no_great_circle_exists(a, b):
    t = [0.0, 0.5, 1.0]
    path = sampling.slerp(a, b, t).numpy()
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(path, sampling.lerp(a, b, t).numpy(), atol=1e-6)


def test_slerp_small_angles_stay_accurate():
    a = np.array([1.0, 0.0], np.float32)
    b = np.array([np.cos(1e-3), np.sin(1e-3)], np.float32)
    mid = sampling.slerp(a, b, 0.5).numpy()
    np.testing.assert_allclose(mid, [np.cos(5e-4), np.sin(5e-4)], atol=1e-6)


def test_interpolation_bad_arguments_name_them():
    with pytest.raises(ValueError, match="`a` and `b`"):
        sampling.lerp([1.0, 2.0], [1.0, 2.0, 3.0], 0.5)
    with pytest.raises(ValueError, match="`t`"):
        sampling.slerp([1.0, 2.0], [2.0, 1.0], [[0.5]])
    with pytest.raises(ValueError, match="vectors"):
        sampling.slerp(1.0, 2.0, 0.5)
