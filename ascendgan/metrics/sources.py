"""Sample sources: a GAN, a callable, a ``tf.data.Dataset`` or an array, as image batches.

:func:`image_batches` is how every metric reads images: float32 numpy batches in
[-1, 1], a fixed number of them, reproducible by seed for a GAN. A GAN is recognised by
what it does (``generate`` and ``sampling_generator``), not by its class.
"""

from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.latents import SEED_MODULUS
from ascendgan.validation import check_int, check_seed

keras = compat.keras


def is_gan(source):
    """Whether ``source`` samples like an ascendgan ``GAN``: it has ``generate(n, ...)``
    and ``sampling_generator(use_ema)``."""
    return callable(getattr(source, "generate", None)) and callable(
        getattr(source, "sampling_generator", None))


def describe_source(source):
    """A short description of a source for the protocol: ``"GAN <name>"``, ``"array"``, ..."""
    if isinstance(source, tf.data.Dataset):
        return "tf.data.Dataset"
    if isinstance(source, (np.ndarray, tf.Tensor)):
        return "array"
    if is_gan(source):
        return f"GAN {source.name}"
    return f"callable {getattr(source, '__name__', type(source).__name__)}"


def expected_count(source, num_samples):
    """The number of images :func:`image_batches` will deliver, when known in advance
    (arrays, GANs and callables), else ``None`` (a data set may run out early)."""
    if isinstance(source, tf.data.Dataset):
        return None
    if isinstance(source, (np.ndarray, tf.Tensor)):
        length = int(source.shape[0])
        return length if num_samples is None else min(num_samples, length)
    return num_samples


def _images_of(element, argument):
    if isinstance(element, dict):
        if "images" not in element:
            raise ValueError(
                f"`{argument}`: dict elements must have an 'images' key. Received keys {sorted(element)}."
            )
        return element["images"]
    if isinstance(element, (tuple, list)):
        return element[0]
    return element


def _checked(images, argument):
    """A batch as a float32 numpy array; integer images are refused (they are not in [-1, 1])."""
    dtype = tf.as_dtype(images.dtype) if hasattr(images, "dtype") else None
    if dtype is not None and not dtype.is_floating:
        raise TypeError(
            f"`{argument}` must give floating-point images in [-1, 1] (ascendgan's convention). "
            f"Received dtype {dtype.name}; convert with images / 127.5 - 1."
        )
    return np.asarray(tf.cast(images, tf.float32))


def _check_source(source, num_samples, truncation, argument):
    gan = is_gan(source)
    if truncation is not None and not gan:
        raise ValueError(
            f"`truncation` applies to a GAN's latents; `{argument}` is not a GAN. Received: "
            f"truncation={truncation!r}"
        )
    if isinstance(source, (tf.data.Dataset, np.ndarray, tf.Tensor)):
        return
    if isinstance(source, keras.Model) and not gan:
        raise TypeError(
            f"`{argument}` is a Keras model that is not an ascendgan GAN. Pass the GAN, or a "
            "callable such as `lambda n: generator(tf.random.normal((n, latent_dim)))`."
        )
    if not callable(source) and not gan:
        raise TypeError(
            f"`{argument}` must be a GAN, a callable f(batch_size) -> images, a tf.data.Dataset "
            f"or an array of images. Received: {type(source).__name__}"
        )
    if num_samples is None:
        raise ValueError(f"`num_samples` is required when `{argument}` is a generator.")
    if gan and source.latent_dim is None:
        raise TypeError(
            f"`{argument}` is a GAN without a latent (e.g. Pix2Pix): pass a callable "
            "f(batch_size) -> images that runs it on source images."
        )


def _array_batches(array, num_samples, batch_size, argument):
    total = array.shape[0] if num_samples is None else min(num_samples, array.shape[0])
    for start in range(0, total, batch_size):
        yield _checked(array[start:min(start + batch_size, total)], argument)


def _dataset_batches(dataset, num_samples, batch_size, argument):
    spec = _images_of(dataset.element_spec, argument)
    if spec.shape.rank == 3:
        dataset = dataset.batch(batch_size)
    elif spec.shape.rank != 4:
        raise ValueError(
            f"`{argument}` must yield images (h, w, c) or batches (n, h, w, c). Received "
            f"elements of shape {spec.shape}."
        )
    delivered = 0
    for element in dataset:
        images = _checked(_images_of(element, argument), argument)
        if num_samples is not None:
            images = images[:num_samples - delivered]
        if len(images):
            yield images
            delivered += len(images)
        if num_samples is not None and delivered >= num_samples:
            break


def _generated_batches(source, num_samples, batch_size, seed, truncation, use_ema, argument):
    gan = is_gan(source)
    # one integer seed per batch: gan.generate turns it into the latents' stateless seeds
    rng = np.random.default_rng(seed)
    delivered = 0
    while delivered < num_samples:
        count = min(batch_size, num_samples - delivered)
        if gan:
            batch_seed = None if seed is None else int(rng.integers(0, SEED_MODULUS))
            images = source.generate(count, seed=batch_seed, batch_size=count,
                                     truncation=truncation, use_ema=use_ema)
        else:
            images = source(count)
        images = _checked(images, argument)
        if images.ndim == 0 or len(images) == 0:
            raise ValueError(f"`{argument}`({count}) returned no images.")
        images = images[:count]
        yield images
        delivered += len(images)


def image_batches(source, num_samples=None, batch_size=50, seed=0, argument="source",
                  truncation=None, use_ema=True):
    """Yields float32 numpy batches of images from any supported source.

    Args:
        source: a ``GAN`` (``gan.generate(n, seed=...)``; a class-conditional GAN gets
            uniformly random labels), a callable ``f(batch_size) -> images``, a
            ``tf.data.Dataset`` of images, ``(images, labels)`` or ``{"images": ...}``
            (batched or not), or an array ``(n, h, w, c)``.
        num_samples: images to deliver; ``None`` means all of a finite source (required
            for GANs and callables). A finite source with fewer images delivers what it
            has, with a warning.
        batch_size: images per batch.
        seed: seed of the GAN's latents and labels (``None``: not reproducible).
        argument: the argument name used in error messages.
        truncation: a GAN's truncation threshold (``None``: none; GAN sources only).
        use_ema: sample a GAN's averaged generator when it keeps one.

    Example:

    >>> import numpy as np
    >>> [len(b) for b in image_batches(np.zeros((5, 2, 2, 1), "float32"), batch_size=2)]
    [2, 2, 1]
    """
    num_samples = check_int("num_samples", num_samples, minimum=1, allow_none=True)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    seed = check_seed("seed", seed, allow_none=True)
    _check_source(source, num_samples, truncation, argument)
    if isinstance(source, (np.ndarray, tf.Tensor)):
        batches = _array_batches(source, num_samples, batch_size, argument)
    elif isinstance(source, tf.data.Dataset):
        batches = _dataset_batches(source, num_samples, batch_size, argument)
    else:
        batches = _generated_batches(source, num_samples, batch_size, seed, truncation, use_ema,
                                     argument)
    delivered = 0
    for images in batches:
        yield images
        delivered += len(images)
    if num_samples is not None and delivered < num_samples:
        warnings.warn(
            f"`{argument}` ran out after {delivered} images; {num_samples} were requested. "
            f"The metrics use {delivered} (stamped in the protocol).",
            stacklevel=3,
        )


__all__ = ["describe_source", "expected_count", "image_batches", "is_gan"]
