"""Latents for a seed and images from a GAN: grids, class grids, truncation rows, latent walks.

Every function that takes a ``gan`` duck-types it: it needs what
:class:`~ascendgan.training.GAN` provides (``latent_dim``, ``num_classes``,
``sample_latents``, ``generate``, ``build_models`` and ``sampling_generator``), and uses
``gan.sampling_generator(use_ema)`` to pick the averaged or the raw generator. Seeds become
per-batch stateless seeds with :func:`ascendgan.latents.batch_seeds`, the derivation
``GAN.generate`` uses, so the same seed gives the same latents here and there.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ascendgan.latents import batch_seeds, latent_prior
from ascendgan.sampling.images import image_grid
from ascendgan.sampling.interpolation import INTERPOLATION_METHODS, lerp, slerp
from ascendgan.validation import check_choice, check_class_ids, check_int, check_seed

# ----------------------------------------------------------------------------- latents


def gan_latents(gan, n, seed, truncation=None, batch_size=64):
    """The ``(n, latent_dim)`` latents a GAN draws for an integer seed.

    They are exactly the latents ``gan.generate(n, labels=..., seed=seed,
    truncation=truncation, batch_size=batch_size)`` feeds its generator when it is given
    the labels (or the GAN is unconditional): the same seed always gives the same latents,
    through the GAN's own :meth:`~ascendgan.training.GAN.sample_latents` hook.

    Args:
        gan: a :class:`~ascendgan.training.GAN` with a ``latent_dim``.
        n: number of latents.
        seed: non-negative integer seed.
        truncation: truncation threshold ``t`` (every component has ``|z| <= t``), or
            ``None``.
        batch_size: the ``batch_size`` of the matching ``generate`` call (latents are
            drawn per batch).

    Returns:
        A float32 numpy array ``(n, latent_dim)``.

    Example:

    >>> gan = ascendgan.models.dcgan("mnist", base_filters=4)          # doctest: +SKIP
    >>> gan_latents(gan, 2, seed=0).shape                              # doctest: +SKIP
    (2, 100)
    """
    if getattr(gan, "latent_dim", None) is None:
        raise ValueError(
            "`gan` must be a GAN with a latent (`latent_dim` set). "
            f"Received {type(gan).__name__} with latent_dim=None."
        )
    n = check_int("n", n, minimum=1)
    seed = check_seed("seed", seed)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    parts = [
        np.asarray(gan.sample_latents(count, seed=stateless, truncation=truncation), np.float32)
        for _, count, stateless in batch_seeds(seed, n, batch_size)
    ]
    return np.concatenate(parts, axis=0)


def prior_latents(n, latent_dim, seed, latent_distribution="normal", truncation=None,
                  batch_size=64):
    """Latents for an integer seed without a GAN object (for offline-inference inputs).

    Draws from :func:`ascendgan.latents.latent_prior` with the same per-batch stateless
    seeds as :func:`gan_latents` (:func:`ascendgan.latents.batch_seeds`), so for a GAN
    whose ``sample_latents`` hook is not overridden ``prior_latents(n, gan.latent_dim,
    seed, gan.latent_distribution)`` equals ``gan_latents(gan, n, seed)``.

    Args:
        n: number of latents.
        latent_dim: size of one latent.
        seed: non-negative integer seed.
        latent_distribution: ``"normal"``, ``"normal01"``, ``"uniform_signed"`` or
            ``"uniform_unsigned"``.
        truncation: truncation threshold or ``None``.
        batch_size: latents are drawn per batch of this size (match ``generate``'s).

    Returns:
        A float32 numpy array ``(n, latent_dim)``.

    Example:

    >>> z = prior_latents(4, 120, seed=0, truncation=2.0)
    >>> z.shape, bool(np.abs(z).max() <= 2.0)
    ((4, 120), True)
    """
    n = check_int("n", n, minimum=1)
    latent_dim = check_int("latent_dim", latent_dim, minimum=1)
    seed = check_seed("seed", seed)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    distribution = latent_prior(latent_distribution, truncation)
    parts = [
        np.asarray(tf.cast(distribution.sample((count, latent_dim), seed=stateless), tf.float32))
        for _, count, stateless in batch_seeds(seed, n, batch_size)
    ]
    return np.concatenate(parts, axis=0)


def _class_ids(gan, labels, n, name="labels"):
    """``labels`` (one id or ``n`` ids) as an int32 array, or ``None`` for an unconditional GAN."""
    return check_class_ids(name, labels, n, getattr(gan, "num_classes", None))


def generate_from_latents(gan, latents, labels=None, use_ema=True, training=False, batch_size=64):
    """Runs a GAN's generator on given latents (and labels); returns float32 images.

    Args:
        gan: a :class:`~ascendgan.training.GAN` with a latent.
        latents: ``(n, latent_dim)`` array.
        labels: for a class-conditional GAN, one class id for all images or ``n`` ids;
            ``None`` for an unconditional one.
        use_ema: use the averaged generator (``gan.sampling_generator(use_ema)``).
        training: run batch norm / dropout in training mode.
        batch_size: images per generator call.

    Returns:
        A float32 numpy array ``(n, height, width, channels)`` in [-1, 1].

    Example:

    >>> gan = ascendgan.models.dcgan("mnist", base_filters=4)             # doctest: +SKIP
    >>> generate_from_latents(gan, np.zeros((2, 100))).shape              # doctest: +SKIP
    (2, 28, 28, 1)
    """
    latents = np.asarray(latents, np.float32)
    latent_dim = getattr(gan, "latent_dim", None)
    if latent_dim is None or latents.ndim != 2 or latents.shape[1] != latent_dim:
        raise ValueError(
            f"`latents` must have shape (n, {latent_dim}) for this GAN. Received shape {latents.shape}."
        )
    n = latents.shape[0]
    batch_size = check_int("batch_size", batch_size, minimum=1)
    labels = _class_ids(gan, labels, n)
    gan.build_models()
    model = gan.sampling_generator(use_ema)
    images = []
    for start in range(0, n, batch_size):
        z = tf.constant(latents[start:start + batch_size])
        inputs = z if labels is None else [z, tf.constant(labels[start:start + batch_size])]
        images.append(np.asarray(tf.cast(model(inputs, training=training), tf.float32)))
    return np.concatenate(images, axis=0)


# ----------------------------------------------------------------------------- grids


def sample_grid(gan, n=64, columns=None, labels=None, truncation=None, seed=0, use_ema=True,
                padding=2):
    """A grid picture of ``n`` samples (``GAN.generate`` with a fixed seed).

    Args:
        gan: a :class:`~ascendgan.training.GAN`.
        n: number of samples.
        columns: images per row (default ``ceil(sqrt(n))``).
        labels: class ids for a conditional GAN (random classes, drawn from ``seed``, when
            ``None``); must be ``None`` for an unconditional one.
        truncation: truncation threshold (BigGAN's truncation trick; ``None`` for none).
        seed: non-negative integer seed; the same seed gives the same picture.
        use_ema: sample the averaged generator when there is one.
        padding: pixels between the images.

    Returns:
        A uint8 picture ``(height, width, channels)`` (see :func:`image_grid`).

    Example:

    >>> gan = ascendgan.models.dcgan("mnist", base_filters=4)            # doctest: +SKIP
    >>> sample_grid(gan, n=4, seed=0).shape                              # doctest: +SKIP
    (62, 62, 1)
    """
    seed = check_seed("seed", seed)
    images = gan.generate(n, labels=labels, truncation=truncation, seed=seed, use_ema=use_ema)
    return image_grid(images, columns=columns, padding=padding)


def class_grid(gan, per_class=8, classes=None, truncation=None, seed=0, shared_latents=True,
               use_ema=True, padding=2):
    """A class-conditional grid: one row per class, ``per_class`` samples per row.

    With ``shared_latents=True`` (the default) column ``j`` uses the same latent in every
    row, so the rows show how the class changes one sample; row ``c`` is then exactly
    ``gan.generate(per_class, labels=[c] * per_class, seed=seed, truncation=truncation)``.
    With ``shared_latents=False`` every image has its own latent
    (``gan.generate(len(classes) * per_class, labels=..., seed=seed)``, row by row).

    Args:
        gan: a class-conditional :class:`~ascendgan.training.GAN` (``num_classes`` set).
        per_class: samples per class (columns).
        classes: the class ids, one row each, in order (default: all classes).
        truncation: truncation threshold or ``None``.
        seed: non-negative integer seed; the same seed gives the same picture.
        shared_latents: one latent per column, shared by all rows.
        use_ema: sample the averaged generator when there is one.
        padding: pixels between the images.

    Returns:
        A uint8 picture ``(rows*(h+p)+p, per_class*(w+p)+p, channels)``.

    Example:

    >>> gan = ascendgan.models.biggan("cifar10", base_channels=4)         # doctest: +SKIP
    >>> class_grid(gan, per_class=4, truncation=2.0).shape               # doctest: +SKIP
    (342, 138, 3)
    """
    num_classes = getattr(gan, "num_classes", None)
    if num_classes is None:
        raise ValueError(
            "`gan` must be class-conditional (num_classes set) for a class grid. "
            f"Received {type(gan).__name__} with num_classes=None."
        )
    per_class = check_int("per_class", per_class, minimum=1)
    seed = check_seed("seed", seed)
    if classes is None:
        classes = np.arange(num_classes)
    classes = _class_ids(gan, classes, len(np.atleast_1d(classes)), name="classes")
    rows = len(classes)
    if shared_latents:
        latents = gan_latents(gan, per_class, seed, truncation=truncation)
        images = generate_from_latents(
            gan, np.tile(latents, (rows, 1)), labels=np.repeat(classes, per_class), use_ema=use_ema
        )
    else:
        images = gan.generate(rows * per_class, labels=np.repeat(classes, per_class),
                              truncation=truncation, seed=seed, use_ema=use_ema)
    return image_grid(images, columns=per_class, padding=padding)


def truncation_grid(gan, truncations=(2.0, 1.0, 0.5), per_row=8, label=None, seed=0,
                    use_ema=True, padding=2):
    """One row per truncation threshold, all rows drawn with the same seed.

    Row ``r`` is ``gan.generate(per_row, labels=[label] * per_row, seed=seed,
    truncation=truncations[r])``; smaller thresholds trade variety for fidelity
    (BigGAN's truncation trick).

    Args:
        gan: a :class:`~ascendgan.training.GAN` with a latent.
        truncations: thresholds, one row each (``None`` for the untruncated prior).
        per_row: samples per row.
        label: the class id of every sample (conditional GANs; ``None`` otherwise).
        seed: non-negative integer seed.
        use_ema: sample the averaged generator when there is one.
        padding: pixels between the images.

    Returns:
        A uint8 picture with ``len(truncations)`` rows of ``per_row`` images.

    Example:

    >>> truncation_grid(gan, truncations=(None, 1.0), per_row=4, seed=0)   # doctest: +SKIP

    Reference:
        Brock, Donahue, Simonyan, "Large Scale GAN Training for High Fidelity Natural
        Image Synthesis", ICLR 2019 (arXiv:1809.11096), section 3.1.
    """
    per_row = check_int("per_row", per_row, minimum=1)
    seed = check_seed("seed", seed)
    truncations = list(truncations)
    if not truncations:
        raise ValueError("`truncations` must hold at least one threshold. Received an empty sequence.")
    labels = _class_ids(gan, label, per_row, name="label")
    rows = []
    for threshold in truncations:
        latents = gan_latents(gan, per_row, seed, truncation=threshold)
        rows.append(generate_from_latents(gan, latents, labels=labels, use_ema=use_ema))
    return image_grid(np.concatenate(rows, axis=0), columns=per_row, padding=padding)


# ----------------------------------------------------------------------------- latent walks


def interpolate(gan, steps=8, start_seed=0, end_seed=1, method="linear", label=None,
                truncation=None, use_ema=True, training=False):
    """Images along a latent path between the samples of two seeds.

    The endpoints are the latents of ``gan.generate(1, labels=[label], seed=start_seed)``
    and ``... seed=end_seed`` (see :func:`gan_latents`), so the first and last frames are
    exactly those samples. Save the frames with :func:`save_image_grid` (one row:
    ``columns=steps``) or :func:`save_gif`.

    Args:
        gan: a :class:`~ascendgan.training.GAN` with a latent.
        steps: number of frames (>= 2), at fractions ``linspace(0, 1, steps)``.
        start_seed: seed of the first latent.
        end_seed: seed of the last latent.
        method: ``"linear"`` (:func:`lerp`) or ``"slerp"`` (:func:`slerp`, which keeps
            the latents at a typical norm for a Gaussian prior).
        label: the class id of every frame for a class-conditional GAN (required there);
            ``None`` for an unconditional one.
        truncation: truncation threshold of the two endpoint latents (the path between
            them is not clipped).
        use_ema: use the averaged generator when there is one.
        training: run batch norm / dropout in training mode.

    Returns:
        A float32 numpy array ``(steps, height, width, channels)`` in [-1, 1].

    Example:

    >>> frames = interpolate(gan, steps=6, start_seed=0, end_seed=1, method="slerp")  # doctest: +SKIP
    >>> save_gif(frames, "walk.gif", duration_ms=120)                                 # doctest: +SKIP
    """
    steps = check_int("steps", steps, minimum=2)
    method = check_choice("method", method, INTERPOLATION_METHODS)
    start_seed = check_seed("start_seed", start_seed)
    end_seed = check_seed("end_seed", end_seed)
    labels = _class_ids(gan, label, steps, name="label")
    start = gan_latents(gan, 1, start_seed, truncation=truncation)[0]
    end = gan_latents(gan, 1, end_seed, truncation=truncation)[0]
    fractions = np.linspace(0.0, 1.0, steps, dtype=np.float32)
    path = (lerp if method == "linear" else slerp)(start, end, fractions)
    return generate_from_latents(gan, np.asarray(path), labels=labels, use_ema=use_ema,
                                 training=training)


def _embedding_generator(gan, use_ema):
    """The sampling generator, if it takes class-embedding vectors (else a clear error)."""
    if getattr(gan, "num_classes", None) is None:
        raise ValueError(
            "`gan` must be class-conditional (num_classes set) to interpolate between classes. "
            f"Received {type(gan).__name__} with num_classes=None."
        )
    gan.build_models()
    model = gan.sampling_generator(use_ema)
    missing = [name for name in ("class_embedding", "call_with_class_embedding")
               if not callable(getattr(model, name, None))]
    if missing:
        raise ValueError(
            f"`gan`'s generator ({type(model).__name__}) takes class ids only, so its class input "
            "cannot be interpolated: interpolate_classes needs a generator with "
            "`class_embedding(labels)` and `call_with_class_embedding(z, class_embedding)` "
            f"(BigGANGenerator has them). Received a generator without {', '.join(missing)}."
        )
    return model


def interpolate_classes(gan, class_a, class_b, steps=11, n=1, seed=0, truncation=None,
                        use_ema=True, training=False, batch_size=64):
    """Class-to-class interpolation: the same latents while the class embedding moves from
    class ``class_a`` to class ``class_b`` (BigGAN's category morphing).

    The latents are those of ``gan.generate(n, labels=..., seed=seed,
    truncation=truncation)`` (:func:`gan_latents`) and stay fixed; frame ``i`` feeds every
    image the embedding ``(1 - t_i)·e_a + t_i·e_b`` with ``t = linspace(0, 1, steps)``
    and ``e_a``, ``e_b`` the classes' shared embeddings. The first frame is therefore
    ``gan.generate(n, labels=[class_a] * n, seed=seed, truncation=truncation)`` and the
    last the same for ``class_b``. (Interpolating the one-hot class vector before the
    embedding matrix, as the documented BigGAN script does, gives the same embeddings.)

    The generator must take embedding vectors: ``class_embedding(labels)`` and
    ``call_with_class_embedding(z, class_embedding, training)``
    (:class:`~ascendgan.models.biggan.BigGANGenerator`); other generators raise a
    ``ValueError`` saying so.

    Args:
        gan: a class-conditional :class:`~ascendgan.training.GAN`.
        class_a: the class id of the first frame.
        class_b: the class id of the last frame.
        steps: frames (>= 2). The documented morph uses 11 (``t`` in steps of 0.1).
        n: images per frame, one latent each.
        seed: non-negative integer seed of the latents.
        truncation: truncation threshold of the latents, or ``None``.
        use_ema: use the averaged generator when there is one.
        training: run batch norm in training mode.
        batch_size: images per generator call.

    Returns:
        A float32 numpy array ``(steps, n, height, width, channels)`` in [-1, 1]; save
        frame grids with :func:`save_gif` (``[image_grid(frame) for frame in frames]``).

    Example:

    >>> gan = ascendgan.models.biggan("cifar10", base_channels=4)          # doctest: +SKIP
    >>> frames = interpolate_classes(gan, 7, 1, steps=11, n=16, truncation=2.0)  # doctest: +SKIP
    >>> save_gif([image_grid(f) for f in frames], "horse2car.gif", duration_ms=500)  # doctest: +SKIP
    """
    steps = check_int("steps", steps, minimum=2)
    n = check_int("n", n, minimum=1)
    seed = check_seed("seed", seed)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    model = _embedding_generator(gan, use_ema)
    (first,) = _class_ids(gan, class_a, 1, name="class_a")
    (last,) = _class_ids(gan, class_b, 1, name="class_b")
    ends = np.asarray(tf.cast(model.class_embedding(np.array([first, last], np.int32)), tf.float32))
    path = np.asarray(lerp(ends[0], ends[1], np.linspace(0.0, 1.0, steps, dtype=np.float32)))
    latents = gan_latents(gan, n, seed, truncation=truncation)
    frames = []
    for embedding in path:
        images = []
        for start in range(0, n, batch_size):
            z = tf.constant(latents[start:start + batch_size])
            rows = tf.constant(np.tile(embedding, (int(z.shape[0]), 1)))
            images.append(np.asarray(tf.cast(
                model.call_with_class_embedding(z, rows, training=training), tf.float32)))
        frames.append(np.concatenate(images, axis=0))
    return np.stack(frames)


__all__ = [
    "class_grid",
    "gan_latents",
    "generate_from_latents",
    "interpolate",
    "interpolate_classes",
    "prior_latents",
    "sample_grid",
    "truncation_grid",
]
