"""Sampling and image grids: turning generator outputs in [-1, 1] into pictures.

Images are channels-last in [-1, 1] everywhere in ascendgan; the functions here convert to
8-bit pixels at their own boundary.

Besides the grid writers (:func:`image_grid`, :func:`save_png`, :func:`save_image_grid`)
this module holds what the ``ascendgan sample`` command needs: reproducible latents for a
seed (:func:`gan_latents`, :func:`prior_latents`), the truncation trick
(:func:`sample_grid`, :func:`truncation_grid`), class-conditional grids with one row per
class (:func:`class_grid`), latent interpolation (:func:`lerp`, :func:`slerp`,
:func:`interpolate`) and animated GIFs (:func:`save_gif`, which needs Pillow).
"""

from __future__ import annotations

import io
import math

import numpy as np
import tensorflow as tf


def to_uint8(images):
    """Maps images in [-1, 1] to uint8 pixels in [0, 255] (values outside are clipped).

    Args:
        images: array-like of any shape, float in [-1, 1].

    Returns:
        A numpy uint8 array of the same shape.

    Example:

    >>> to_uint8(np.array([-1.0, 0.0, 1.0])).tolist()
    [0, 128, 255]
    """
    images = np.asarray(tf.cast(images, tf.float32))
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images, columns=None, padding=2, pad_value=255):
    """Tiles a batch of images into one picture, row by row.

    Args:
        images: ``(n, height, width, channels)`` in [-1, 1] (float) or uint8.
        columns: images per row; default ``ceil(sqrt(n))``.
        padding: pixels between images and around the border.
        pad_value: the uint8 value of the padding.

    Returns:
        A uint8 array ``(rows*(h+p)+p, columns*(w+p)+p, channels)``.

    Example:

    >>> grid = image_grid(np.zeros((6, 4, 4, 3)), columns=3, padding=1)
    >>> grid.shape
    (11, 16, 3)
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"`images` must be a batch of shape (n, height, width, channels). Received shape {images.shape}."
        )
    if images.dtype != np.uint8:
        images = to_uint8(images)
    n, height, width, channels = images.shape
    if n == 0:
        raise ValueError("`images` must hold at least one image. Received an empty batch.")
    if columns is None:
        columns = int(math.ceil(math.sqrt(n)))
    if not isinstance(columns, (int, np.integer)) or columns < 1:
        raise ValueError(f"`columns` must be a positive integer. Received: columns={columns!r}")
    rows = int(math.ceil(n / columns))
    grid = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        pad_value,
        np.uint8,
    )
    for index in range(n):
        row, column = divmod(index, columns)
        top = padding + row * (height + padding)
        left = padding + column * (width + padding)
        grid[top:top + height, left:left + width] = images[index]
    return grid


def save_png(picture, path):
    """Writes a uint8 ``(height, width, channels)`` picture (1, 3 or 4 channels) to a PNG file.

    ``path`` may be on any file system ``tf.io.gfile`` supports; the file is written to a
    temporary name and renamed, so a reader never sees a half-written picture.
    """
    picture = np.asarray(picture)
    if picture.dtype != np.uint8 or picture.ndim != 3 or picture.shape[-1] not in (1, 3, 4):
        raise ValueError(
            "`picture` must be a uint8 array (height, width, 1|3|4). "
            f"Received dtype {picture.dtype}, shape {picture.shape}."
        )
    path = str(path)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        tf.io.gfile.makedirs(parent)
    temporary = f"{path}.tmp"
    with tf.io.gfile.GFile(temporary, "wb") as handle:
        handle.write(tf.io.encode_png(picture).numpy())
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return path


def save_image_grid(images, path, columns=None, padding=2):
    """Tiles ``images`` (in [-1, 1]) with :func:`image_grid` and writes the PNG; returns the path.

    Example:

    >>> import os, tempfile
    >>> path = save_image_grid(np.zeros((4, 8, 8, 1)), os.path.join(tempfile.mkdtemp(), "grid.png"))
    >>> os.path.exists(path)
    True
    """
    return save_png(image_grid(images, columns=columns, padding=padding), path)




# ----------------------------------------------------------------------------- latents

#: Latent interpolation methods of :func:`interpolate`.
INTERPOLATION_METHODS = ("linear", "slerp")

_SEED_MODULUS = 2**31 - 1


def _check_seed(seed, name="seed"):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. Received: {name}={seed!r}")
    return int(seed)


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


def _stateless_seeds(seed, n, batch_size):
    """``[(start, count, stateless_seed)]``: the per-batch seeds ``GAN.generate`` derives
    from an integer seed when it is given the labels (or the model is unconditional)."""
    base = np.random.default_rng(seed).integers(0, _SEED_MODULUS, size=2)
    chunks = []
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        stateless = tf.constant([base[0], (base[1] + start) % _SEED_MODULUS], tf.int32)
        chunks.append((start, count, stateless))
    return chunks


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
    n = _check_positive("n", n)
    seed = _check_seed(seed)
    batch_size = _check_positive("batch_size", batch_size)
    parts = [
        np.asarray(gan.sample_latents(count, seed=stateless, truncation=truncation), np.float32)
        for _, count, stateless in _stateless_seeds(seed, n, batch_size)
    ]
    return np.concatenate(parts, axis=0)


def prior_latents(n, latent_dim, seed, latent_distribution="normal", truncation=None,
                  batch_size=64):
    """Latents for an integer seed without a GAN object (for offline-inference inputs).

    Draws from :func:`~ascendgan.training.latent_prior` with the same per-batch stateless
    seeds as :func:`gan_latents`, so for a GAN whose ``sample_latents`` hook is not
    overridden ``prior_latents(n, gan.latent_dim, seed, gan.latent_distribution)`` equals
    ``gan_latents(gan, n, seed)``.

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
    from ascendgan.latents import latent_prior

    n = _check_positive("n", n)
    latent_dim = _check_positive("latent_dim", latent_dim)
    seed = _check_seed(seed)
    batch_size = _check_positive("batch_size", batch_size)
    distribution = latent_prior(latent_distribution, truncation)
    parts = [
        np.asarray(tf.cast(distribution.sample((count, latent_dim), seed=stateless), tf.float32))
        for _, count, stateless in _stateless_seeds(seed, n, batch_size)
    ]
    return np.concatenate(parts, axis=0)


