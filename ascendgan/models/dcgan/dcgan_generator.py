"""DCGANGenerator: the deep convolutional GAN generator (Radford et al., 2015)."""

from __future__ import annotations

import math

import tensorflow as tf

from ascendgan import compat
from ascendgan.models._common import (
    apply_layer,
    batch_norm_layer,
    build_layer,
    check_batch_norm,
    conditional_inputs,
    is_shape_list,
    shape_tuple,
    weight_initializer,
)
from ascendgan.validation import check_bool, check_int

keras = compat.keras
layers = compat.layers

#: Supported output sizes and the side of the first (projected) feature map.
#: 28 (MNIST) starts at 7x7 and upsamples twice; the others start at 4x4.
START_SIZES = {16: 4, 28: 7, 32: 4, 64: 4, 128: 4}


# ----------------------------------------------------------------------------- DCGAN helpers
# (also used by dcgan_discriminator.py; not public API)


def check_image_size(image_size):
    if isinstance(image_size, bool) or image_size not in START_SIZES:
        raise ValueError(
            f"`image_size` must be one of {tuple(sorted(START_SIZES))}. "
            f"Received: image_size={image_size!r}"
        )


def check_num_classes(num_classes):
    if num_classes is not None:
        check_int("num_classes", num_classes, minimum=1)


