"""GAN losses: pure functions from discriminator logits to float32 scalars.

Every family has a generator loss and a discriminator loss::

    <family>_generator_loss(fake_logits)
    <family>_discriminator_loss(real_logits, fake_logits)

with ``family`` one of ``hinge``, ``non_saturating``, ``minimax``,
``least_squares`` and ``wasserstein``.  The logits may have any rank (a vector
of per-image scores, or a PatchGAN map ``(batch, height, width, 1)``) and any
floating dtype; they are cast to float32 first, and each term is the mean over
all of its elements.  ``real_logits`` and ``fake_logits`` are reduced
separately, so their shapes need not match.  Both losses are *minimized*: the
generator minimizes its loss, the discriminator minimizes its own.

:func:`get` turns a name (``"hinge"``, ``"ns"``, ...) into a :class:`GANLoss`
pair, which is what ``GAN.compile(loss=...)`` accepts.

Example:

>>> from ascendgan import losses
>>> real, fake = [[2.0, -1.0], [0.5, 3.0]], [-0.5, 1.5, 0.0, -3.0]
>>> float(losses.hinge_discriminator_loss(real, fake))
1.625
>>> float(losses.hinge_generator_loss(fake))
0.5
>>> losses.get("wgan").name
'wasserstein'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf

__all__ = [
    "ALIASES",
    "GANLoss",
    "NAMES",
    "get",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "l1_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_discriminator_loss",
    "non_saturating_generator_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
]


# ----------------------------------------------------------------------------- input checks


def check_float_tensor(name: str, value) -> tf.Tensor:
    """``value`` as a tensor of its own floating dtype; TypeError naming ``name`` otherwise.

    The one check of the tensor arguments of losses and penalties (``regularizers`` uses
    it too). Integer tensors are refused: integer logits almost always mean labels.

    Example:

    >>> check_float_tensor("fake_logits", [0.5, -1.0]).dtype.name
    'float32'
    """
    if value is None:
        raise TypeError(f"`{name}` must be a floating-point tensor. Received: {name}=None")
    try:
        tensor = tf.convert_to_tensor(value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"`{name}` must be a floating-point tensor. Received: {name} of type "
            f"{type(value).__name__}"
        ) from error
    if not tensor.dtype.is_floating:
        raise TypeError(
            f"`{name}` must be a floating-point tensor (float16, bfloat16, float32 or "
            f"float64). Received: {name} with dtype {tensor.dtype.name}"
        )
    return tensor


def _as_float32(value, argument: str) -> tf.Tensor:
    return tf.cast(check_float_tensor(argument, value), tf.float32)


def _mean(tensor: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tensor)


# ----------------------------------------------------------------------------- hinge


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge discriminator loss (SAGAN, BigGAN).

    ``mean(relu(1 - real_logits)) + mean(relu(1 + fake_logits))``

    Args:
        real_logits: float tensor of any rank, the discriminator's logits on real images.
        fake_logits: float tensor of any rank, the discriminator's logits on generated images.

    Returns:
        float32 scalar.

    Example:

    >>> float(hinge_discriminator_loss([2.0, 0.0], [-2.0, 0.5]))
    1.25

    Reference:
        Lim & Ye, "Geometric GAN", arXiv:1705.02894; Zhang et al., "Self-Attention
        GANs", arXiv:1805.08318.
    """
    real = _as_float32(real_logits, "real_logits")
    fake = _as_float32(fake_logits, "fake_logits")
    return _mean(tf.nn.relu(1.0 - real)) + _mean(tf.nn.relu(1.0 + fake))


def hinge_generator_loss(fake_logits):
    """Hinge generator loss: ``-mean(fake_logits)``.

    Args:
        fake_logits: float tensor of any rank, the discriminator's logits on generated images.

    Returns:
        float32 scalar.

    Example:

    >>> float(hinge_generator_loss([1.0, 3.0]))
    -2.0

    Reference:
        Lim & Ye, "Geometric GAN", arXiv:1705.02894.
    """
    return -_mean(_as_float32(fake_logits, "fake_logits"))


# ----------------------------------------------------------------------------- non-saturating


def non_saturating_discriminator_loss(real_logits, fake_logits):
    """Binary cross-entropy discriminator loss on logits (the original GAN's D loss).

    ``mean(-log σ(real)) + mean(-log(1 - σ(fake)))``, computed stably as
    ``mean(softplus(-real_logits)) + mean(softplus(fake_logits))``; finite for any
    finite logits.

    Args:
        real_logits: float tensor of any rank, the discriminator's logits on real images.
        fake_logits: float tensor of any rank, the discriminator's logits on generated images.

    Returns:
        float32 scalar.

    Example:

    >>> round(float(non_saturating_discriminator_loss([0.0], [0.0])), 6)  # 2·log 2
    1.386294

    Reference:
        Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (arXiv:1406.2661).
    """
    real = _as_float32(real_logits, "real_logits")
    fake = _as_float32(fake_logits, "fake_logits")
    return _mean(tf.nn.softplus(-real)) + _mean(tf.nn.softplus(fake))


