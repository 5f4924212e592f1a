"""Shared ``tf.data`` finishing for every loader: the batching options (:class:`Batching`),
the data-specific argument checks (sizes, channels, limits), scaling of uint8 pixels to
[-1, 1], shuffling with a seed, repeating, batching and prefetching.

Generic argument checks (integers, booleans, choices, seeds) come from
:mod:`ascendgan.validation`; this module holds only what is particular to image data.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
import tensorflow as tf

from ascendgan.data.errors import DataFormatError
from ascendgan.validation import check_bool, check_int, check_seed

AUTOTUNE = tf.data.AUTOTUNE

#: Decorator for the functions given to ``map`` / ``filter`` / ``interleave``: they use
#: explicit ``tf.cond`` and Python-level branches only, so AutoGraph conversion is skipped
#: (faster dataset construction, same graph).
graph_fn = tf.autograph.experimental.do_not_convert


# ----------------------------------------------------------------------------- data-specific checks


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


def check_channels(channels, argument: str = "channels") -> int:
    """1 (greyscale) or 3 (RGB); ValueError naming ``argument`` otherwise."""
    if isinstance(channels, bool) or channels not in (1, 3):
        raise ValueError(
            f"`{argument}` must be 1 (greyscale) or 3 (RGB). Received: {argument}={channels!r}"
        )
    return int(channels)


def check_limit(limit):
    """``None`` or a positive int: how many examples (from the start) a loader keeps."""
    return check_int("limit", limit, minimum=1, allow_none=True)


def check_num_classes(num_classes):
    """``None`` or a positive int: the number of classes labels must fit (``[0, num_classes)``)."""
    return check_int("num_classes", num_classes, minimum=1, allow_none=True)


def check_label_range(labels, num_classes: int, source: str, why: str):
    """DataFormatError naming ``source`` when some ``labels`` are outside
    ``[0, num_classes)``: how many, which values, and ``why`` the bound holds (e.g.
    ``"num_classes=10"``). Returns the labels as an int64 array."""
    labels = np.asarray(labels).reshape(-1)
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise DataFormatError(
            f"{source}: labels must be integer class ids. Found dtype {labels.dtype.name}."
        )
    labels = labels.astype(np.int64)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        values = np.unique(labels[bad])
        shown = ", ".join(str(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")
        raise DataFormatError(
            f"{source}: {int(bad.sum())} of {labels.size} labels are outside [0, {num_classes}) "
            f"({why}). Found label values: {shown}."
        )
    return labels


def apply_limit(items, limit):
    """The first ``limit`` items (all when ``limit`` is None)."""
    return items if limit is None or items is None else items[:limit]


# ----------------------------------------------------------------------------- batching


@dataclasses.dataclass(frozen=True)
class Batching:
    """How a loader turns its examples into batches: the options every dataset function
    takes, checked once (ValueError naming the argument) and applied by the methods below.

    Args:
        batch_size: examples per batch, >= 1.
        shuffle: a full shuffle (buffer = all examples), new every pass.
        seed: seed of the shuffle and of any random jitter (None: different every run).
        drop_remainder: drop the last, smaller batch (fixed batch shapes, as GANs want).
        repeat: repeat forever (otherwise one pass per iteration of the dataset).

    Example:

    >>> batching = Batching(batch_size=2, shuffle=False)
    >>> numbers = batching.shuffle_repeat(tf.data.Dataset.range(5), 5)
    >>> [b.numpy().tolist() for b in batching.batch_prefetch(numbers)]
    [[0, 1], [2, 3]]
    """

    batch_size: int = 64
    shuffle: bool = True
    seed: int | None = None
    drop_remainder: bool = True
    repeat: bool = False

    def __post_init__(self):
        object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size, minimum=1))
        check_bool("shuffle", self.shuffle)
        object.__setattr__(self, "seed", check_seed("seed", self.seed, allow_none=True))
        check_bool("drop_remainder", self.drop_remainder)
        check_bool("repeat", self.repeat)

    @classmethod
    def in_order(cls, batch_size: int) -> Batching:
        """One pass in file order, last batch kept: what the ``*_arrays`` readers use."""
        return cls(batch_size=batch_size, shuffle=False, drop_remainder=False)

    @property
    def deterministic(self) -> bool:
        """Parallel maps keep their order unless the order is random and unseeded anyway."""
        return self.seed is not None or not self.shuffle

    def derived_seed(self, offset: int):
        """A second seed for another random stream (None when unseeded)."""
        return None if self.seed is None else self.seed + offset

    def check_enough(self, count: int, description: str):
        """Raises when ``drop_remainder`` would leave no batch at all (never a silent empty
        set); ``description`` names the data in the message."""
        if self.drop_remainder and count < self.batch_size:
            raise ValueError(
                f"{description} holds {count} images, fewer than batch_size={self.batch_size}: "
                "with drop_remainder=True the dataset would be empty. Pass a smaller "
                "`batch_size` or drop_remainder=False."
            )

    def shuffle_repeat(self, dataset, count: int):
        """Shuffles with a buffer of ``count`` elements (reshuffled every pass) and repeats
        forever when asked."""
        if self.shuffle:
            dataset = dataset.shuffle(max(count, 1), seed=self.seed, reshuffle_each_iteration=True)
        if self.repeat:
            dataset = dataset.repeat()
        return dataset

    def batch_prefetch(self, dataset):
        return dataset.batch(self.batch_size, drop_remainder=self.drop_remainder).prefetch(
            AUTOTUNE
        )


# ----------------------------------------------------------------------------- scaling


def to_signed_unit(images) -> tf.Tensor:
    """Pixels on the 0..255 scale (uint8 or float) -> float32 in [-1, 1] (``x / 127.5 - 1``)."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


# ----------------------------------------------------------------------------- in memory


def arrays_dataset(images: np.ndarray, labels, batching: Batching, description: str):
    """In-memory uint8 images (and int labels, or None) -> batches in [-1, 1].

    The arrays are held once, as tensors; the pipeline shuffles and batches indices and
    gathers a whole batch at a time, so an epoch costs one gather per batch.
    """
    count = int(images.shape[0])
    batching.check_enough(count, description)
    images_t = tf.constant(images)
    labels_t = None if labels is None else tf.constant(np.asarray(labels, dtype=np.int32))
    indices = batching.shuffle_repeat(tf.data.Dataset.range(count), count)
    indices = indices.batch(batching.batch_size, drop_remainder=batching.drop_remainder)

    if labels_t is None:

        def gather(index):
            return to_signed_unit(tf.gather(images_t, index))

    else:

        def gather(index):
            return to_signed_unit(tf.gather(images_t, index)), tf.gather(labels_t, index)

    dataset = indices.map(graph_fn(gather), num_parallel_calls=AUTOTUNE, deterministic=True)
    return dataset.prefetch(AUTOTUNE)
