"""DiffAugment (Zhao et al., 2020): differentiable augmentation of real and fake images.

The discriminator sees every image, real or generated, through the same random,
differentiable transformations; the generator's gradient flows back through them. The
three transformations of the paper, applied in the order the policy lists them:

* ``"color"``: per image, add a brightness offset ``U[-0.5, 0.5)``; scale each pixel's
  deviation from its channel mean by a saturation factor ``U[0, 2)``; scale each
  value's deviation from the image mean by a contrast factor ``U[0.5, 1.5)``;
* ``"translation"``: shift each image by an integer number of pixels drawn uniformly
  from ``[-s, s]`` (independently along height and width), ``s = round(size / 8)``, and
  fill the uncovered border with zeros;
* ``"cutout"``: set a ``round(height / 2) x round(width / 2)`` rectangle at a random
  position (it may extend beyond the image) to zero.
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.augment.masks import square_mask
from ascendgan.augment.random_ops import apply_in_training, as_stateless_seed, layer_generator
from ascendgan.validation import check_int, check_number

#: The transformations ``diff_augment`` knows, in the paper's default order.
DIFF_AUGMENT_OPERATIONS = ("color", "translation", "cutout")

# Each operation draws from its own stream, so a policy's draws do not depend on the others.
_STREAMS = {"brightness": 0, "saturation": 1, "contrast": 2, "translation": 3, "cutout": 4}


def _parse_policy(policy):
    """``policy`` (``"color,translation"`` or a list of names) as a tuple of names."""
    if isinstance(policy, str):
        names = [name.strip() for name in policy.split(",") if name.strip()]
    elif isinstance(policy, (list, tuple)) and all(isinstance(name, str) for name in policy):
        names = [name.strip() for name in policy]
    else:
        raise ValueError(
            "`policy` must be a comma-separated string or a list of names from "
            f"{list(DIFF_AUGMENT_OPERATIONS)}. Received: policy={policy!r}"
        )
    unknown = [name for name in names if name not in DIFF_AUGMENT_OPERATIONS]
    if unknown:
        raise ValueError(
            f"`policy` has unknown operation(s) {unknown}; the operations are "
            f"{list(DIFF_AUGMENT_OPERATIONS)}. Received: policy={policy!r}"
        )
    return tuple(names)


def parse_policy(policy):
    """Validates a DiffAugment policy and returns it as a canonical string.

    Args:
        policy: a comma-separated string (``"color, translation"``) or a list of names
            from :data:`DIFF_AUGMENT_OPERATIONS`; ``""`` or ``[]`` for none.

    Returns:
        The names joined by commas without spaces, e.g. ``"color,translation"``.

    Raises:
        ValueError: naming ``policy`` and the valid operations, for unknown names or a
            value that is neither a string nor a list of strings.

    Example:

    >>> from ascendgan.augment.diffaugment import parse_policy
    >>> parse_policy(["color", " cutout"]), parse_policy("translation, cutout")
    ('color,cutout', 'translation,cutout')
    """
    return ",".join(_parse_policy(policy))


def _round_fraction(size, ratio):
    """``int(size * ratio + 0.5)`` for an int32 tensor ``size``."""
    return tf.cast(tf.cast(size, tf.float32) * ratio + 0.5, tf.int32)


def _sample_parameters(shape, policy, seed, translation_ratio=0.125, cutout_ratio=0.5):
    """The random draws of :func:`diff_augment` for images of ``shape`` (a dict of tensors).

    ``brightness``, ``saturation``, ``contrast``: ``(batch,)`` float32;
    ``translation``: ``(batch, 2)`` int32 shifts (rows, columns);
    ``cutout_center``: ``(batch, 2)`` int32 centers, ``cutout_size``: int32 pair.
    """
    shape = tf.cast(shape, tf.int32)
    batch, height, width = shape[0], shape[1], shape[2]
    seeds = tf.random.experimental.stateless_split(seed, len(_STREAMS))
    params = {}
    if "color" in policy:
        params["brightness"] = tf.random.stateless_uniform([batch], seeds[0]) - 0.5
        params["saturation"] = tf.random.stateless_uniform([batch], seeds[1]) * 2.0
        params["contrast"] = tf.random.stateless_uniform([batch], seeds[2]) + 0.5
    if "translation" in policy:
        shift_y = _round_fraction(height, translation_ratio)
        shift_x = _round_fraction(width, translation_ratio)
        pair = tf.random.experimental.stateless_split(seeds[3], 2)
        params["translation"] = tf.stack([
            tf.random.stateless_uniform([batch], pair[0], -shift_y, shift_y + 1, dtype=tf.int32),
            tf.random.stateless_uniform([batch], pair[1], -shift_x, shift_x + 1, dtype=tf.int32),
        ], axis=1)
    if "cutout" in policy:
        size_y = _round_fraction(height, cutout_ratio)
        size_x = _round_fraction(width, cutout_ratio)
        pair = tf.random.experimental.stateless_split(seeds[4], 2)
        params["cutout_size"] = tf.stack([size_y, size_x])
        params["cutout_center"] = tf.stack([
            tf.random.stateless_uniform([batch], pair[0], 0, height + 1 - size_y % 2, dtype=tf.int32),
            tf.random.stateless_uniform([batch], pair[1], 0, width + 1 - size_x % 2, dtype=tf.int32),
        ], axis=1)
    return params


def _per_image(values):
    return values[:, tf.newaxis, tf.newaxis, tf.newaxis]


def _color(x, brightness, saturation, contrast):
    x = x + _per_image(brightness)
    channel_mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    x = (x - channel_mean) * _per_image(saturation) + channel_mean
    image_mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - image_mean) * _per_image(contrast) + image_mean


def _translation(x, shifts):
    """Output pixel ``(i, j)`` is input pixel ``(i - dy, j - dx)``, or 0 outside the image."""
    shape = tf.shape(x)
    height, width = shape[1], shape[2]
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])  # one zero row / column each side
    rows = tf.clip_by_value(tf.range(height)[tf.newaxis] - shifts[:, :1] + 1, 0, height + 1)
    cols = tf.clip_by_value(tf.range(width)[tf.newaxis] - shifts[:, 1:] + 1, 0, width + 1)
    x = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(x, cols, axis=2, batch_dims=1)


def _cutout(x, centers, sizes):
    shape = tf.shape(x)
    mask = square_mask(shape[1], shape[2], centers[:, 0], centers[:, 1], sizes[0], sizes[1])
    return x * (1.0 - tf.cast(mask, x.dtype))


def _apply(x, params, policy):
    """Applies the policy with the given draws to float32 images."""
    for name in policy:
        if name == "color":
            x = _color(x, params["brightness"], params["saturation"], params["contrast"])
        elif name == "translation":
            x = _translation(x, params["translation"])
        else:
            x = _cutout(x, params["cutout_center"], params["cutout_size"])
    return x


def _check_images(images):
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(
            "`images` must be a batch (batch, height, width, channels). "
            f"Received: images.shape={tuple(images.shape)}"
        )
    if not images.dtype.is_floating:
        raise ValueError(
            "`images` must be a floating-point tensor (float16, bfloat16, float32 or "
            f"float64) in [-1, 1]. Received: images.dtype={images.dtype.name}"
        )
    return images


@tf.autograph.experimental.do_not_convert
def diff_augment(images, policy="color,translation,cutout", seed=None,
                 translation_ratio=0.125, cutout_ratio=0.5):
    """Differentiable augmentation of a batch of images, as DiffAugment applies before D.

    Each image of the batch gets its own random draws; apply the function separately to
    the real and to the fake batch (each call draws afresh). The transformations
    (described in this module's docstring) are linear in the pixel values for fixed
    draws, so gradients flow to ``images``: the generator is trained through them.

    Inside a ``tf.function`` train step, pass a fresh stateless seed per call, e.g.
    ``seed=self.seed_generator.make_seeds(1)[:, 0]`` from a ``tf.random.Generator``
    (whose state a checkpoint saves, so resumed runs repeat the same draws).

    Args:
        images: float tensor ``(batch, height, width, channels)`` in [-1, 1]; any float
            dtype (float16 / bfloat16 under mixed precision). Computed in float32.
        policy: the transformations to apply, in order: a comma-separated string or a
            list of names from ``"color"``, ``"translation"``, ``"cutout"``. Defaults to
            all three, the paper's setting for its CIFAR-10 and FFHQ results.
            ``""`` applies nothing.
        seed: ``None`` (fresh draws from TensorFlow's global random ops on every call;
            reproducible under ``tf.random.set_seed``), an int, or a shape-``[2]``
            integer tensor for TensorFlow's stateless random ops (the same seed gives
            the same draws).
        translation_ratio: largest shift as a fraction of the image size. Defaults to
            1/8.
        cutout_ratio: side of the cut-out rectangle as a fraction of the image size.
            Defaults to 1/2.

    Returns:
        A tensor of the shape and dtype of ``images``.

    Example:

    >>> import tensorflow as tf
    >>> from ascendgan.augment import diff_augment
    >>> images = tf.random.uniform((4, 16, 16, 3), -1, 1)
    >>> with tf.GradientTape() as tape:
    ...     tape.watch(images)
    ...     loss = tf.reduce_sum(diff_augment(images, seed=[0, 1]))
    >>> tape.gradient(loss, images).shape
    TensorShape([4, 16, 16, 3])

    Reference:
        Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training",
        NeurIPS 2020 (arXiv:2006.10738).
    """
    policy = _parse_policy(policy)
    translation_ratio = check_number("translation_ratio", translation_ratio, minimum=0, maximum=1)
    cutout_ratio = check_number("cutout_ratio", cutout_ratio, minimum=0, maximum=1)
    images = _check_images(images)
    if not policy:
        return images
    seed = as_stateless_seed(seed)
    params = _sample_parameters(tf.shape(images), policy, seed, translation_ratio, cutout_ratio)
    out = _apply(tf.cast(images, tf.float32), params, policy)
    return tf.cast(out, images.dtype)


@compat.register
class DiffAugment(compat.layers.Layer):
    """Keras layer applying :func:`diff_augment`, e.g. in front of a discriminator.

    Augments when called with ``training=True`` or without a ``training`` argument, and
    passes images through with ``training=False`` (``model.predict`` / ``evaluate``),
    like Keras's random preprocessing layers. Each call draws fresh transformations from
    the layer's own random-number generator, so calling it on the real and on the fake
    batch augments them independently. Differentiable: gradients flow to the inputs.

    Args:
        policy: comma-separated string or list of names from ``"color"``,
            ``"translation"``, ``"cutout"``. Defaults to all three.
        translation_ratio: largest shift as a fraction of the image size. Defaults to
            1/8.
        cutout_ratio: side of the cut-out rectangle as a fraction of the image size.
            Defaults to 1/2.
        seed: int seed of the layer's random-number generator. Defaults to None
            (non-deterministic).
        **kwargs: base layer arguments (``name``, ``dtype``).

    Call arguments:
        inputs: float images ``(batch, height, width, channels)`` in [-1, 1].
        training: Python bool or boolean tensor. Defaults to True.

    Returns:
        The augmented images, in the layer's compute dtype.

    Example:

    >>> import numpy as np
    >>> from ascendgan.augment import DiffAugment
    >>> layer = DiffAugment(policy="translation,cutout", seed=0)
    >>> x = np.random.default_rng(0).uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    >>> layer(x).shape, bool(np.array_equal(layer(x, training=False), x))
    (TensorShape([2, 8, 8, 3]), True)

    Reference:
        Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training",
        NeurIPS 2020 (arXiv:2006.10738).
    """

    def __init__(self, policy="color,translation,cutout", translation_ratio=0.125,
                 cutout_ratio=0.5, seed=None, **kwargs):
        super().__init__(autocast=False, **kwargs)
        self.policy = parse_policy(policy)
        self.translation_ratio = check_number("translation_ratio", translation_ratio, minimum=0, maximum=1)
        self.cutout_ratio = check_number("cutout_ratio", cutout_ratio, minimum=0, maximum=1)
        self.seed = check_int("seed", seed, allow_none=True)
        self._generator = layer_generator(self.seed)

    def call(self, inputs, training=True):
        return apply_in_training(
            inputs, training,
            lambda images, seed: diff_augment(
                images, self.policy, seed=seed, translation_ratio=self.translation_ratio,
                cutout_ratio=self.cutout_ratio,
            ),
            self._generator, self.compute_dtype,
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            policy=self.policy,
            translation_ratio=self.translation_ratio,
            cutout_ratio=self.cutout_ratio,
            seed=self.seed,
        )
        return config