def non_saturating_generator_loss(fake_logits):
    """Non-saturating generator loss: ``mean(-log σ(fake))`` = ``mean(softplus(-fake_logits))``.

    The generator maximizes ``log D(G(z))`` instead of minimizing ``log(1 - D(G(z)))``,
    which keeps gradients large early in training.

    Args:
        fake_logits: float tensor of any rank, the discriminator's logits on generated images.

    Returns:
        float32 scalar.

    Example:

    >>> round(float(non_saturating_generator_loss([0.0])), 6)  # log 2
    0.693147

    Reference:
        Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (arXiv:1406.2661).
    """
    return _mean(tf.nn.softplus(-_as_float32(fake_logits, "fake_logits")))


# ----------------------------------------------------------------------------- minimax


def minimax_discriminator_loss(real_logits, fake_logits):
    """Minimax discriminator loss; identical to :func:`non_saturating_discriminator_loss`.

    Args:
        real_logits: float tensor of any rank, the discriminator's logits on real images.
        fake_logits: float tensor of any rank, the discriminator's logits on generated images.

    Returns:
        float32 scalar.

    Example:

    >>> round(float(minimax_discriminator_loss([0.0], [0.0])), 6)
    1.386294

    Reference:
        Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (arXiv:1406.2661).
    """
    return non_saturating_discriminator_loss(real_logits, fake_logits)


def minimax_generator_loss(fake_logits):
    """Minimax (saturating) generator loss: ``mean(log(1 - σ(fake)))``.

    Computed stably as ``-mean(softplus(fake_logits))``.  Its gradient vanishes when
    the discriminator confidently rejects the fakes; prefer ``non_saturating`` in
    practice.

    Args:
        fake_logits: float tensor of any rank, the discriminator's logits on generated images.

    Returns:
        float32 scalar (always <= 0).

    Example:

    >>> round(float(minimax_generator_loss([0.0])), 6)  # log(1/2)
    -0.693147

    Reference:
        Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (arXiv:1406.2661).
    """
    return -_mean(tf.nn.softplus(_as_float32(fake_logits, "fake_logits")))


# ----------------------------------------------------------------------------- least squares


def least_squares_discriminator_loss(real_logits, fake_logits):
    """Least-squares (LSGAN) discriminator loss with targets 1 (real) and 0 (fake).

    ``0.5·mean((real_logits - 1)²) + 0.5·mean(fake_logits²)``

    Args:
        real_logits: float tensor of any rank, the discriminator's outputs on real images.
        fake_logits: float tensor of any rank, the discriminator's outputs on generated images.

    Returns:
        float32 scalar.

    Example:

    >>> float(least_squares_discriminator_loss([1.0, 3.0], [2.0]))
    3.0

    Reference:
        Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017
        (arXiv:1611.04076).
    """
    real = _as_float32(real_logits, "real_logits")
    fake = _as_float32(fake_logits, "fake_logits")
    return 0.5 * _mean(tf.square(real - 1.0)) + 0.5 * _mean(tf.square(fake))


def least_squares_generator_loss(fake_logits):
    """Least-squares (LSGAN) generator loss: ``0.5·mean((fake_logits - 1)²)``.

    Args:
        fake_logits: float tensor of any rank, the discriminator's outputs on generated images.

    Returns:
        float32 scalar.

    Example:

    >>> float(least_squares_generator_loss([3.0, 1.0]))
    1.0

    Reference:
        Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017
        (arXiv:1611.04076).
    """
    return 0.5 * _mean(tf.square(_as_float32(fake_logits, "fake_logits") - 1.0))


# ----------------------------------------------------------------------------- wasserstein


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """Wasserstein critic loss: ``mean(fake_logits) - mean(real_logits)``.

    Needs a Lipschitz constraint on the critic: combine it with
    :func:`ascendgan.regularizers.gradient_penalty` (WGAN-GP) or spectral normalization.

    Args:
        real_logits: float tensor of any rank, the critic's scores on real images.
        fake_logits: float tensor of any rank, the critic's scores on generated images.

    Returns:
        float32 scalar.

    Example:

    >>> float(wasserstein_discriminator_loss([2.0, 4.0], [1.0]))
    -2.0

    Reference:
        Arjovsky et al., "Wasserstein GAN", arXiv:1701.07875.
    """
    real = _as_float32(real_logits, "real_logits")
    fake = _as_float32(fake_logits, "fake_logits")
    return _mean(fake) - _mean(real)


def wasserstein_generator_loss(fake_logits):
    """Wasserstein generator loss: ``-mean(fake_logits)``.

    Args:
        fake_logits: float tensor of any rank, the critic's scores on generated images.

    Returns:
        float32 scalar.

    Example:

    >>> float(wasserstein_generator_loss([1.0, 3.0]))
    -2.0

    Reference:
        Arjovsky et al., "Wasserstein GAN", arXiv:1701.07875.
    """
    return -_mean(_as_float32(fake_logits, "fake_logits"))


# ----------------------------------------------------------------------------- reconstruction


