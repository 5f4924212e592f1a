"""DCGANDiscriminator: the deep convolutional GAN discriminator (Radford et al., 2015)."""

from __future__ import annotations

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
from ascendgan.models.dcgan.dcgan_generator import (
    check_image_size,
    check_num_classes,
    num_resolution_steps,
    one_hot_labels,
)
from ascendgan.validation import check_bool, check_int

keras = compat.keras
layers = compat.layers


@compat.register
class DCGANDiscriminator(keras.Model):
    """The DCGAN discriminator: image -> one real/fake logit.

    Architecture (``image_size=64``, ``base_filters=64``, ``channels=3``)::

        x (n, 64, 64, 3) -> Conv  64, 4x4, stride 2 -> LeakyReLU(0.2)        # 32x32, no BN
        -> Conv 128, 4x4, stride 2 -> BN -> LeakyReLU(0.2)                  # 16x16
        -> Conv 256, 4x4, stride 2 -> BN -> LeakyReLU(0.2)                  # 8x8
        -> Conv 512, 4x4, stride 2 -> BN -> LeakyReLU(0.2)                  # 4x4
        -> Flatten -> Dense 1 (no bias)                                      # logit

    No layer has a bias, as in the PyTorch reference DCGAN (whose last layer, a 4x4
    valid convolution of the 4x4 map to one channel, is exactly the bias-free Dense
    here); 2,765,568 trainable parameters at 64x64. The input layer has no batch
    normalization (the paper's rule).

    Other sizes mirror :class:`DCGANGenerator`: ``u`` stride-2 convolutions with
    ``base_filters * 2**i`` channels (``i = 0 .. u-1``) take the image down to the
    ``s x s`` start map (7x7 for 28x28, 4x4 otherwise).

    Class conditioning (``num_classes`` set): the one-hot label is broadcast to
    ``num_classes`` constant feature maps and concatenated to the image channels
    before the first convolution (the input-level scheme of the conditional-GAN and
    TensorFlow DCGAN codes).

    Args:
        image_size: input side, one of 16, 28, 32, 64, 128. Defaults to 64.
        channels: input image channels. Defaults to 3.
        base_filters: channels of the first convolution. Defaults to 64.
        num_classes: number of classes for a class-conditional discriminator, or None.
        kernel_size: kernel side of the convolutions. Defaults to 4 (the PyTorch
            reference); 5 gives the kernel of the original TensorFlow code.
        synchronized_batch_norm: under a ``tf.distribute`` strategy, batch statistics
            over the global batch (all replicas) instead of each replica's. Default False.
        batch_norm: which batch-normalization layer the network uses: ``"fused"``
            (default) Keras's layer computed by one fused kernel, ``"keras"`` Keras's own
            ``BatchNormalization`` (unfused under Keras 3; slower in mixed precision on
            CPU). Same variables and maths, so checkpoints load into either.
        **kwargs: ``name``, ``trainable`` of ``keras.Model``.

    Call arguments:
        inputs: images ``(batch, image_size, image_size, channels)``; with
            ``num_classes``, the list ``[images, labels]`` with integer class ids of
            shape ``(batch,)`` or ``(batch, 1)``.
        training: Python bool; batch normalization uses batch statistics when True.

    Returns:
        Logits of shape ``(batch, 1)`` (no sigmoid).

    Example:

    >>> import numpy as np
    >>> from ascendgan.models.dcgan import DCGANDiscriminator
    >>> discriminator = DCGANDiscriminator(image_size=32, base_filters=8)
    >>> logits = discriminator(np.zeros((2, 32, 32, 3), "float32"))
    >>> tuple(logits.shape)
    (2, 1)

    Reference:
        Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks", ICLR 2016 (arXiv:1511.06434).
    """

    def __init__(
        self,
        image_size=64,
        channels=3,
        base_filters=64,
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
        check_num_classes(num_classes)
        check_int("kernel_size", kernel_size, minimum=1)
        self.image_size = image_size
        self.channels = channels
        self.base_filters = base_filters
        self.num_classes = num_classes
        self.kernel_size = kernel_size

        blocks = []
        for i in range(num_resolution_steps(image_size)):
            blocks.append(
                layers.Conv2D(
                    base_filters * 2**i, kernel_size, strides=2, padding="same", use_bias=False,
                    kernel_initializer=weight_initializer(),
                )
            )
            if i > 0:  # no batch normalization on the input layer
                blocks.append(batch_norm_layer(self.synchronized_batch_norm, self.batch_norm))
            blocks.append(layers.LeakyReLU(0.2))
        blocks += [
            layers.Flatten(),
            layers.Dense(1, use_bias=False, kernel_initializer=weight_initializer(), name="logit"),
        ]
        #: The layers in order, image to logit.
        self.blocks = blocks

    def build(self, input_shape):
        shape = shape_tuple(input_shape[0] if is_shape_list(input_shape) else input_shape)
        expected = (self.image_size, self.image_size, self.channels)
        if len(shape) != 4 or shape[1:] != expected:
            raise ValueError(
                f"DCGANDiscriminator expects images of shape (batch, {expected[0]}, "
                f"{expected[1]}, {expected[2]}) (image_size={self.image_size}, "
                f"channels={self.channels}). Received: shape={shape}"
            )
        if self.num_classes is not None:
            shape = shape[:3] + (shape[3] + self.num_classes,)
        for layer in self.blocks:
            shape = build_layer(layer, shape)
        keras.layers.Layer.build(self, input_shape)

    def call(self, inputs, training=None):
        x, labels = conditional_inputs(inputs, self.num_classes, "DCGANDiscriminator", "images")
        if labels is not None:
            maps = one_hot_labels(labels, self.num_classes, x.dtype)[:, None, None, :]
            maps = tf.tile(maps, [1, tf.shape(x)[1], tf.shape(x)[2], 1])
            x = tf.concat([x, maps], axis=-1)
        for layer in self.blocks:
            x = apply_layer(layer, x, training)
        return x

    def compute_output_shape(self, input_shape):
        shape = shape_tuple(input_shape[0] if is_shape_list(input_shape) else input_shape)
        return (shape[0], 1)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "image_size": self.image_size,
            "channels": self.channels,
            "base_filters": self.base_filters,
            "num_classes": self.num_classes,
            "kernel_size": self.kernel_size,
            "synchronized_batch_norm": self.synchronized_batch_norm,
            "batch_norm": self.batch_norm,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


__all__ = ["DCGANDiscriminator"]
