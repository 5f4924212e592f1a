"""PatchGANDiscriminator: the pix2pix convolutional "PatchGAN" discriminator."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.models._common import (
    apply_layer,
    batch_norm_layer,
    build_layer,
    check_batch_norm,
    is_shape_list,
    shape_tuple,
    weight_initializer,
)
from ascendgan.validation import check_bool, check_int

keras = compat.keras
layers = compat.layers

KERNEL_SIZE = 4


def _conv_specs(num_layers, base_filters):
    """``(filters, stride, batch_norm)`` of each convolution, input to output."""
    specs = [(base_filters, 2, False)]
    for n in range(1, num_layers):
        specs.append((base_filters * min(2**n, 8), 2, True))
    specs.append((base_filters * min(2**num_layers, 8), 1, True))
    specs.append((1, 1, False))
    return specs


def receptive_field_of(convolutions):
    """Receptive field (in input pixels) of a chain of convolutions.

    Args:
        convolutions: ``(kernel_size, stride)`` pairs from input to output.

    Returns:
        The side of the input window one output unit sees: with ``r = 1`` and
        ``jump = 1``, each layer does ``r += (kernel_size - 1) * jump; jump *= stride``.
    """
    field, jump = 1, 1
    for kernel_size, stride in convolutions:
        field += (kernel_size - 1) * jump
        jump *= stride
    return field


def patchgan_receptive_field(num_layers):
    """Receptive field of :class:`PatchGANDiscriminator` with ``num_layers`` (70 for 3).

    Example:

    >>> [patchgan_receptive_field(n) for n in (1, 2, 3, 4)]
    [16, 34, 70, 142]
    """
    check_int("num_layers", num_layers, minimum=1)
    return receptive_field_of((KERNEL_SIZE, stride) for _, stride, _ in _conv_specs(num_layers, 1))


@compat.register
class PatchGANDiscriminator(keras.Model):
    """The pix2pix PatchGAN discriminator: (source, target) -> a map of patch logits.

    Each output unit classifies one overlapping patch of the input pair as real or
    fake; the 3-layer default sees 70x70 patches. Architecture, with 4x4 kernels, a
    ZeroPadding2D(1) before every convolution (the authors' ``padding=1``) and
    LeakyReLU(0.2) after all but the last::

        C64  stride 2, bias, no BN
        C128 stride 2, BN            } num_layers - 1 layers, channels doubling,
        C256 stride 2, BN            } capped at 8 x base_filters
        C512 stride 1, BN
        C1   stride 1, bias          -> logits

    As in the authors' code, convolutions followed by batch normalization have no
    bias. With ``num_layers=3`` and ``base_filters=64`` on 3+3 input channels this is
    2,768,705 trainable parameters, and a 256x256 pair gives a 30x30 logit map.

    Args:
        num_layers: number of stride-2 convolutions, >= 1 (receptive fields 16, 34,
            70, 142 for 1..4). Defaults to 3.
        base_filters: channels of the first convolution. Defaults to 64.
        input_channels: channels of the source (conditioning) image. Defaults to 3.
        target_channels: channels of the target (real or generated) image; 0 for an
            unconditional discriminator called on one image. Defaults to 3.
        synchronized_batch_norm: under a ``tf.distribute`` strategy, batch statistics
            over the global batch (all replicas) instead of each replica's. Default False.
        batch_norm: which batch-normalization layer the network uses: ``"fused"``
            (default) Keras's layer computed by one fused kernel, ``"keras"`` Keras's own
            ``BatchNormalization`` (unfused under Keras 3; slower in mixed precision on
            CPU). Same variables and maths, so checkpoints load into either.
        **kwargs: ``name``, ``trainable`` of ``keras.Model``.

    Call arguments:
        inputs: the list ``[source, target]`` of images ``(batch, height, width, c)``,
            concatenated on channels (source first) before the first convolution; or
            one tensor with ``input_channels + target_channels`` channels.
        training: Python bool; batch normalization uses batch statistics when True.

    Returns:
        Logits ``(batch, height', width', 1)`` (no sigmoid).

    Example:

    >>> import numpy as np
    >>> from ascendgan.models.pix2pix import PatchGANDiscriminator
    >>> discriminator = PatchGANDiscriminator(base_filters=4)
    >>> discriminator.receptive_field
    70
    >>> pair = [np.zeros((1, 64, 64, 3), "float32"), np.zeros((1, 64, 64, 3), "float32")]
    >>> tuple(discriminator(pair).shape)
    (1, 6, 6, 1)

    Reference:
        Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional Adversarial
        Networks", CVPR 2017 (arXiv:1611.07004).
    """

    def __init__(
        self,
        num_layers=3,
        base_filters=64,
        input_channels=3,
        target_channels=3,
        synchronized_batch_norm=False,
        batch_norm="fused",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_bool("synchronized_batch_norm", synchronized_batch_norm)
        self.synchronized_batch_norm = synchronized_batch_norm
        self.batch_norm = check_batch_norm(batch_norm)
        check_int("num_layers", num_layers, minimum=1)
        check_int("base_filters", base_filters, minimum=1)
        check_int("input_channels", input_channels, minimum=1)
        check_int("target_channels", target_channels, minimum=0)
        self.num_layers = num_layers
        self.base_filters = base_filters
        self.input_channels = input_channels
        self.target_channels = target_channels

        specs = _conv_specs(num_layers, base_filters)
        blocks = []
        for index, (filters, stride, normalized) in enumerate(specs):
            last = index == len(specs) - 1
            blocks.append(layers.ZeroPadding2D(1))
            blocks.append(
                layers.Conv2D(
                    filters, KERNEL_SIZE, strides=stride, padding="valid",
                    use_bias=not normalized, kernel_initializer=weight_initializer(),
                    name="logits" if last else None,
                )
            )
            if normalized:
                blocks.append(batch_norm_layer(self.synchronized_batch_norm, self.batch_norm))
            if not last:
                blocks.append(layers.LeakyReLU(0.2))
        #: The layers in order, input to output.
        self.blocks = blocks

    @property
    def receptive_field(self):
        """Side of the input window each output logit sees, from the model's convolutions."""
        return receptive_field_of(
            (layer.kernel_size[0], layer.strides[0])
            for layer in self.blocks
            if isinstance(layer, layers.Conv2D)
        )

    def _total_channels(self, input_shape):
        if is_shape_list(input_shape):
            shapes = [shape_tuple(s) for s in input_shape]
            if len(shapes) != 2 or self.target_channels == 0:
                raise ValueError(
                    "PatchGANDiscriminator takes [source, target] (or one tensor when "
                    f"target_channels=0). Received: {len(shapes)} inputs with "
                    f"target_channels={self.target_channels}"
                )
            expected = (self.input_channels, self.target_channels)
            if any(len(s) != 4 for s in shapes) or (shapes[0][-1], shapes[1][-1]) != expected:
                raise ValueError(
                    f"PatchGANDiscriminator expects [source, target] images with "
                    f"{expected[0]} and {expected[1]} channels (input_channels, "
                    f"target_channels). Received: shapes={shapes}"
                )
            return shapes[0][:3] + (sum(expected),)
        shape = shape_tuple(input_shape)
        total = self.input_channels + self.target_channels
        if len(shape) != 4 or shape[-1] != total:
            raise ValueError(
                f"PatchGANDiscriminator expects images with input_channels + target_channels "
                f"= {total} channels. Received: shape={shape}"
            )
        return shape

    def build(self, input_shape):
        shape = self._total_channels(input_shape)
        for layer in self.blocks:
            shape = build_layer(layer, shape)
        keras.layers.Layer.build(self, input_shape)

    def call(self, inputs, training=None):
        if isinstance(inputs, (list, tuple)):
            x = tf.concat(list(inputs), axis=-1)
        else:
            x = inputs
        for layer in self.blocks:
            x = apply_layer(layer, x, training)
        return x

    def compute_output_shape(self, input_shape):
        shape = self._total_channels(input_shape)
        for layer in self.blocks:
            shape = shape_tuple(layer.compute_output_shape(shape))
        return shape

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_layers": self.num_layers,
            "base_filters": self.base_filters,
            "input_channels": self.input_channels,
            "target_channels": self.target_channels,
            "synchronized_batch_norm": self.synchronized_batch_norm,
            "batch_norm": self.batch_norm,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
