"""Learning-rate schedules (Keras ``LearningRateSchedule`` subclasses, registered for
serialization as ``"ascendgan>Name"``).

:class:`CosineDecay` is the cosine schedule of the AutoAugment classifier, with an optional
linear warm-up; pass it as an optimizer's ``learning_rate``:

>>> from ascendgan import compat
>>> schedule = CosineDecay(0.06, total_steps=1000)
>>> optimizer = compat.keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
>>> round(float(schedule(500)), 4)
0.03
"""

from __future__ import annotations

import math

import tensorflow as tf

from ascendgan import compat
from ascendgan.validation import check_int, check_number

keras = compat.keras


@compat.register
class CosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine decay to 0 over ``total_steps`` steps, after an optional linear warm-up.

    With ``lr₀ = learning_rate``, ``w = warmup_steps`` and ``T = total_steps``, the rate at
    optimizer step ``t`` is

    * ``lr₀ · t / w`` for ``t < w`` (the warm-up rises linearly from 0);
    * ``½·lr₀·(1 + cos(π·(t - w) / (T - w)))`` for ``w <= t <= T``;
    * ``0`` after ``T``.

    Without warm-up this is ``½·lr₀·(1 + cos(π·t / T))`` (SGDR without restarts), the same
    values as ``keras.optimizers.schedules.CosineDecay(lr₀, T)``; with warm-up, those of
    ``CosineDecay(0, T - w, warmup_target=lr₀, warmup_steps=w)``. Rates are float32.

    Args:
        learning_rate: ``lr₀``, the rate at the end of the warm-up (> 0).
        total_steps: ``T``, the number of training steps, warm-up included (>= 1).
        warmup_steps: ``w``, linear warm-up steps (0 <= w < T). Defaults to 0.
        name: optional name of the ops.

    Example:

    >>> schedule = CosineDecay(0.1, total_steps=110, warmup_steps=10)
    >>> [round(float(schedule(t)), 3) for t in (0, 5, 10, 60, 110)]
    [0.0, 0.05, 0.1, 0.05, 0.0]

    Reference:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts",
        ICLR 2017 (arXiv:1608.03983); Goyal et al., "Accurate, Large Minibatch SGD"
        (arXiv:1706.02677, the linear warm-up).
    """

    def __init__(self, learning_rate, total_steps, warmup_steps=0, name=None):
        super().__init__()
        self.learning_rate = check_number("learning_rate", learning_rate, minimum=0, min_inclusive=False)
        self.total_steps = check_int("total_steps", total_steps, minimum=1)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)
        if self.warmup_steps >= self.total_steps:
            raise ValueError(
                f"`warmup_steps` must be an integer in [0, total_steps={self.total_steps}). "
                f"Received: warmup_steps={warmup_steps!r}"
            )
        self.name = name

    @classmethod
    def from_epochs(cls, learning_rate, epochs, steps_per_epoch, warmup_epochs=0):
        """The schedule of a run of ``epochs`` epochs of ``steps_per_epoch`` steps, with
        ``warmup_epochs`` epochs of warm-up.

        >>> CosineDecay.from_epochs(0.06, 150, 390, warmup_epochs=5).get_config()["warmup_steps"]
        1950
        """
        steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, minimum=1)
        epochs = check_int("epochs", epochs, minimum=1)
        warmup_epochs = check_int("warmup_epochs", warmup_epochs, minimum=0)
        return cls(learning_rate, epochs * steps_per_epoch, warmup_epochs * steps_per_epoch)

    def __call__(self, step):
        with tf.name_scope(self.name or "CosineDecay"):
            step = tf.cast(step, tf.float32)
            lr0 = tf.constant(self.learning_rate, tf.float32)
            warmup = float(self.warmup_steps)
            decay_steps = float(self.total_steps - self.warmup_steps)
            progress = tf.minimum(tf.maximum(step - warmup, 0.0), decay_steps) / decay_steps
            cosine = 0.5 * lr0 * (1.0 + tf.cos(math.pi * progress))
            if not self.warmup_steps:
                return cosine
            return tf.where(step < warmup, lr0 * step / warmup, cosine)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "name": self.name,
        }


__all__ = ["CosineDecay"]