def _generator(gan, use_ema):
    gan.build_models()
    averaged = getattr(gan, "ema_generator", None)
    return averaged if (use_ema and averaged is not None) else gan.generator


def _labels_for(gan, labels, n, name="labels"):
    num_classes = getattr(gan, "num_classes", None)
    if num_classes is None:
        if labels is not None:
            raise ValueError(f"This GAN is unconditional; `{name}` must be None. Received: {labels!r}")
        return None
    if labels is None:
        raise ValueError(
            f"This GAN is class-conditional (num_classes={num_classes}); `{name}` must give "
            "class ids. Received: None."
        )
    array = np.asarray(labels)
    if array.ndim == 0:
        array = np.full((n,), array)
    array = array.reshape(-1)
    if array.shape[0] != n or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"`{name}` must be an integer class id or {n} of them. "
            f"Received dtype {array.dtype}, {array.shape[0]} values."
        )
    if array.min() < 0 or array.max() >= num_classes:
        raise ValueError(
            f"`{name}` must be class ids in [0, {num_classes}). "
            f"Received values in [{array.min()}, {array.max()}]."
        )
    return array.astype(np.int32)


def generate_from_latents(gan, latents, labels=None, use_ema=True, training=False, batch_size=64):
    """Runs a GAN's generator on given latents (and labels); returns float32 images.

    Args:
        gan: a :class:`~ascendgan.training.GAN` with a latent.
        latents: ``(n, latent_dim)`` array.
        labels: for a class-conditional GAN, one class id for all images or ``n`` ids;
            ``None`` for an unconditional one.
        use_ema: use the averaged generator (``gan.ema_generator``) when there is one.
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
    batch_size = _check_positive("batch_size", batch_size)
    labels = _labels_for(gan, labels, n)
    model = _generator(gan, use_ema)
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
    seed = _check_seed(seed)
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
    per_class = _check_positive("per_class", per_class)
    seed = _check_seed(seed)
    if classes is None:
        classes = np.arange(num_classes)
    classes = _labels_for(gan, classes, len(np.atleast_1d(classes)), name="classes")
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
    per_row = _check_positive("per_row", per_row)
    seed = _check_seed(seed)
    truncations = list(truncations)
    if not truncations:
        raise ValueError("`truncations` must hold at least one threshold. Received an empty sequence.")
    labels = _labels_for(gan, label, per_row, name="label")
    rows = []
    for threshold in truncations:
        latents = gan_latents(gan, per_row, seed, truncation=threshold)
        rows.append(generate_from_latents(gan, latents, labels=labels, use_ema=use_ema))
    return image_grid(np.concatenate(rows, axis=0), columns=per_row, padding=padding)


# ----------------------------------------------------------------------------- interpolation


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
    steps = _check_positive("steps", steps)
    if steps < 2:
        raise ValueError(f"`steps` must be >= 2 (the two endpoints). Received: steps={steps}")
    if method not in INTERPOLATION_METHODS:
        raise ValueError(f"`method` must be one of {INTERPOLATION_METHODS}. Received: method={method!r}")
    start_seed = _check_seed(start_seed, "start_seed")
    end_seed = _check_seed(end_seed, "end_seed")
    labels = _labels_for(gan, label, steps, name="label")
    start = gan_latents(gan, 1, start_seed, truncation=truncation)[0]
    end = gan_latents(gan, 1, end_seed, truncation=truncation)[0]
    fractions = np.linspace(0.0, 1.0, steps, dtype=np.float32)
    path = (lerp if method == "linear" else slerp)(start, end, fractions)
    return generate_from_latents(gan, np.asarray(path), labels=labels, use_ema=use_ema,
                                 training=training)


# ----------------------------------------------------------------------------- GIF


def _pillow():
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            "Writing GIFs needs the `pillow` package, which is not installed. Install it with "
            "`pip install pillow` (or `pip install \"ascendgan[images]\"`)."
        ) from error
    return Image


def save_gif(frames, path, duration_ms=100, loop=0):
    """Writes frames as an animated GIF (needs Pillow: ``pip install pillow``).

    Each frame gets its own 256-colour palette (median cut, no dithering): frames with at
    most 256 distinct colours (every grayscale frame) are stored exactly; richer colour
    frames are quantized, as GIF requires. Like :func:`save_png`, the file is written to a
    temporary name and renamed, on any file system ``tf.io.gfile`` supports.

    Args:
        frames: a batch ``(n, height, width, channels)`` of images in [-1, 1] (float) or
            uint8, or a sequence of uint8 pictures of one shape (e.g. grids); 1 or 3
            channels.
        path: the ``.gif`` file to write.
        duration_ms: display time of each frame in milliseconds.
        loop: times to repeat the animation; 0 repeats forever.

    Returns:
        ``path`` (a string).

    Example:

    >>> import os, tempfile
    >>> frames = np.linspace(-1, 1, 4).reshape(4, 1, 1, 1) * np.ones((4, 8, 8, 1))
    >>> path = save_gif(frames, os.path.join(tempfile.mkdtemp(), "fade.gif"))
    >>> os.path.exists(path)
    True
    """
    image_module = _pillow()
    if isinstance(frames, (list, tuple)):
        frames = np.stack([np.asarray(frame) for frame in frames]) if frames else np.zeros((0,))
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[0] == 0 or frames.shape[-1] not in (1, 3):
        raise ValueError(
            "`frames` must be a non-empty batch (n, height, width, 1|3) or a list of such "
            f"pictures. Received shape {frames.shape}."
        )
    if frames.dtype != np.uint8:
        frames = to_uint8(frames)
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, np.integer)) or duration_ms < 1:
        raise ValueError(f"`duration_ms` must be a positive integer. Received: duration_ms={duration_ms!r}")
    if isinstance(loop, bool) or not isinstance(loop, (int, np.integer)) or loop < 0:
        raise ValueError(f"`loop` must be a non-negative integer. Received: loop={loop!r}")
    if frames.shape[-1] == 1:
        pictures = [image_module.fromarray(frame[..., 0], "L") for frame in frames]
    else:
        pictures = [
            image_module.fromarray(frame, "RGB").quantize(
                colors=256, method=image_module.Quantize.MEDIANCUT, dither=image_module.Dither.NONE
            )
            for frame in frames
        ]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=int(duration_ms), loop=int(loop))
    path = str(path)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        tf.io.gfile.makedirs(parent)
    temporary = f"{path}.tmp"
    with tf.io.gfile.GFile(temporary, "wb") as handle:
        handle.write(buffer.getvalue())
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return path


__all__ = [
    "INTERPOLATION_METHODS",
    "class_grid",
    "gan_latents",
    "generate_from_latents",
    "image_grid",
    "interpolate",
    "lerp",
    "prior_latents",
    "sample_grid",
    "save_gif",
    "save_image_grid",
    "save_png",
    "slerp",
    "to_uint8",
    "truncation_grid",
]