def l1_loss(target, prediction):
    """Mean absolute error ``mean(|target - prediction|)`` (pix2pix's reconstruction term).

    The shapes must be equal: broadcasting, e.g. a ``(n, h, w, 1)`` prediction against a
    ``(n, h, w, 3)`` target, is almost always a bug, so it is refused.  The check uses
    the static shapes; dimensions unknown at trace time are not checked.

    Args:
        target: float tensor, the ground-truth images.
        prediction: float tensor of the same shape, the generated images.

    Returns:
        float32 scalar.

    Example:

    >>> float(l1_loss([[0.0, 1.0]], [[0.5, -1.0]]))
    1.25

    Reference:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial
        Networks", CVPR 2017 (arXiv:1611.07004).
    """
    target = _as_float32(target, "target")
    prediction = _as_float32(prediction, "prediction")
    if not target.shape.is_compatible_with(prediction.shape):
        raise ValueError(
            "`target` and `prediction` must have the same shape. Received: "
            f"target.shape={tuple(target.shape)}, prediction.shape={tuple(prediction.shape)}"
        )
    return _mean(tf.abs(target - prediction))


# ----------------------------------------------------------------------------- lookup


class GANLoss(NamedTuple):
    """A generator / discriminator loss pair.

    Attributes:
        name: the canonical family name (``"hinge"``, ...), or ``"custom"`` for a pair
            built from two functions.
        generator_loss: ``fn(fake_logits) -> float32 scalar``.
        discriminator_loss: ``fn(real_logits, fake_logits) -> float32 scalar``.

    Example:

    >>> pair = get("hinge")
    >>> float(pair.generator_loss([2.0]))
    -2.0
    """

    name: str
    generator_loss: Callable
    discriminator_loss: Callable


_FAMILIES = {
    "hinge": GANLoss("hinge", hinge_generator_loss, hinge_discriminator_loss),
    "non_saturating": GANLoss(
        "non_saturating", non_saturating_generator_loss, non_saturating_discriminator_loss
    ),
    "minimax": GANLoss("minimax", minimax_generator_loss, minimax_discriminator_loss),
    "least_squares": GANLoss(
        "least_squares", least_squares_generator_loss, least_squares_discriminator_loss
    ),
    "wasserstein": GANLoss("wasserstein", wasserstein_generator_loss, wasserstein_discriminator_loss),
}

#: Canonical family names accepted by :func:`get`.
NAMES = tuple(_FAMILIES)

#: Alternative spellings accepted by :func:`get`, mapped to canonical names.
ALIASES = {
    "bce": "non_saturating",
    "ns": "non_saturating",
    "lsgan": "least_squares",
    "wgan": "wasserstein",
}


def get(identifier) -> GANLoss:
    """Resolves a loss identifier to a :class:`GANLoss`.

    Args:
        identifier: one of

            * a family name: ``"hinge"``, ``"non_saturating"``, ``"minimax"``,
              ``"least_squares"``, ``"wasserstein"``, or an alias: ``"bce"``, ``"ns"``
              (non-saturating), ``"lsgan"`` (least squares), ``"wgan"``
              (Wasserstein).  Case and ``-`` versus ``_`` do not matter
              (``"Non-Saturating"`` works);
            * a :class:`GANLoss`, returned as is;
            * a ``(generator_loss, discriminator_loss)`` tuple of callables, wrapped
              in a ``GANLoss`` named ``"custom"``.

    Returns:
        A :class:`GANLoss`.  For names, ``get(name).name`` is the canonical name, so
        ``get(get(x).name)`` round trips (useful in ``get_config``).

    Raises:
        ValueError: for an unknown name (the message lists the valid ones) or a tuple
            whose length is not 2.
        TypeError: for any other type, or a tuple holding non-callables.

    Example:

    >>> get("lsgan").name
    'least_squares'
    >>> get((hinge_generator_loss, hinge_discriminator_loss)).name
    'custom'
    """
    if isinstance(identifier, GANLoss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip().lower().replace("-", "_")
        key = ALIASES.get(key, key)
        if key in _FAMILIES:
            return _FAMILIES[key]
        aliases = ", ".join(f"{a!r} ({c})" for a, c in ALIASES.items())
        raise ValueError(
            f"Unknown GAN loss `identifier`. Expected one of {list(NAMES)} or an alias: "
            f"{aliases}. Received: identifier={identifier!r}"
        )
    if isinstance(identifier, tuple):
        if len(identifier) != 2:
            raise ValueError(
                "A tuple `identifier` must be (generator_loss, discriminator_loss). "
                f"Received: a tuple of length {len(identifier)}"
            )
        generator_loss, discriminator_loss = identifier
        if not (callable(generator_loss) and callable(discriminator_loss)):
            raise TypeError(
                "A tuple `identifier` must hold two callables (generator_loss, "
                f"discriminator_loss). Received: identifier=({type(generator_loss).__name__}, "
                f"{type(discriminator_loss).__name__})"
            )
        return GANLoss("custom", generator_loss, discriminator_loss)
    raise TypeError(
        "`identifier` must be a loss name (str), a GANLoss or a (generator_loss, "
        f"discriminator_loss) tuple. Received: identifier of type {type(identifier).__name__}"
    )
