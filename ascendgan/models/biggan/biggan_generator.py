"""BigGANGenerator: class-conditional residual generator with a hierarchical latent."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.layers.batch_normalization import FusedBatchNormalization
from ascendgan.layers.res_block_up import ResBlockUp
from ascendgan.layers.self_attention import SelfAttention
from ascendgan.layers.sn_conv2d import SNConv2D
from ascendgan.layers.sn_dense import SNDense
from ascendgan.models._common import conditional_inputs
from ascendgan.models.biggan.biggan_presets import architecture
from ascendgan.validation import check_class_ids, check_int

keras = compat.keras

_BOTTOM = 4  # side of the first feature map


@compat.register
class BigGANGenerator(keras.Model):
    """The BigGAN generator: ``[z, labels]`` (or ``z``) -> images in [-1, 1].

    A linear layer maps the first latent chunk to a 4x4 map; residual up-blocks
    (:class:`~ascendgan.layers.ResBlockUp`) double the resolution, each with conditional
    batch norm whose condition is the shared class embedding concatenated with the block's
    own latent chunk (the hierarchical latent); self-attention follows the blocks whose
    output resolution is in ``attention_resolutions``; then batch norm, ReLU, a 3x3
    convolution and tanh. Every convolution and linear layer is spectrally normalized.

    Args:
        image_size: 32, 64 or 128.
        base_channels: channel width ``ch``; block widths are ``ch`` x multiplier.
        latent_dim: size of ``z``; with ``hierarchical_latent`` it must divide into
            ``len(generator_multipliers)`` equal chunks.
        num_classes: number of classes, or ``None`` for an unconditional generator.
        shared_embedding_dim: width of the shared class embedding.
        generator_multipliers: channel multipliers, the first for the 4x4 map, then one
            per up block; defaults to the paper's for ``image_size``.
        attention_resolutions: resolutions after whose block self-attention is applied.
        hierarchical_latent: split ``z`` across the linear layer and the blocks.
        channels: image channels.
        power_iterations: spectral-norm power iterations.
        synchronized_batch_norm: under a ``tf.distribute`` strategy, batch statistics over
            the global batch (BigGAN's cross-replica batch norm). Default False.

    Call arguments:
        inputs: ``[z, labels]`` with ``z`` ``(n, latent_dim)`` and integer ``labels``
            ``(n,)``; or ``z`` alone when unconditional.
        training: batch-norm mode and spectral-norm updates.

    Returns:
        Images ``(n, image_size, image_size, channels)`` in [-1, 1].

    Example:

    >>> import numpy as np
    >>> g = BigGANGenerator(32, base_channels=4, latent_dim=20, num_classes=3)
    >>> g([np.zeros((2, 20), "float32"), np.array([0, 2])]).shape
    TensorShape([2, 32, 32, 3])

    Reference:
        Brock, Donahue, Simonyan, "Large Scale GAN Training for High Fidelity Natural Image
        Synthesis", ICLR 2019 (arXiv:1809.11096).
    """

    def __init__(
        self,
        image_size=32,
        base_channels=96,
        latent_dim=120,
        num_classes=10,
        shared_embedding_dim=128,
        generator_multipliers=None,
        attention_resolutions=(16,),
        hierarchical_latent=True,
        channels=3,
        power_iterations=1,
        synchronized_batch_norm=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(synchronized_batch_norm, bool):
            raise TypeError("`synchronized_batch_norm` must be True or False. "
                            f"Received: synchronized_batch_norm={synchronized_batch_norm!r}")
        self.synchronized_batch_norm = synchronized_batch_norm
        multipliers = tuple(generator_multipliers or architecture(image_size)["generator_multipliers"])
        architecture(image_size)  # validates image_size
        for name, value in (("base_channels", base_channels), ("latent_dim", latent_dim),
                            ("shared_embedding_dim", shared_embedding_dim), ("channels", channels)):
            check_int(name, value, minimum=1)
        check_int("num_classes", num_classes, minimum=1, allow_none=True)
        num_blocks = len(multipliers) - 1
        if _BOTTOM * 2**num_blocks != image_size:
            raise ValueError(
                f"`generator_multipliers` must have 1 + log2(image_size / 4) = "
                f"{1 + (image_size // _BOTTOM).bit_length() - 1} entries for image_size={image_size}. "
                f"Received: generator_multipliers={multipliers}"
            )
        chunks = num_blocks + 1 if hierarchical_latent else 1
        if latent_dim % chunks:
            raise ValueError(
                f"`latent_dim` must be divisible by {chunks} (the linear layer and {num_blocks} blocks "
                f"each take an equal chunk). Received: latent_dim={latent_dim}"
            )
        self.image_size = image_size
        self.base_channels = base_channels
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.shared_embedding_dim = shared_embedding_dim
        self.generator_multipliers = multipliers
        self.attention_resolutions = tuple(attention_resolutions or ())
        self.hierarchical_latent = bool(hierarchical_latent)
        self.channels = channels
        self.power_iterations = power_iterations
        self.chunk_size = latent_dim // chunks

        sn = {"power_iterations": power_iterations}
        self.shared_embedding = (
            compat.layers.Embedding(num_classes, shared_embedding_dim, name="shared_embedding",
                                   embeddings_initializer="orthogonal")
            if num_classes else None
        )
        width = multipliers[0] * base_channels
        self.linear = SNDense(_BOTTOM * _BOTTOM * width, name="linear", kernel_initializer="orthogonal", **sn)
        condition = "vector" if (num_classes or self.hierarchical_latent) else None
        self.blocks = []
        self.attention_layers = []  # a list, and block indices in a tuple: see the discriminator
        attention_after = []
        resolution = _BOTTOM
        for index, multiplier in enumerate(multipliers[1:]):
            resolution *= 2
            self.blocks.append(
                ResBlockUp(multiplier * base_channels, condition=condition, name=f"block{index}",
                           synchronized=synchronized_batch_norm, **sn)
            )
            if resolution in self.attention_resolutions:
                self.attention_layers.append(SelfAttention(name=f"attention{resolution}",
                                                            kernel_initializer="orthogonal", **sn))
                attention_after.append(index)
        self._attention_after = tuple(attention_after)
        self.output_norm = FusedBatchNormalization(synchronized=synchronized_batch_norm,
                                                   name="output_bn")
        self.output_conv = SNConv2D(channels, 3, padding="same", name="output_conv",
                                    kernel_initializer="orthogonal", **sn)

    def _example_inputs(self):
        z = tf.zeros((1, self.latent_dim))
        return [z, tf.zeros((1,), tf.int32)] if self.num_classes else z

    def build(self, input_shape=None):
        if not self.built:
            self.call(self._example_inputs(), training=False)
        keras.layers.Layer.build(self, input_shape)

    def get_build_config(self):
        return {"example_inputs": True}  # always recorded, so loading always builds

    def build_from_config(self, config):
        # The architecture fixes every shape: build from the example inputs, whatever
        # input shape (possibly none) was recorded when the model was saved.
        self.build()

    def call(self, inputs, training=None):
        z, labels = conditional_inputs(inputs, self.num_classes, "BigGANGenerator", "z")
        embedding = None if labels is None else self.shared_embedding(labels)
        return self._synthesize(z, embedding, training)

    def class_embedding(self, labels):
        """The shared class embedding of integer ``labels``: ``(n, shared_embedding_dim)``.

        What :meth:`call` feeds every block for these labels; interpolate two of them and
        run :meth:`call_with_class_embedding` to morph one class into another.

        Example:

        >>> import numpy as np
        >>> g = BigGANGenerator(32, base_channels=4, latent_dim=20, num_classes=3,
        ...                     shared_embedding_dim=8)
        >>> g.class_embedding(np.array([0, 2])).shape
        TensorShape([2, 8])
        """
        if self.shared_embedding is None:
            raise ValueError("BigGANGenerator was created with num_classes=None (unconditional), so "
                             "it has no class embedding. Received: a call to class_embedding.")
        labels = np.asarray(labels)
        labels = check_class_ids("labels", labels.reshape(-1) if labels.ndim else labels,
                                 max(labels.size, 1), self.num_classes)
        return self.shared_embedding(tf.constant(labels))

    def call_with_class_embedding(self, z, class_embedding, training=None):
        """Images for latents ``z`` and given class-embedding vectors instead of labels.

        ``generator.call_with_class_embedding(z, generator.class_embedding(labels))`` equals
        ``generator([z, labels])``; a vector between two classes' embeddings gives the
        class-to-class interpolation of BigGAN's category morphing
        (:func:`ascendgan.sampling.interpolate_classes`).

        Args:
            z: latents ``(n, latent_dim)``.
            class_embedding: ``(n, shared_embedding_dim)`` float vectors.
            training: batch-norm mode.

        Returns:
            Images ``(n, image_size, image_size, channels)`` in [-1, 1].
        """
        if self.shared_embedding is None:
            raise ValueError("BigGANGenerator was created with num_classes=None (unconditional), so "
                             "it takes no class embedding. Received: a call_with_class_embedding call.")
        embedding = tf.convert_to_tensor(class_embedding)
        if not embedding.dtype.is_floating:
            embedding = tf.cast(embedding, tf.float32)
        z = tf.convert_to_tensor(z)
        if embedding.shape.rank != 2 or embedding.shape[-1] != self.shared_embedding_dim or (
                None not in (embedding.shape[0], z.shape[0]) and embedding.shape[0] != z.shape[0]):
            raise ValueError(
                f"BigGANGenerator: `class_embedding` must have shape (batch, "
                f"{self.shared_embedding_dim}), one row per latent of `z` (batch {z.shape[0]}). "
                f"Received: class_embedding.shape={tuple(embedding.shape)}"
            )
        return self._synthesize(z, embedding, training)

    def _synthesize(self, z, embedding, training):
        """The network from the latents and the (optional) class embedding on."""
        z = tf.convert_to_tensor(z)
        if z.shape.rank is not None and (z.shape.rank != 2 or z.shape[-1] not in (None, self.latent_dim)):
            raise ValueError(
                f"BigGANGenerator expects `z` of shape (batch, {self.latent_dim}). Received: z.shape={tuple(z.shape)}"
            )
        z = tf.cast(z, self.compute_dtype)
        if self.hierarchical_latent:
            chunks = tf.split(z, len(self.blocks) + 1, axis=-1)
        else:
            chunks = [z] * (len(self.blocks) + 1)
        width = self.generator_multipliers[0] * self.base_channels
        x = self.linear(chunks[0], training=training)
        x = tf.reshape(x, (-1, _BOTTOM, _BOTTOM, width))
        for index, block in enumerate(self.blocks):
            parts = [p for p in (embedding, chunks[index + 1] if self.hierarchical_latent else None) if p is not None]
            if parts:
                condition = tf.concat([tf.cast(p, x.dtype) for p in parts], axis=-1)
                x = block([x, condition], training=training)
            else:
                x = block(x, training=training)
            if index in self._attention_after:
                x = self.attention_layers[self._attention_after.index(index)](x, training=training)
        x = tf.nn.relu(self.output_norm(x, training=training))
        return tf.tanh(self.output_conv(x, training=training))

    def compute_output_shape(self, input_shape):
        first = input_shape[0] if isinstance(input_shape, (list, tuple)) and isinstance(
            input_shape[0], (list, tuple, tf.TensorShape)) else input_shape
        return (tf.TensorShape(first)[0], self.image_size, self.image_size, self.channels)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "image_size": self.image_size,
            "base_channels": self.base_channels,
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "shared_embedding_dim": self.shared_embedding_dim,
            "generator_multipliers": list(self.generator_multipliers),
            "attention_resolutions": list(self.attention_resolutions),
            "hierarchical_latent": self.hierarchical_latent,
            "channels": self.channels,
            "power_iterations": self.power_iterations,
            "synchronized_batch_norm": self.synchronized_batch_norm,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
