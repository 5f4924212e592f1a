"""AutoAugment (Cubuk et al., 2019): the paper's learned policies, in TensorFlow ops.

A *policy* is a list of *sub-policies*; each sub-policy is two ``(operation,
probability, magnitude)`` entries, applied in order, each with its probability. For
every image one sub-policy is chosen uniformly at random. The operations are the
image operations of the Python Imaging Library (PIL) the paper searched over; here they
are re-implemented with TensorFlow ops, on 8-bit images (integer values in [0, 255]),
with PIL's arithmetic (the tests compare every operation with PIL's).

Magnitudes are the paper's 10 levels ``0 .. 9``, mapped linearly to each operation's
range (:func:`magnitude_to_value`). The magnitude sets how strong an operation is; for
the operations with a direction (shears, translations, rotation and the four
enhancements) the direction is drawn at random with probability 1/2, as in the authors'
released code, so together the two directions cover the paper's symmetric ranges.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.augment.random_ops import (
    apply_in_training,
    as_stateless_seed,
    image_batch,
    layer_generator,
)
from ascendgan.validation import check_choice, check_int, check_number

#: The operations of the AutoAugment policies, spelled as in the paper.
OPERATIONS = (
    "ShearX",
    "ShearY",
    "TranslateX",
    "TranslateY",
    "Rotate",
    "AutoContrast",
    "Invert",
    "Equalize",
    "Solarize",
    "Posterize",
    "Contrast",
    "Color",
    "Brightness",
    "Sharpness",
)

#: Number of magnitude levels (the paper discretizes every range into 10 values, 0 .. 9).
MAGNITUDE_LEVELS = 10

_GEOMETRIC = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")
_ENHANCE = ("Color", "Contrast", "Brightness", "Sharpness")
_SIGNED = _GEOMETRIC + _ENHANCE
_NO_MAGNITUDE = ("AutoContrast", "Invert", "Equalize")

# Ranges of the paper (Table 1 / appendix): the largest shear, rotation, enhancement
# change, and the translation as a fraction of the image side (150 px of 331).
_MAX_SHEAR = 0.3
_MAX_ROTATE = 30.0
_MAX_ENHANCE = 0.9  # factors 1 ± 0.9 m / 9 span the paper's [0.1, 1.9]
_TRANSLATE_FRACTION = 150.0 / 331.0

# The policies of the paper's appendix: (operation, probability, magnitude) pairs.
# Operations without a magnitude (AutoContrast, Equalize, Invert) keep the magnitude
# the paper lists; it is not used.

#: The 25 sub-policies learned on reduced CIFAR-10.
CIFAR10_POLICY = (
    (("Invert", 0.1, 7), ("Contrast", 0.2, 6)),
    (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
    (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
    (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.5, 8), ("Equalize", 0.9, 2)),
    (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
    (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
    (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
    (("Equalize", 0.6, 5), ("Equalize", 0.5, 1)),
    (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
    (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
    (("Equalize", 0.3, 7), ("AutoContrast", 0.4, 8)),
    (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
    (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
    (("Solarize", 0.5, 2), ("Invert", 0.0, 3)),
    (("Equalize", 0.2, 0), ("AutoContrast", 0.6, 0)),
    (("Equalize", 0.2, 8), ("Equalize", 0.6, 4)),
    (("Color", 0.9, 9), ("Equalize", 0.6, 6)),
    (("AutoContrast", 0.8, 4), ("Solarize", 0.2, 8)),
    (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
    (("Solarize", 0.4, 5), ("AutoContrast", 0.9, 3)),
    (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.9, 2), ("Solarize", 0.8, 3)),
    (("Equalize", 0.8, 8), ("Invert", 0.1, 3)),
    (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, 1)),
)

#: The 25 sub-policies learned on reduced SVHN.
SVHN_POLICY = (
    (("ShearX", 0.9, 4), ("Invert", 0.2, 3)),
    (("ShearY", 0.9, 8), ("Invert", 0.7, 5)),
    (("Equalize", 0.6, 5), ("Solarize", 0.6, 6)),
    (("Invert", 0.9, 3), ("Equalize", 0.6, 3)),
    (("Equalize", 0.6, 1), ("Rotate", 0.9, 3)),
    (("ShearX", 0.9, 4), ("AutoContrast", 0.8, 3)),
    (("ShearY", 0.9, 8), ("Invert", 0.4, 5)),
    (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
    (("Invert", 0.9, 6), ("AutoContrast", 0.8, 1)),
    (("Equalize", 0.6, 3), ("Rotate", 0.9, 3)),
    (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)),
    (("ShearY", 0.8, 8), ("Invert", 0.7, 4)),
    (("Equalize", 0.9, 5), ("TranslateY", 0.6, 6)),
    (("Invert", 0.9, 4), ("Equalize", 0.6, 7)),
    (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)),
    (("Invert", 0.8, 5), ("TranslateY", 0.0, 2)),
    (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)),
    (("Invert", 0.6, 4), ("Rotate", 0.8, 4)),
    (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)),
    (("ShearX", 0.1, 6), ("Invert", 0.6, 5)),
    (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)),
    (("ShearY", 0.8, 4), ("Invert", 0.8, 8)),
    (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)),
    (("ShearY", 0.8, 5), ("AutoContrast", 0.7, 3)),
    (("ShearX", 0.7, 2), ("Invert", 0.1, 5)),
)

#: The 25 sub-policies learned on reduced ImageNet (the paper's table repeats five of
#: them; the repeats are kept, so those five are chosen twice as often).
IMAGENET_POLICY = (
    (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
    (("Solarize", 0.6, 5), ("AutoContrast", 0.6, 5)),
    (("Equalize", 0.8, 8), ("Equalize", 0.6, 3)),
    (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
    (("Equalize", 0.4, 7), ("Solarize", 0.2, 4)),
    (("Equalize", 0.4, 4), ("Rotate", 0.8, 8)),
    (("Solarize", 0.6, 3), ("Equalize", 0.6, 7)),
    (("Posterize", 0.8, 5), ("Equalize", 1.0, 2)),
    (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
    (("Equalize", 0.6, 8), ("Posterize", 0.4, 6)),
    (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
    (("Rotate", 0.4, 9), ("Equalize", 0.6, 2)),
    (("Equalize", 0.0, 7), ("Equalize", 0.8, 8)),
    (("Invert", 0.6, 4), ("Equalize", 1.0, 8)),
    (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
    (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
    (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
    (("Sharpness", 0.4, 7), ("Invert", 0.6, 8)),
    (("ShearX", 0.6, 5), ("Equalize", 1.0, 9)),
    (("Color", 0.4, 0), ("Equalize", 0.6, 3)),
    (("Equalize", 0.4, 7), ("Solarize", 0.2, 4)),
    (("Solarize", 0.6, 5), ("AutoContrast", 0.6, 5)),
    (("Invert", 0.6, 4), ("Equalize", 1.0, 8)),
    (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
    (("Equalize", 0.8, 8), ("Equalize", 0.6, 3)),
)

#: The named policies: ``"cifar10"``, ``"svhn"``, ``"imagenet"``.
POLICIES = {"cifar10": CIFAR10_POLICY, "svhn": SVHN_POLICY, "imagenet": IMAGENET_POLICY}


# ----------------------------------------------------------------------------- validation


def _check_policy(policy):
    """``(name_or_None, sub_policies)``: a named policy or a validated custom one."""
    if isinstance(policy, str):
        if policy not in POLICIES:
            raise ValueError(f"`policy` must be one of {sorted(POLICIES)} or a list of sub-policies. "
                             f"Received: policy={policy!r}")
        return policy, POLICIES[policy]
    expected = (f"`policy` must be one of {sorted(POLICIES)} or a non-empty list of sub-policies, each a "
                "non-empty list of (operation, probability, magnitude) entries. ")
    if not isinstance(policy, (list, tuple)) or not policy:
        raise ValueError(expected + f"Received: policy={policy!r}")
    checked = []
    for i, sub_policy in enumerate(policy):
        if not isinstance(sub_policy, (list, tuple)) or not sub_policy:
            raise ValueError(expected + f"Received: policy[{i}]={sub_policy!r}")
        entries = []
        for j, entry in enumerate(sub_policy):
            where = f"policy[{i}][{j}]"
            if not isinstance(entry, (list, tuple)) or len(entry) != 3:
                raise ValueError(expected + f"Received: {where}={entry!r}")
            operation, probability, magnitude = entry
            check_choice(f"{where}[0]", operation, OPERATIONS)
            if (isinstance(probability, bool) or not isinstance(probability, numbers.Real)
                    or not 0 <= probability <= 1):
                raise ValueError(f"`{where}[1]` (probability) must be in [0, 1]. Received: {probability!r}")
            if (isinstance(magnitude, bool) or not isinstance(magnitude, numbers.Real)
                    or not 0 <= magnitude <= MAGNITUDE_LEVELS - 1):
                raise ValueError(f"`{where}[2]` (magnitude) must be in [0, {MAGNITUDE_LEVELS - 1}]. "
                                 f"Received: {magnitude!r}")
            entries.append((operation, float(probability), magnitude))
        checked.append(tuple(entries))
    return None, tuple(checked)


def _check_value_range(value_range):
    if (not isinstance(value_range, (list, tuple)) or len(value_range) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value_range)
            or not value_range[0] < value_range[1]):
        raise ValueError(
            "`value_range` must be a pair (low, high) with low < high, the range of the input "
            f"pixel values, e.g. (-1, 1) or (0, 255). Received: value_range={value_range!r}"
        )
    return (float(value_range[0]), float(value_range[1]))


# ----------------------------------------------------------------------------- magnitudes


def magnitude_to_value(operation, magnitude, image_size=None, sign=1):
    """The argument an operation gets at a magnitude level (the paper's linear mapping).

    With ``s = magnitude / 9`` (10 levels, 0 .. 9):

    | operation | argument | value |
    | --- | --- | --- |
    | ShearX, ShearY | shear coefficient | ``sign · 0.3 · s`` |
    | TranslateX, TranslateY | pixels | ``sign · (150 / 331) · width (height) · s`` |
    | Rotate | degrees, counter-clockwise | ``sign · 30 · s`` |
    | Color, Contrast, Brightness, Sharpness | enhancement factor | ``1 + sign · 0.9 · s`` |
    | Posterize | bits kept | ``round(8 − 4 · s)`` (8 .. 4) |
    | Solarize | threshold | ``256 · (1 − s)`` (256 .. 0) |
    | AutoContrast, Equalize, Invert | none | ``None`` |

    The paper gives its ranges for 331x331 ImageNet images; translations scale with
    the image (up to 150 of 331 pixels: 14.5 pixels on 32x32 images).

    Args:
        operation: a name from :data:`OPERATIONS`.
        magnitude: level in [0, 9] (fractional levels interpolate).
        image_size: ``(height, width)``; needed for TranslateX / TranslateY.
        sign: ``1`` or ``-1``, the direction of the operations that have one.

    Returns:
        The argument, a Python float (an int for Posterize; None for operations
        without an argument).

    Example:

    >>> from ascendgan.augment import magnitude_to_value
    >>> magnitude_to_value("Rotate", 9), round(magnitude_to_value("Color", 9, sign=-1), 3)
    (30.0, 0.1)
    >>> magnitude_to_value("Posterize", 9), round(magnitude_to_value("TranslateX", 9, (32, 32)), 3)
    (4, 14.502)

    Reference:
        Cubuk et al., "AutoAugment: Learning Augmentation Strategies from Data",
        CVPR 2019 (arXiv:1805.09501), Table 1 and appendix.
    """
    check_choice("operation", operation, OPERATIONS)
    check_number("magnitude", magnitude, minimum=0, maximum=MAGNITUDE_LEVELS - 1)
    if sign not in (1, -1):
        raise ValueError(f"`sign` must be 1 or -1. Received: sign={sign!r}")
    strength = magnitude / (MAGNITUDE_LEVELS - 1)
    if operation in ("ShearX", "ShearY"):
        return sign * _MAX_SHEAR * strength
    if operation in ("TranslateX", "TranslateY"):
        if (not isinstance(image_size, (list, tuple)) or len(image_size) != 2
                or not all(isinstance(v, numbers.Real) and v > 0 for v in image_size)):
            raise ValueError(
                f"{operation} needs `image_size=(height, width)` to scale its range. "
                f"Received: image_size={image_size!r}"
            )
        side = image_size[1] if operation == "TranslateX" else image_size[0]
        return sign * _TRANSLATE_FRACTION * side * strength
    if operation == "Rotate":
        return sign * _MAX_ROTATE * strength
    if operation in _ENHANCE:
        return 1.0 + sign * _MAX_ENHANCE * strength
    if operation == "Posterize":
        return int(round(8 - 4 * strength))
    if operation == "Solarize":
        return 256.0 * (1.0 - strength)
    return None


# ----------------------------------------------------------------------------- operations
# Every operation takes float32 images (batch, height, width, channels) holding integer
# values in [0, 255] and per-image arguments of shape (batch,), and returns the same.


def _per_image(values):
    return values[:, tf.newaxis, tf.newaxis, tf.newaxis]


def _blend(degenerate, images, factor):
    """PIL's ``Image.blend(degenerate, images, factor)`` on 8-bit images.

    PIL computes ``degenerate + factor · (images − degenerate)`` in single precision and
    truncates to [0, 255]; the same float32 operations give the same bits.
    """
    blended = degenerate + _per_image(factor) * (images - degenerate)
    return tf.clip_by_value(tf.floor(blended), 0.0, 255.0)


def _grayscale(images):
    """PIL's RGB → L conversion: ``(19595 R + 38470 G + 7471 B + 2^15) >> 16``."""
    if images.shape[-1] == 1:
        return images
    pixels = tf.cast(images, tf.int32)
    weighted = pixels[..., 0] * 19595 + pixels[..., 1] * 38470 + pixels[..., 2] * 7471 + 32768
    return tf.cast(tf.bitwise.right_shift(weighted, 16), tf.float32)[..., tf.newaxis]


def _invert(images, _):
    return 255.0 - images


def _solarize(images, threshold):
    return tf.where(images < _per_image(threshold), images, 255.0 - images)


def _posterize(images, bits):
    step = tf.pow(2.0, 8.0 - tf.round(bits))
    return tf.floor(images / _per_image(step)) * _per_image(step)


def _auto_contrast(images, _):
    """Per channel, maps [min, max] linearly onto [0, 255] (PIL's arithmetic, in float64)."""
    low = tf.reduce_min(images, axis=[1, 2], keepdims=True)
    high = tf.reduce_max(images, axis=[1, 2], keepdims=True)
    flat = high <= low
    low64 = tf.cast(low, tf.float64)
    scale = 255.0 / tf.where(flat, tf.ones_like(low64), tf.cast(high, tf.float64) - low64)
    offset = -low64 * scale
    stretched = tf.cast(images, tf.float64) * scale + offset
    stretched = tf.cast(tf.clip_by_value(tf.floor(stretched), 0.0, 255.0), tf.float32)
    return tf.where(flat, images, stretched)


def _equalize(images, _):
    """Per-channel histogram equalization with PIL's look-up table."""
    shape = tf.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    pixels = tf.cast(images, tf.int32)
    rows = tf.reshape(tf.transpose(pixels, [0, 3, 1, 2]), [batch * channels, height * width])
    histogram = tf.math.bincount(rows, minlength=256, maxlength=256, axis=-1)
    top_count = tf.gather(histogram, tf.reduce_max(rows, axis=1), batch_dims=1)
    step = (height * width - top_count) // 255
    below = tf.cumsum(histogram, axis=1, exclusive=True)
    lut = (step[:, tf.newaxis] // 2 + below) // tf.maximum(step, 1)[:, tf.newaxis]
    lut = tf.where(step[:, tf.newaxis] > 0, tf.minimum(lut, 255), tf.range(256)[tf.newaxis])
    equalized = tf.gather(lut, rows, batch_dims=1)
    equalized = tf.transpose(tf.reshape(equalized, [batch, channels, height, width]), [0, 2, 3, 1])
    return tf.cast(equalized, tf.float32)


def _color(images, factor):
    return _blend(_grayscale(images), images, factor)


def _contrast(images, factor):
    """Blend with the (rounded) mean of the grayscale image."""
    gray = tf.cast(_grayscale(images), tf.int64)
    total = tf.reduce_sum(gray, axis=[1, 2, 3])
    count = tf.cast(tf.shape(images)[1] * tf.shape(images)[2], tf.int64)
    mean = (2 * total + count) // (2 * count)  # int(mean + 0.5)
    return _blend(_per_image(tf.cast(mean, tf.float32)), images, factor)


def _brightness(images, factor):
    return _blend(tf.zeros_like(images), images, factor)


def _sharpness(images, factor):
    """Blend with PIL's SMOOTH filter ([[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13, border kept)."""
    channels = images.shape[-1]
    kernel = tf.constant([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]])
    kernel = tf.tile(kernel[:, :, tf.newaxis, tf.newaxis], [1, 1, channels, 1])
    sums = tf.nn.depthwise_conv2d(images, kernel, [1, 1, 1, 1], "VALID")  # exact integer sums
    smooth = tf.floor((sums + 6.0) / 13.0)  # round half up of sums / 13 (never a tie)
    smooth = tf.pad(smooth, [[0, 0], [1, 1], [1, 1], [0, 0]])
    shape = tf.shape(images)
    rows = tf.range(shape[1])
    cols = tf.range(shape[2])
    inner_rows = (rows > 0) & (rows < shape[1] - 1)
    inner_cols = (cols > 0) & (cols < shape[2] - 1)
    inner = (inner_rows[:, tf.newaxis] & inner_cols[tf.newaxis, :])[tf.newaxis, :, :, tf.newaxis]
    degenerate = tf.where(inner, smooth, images)
    return _blend(degenerate, images, factor)


_PIXEL_OPERATIONS = {
    "AutoContrast": _auto_contrast,
    "Invert": _invert,
    "Equalize": _equalize,
    "Solarize": _solarize,
    "Posterize": _posterize,
    "Contrast": _contrast,
    "Color": _color,
    "Brightness": _brightness,
    "Sharpness": _sharpness,
}


def _affine_matrices(operations, values, height, width):
    """PIL-style inverse affine maps ``(a, b, c, d, e, f)`` (float64, each ``(batch,)``).

    For each output pixel center ``(x + 0.5, y + 0.5)`` the input point is
    ``(a x' + b y' + c, d x' + e y' + f)``; ``operations`` holds indices into
    :data:`OPERATIONS` (anything else gives the identity).
    """
    values = tf.cast(values, tf.float64)
    ones = tf.ones_like(values)
    zeros = tf.zeros_like(values)

    def is_(name):
        return tf.equal(operations, OPERATIONS.index(name))

    theta = -values * (math.pi / 180.0)
    cos, sin = tf.cos(theta), tf.sin(theta)
    center_x = tf.cast(width, tf.float64) / 2.0
    center_y = tf.cast(height, tf.float64) / 2.0
    rotate = is_("Rotate")
    a = tf.where(rotate, cos, ones)
    b = tf.where(rotate, sin, tf.where(is_("ShearX"), values, zeros))
    c = tf.where(rotate, center_x - cos * center_x - sin * center_y,
                 tf.where(is_("TranslateX"), values, zeros))
    d = tf.where(rotate, -sin, tf.where(is_("ShearY"), values, zeros))
    e = tf.where(rotate, cos, ones)
    f = tf.where(rotate, center_y + sin * center_x - cos * center_y,
                 tf.where(is_("TranslateY"), values, zeros))
    return a, b, c, d, e, f


def _transform(images, matrices, fill_value):
    """Samples ``images`` at PIL-style affine maps with nearest-neighbour interpolation.

    PIL takes pixel ``floor(p)`` of the input point ``p`` of an output pixel center;
    TensorFlow's projective transform takes pixel ``round(q)`` of the point ``q`` of an
    output pixel index. Shifting the map by half a pixel on both sides makes them agree.
    """
    a, b, c, d, e, f = matrices
    zeros = tf.zeros_like(a)
    transforms = tf.stack([
        a, b, c + 0.5 * a + 0.5 * b - 0.5,
        d, e, f + 0.5 * d + 0.5 * e - 0.5,
        zeros, zeros,
    ], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=tf.cast(transforms, tf.float32),
        output_shape=tf.shape(images)[1:3],
        fill_value=tf.constant(fill_value, tf.float32),
        interpolation="NEAREST",
        fill_mode="CONSTANT",
    )


def _as_values(value, batch, operation):
    if value is None:
        if operation in _NO_MAGNITUDE:
            return tf.zeros([batch], tf.float32)
        raise ValueError(f"{operation} needs a `value` (see magnitude_to_value). Received: value=None")
    value = tf.cast(tf.convert_to_tensor(value), tf.float32)
    if value.shape.rank == 0:
        return tf.fill([batch], value)
    if value.shape.rank != 1:
        raise ValueError(
            "`value` must be a scalar or one value per image, shape (batch,). "
            f"Received: value.shape={tuple(value.shape)}"
        )
    return value


def _check_images(images, name):
    batch, single = image_batch(images, name)
    channels = batch.shape[-1]
    if channels not in (1, 3):
        raise ValueError(
            f"`{name}` must have 1 (grayscale) or 3 (RGB) channels, known statically. "
            f"Received: {name}.shape={tuple(batch.shape)}"
        )
    if not (batch.dtype.is_floating or batch.dtype.is_integer):
        raise ValueError(f"`{name}` must have a real or integer dtype. Received: {batch.dtype.name}")
    return batch, single


def _from_255(images, dtype):
    if dtype.is_integer:
        return tf.cast(tf.clip_by_value(tf.round(images), dtype.min, dtype.max), dtype)
    return tf.cast(images, dtype)


@tf.autograph.experimental.do_not_convert
def apply_operation(images, operation, value=None, fill_value=128.0):
    """Applies one AutoAugment operation, with an explicit argument, to 8-bit images.

    The operations re-implement PIL's on integer images in [0, 255]; the pixel
    operations give PIL's exact results, the geometric ones sample with
    nearest-neighbour interpolation at PIL's pixel centers.

    | operation | argument (``value``) | PIL equivalent |
    | --- | --- | --- |
    | ShearX / ShearY | shear ``k``: input ``x + k·y`` / ``y + k·x`` | ``transform(AFFINE, (1, k, 0, 0, 1, 0))`` / ``(1, 0, 0, k, 1, 0)`` |
    | TranslateX / TranslateY | pixels ``t``: input ``x + t`` / ``y + t`` | ``transform(AFFINE, (1, 0, t, 0, 1, 0))`` / ``(1, 0, 0, 0, 1, t)`` |
    | Rotate | degrees, counter-clockwise about the center | ``rotate(degrees)`` |
    | AutoContrast | none | ``ImageOps.autocontrast`` |
    | Invert | none | ``ImageOps.invert`` |
    | Equalize | none | ``ImageOps.equalize`` |
    | Solarize | threshold: values >= it are inverted | ``ImageOps.solarize`` |
    | Posterize | bits kept (1 .. 8) | ``ImageOps.posterize`` |
    | Contrast, Color, Brightness, Sharpness | enhancement factor | ``ImageEnhance.*(image).enhance`` |

    Pixels that geometric operations bring in from outside the image get ``fill_value``.

    Args:
        images: an image ``(height, width, channels)`` or a batch, with 1 or 3
            channels, holding values in [0, 255] (uint8 or any numeric dtype; values are
            rounded to integers first, as PIL works on 8-bit images).
        operation: a name from :data:`OPERATIONS`.
        value: the argument: a number, or one per image (shape ``(batch,)``); ignored
            (may be None) for AutoContrast, Equalize and Invert.
            :func:`magnitude_to_value` maps a magnitude level to it.
        fill_value: value in [0, 255] for pixels brought in from outside the image.
            Defaults to 128 (mid-gray).

    Returns:
        The result, of the shape and dtype of ``images`` (integer values in [0, 255];
        float inputs give float outputs).

    Example:

    >>> import numpy as np
    >>> from ascendgan.augment import apply_operation
    >>> image = np.array([[[0], [100]], [[200], [255]]], "uint8")
    >>> apply_operation(image, "Solarize", 128).numpy()[..., 0]
    array([[  0, 100],
           [ 55,   0]], dtype=uint8)
    """
    check_choice("operation", operation, OPERATIONS)
    fill_value = check_number("fill_value", fill_value, minimum=0, maximum=255)
    batch, single = _check_images(images, "images")
    dtype = batch.dtype
    x = tf.clip_by_value(tf.round(tf.cast(batch, tf.float32)), 0.0, 255.0)
    values = _as_values(value, tf.shape(x)[0], operation)
    if operation in _GEOMETRIC:
        ids = tf.fill(tf.shape(values), OPERATIONS.index(operation))
        shape = tf.shape(x)
        out = _transform(x, _affine_matrices(ids, values, shape[1], shape[2]), fill_value)
    else:
        out = _PIXEL_OPERATIONS[operation](x, values)
    out = _from_255(out, dtype)
    return out[0] if single else out


# ----------------------------------------------------------------------------- policies


class _PolicyTable:
    """A policy as tensors: operation ids, probabilities, and the argument for each sign."""

    def __init__(self, sub_policies):
        slots = max(len(sub_policy) for sub_policy in sub_policies)
        count = len(sub_policies)
        self.slots = slots
        self.count = count
        ids = np.full((count, slots), -1, np.int32)
        probabilities = np.zeros((count, slots), np.float32)
        positive = np.zeros((count, slots), np.float64)
        negative = np.zeros((count, slots), np.float64)
        for i, sub_policy in enumerate(sub_policies):
            for j, (operation, probability, magnitude) in enumerate(sub_policy):
                ids[i, j] = OPERATIONS.index(operation)
                probabilities[i, j] = probability
                size = (1.0, 1.0)  # translations are stored as fractions of the side
                for table, sign in ((positive, 1), (negative, -1)):
                    value = magnitude_to_value(operation, magnitude, size, sign)
                    table[i, j] = 0.0 if value is None else value
        self.operations = sorted({entry[0] for sub_policy in sub_policies for entry in sub_policy},
                                 key=OPERATIONS.index)
        self.ids = ids
        self.probabilities = probabilities
        # Computed in float64 like PIL's Python-side arguments, then rounded once to float32.
        self.positive = positive.astype(np.float32)
        self.negative = negative.astype(np.float32)


def _on_selected(x, result, selected, compute):
    """``result`` with the images where ``selected`` replaced by ``compute(indices)``.

    Only the selected images are computed (gathered, transformed, scattered back), and
    nothing at all when none is selected.
    """

    def apply():
        indices = tf.where(selected)
        return tf.tensor_scatter_nd_update(result, indices, compute(indices[:, 0]))

    return tf.cond(tf.reduce_any(selected), apply, lambda: result)


def _apply_slot(x, ids, values, operations, fill_value):
    """Applies, to each image, the operation ``ids[i]`` (-1: none) with ``values[i]``."""
    result = x
    for name in operations:
        if name in _GEOMETRIC:
            continue

        def compute(indices, name=name):
            return _PIXEL_OPERATIONS[name](tf.gather(x, indices), tf.gather(values, indices))

        result = _on_selected(x, result, tf.equal(ids, OPERATIONS.index(name)), compute)
    geometric_ids = [OPERATIONS.index(name) for name in operations if name in _GEOMETRIC]
    if geometric_ids:
        shape = tf.shape(x)
        size = tf.cast(shape[1:3], tf.float32)
        scale = tf.where(tf.equal(ids, OPERATIONS.index("TranslateX")), size[1],
                         tf.where(tf.equal(ids, OPERATIONS.index("TranslateY")), size[0], 1.0))

        def compute_geometric(indices):
            matrices = _affine_matrices(tf.gather(ids, indices), tf.gather(values * scale, indices),
                                        shape[1], shape[2])
            return _transform(tf.gather(x, indices), matrices, fill_value)

        selected = tf.reduce_any(tf.equal(ids[:, tf.newaxis], geometric_ids), axis=1)
        result = _on_selected(x, result, selected, compute_geometric)
    return result


def _apply_policy(x, table, fill_value, seed):
    """Applies one random sub-policy of ``table`` to each 8-bit float32 image of ``x``."""
    batch = tf.shape(x)[0]
    seeds = tf.random.experimental.stateless_split(seed, 3)
    chosen = tf.random.stateless_uniform([batch], seeds[0], 0, table.count, dtype=tf.int32)
    draws = tf.random.stateless_uniform([batch, table.slots], seeds[1])
    signs = tf.random.stateless_uniform([batch, table.slots], seeds[2], 0, 2, dtype=tf.int32)
    ids = tf.gather(tf.constant(table.ids), chosen)
    probabilities = tf.gather(tf.constant(table.probabilities), chosen)
    values = tf.where(tf.equal(signs, 1), tf.gather(tf.constant(table.positive), chosen),
                      tf.gather(tf.constant(table.negative), chosen))
    ids = tf.where(draws < probabilities, ids, -1)

    def apply_slot(slot, x):  # a loop, so that graphs hold one copy of the operations
        slot_ids = tf.gather(ids, slot, axis=1)
        slot_values = tf.gather(values, slot, axis=1)
        return slot + 1, _apply_slot(x, slot_ids, slot_values, table.operations, fill_value)

    _, x = tf.while_loop(lambda slot, _: slot < table.slots, apply_slot, (tf.constant(0), x))
    return x


@tf.autograph.experimental.do_not_convert
def auto_augment(images, policy="cifar10", value_range=(-1, 1), fill_value=128.0, seed=None):
    """Applies an AutoAugment policy: one random sub-policy per image.

    For each image, a sub-policy is drawn uniformly; each of its operations is applied
    with its probability, at its magnitude (:func:`magnitude_to_value`), in a random
    direction where the operation has one. Images are converted from ``value_range``
    to the 8-bit scale and rounded to integers (AutoAugment's operations are defined on
    8-bit images), augmented, and converted back.

    Args:
        images: an image ``(height, width, channels)`` or a batch, 1 or 3 channels,
            uint8 or float.
        policy: ``"cifar10"``, ``"svhn"``, ``"imagenet"`` (the paper's policies,
            :data:`POLICIES`), or your own list of sub-policies, each a list of
            ``(operation, probability, magnitude)``. Defaults to ``"cifar10"``.
        value_range: ``(low, high)`` of the input values: ``(-1, 1)`` (ascendgan's
            convention, the default) or ``(0, 255)`` (e.g. decoded JPEGs).
        fill_value: value on the 0-255 scale of the pixels geometric operations bring
            in from outside the image. Defaults to 128 (mid-gray).
        seed: ``None`` (fresh draws on every call, reproducible under
            ``tf.random.set_seed``), an int, or a shape-``[2]`` integer tensor for
            TensorFlow's stateless random ops. In ``tf.data`` with parallel ``map``, a
            per-element seed (e.g. from ``Dataset.enumerate``) makes every image's
            augmentation reproducible.

    Returns:
        Augmented images of the shape and dtype of ``images``, in ``value_range``.

    Example:

    >>> import numpy as np
    >>> from ascendgan.augment import auto_augment
    >>> images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype("uint8")
    >>> out = auto_augment(images, "svhn", value_range=(0, 255), seed=0)
    >>> out.dtype.name, out.shape
    ('uint8', TensorShape([8, 32, 32, 3]))

    Reference:
        Cubuk et al., "AutoAugment: Learning Augmentation Strategies from Data",
        CVPR 2019 (arXiv:1805.09501).
    """
    _, sub_policies = _check_policy(policy)
    low, high = _check_value_range(value_range)
    fill_value = check_number("fill_value", fill_value, minimum=0, maximum=255)
    batch, single = _check_images(images, "images")
    dtype = batch.dtype
    seed = as_stateless_seed(seed)
    x = (tf.cast(batch, tf.float32) - low) * (255.0 / (high - low))
    x = tf.clip_by_value(tf.round(x), 0.0, 255.0)
    x = _apply_policy(x, _PolicyTable(sub_policies), fill_value, seed)
    x = x * ((high - low) / 255.0) + low
    out = _from_255(x, dtype) if dtype.is_integer else tf.cast(x, dtype)
    return out[0] if single else out


def _policy_config(name, sub_policies):
    if name is not None:
        return name
    return [[list(entry) for entry in sub_policy] for sub_policy in sub_policies]


@compat.register
class AutoAugment(compat.layers.Layer):
    """Keras preprocessing layer applying an AutoAugment policy (:func:`auto_augment`).

    Each image of a batch gets its own randomly chosen sub-policy, probabilities and
    directions. A random layer without weights, following Keras's random preprocessing
    layers: it augments when called with ``training=True`` or without a ``training``
    argument (e.g. ``dataset.map(layer)``), and passes images through when Keras calls
    it with ``training=False`` (``model.predict`` / ``evaluate``). Draws come from the
    layer's own random-number generator, so two layers with the same ``seed`` give the
    same sequence of augmentations (in ``tf.data``, use a deterministic ``map`` for that).

    Works on single images (``dataset.map`` before ``batch``) and on batches; the
    operations run only when at least one image of the batch needs them.

    Args:
        policy: ``"cifar10"``, ``"svhn"``, ``"imagenet"`` or a list of sub-policies
            (see :func:`auto_augment`). Defaults to ``"cifar10"``.
        value_range: ``(low, high)`` of the input values. Defaults to ``(-1, 1)``;
            use ``(0, 255)`` for decoded 8-bit images.
        fill_value: value on the 0-255 scale of the pixels geometric operations bring
            in from outside the image. Defaults to 128.
        seed: int seed of the layer's random-number generator. Defaults to None
            (non-deterministic).
        **kwargs: base layer arguments (``name``, ``dtype``).

    Call arguments:
        inputs: an image ``(height, width, channels)`` or a batch, 1 or 3 channels,
            in ``value_range``.
        training: Python bool or boolean tensor. Defaults to True.

    Returns:
        The augmented images in ``value_range``, in the layer's compute dtype (float32
        by default), with values on the 8-bit grid of ``value_range``.

    Example:

    >>> import numpy as np
    >>> from ascendgan.augment import AutoAugment
    >>> layer = AutoAugment("cifar10", value_range=(0, 255), seed=0)
    >>> images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("uint8")
    >>> layer(images).shape
    TensorShape([4, 32, 32, 3])

    Reference:
        Cubuk et al., "AutoAugment: Learning Augmentation Strategies from Data",
        CVPR 2019 (arXiv:1805.09501).
    """

    def __init__(self, policy="cifar10", value_range=(-1, 1), fill_value=128.0, seed=None, **kwargs):
        super().__init__(autocast=False, **kwargs)
        name, sub_policies = _check_policy(policy)
        self.policy = _policy_config(name, sub_policies)
        self.value_range = _check_value_range(value_range)
        self.fill_value = check_number("fill_value", fill_value, minimum=0, maximum=255)
        self.seed = check_int("seed", seed, allow_none=True)
        self._generator = layer_generator(self.seed)

    def call(self, inputs, training=True):
        return apply_in_training(
            inputs, training,
            lambda images, seed: auto_augment(
                images, self.policy, self.value_range, self.fill_value, seed=seed
            ),
            self._generator, self.compute_dtype,
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            policy=self.policy,
            value_range=list(self.value_range),
            fill_value=self.fill_value,
            seed=self.seed,
        )
        return config
