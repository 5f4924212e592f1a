"""Shared ``tf.data`` finishing for every loader: argument checks, scaling of uint8 pixels
to [-1, 1], shuffling with a seed, repeating, batching and prefetching."""

from __future__ import annotations

import numbers

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE

#: Decorator for the functions given to ``map`` / ``filter`` / ``interleave``: they use
#: explicit ``tf.cond`` and Python-level branches only, so AutoGraph conversion is skipped
#: (faster dataset construction, same graph).
graph_fn = tf.autograph.experimental.do_not_convert


# ----------------------------------------------------------------------------- argument checks


def check_int(argument: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(
            f"`{argument}` must be an integer >= {minimum}. Received: {argument}={value!r}"
        )
    return int(value)


def check_bool(argument: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{argument}` must be True or False. Received: {argument}={value!r}")
    return bool(value)


def check_choice(argument: str, value, choices):
    if value not in choices:
        raise ValueError(
            f"`{argument}` must be one of {tuple(choices)}. Received: {argument}={value!r}"
        )
    return value


def check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"`seed` must be None or an integer >= 0. Received: seed={seed!r}")
    return int(seed)


def check_size(argument: str, value, allow_none: bool = True):
    """``None``, an int or a pair of ints -> ``None`` or ``(height, width)``."""
    if value is None and allow_none:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in value
        )
    ):
        return int(value[0]), int(value[1])
    expected = "None, " if allow_none else ""
    raise ValueError(
        f"`{argument}` must be {expected}a positive int or a (height, width) pair of positive "
        f"ints. Received: {argument}={value!r}"
    )


def check_channels(channels) -> int:
    if channels not in (1, 3) or isinstance(channels, bool):
        raise ValueError(
            f"`channels` must be 1 (greyscale) or 3 (RGB). Received: channels={channels!r}"
        )
    return int(channels)


def check_common(batch_size, shuffle, seed, drop_remainder, repeat):
    """Checks the arguments every dataset function takes; returns them normalized."""
    return (
        check_int("batch_size", batch_size),
        check_bool("shuffle", shuffle),
        check_seed(seed),
        check_bool("drop_remainder", drop_remainder),
        check_bool("repeat", repeat),
    )


def check_limit(limit):
    """``None`` or a positive int: how many examples (from the start) a loader keeps."""
    return None if limit is None else check_int("limit", limit)


def apply_limit(items, limit):
    """The first ``limit`` items (all when ``limit`` is None)."""
    return items if limit is None or items is None else items[:limit]


def check_enough(count: int, batch_size: int, drop_remainder: bool, what: str):
    """Raises when ``drop_remainder`` would leave no batch at all (never a silent empty set)."""
    if drop_remainder and count < batch_size:
        raise ValueError(
            f"{what} holds {count} images, fewer than batch_size={batch_size}: with "
            "drop_remainder=True the dataset would be empty. Pass a smaller `batch_size` or "
            "drop_remainder=False."
        )


def deterministic(shuffle: bool, seed) -> bool:
    """Parallel maps keep their order unless the order is random and unseeded anyway."""
    return seed is not None or not shuffle


def derived_seed(seed, offset: int):
    return None if seed is None else seed + offset


# ----------------------------------------------------------------------------- scaling


def to_signed_unit(images) -> tf.Tensor:
    """Pixels on the 0..255 scale (uint8 or float) -> float32 in [-1, 1] (``x / 127.5 - 1``)."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


# ----------------------------------------------------------------------------- finishing


def shuffle_repeat(dataset, count: int, shuffle: bool, seed, repeat: bool):
    """Shuffles with a buffer of ``count`` elements (a full shuffle, reshuffled every
    pass) and repeats forever when asked."""
    if shuffle:
        dataset = dataset.shuffle(max(count, 1), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset


def batch_prefetch(dataset, batch_size: int, drop_remainder: bool):
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(AUTOTUNE)


def arrays_dataset(
    images: np.ndarray,
    labels,
    *,
    batch_size: int,
    shuffle: bool,
    seed,
    drop_remainder: bool,
    repeat: bool,
    what: str,
):
    """In-memory uint8 images (and int labels, or None) -> batches in [-1, 1].

    The arrays are held once, as tensors; the pipeline shuffles and batches indices and
    gathers a whole batch at a time, so an epoch costs one gather per batch.
    """
    count = int(images.shape[0])
    check_enough(count, batch_size, drop_remainder, what)
    images_t = tf.constant(images)
    labels_t = None if labels is None else tf.constant(np.asarray(labels, dtype=np.int32))
    indices = shuffle_repeat(tf.data.Dataset.range(count), count, shuffle, seed, repeat)
    indices = indices.batch(batch_size, drop_remainder=drop_remainder)

    if labels_t is None:

        def gather(index):
            return to_signed_unit(tf.gather(images_t, index))

    else:

        def gather(index):
            return to_signed_unit(tf.gather(images_t, index)), tf.gather(labels_t, index)

    dataset = indices.map(graph_fn(gather), num_parallel_calls=AUTOTUNE, deterministic=True)
    return dataset.prefetch(AUTOTUNE)
