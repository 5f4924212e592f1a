"""Optimizers: ``FusedAdam``, Keras's Adam with each variable updated by one kernel.

Keras's Adam updates a variable with about a dozen element-wise TensorFlow ops, each a full
pass over the variable, its two moments and the gradient. For the convolutional GANs of
this library that is a large share of a CPU training step (the generator and the
discriminator of DCGAN-64 hold 6.3M weights, Pix2Pix's 57M). TensorFlow's own
``ResourceApplyAdam`` kernel does the same maths in one pass:

    m ← m + (g − m)(1 − β1)
    v ← v + (g² − v)(1 − β2)
    w ← w − lr · sqrt(1 − β2^t) / (1 − β1^t) · m / (sqrt(v) + ε)

``FusedAdam`` is a subclass of ``keras.optimizers.Adam`` (either Keras version) that calls
that kernel for dense gradients; the configuration, the slot variables, checkpoints,
gradient clipping, weight decay, loss scaling and ``tf.distribute`` behave exactly as in
the parent, and anything the kernel does not cover -- sparse (``IndexedSlices``) gradients,
``amsgrad=True``, legacy Keras's ``adaptive_epsilon`` -- runs the parent's update.

``GAN.compile()`` uses it for its default optimizers.

Example:

>>> import tensorflow as tf
>>> from ascendgan.optimizers import FusedAdam
>>> opt = FusedAdam(learning_rate=2e-4, beta_1=0.5)
>>> w = tf.Variable([1.0, -1.0])
>>> _ = opt.apply_gradients([(tf.constant([0.5, -0.5]), w)])
>>> [round(float(x), 4) for x in w.numpy()]
[0.9998, -0.9998]
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from ascendgan import compat
from ascendgan.validation import check_number

keras = compat.keras

__all__ = ["AdamSettings", "FusedAdam", "adam"]


def _handle(slot):
    """The resource handle of an optimizer slot (a Keras 3 variable wraps a ``tf.Variable``)."""
    value = getattr(slot, "value", None) if compat.KERAS_3 else None
    if value is not None and hasattr(value, "handle"):
        return value.handle
    return slot.handle


@compat.register
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with dense updates done by TensorFlow's ``ResourceApplyAdam``.

    Takes exactly the arguments of ``keras.optimizers.Adam`` and gives the same result to
    float rounding (tested against Keras's Adam and a numpy reference). Serializes as
    ``"ascendgan>FusedAdam"``.
    """

    def _fusable(self, gradient, variable) -> bool:
        return not (
            self.amsgrad
            or isinstance(gradient, tf.IndexedSlices)
            or getattr(self, "adaptive_epsilon", False)
            or not hasattr(variable, "handle")
            and not hasattr(getattr(variable, "value", None), "handle")
        )

    def _fused_update(self, gradient, variable, learning_rate, m, v):
        dtype = variable.dtype
        dtype = getattr(dtype, "base_dtype", dtype)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(m), v=_handle(v),
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
        )

    if compat.KERAS_3:

        def update_step(self, gradient, variable, learning_rate):
            if not self._fusable(gradient, variable):
                return super().update_step(gradient, variable, learning_rate)
            index = self._get_variable_index(variable)
            self._fused_update(gradient, variable, learning_rate,
                               self._momentums[index], self._velocities[index])
            return None

    else:  # pragma: no cover - exercised by the legacy-Keras test run

        def update_step(self, gradient, variable):
            if not self._fusable(gradient, variable):
                return super().update_step(gradient, variable)
            index = self._index_dict[self._var_key(variable)]
            self._fused_update(gradient, variable, self.learning_rate,
                               self._momentums[index], self._velocities[index])
            return None


def adam(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, fused=True, **kwargs):
    """An Adam optimizer: :class:`FusedAdam` (default) or Keras's own with ``fused=False``.

    Args:
        learning_rate, beta_1, beta_2, epsilon, kwargs: as ``keras.optimizers.Adam``.
        fused: use the one-kernel update.

    Returns:
        the optimizer.
    """
    if not isinstance(fused, bool):
        raise TypeError(f"`fused` must be True or False. Received: {fused!r}")
    cls = FusedAdam if fused else keras.optimizers.Adam
    return cls(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)


@dataclasses.dataclass(frozen=True)
class AdamSettings:
    """The Adam hyper-parameters of a GAN's two optimizers (a preset's optimizer section).

    ``GAN.compile()`` builds its default optimizers from the GAN's ``AdamSettings``; different
    learning rates for the two networks give the two-time-scale update rule (TTUR).

    Args:
        generator_learning_rate: the generator's learning rate (> 0).
        discriminator_learning_rate: the discriminator's learning rate (> 0).
        beta_1: Adam's first-moment decay, in [0, 1).
        beta_2: Adam's second-moment decay, in [0, 1).

    Example:

    >>> settings = AdamSettings(1e-4, 4e-4, beta_1=0.0, beta_2=0.9)   # BigGAN's
    >>> float(settings.discriminator().learning_rate.numpy())  # doctest: +SKIP
    0.0004
    """

    generator_learning_rate: float = 2e-4
    discriminator_learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999

    def __post_init__(self):
        for name in ("generator_learning_rate", "discriminator_learning_rate"):
            check_number(name, getattr(self, name), minimum=0, min_inclusive=False)
        for name in ("beta_1", "beta_2"):
            check_number(name, getattr(self, name), minimum=0, maximum=1, max_inclusive=False)

    def generator(self):
        """A fresh :class:`FusedAdam` for the generator."""
        return FusedAdam(learning_rate=self.generator_learning_rate, beta_1=self.beta_1,
                         beta_2=self.beta_2)

    def discriminator(self):
        """A fresh :class:`FusedAdam` for the discriminator."""
        return FusedAdam(learning_rate=self.discriminator_learning_rate, beta_1=self.beta_1,
                         beta_2=self.beta_2)

    def get_config(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_row(cls, row):
        """The settings of a flat preset row (the GAN configs ascendgan 0.1 saved): its
        ``generator_learning_rate`` / ``discriminator_learning_rate``, else ``learning_rate``,
        and betas."""
        rate = row.get("learning_rate", 2e-4)
        return cls(generator_learning_rate=row.get("generator_learning_rate", rate),
                   discriminator_learning_rate=row.get("discriminator_learning_rate", rate),
                   beta_1=row.get("beta_1", 0.5), beta_2=row.get("beta_2", 0.999))
