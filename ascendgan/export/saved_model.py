"""SavedModel export: the serving function under a ``serving_default`` signature."""

from __future__ import annotations

import tensorflow as tf

from ascendgan.export.serving import serving_module


def export_saved_model(model, path, batch_size=1, training=False, use_ema=True, label_rank=1):
    """Writes the generator as a SavedModel with a ``serving_default`` signature.

    The signature takes the named inputs (``z`` and ``y``, or ``z``, or ``source``) and
    returns ``{"output": images}``; the reloaded object also has ``serve(...)``.

    Args:
        model: a GAN or an ascendgan generator (see :func:`serving_module`).
        path: the SavedModel directory.
        batch_size: static batch size (``None``: any batch size).
        training: training-mode batch norm / dropout (default: inference mode).
        use_ema: export the averaged generator of a GAN when there is one.
        label_rank: 1 for ``y`` of shape ``(batch,)``, 2 for ``(batch, 1)``.

    Returns:
        ``path`` (a string).

    Example:

    >>> export_saved_model(gan, "generator_savedmodel")                    # doctest: +SKIP
    >>> loaded = tf.saved_model.load("generator_savedmodel")               # doctest: +SKIP
    >>> loaded.signatures["serving_default"](z=z, y=y)["output"]           # doctest: +SKIP
    """
    module = serving_module(model, batch_size=batch_size, training=training, use_ema=use_ema,
                            label_rank=label_rank)
    path = str(path)
    tf.saved_model.save(
        module, path, signatures={"serving_default": module.serve.get_concrete_function()}
    )
    return path


__all__ = ["export_saved_model"]