def num_resolution_steps(image_size):
    """Number of stride-2 (transposed) convolutions between the start map and the image."""
    return int(round(math.log2(image_size // START_SIZES[image_size])))


def one_hot_labels(labels, num_classes, dtype):
    """Integer class ids of shape (batch,) or (batch, 1) -> one-hot (batch, num_classes)."""
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    return tf.one_hot(labels, num_classes, dtype=dtype)


# ----------------------------------------------------------------------------- the generator


@compat.register
class DCGANGenerator(keras.Model):
    """The DCGAN generator: latent vector -> image in [-1, 1].

    Architecture (``image_size=64``, ``base_filters=64``, ``latent_dim=100``)::

        z (n, 100) -> Dense 4*4*512 (no bias) -> reshape 4x4x512 -> BN -> ReLU
        -> ConvT 256, 4x4, stride 2 -> BN -> ReLU          # 8x8
        -> ConvT 128, 4x4, stride 2 -> BN -> ReLU          # 16x16
        -> ConvT  64, 4x4, stride 2 -> BN -> ReLU          # 32x32
        -> ConvT   3, 4x4, stride 2 -> tanh                # 64x64, no BN

    No layer has a bias: every layer but the last is followed by batch normalization
    (whose beta plays the bias), and the output layer has none either. This is the
    layer-for-layer structure of the PyTorch reference DCGAN (its first layer is a 4x4
    transposed convolution of the 1x1 latent, which is exactly a bias-free Dense to
    4x4x512), and gives 3,576,704 trainable parameters at 64x64.

    Other sizes keep the pattern: the projection goes to a ``s x s`` map with
    ``base_filters * 2**(u-1)`` channels, where ``s`` is 7 for 28x28 (MNIST) and 4 for
    the others, and ``u = log2(image_size / s)`` stride-2 transposed convolutions
    follow, halving the channels each time, the last one to ``channels``.

    Class conditioning (``num_classes`` set): the one-hot label is concatenated to
    ``z`` before the projection (the conditional-GAN scheme of Mirza & Osindero).

    Weights are initialized from N(0, 0.02), batch-norm gammas from N(1, 0.02), and
    batch normalization uses momentum 0.9 and epsilon 1e-5, as in the paper and the
    reference code.

    Args:
        image_size: output side, one of 16, 28, 32, 64, 128. Defaults to 64.
        channels: output image channels. Defaults to 3.
        base_filters: channels of the last hidden layer; the layers before it double
            it. Defaults to 64.
        latent_dim: size of ``z``. Defaults to 100.
        num_classes: number of classes for a class-conditional generator, or None.
        kernel_size: kernel side of the transposed convolutions. Defaults to 4 (the
            PyTorch reference); 5 gives the kernel of the original TensorFlow code.
        synchronized_batch_norm: under a ``tf.distribute`` strategy, batch statistics
            over the global batch (all replicas) instead of each replica's. Default False.
        batch_norm: which batch-normalization layer the network uses: ``"fused"``
            (default) Keras's layer computed by one fused kernel, ``"keras"`` Keras's own
            ``BatchNormalization`` (unfused under Keras 3; slower in mixed precision on
            CPU). Same variables and maths, so checkpoints load into either.
        **kwargs: ``name``, ``trainable`` of ``keras.Model``.

    Call arguments:
        inputs: latents ``z`` of shape ``(batch, latent_dim)``; with ``num_classes``,
            the list ``[z, labels]`` where ``labels`` are integer class ids of shape
            ``(batch,)`` or ``(batch, 1)``.
        training: Python bool; batch normalization uses batch statistics (and
            updates its moving averages) when True.

    Returns:
        Images of shape ``(batch, image_size, image_size, channels)`` in [-1, 1].

    Example:

    >>> import numpy as np
    >>> from ascendgan.models.dcgan import DCGANGenerator
    >>> generator = DCGANGenerator(image_size=32, base_filters=8, latent_dim=16)
    >>> images = generator(np.zeros((2, 16), "float32"))
    >>> tuple(images.shape)
    (2, 32, 32, 3)

    Reference:
        Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks", ICLR 2016 (arXiv:1511.06434).
    """

    def __init__(
        self,
        image_size=64,
        channels=3,
        base_filters=64,
        latent_dim=100,
        num_classes=None,
        kernel_size=4,
        synchronized_batch_norm=False,
        batch_norm="fused",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_bool("synchronized_batch_norm", synchronized_batch_norm)
        self.synchronized_batch_norm = synchronized_batch_norm
        self.batch_norm = check_batch_norm(batch_norm)
        check_image_size(image_size)
        check_int("channels", channels, minimum=1)
        check_int("base_filters", base_filters, minimum=1)
        check_int("latent_dim", latent_dim, minimum=1)
        check_num_classes(num_classes)
        check_int("kernel_size", kernel_size, minimum=1)
        self.image_size = image_size
        self.channels = channels
        self.base_filters = base_filters
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.kernel_size = kernel_size

        start = START_SIZES[image_size]
        steps = num_resolution_steps(image_size)
        filters = base_filters * 2 ** (steps - 1)
        blocks = [
            layers.Dense(
                start * start * filters, use_bias=False, kernel_initializer=weight_initializer(),
                name="project",
            ),
            layers.Reshape((start, start, filters)),
            batch_norm_layer(self.synchronized_batch_norm, self.batch_norm),
            layers.ReLU(),
        ]
        for _ in range(steps - 1):
            filters //= 2
            blocks += [
                layers.Conv2DTranspose(
                    filters, kernel_size, strides=2, padding="same", use_bias=False,
                    kernel_initializer=weight_initializer(),
                ),
                batch_norm_layer(self.synchronized_batch_norm, self.batch_norm),
                layers.ReLU(),
            ]
        blocks += [
            layers.Conv2DTranspose(
                channels, kernel_size, strides=2, padding="same", use_bias=False,
                kernel_initializer=weight_initializer(), name="output_conv",
            ),
            layers.Activation("tanh", name="tanh"),
        ]
        #: The layers in order, latent to image.
        self.blocks = blocks

    def build(self, input_shape):
        if is_shape_list(input_shape):
            shape = shape_tuple(input_shape[0])
        else:
            shape = shape_tuple(input_shape)
        if len(shape) != 2 or shape[-1] != self.latent_dim:
            raise ValueError(
                f"DCGANGenerator expects latents of shape (batch, latent_dim={self.latent_dim}). "
                f"Received: shape={shape}"
            )
        if self.num_classes is not None:
            shape = (shape[0], shape[1] + self.num_classes)
        for layer in self.blocks:
            shape = build_layer(layer, shape)
        keras.layers.Layer.build(self, input_shape)

    def call(self, inputs, training=None):
        x, labels = conditional_inputs(inputs, self.num_classes, "DCGANGenerator", "z")
        if labels is not None:
            x = tf.concat([x, one_hot_labels(labels, self.num_classes, x.dtype)], axis=-1)
        for layer in self.blocks:
            x = apply_layer(layer, x, training)
        return x

    def compute_output_shape(self, input_shape):
        shape = shape_tuple(input_shape[0] if is_shape_list(input_shape) else input_shape)
        return (shape[0], self.image_size, self.image_size, self.channels)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "image_size": self.image_size,
            "channels": self.channels,
            "base_filters": self.base_filters,
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "kernel_size": self.kernel_size,
            "synchronized_batch_norm": self.synchronized_batch_norm,
            "batch_norm": self.batch_norm,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
