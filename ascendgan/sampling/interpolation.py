"""Interpolation between latents: linear (:func:`lerp`) and spherical (:func:`slerp`).

Pure TensorFlow maths on points or batches of points; :func:`ascendgan.sampling.interpolate`
runs a GAN's generator along such a path.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

#: Latent interpolation methods of :func:`ascendgan.sampling.interpolate`.
INTERPOLATION_METHODS = ("linear", "slerp")


def _fractions(t, dtype, rank):
    """``t`` (scalar or 1-D) as a tensor broadcastable against ``t.shape + point shape``."""
    t = tf.cast(tf.convert_to_tensor(t), dtype)
    if t.shape.rank is not None and t.shape.rank > 1:
        raise ValueError(f"`t` must be a scalar or a 1-D sequence of fractions. Received shape {t.shape}.")
    return tf.reshape(t, tf.concat([tf.shape(t), tf.ones([rank], tf.int32)], axis=0))


def _endpoints(a, b):
    a = tf.convert_to_tensor(a)
    if not a.dtype.is_floating:
        a = tf.cast(a, tf.float32)
    b = tf.cast(tf.convert_to_tensor(b), a.dtype)
    if a.shape != b.shape:
        raise ValueError(f"`a` and `b` must have the same shape. Received {a.shape} and {b.shape}.")
    return a, b


def lerp(a, b, t):
    """Linear interpolation ``(1 - t)·a + t·b`` between two points (or batches of points).

    The endpoints are exact: ``t = 0`` gives ``a`` and ``t = 1`` gives ``b`` bit for bit.

    Args:
        a: start point(s), any shape (e.g. ``(latent_dim,)`` or ``(n, latent_dim)``).
        b: end point(s), the shape of ``a``.
        t: a scalar fraction or a 1-D sequence of fractions.

    Returns:
        A tensor of shape ``t.shape + a.shape`` in ``a``'s float dtype.

    Example:

    >>> lerp([0.0, 2.0], [2.0, 4.0], [0.0, 0.5, 1.0]).numpy().tolist()
    [[0.0, 2.0], [1.0, 3.0], [2.0, 4.0]]
    """
    a, b = _endpoints(a, b)
    t = _fractions(t, a.dtype, a.shape.rank)
    return (1.0 - t) * a + t * b


def slerp(a, b, t):
    """Spherical linear interpolation along the great circle from ``a`` to ``b``.

    The angle is taken between the directions of ``a`` and ``b`` along the last axis,
    ``ω = 2·atan2(|â - b̂|, |â + b̂|)`` (accurate for small and large angles), and

        slerp(a, b, t) = sin((1 - t)·ω) / sin ω · a + sin(t·ω) / sin ω · b.

    When ``a`` and ``b`` have the same norm every point of the path has that norm, and the
    angle from ``a`` grows uniformly, ``t·ω``. The endpoints are exact. Where the angle is
    (nearly) 0 or π, or an endpoint is zero, the path falls back to :func:`lerp` (a
    great circle is not defined there).

    Args:
        a: start point(s), shape ``(..., d)``.
        b: end point(s), the shape of ``a``.
        t: a scalar fraction or a 1-D sequence of fractions.

    Returns:
        A tensor of shape ``t.shape + a.shape`` in ``a``'s float dtype.

    Example:

    >>> path = slerp([1.0, 0.0], [0.0, 1.0], [0.0, 0.5, 1.0]).numpy().astype(float)
    >>> np.round(path, 4).tolist()
    [[1.0, 0.0], [0.7071, 0.7071], [0.0, 1.0]]

    Reference:
        Shoemake, "Animating rotation with quaternion curves", SIGGRAPH 1985; White,
        "Sampling Generative Networks", arXiv:1609.04468 (slerp for GAN latents).
    """
    a, b = _endpoints(a, b)
    if a.shape.rank == 0:
        raise ValueError("`a` and `b` must be vectors (rank >= 1) for slerp. Received scalars.")
    t = _fractions(t, a.dtype, a.shape.rank)
    norm_a = tf.norm(a, axis=-1, keepdims=True)
    norm_b = tf.norm(b, axis=-1, keepdims=True)
    tiny = tf.constant(np.finfo(a.dtype.as_numpy_dtype).tiny, a.dtype)
    unit_a = a / tf.maximum(norm_a, tiny)
    unit_b = b / tf.maximum(norm_b, tiny)
    omega = 2.0 * tf.atan2(tf.norm(unit_a - unit_b, axis=-1, keepdims=True),
                           tf.norm(unit_a + unit_b, axis=-1, keepdims=True))
    sin_omega = tf.sin(omega)
    eps = tf.constant(1e-6 if a.dtype != tf.float64 else 1e-12, a.dtype)
    spherical = (sin_omega > eps) & (norm_a > 0) & (norm_b > 0)
    safe_sin = tf.where(spherical, sin_omega, tf.ones_like(sin_omega))
    # coefficients first: at t = 0 / 1 they are exactly 1 and 0, so the endpoints are exact
    on_circle = tf.sin((1.0 - t) * omega) / safe_sin * a + tf.sin(t * omega) / safe_sin * b
    straight = (1.0 - t) * a + t * b
    return tf.where(spherical, on_circle, straight)


__all__ = ["INTERPOLATION_METHODS", "lerp", "slerp"]
