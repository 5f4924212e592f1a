"""UNetGenerator: the pix2pix encoder-decoder generator with skip connections."""

from __future__ import annotations

import math

from ascendgan import compat
from ascendgan.models._common import (
    apply_layer,
    batch_norm_layer,
    build_layer,
    check_batch_norm,
    shape_tuple,
    weight_initializer,
)
from ascendgan.validation import check_bool, check_int, check_number

keras = compat.keras
layers = compat.layers


def encoder_filters(base_filters, num_downsamplings):
    """Channels of each encoder level: C64-C128-C256-C512-C512-... (capped at 8x base)."""
    return [base_filters * min(2**i, 8) for i in range(num_downsamplings)]


# ----------------------------------------------------------------------------- the generator


@compat.register
class UNetGenerator(keras.Model):
    """The pix2pix U-Net generator: image -> image in [-1, 1].

    ``num_downsamplings = n`` levels (8 for 256x256, ``log2(image_size)`` by default,
    so the bottleneck is 1x1). All convolutions are 4x4 with stride 2 and "same"
    padding (1 pixel on each side, as in the authors' code).

    Encoder, ``C64-C128-C256-C512-C512-C512-C512-C512`` for ``n=8``::

        level 0:               Conv 64                      (no activation before, no BN)
        level i (0 < i < n-1): LeakyReLU(0.2) -> Conv -> BN
        level n-1 (innermost): LeakyReLU(0.2) -> Conv       (no BN, as in the authors' code)

    Decoder, from the innermost level out; level ``i`` maps back to the resolution
    and channels of level ``i - 1``::

        level n-1:  ReLU -> ConvT -> BN -> [Dropout]
        level i:    concat([skip_i, x]) -> ReLU -> ConvT -> BN -> [Dropout]
        level 0:    concat([skip_0, x]) -> ReLU -> ConvT output_channels (bias) -> tanh

    ``skip_i`` is the encoder output of level ``i`` (after its BN, before the next
    LeakyReLU), concatenated before the decoder output, in the authors' order. Dropout
    (rate ``dropout``) follows the first ``dropout_layers`` decoder layers counted from
    the innermost, i.e. the paper's ``CD512-CD1024-CD1024``. (The authors' PyTorch code
    instead puts it on the three layers after the innermost one; the parameter count
    is the same.)

    Convolutions followed by batch normalization have no bias; the innermost
    down-convolution (no BN) has none either, as in the authors' code; only the
    output layer has a bias. U-Net-256 with 64 base filters has 54,413,955 trainable
    parameters, equal to the authors' ``unet_256``.

    Dropout is a Keras ``Dropout`` layer: it is active whenever the call has
    ``training=True``, which is how pix2pix keeps its noise at test time.

    Args:
        image_size: side of the (square) images, a power of 2. Defaults to 256.
        input_channels: channels of the source image. Defaults to 3.
        output_channels: channels of the generated image. Defaults to 3.
        base_filters: channels of the first encoder level. Defaults to 64.
        num_downsamplings: number of encoder levels, 2 <= n <= log2(image_size);
            None means log2(image_size). Defaults to None.
        dropout: dropout rate in the decoder, in [0, 1). Defaults to 0.5.
        dropout_layers: how many decoder layers (from the innermost) get dropout,
            >= 0; at most the ``n - 1`` layers before the output layer do. Defaults to 3.
        synchronized_batch_norm: under a ``tf.distribute`` strategy, batch statistics
            over the global batch (all replicas) instead of each replica's. Default False.
        batch_norm: which batch-normalization layer the network uses: ``"fused"``
            (default) Keras's layer computed by one fused kernel, ``"keras"`` Keras's own
            ``BatchNormalization`` (unfused under Keras 3; slower in mixed precision on
            CPU). Same variables and maths, so checkpoints load into either.
        **kwargs: ``name``, ``trainable`` of ``keras.Model``.

    Call arguments:
        inputs: images ``(batch, height, width, input_channels)``; height and width
            must be multiples of ``2**num_downsamplings`` (they need not equal
            ``image_size``).
        training: Python bool; True uses batch statistics in batch normalization and
            applies dropout.

    Returns:
        Images ``(batch, height, width, output_channels)`` in [-1, 1].

    Example:

    >>> import numpy as np
    >>> from ascendgan.models.pix2pix import UNetGenerator
    >>> generator = UNetGenerator(image_size=32, base_filters=4)
    >>> generator.num_downsamplings
    5
    >>> tuple(generator(np.zeros((1, 32, 32, 3), "float32")).shape)
    (1, 32, 32, 3)

    Reference:
        Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional Adversarial
        Networks", CVPR 2017 (arXiv:1611.07004); Ronneberger, Fischer, Brox, "U-Net",
        MICCAI 2015 (arXiv:1505.04597).
    """

    def __init__(
        self,
        image_size=256,
        input_channels=3,
        output_channels=3,
        base_filters=64,
        num_downsamplings=None,
        dropout=0.5,
        dropout_layers=3,
        synchronized_batch_norm=False,
        batch_norm="fused",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_bool("synchronized_batch_norm", synchronized_batch_norm)
        self.synchronized_batch_norm = synchronized_batch_norm
        self.batch_norm = check_batch_norm(batch_norm)
        check_int("image_size", image_size, minimum=4)
        if image_size & (image_size - 1):
            raise ValueError(
                f"`image_size` must be a power of 2. Received: image_size={image_size}"
            )
        max_levels = int(math.log2(image_size))
        check_int("input_channels", input_channels, minimum=1)
        check_int("output_channels", output_channels, minimum=1)
        check_int("base_filters", base_filters, minimum=1)
        if num_downsamplings is not None:
            check_int("num_downsamplings", num_downsamplings, minimum=2)
            if num_downsamplings > max_levels:
                raise ValueError(
                    f"`num_downsamplings` must be at most log2(image_size) = {max_levels} "
                    f"for image_size={image_size}. Received: num_downsamplings={num_downsamplings}"
                )
        levels = max_levels if num_downsamplings is None else num_downsamplings
        check_number("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
        check_int("dropout_layers", dropout_layers, minimum=0)
        self.image_size = image_size
        self.input_channels = input_channels
        self.output_channels = output_channels
        self.base_filters = base_filters
        self.num_downsamplings = levels
        self.dropout = float(dropout)
        self.dropout_layers = dropout_layers

        filters = encoder_filters(base_filters, levels)
        encoder = []
        for i in range(levels):
            if i > 0:
                encoder.append(layers.LeakyReLU(0.2))
            encoder.append(
                layers.Conv2D(
                    filters[i], 4, strides=2, padding="same", use_bias=False,
                    kernel_initializer=weight_initializer(),
                )
            )
            if 0 < i < levels - 1:  # neither the outermost nor the innermost level
                encoder.append(batch_norm_layer(self.synchronized_batch_norm, self.batch_norm))
        decoder = []
        for step, level in enumerate(reversed(range(levels))):
            outermost = level == 0
            if level < levels - 1:
                decoder.append(layers.Concatenate(axis=-1))
            decoder.append(layers.ReLU())
            decoder.append(
                layers.Conv2DTranspose(
                    output_channels if outermost else filters[level - 1],
                    4,
                    strides=2,
                    padding="same",
                    use_bias=outermost,
                    kernel_initializer=weight_initializer(),
                    name="output_conv" if outermost else None,
                )
            )
            if not outermost:
                decoder.append(batch_norm_layer(self.synchronized_batch_norm, self.batch_norm))
                if step < dropout_layers and self.dropout > 0:
                    decoder.append(layers.Dropout(self.dropout))
        decoder.append(layers.Activation("tanh", name="tanh"))
        #: Encoder layers in order. Each level ends before the next LeakyReLU; its output
        #: is the skip of that level (all levels but the innermost).
        self.encoder_layers = encoder
        #: Decoder layers in order; each Concatenate joins ``[skip, x]`` of its level.
        self.decoder_layers = decoder

    def _check_input_shape(self, shape):
        factor = 2**self.num_downsamplings
        ok = len(shape) == 4 and shape[-1] == self.input_channels
        for side in shape[1:3] if len(shape) == 4 else ():
            ok = ok and (side is None or side % factor == 0)
        if not ok:
            raise ValueError(
                f"UNetGenerator expects images (batch, height, width, {self.input_channels}) "
                f"with height and width multiples of 2**num_downsamplings = {factor}. "
                f"Received: shape={shape}"
            )

    def build(self, input_shape):
        shape = shape_tuple(input_shape)
        self._check_input_shape(shape)
        skips = []
        for layer in self.encoder_layers:
            if isinstance(layer, layers.LeakyReLU):
                skips.append(shape)
            shape = build_layer(layer, shape)
        for layer in self.decoder_layers:
            if isinstance(layer, layers.Concatenate):
                pair = [skips.pop(), shape]
                if not layer.built:
                    layer.build(pair)
                shape = shape_tuple(layer.compute_output_shape(pair))
            else:
                shape = build_layer(layer, shape)
        keras.layers.Layer.build(self, input_shape)

    def call(self, inputs, training=None):
        x = inputs
        skips = []
        for layer in self.encoder_layers:
            if isinstance(layer, layers.LeakyReLU):
                skips.append(x)
            x = apply_layer(layer, x, training)
        for layer in self.decoder_layers:
            if isinstance(layer, layers.Concatenate):
                x = layer([skips.pop(), x])
            else:
                x = apply_layer(layer, x, training)
        return x

    def compute_output_shape(self, input_shape):
        shape = shape_tuple(input_shape)
        return shape[:3] + (self.output_channels,)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "image_size": self.image_size,
            "input_channels": self.input_channels,
            "output_channels": self.output_channels,
            "base_filters": self.base_filters,
            "num_downsamplings": self.num_downsamplings,
            "dropout": self.dropout,
            "dropout_layers": self.dropout_layers,
            "synchronized_batch_norm": self.synchronized_batch_norm,
            "batch_norm": self.batch_norm,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
