"""Latent priors and the seed derivation every sampler shares.

:func:`latent_prior` is the distribution of one latent component; :func:`batch_seeds`
turns one integer seed into the per-batch stateless seeds that ``GAN.generate``,
``ascendgan.sampling`` and the offline-inference inputs all use, so the same seed always
gives the same latents whichever of them draws them.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

#: Latent priors by name; each maps to a tensorflow-probability distribution.
LATENT_DISTRIBUTIONS = ("normal", "normal01", "uniform_signed", "uniform_unsigned")


def _tfd():
    import tensorflow_probability as tfp  # imported on first use: it is slow to import

    return tfp.distributions


def latent_prior(name: str, truncation: float | None = None):
    """The tensorflow-probability distribution of one latent component.

    Args:
        name: ``"normal"`` (= ``"normal01"``, N(0, 1)), ``"uniform_signed"`` (U[-1, 1)) or
            ``"uniform_unsigned"`` (U[0, 1)).
        truncation: if given, a threshold ``t > 0``: the normal prior becomes a normal
            truncated to ``[-t, t]`` (BigGAN's truncation trick) and uniform priors are
            restricted to ``[-t, t]``, so every component satisfies ``|z| <= t``.
    """
    if name not in LATENT_DISTRIBUTIONS:
        raise ValueError(
            f"`latent_distribution` must be one of {LATENT_DISTRIBUTIONS}. Received: {name!r}"
        )
    if truncation is not None and not truncation > 0:
        raise ValueError(f"`truncation` must be > 0 or None. Received: truncation={truncation!r}")
    tfd = _tfd()
    if name in ("normal", "normal01"):
        if truncation is None:
            return tfd.Normal(loc=0.0, scale=1.0)
        return tfd.TruncatedNormal(loc=0.0, scale=1.0, low=-float(truncation), high=float(truncation))
    low, high = (-1.0, 1.0) if name == "uniform_signed" else (0.0, 1.0)
    if truncation is not None:
        low, high = max(low, -float(truncation)), min(high, float(truncation))
    return tfd.Uniform(low=low, high=high)


#: Stateless seeds are int32 pairs; the second component is offset per batch modulo this.
SEED_MODULUS = 2**31 - 1


def batch_seeds(seed, n, batch_size):
    """``[(start, count, stateless_seed)]``: the per-batch stateless seeds of an integer seed.

    The ``n`` latents are drawn in batches of ``batch_size``; batch ``start`` uses the
    shape-[2] int32 seed ``[a, (b + start) mod (2**31 - 1)]`` where ``(a, b)`` are drawn from
    ``numpy.random.default_rng(seed)``.

    Example:

    >>> [(start, count) for start, count, _ in batch_seeds(0, 5, 2)]
    [(0, 2), (2, 2), (4, 1)]
    """
    base = np.random.default_rng(seed).integers(0, SEED_MODULUS, size=2)
    chunks = []
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        stateless = tf.constant([base[0], (base[1] + start) % SEED_MODULUS], tf.int32)
        chunks.append((start, count, stateless))
    return chunks


__all__ = ["LATENT_DISTRIBUTIONS", "SEED_MODULUS", "batch_seeds", "latent_prior"]
