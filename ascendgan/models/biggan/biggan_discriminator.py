"""BigGANDiscriminator: residual projection discriminator."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers.res_block_down import ResBlockDown
from ascendgan.layers.self_attention import SelfAttention
from ascendgan.layers.sn_dense import SNDense
from ascendgan.layers.sn_embedding import SNEmbedding
from ascendgan.models._common import conditional_inputs
from ascendgan.models.biggan.biggan_presets import architecture
from ascendgan.validation import check_int

keras = compat.keras


@compat.register
class BigGANDiscriminator(keras.Model):
    """The BigGAN discriminator: ``[images, labels]`` (or ``images``) -> logits ``(n, 1)``.

    Residual down-blocks (:class:`~ascendgan.layers.ResBlockDown`; the first without
    pre-activation), self-attention after the blocks whose output resolution is in
    ``attention_resolutions``, ReLU, a sum over positions, and the projection output
    ``ψ(h) + ⟨embed(y), h⟩`` (Miyato & Koyama). Every layer is spectrally normalized.

    Args:
        image_size: 32, 64 or 128.
        base_channels: channel width ``ch``.
        num_classes: number of classes, or ``None`` (no projection term).
        discriminator_multipliers: output multipliers per block (paper's by default).
        discriminator_downsample: whether each block halves the resolution.
        attention_resolutions: resolutions after whose block self-attention is applied.
        channels: image channels.
        power_iterations: spectral-norm power iterations.

    Call arguments:
        inputs: ``[images, labels]`` or ``images`` (unconditional).
        training: spectral-norm updates.

    Returns:
        Logits ``(n, 1)`` in float32.

    Reference:
        Brock et al., arXiv:1809.11096; Miyato & Koyama, "cGANs with Projection
        Discriminator", arXiv:1802.05637.
    """

    def __init__(
        self,
        image_size=32,
        base_channels=96,
        num_classes=10,
        discriminator_multipliers=None,
        discriminator_downsample=None,
        attention_resolutions=(16,),
        channels=3,
        power_iterations=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        defaults = architecture(image_size)
        multipliers = tuple(discriminator_multipliers or defaults["discriminator_multipliers"])
        downsample = tuple(discriminator_downsample or defaults["discriminator_downsample"])
        if len(downsample) != len(multipliers):
            raise ValueError(
                "`discriminator_downsample` needs one entry per block of `discriminator_multipliers`. "
                f"Received: {len(downsample)} and {len(multipliers)} entries"
            )
        check_int("base_channels", base_channels, minimum=1)
        check_int("channels", channels, minimum=1)
        check_int("num_classes", num_classes, minimum=1, allow_none=True)
        self.image_size = image_size
        self.base_channels = base_channels
        self.num_classes = num_classes
        self.discriminator_multipliers = multipliers
        self.discriminator_downsample = tuple(bool(d) for d in downsample)
        self.attention_resolutions = tuple(attention_resolutions or ())
        self.channels = channels
        self.power_iterations = power_iterations
        sn = {"power_iterations": power_iterations}
        self.blocks = []
        # Self-attention after the first block reaching each listed resolution: layers in a
        # list, block indices in a tuple (a dict keyed by ints cannot be checkpointed).
        self.attention_layers = []
        attention_after, attended = [], set()
        resolution = image_size
        for index, (multiplier, down) in enumerate(zip(multipliers, self.discriminator_downsample)):
            self.blocks.append(
                ResBlockDown(multiplier * base_channels, downsample=down, preactivation=index > 0,
                             name=f"block{index}", **sn)
            )
            resolution //= 2 if down else 1
            if resolution in self.attention_resolutions and resolution not in attended:
                attended.add(resolution)
                self.attention_layers.append(SelfAttention(name=f"attention{resolution}",
                                                            kernel_initializer="orthogonal", **sn))
                attention_after.append(index)
        self._attention_after = tuple(attention_after)
        width = multipliers[-1] * base_channels
        self.linear = SNDense(1, name="linear", kernel_initializer="orthogonal", **sn)
        self.embedding = SNEmbedding(num_classes, width, name="projection",
                                     embeddings_initializer="orthogonal", **sn) if num_classes else None

    def _example_inputs(self):
        images = tf.zeros((1, self.image_size, self.image_size, self.channels))
        return [images, tf.zeros((1,), tf.int32)] if self.num_classes else images

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
        x, labels = conditional_inputs(inputs, self.num_classes, "BigGANDiscriminator", "images")
        x = tf.cast(x, self.compute_dtype)
        for index, block in enumerate(self.blocks):
            x = block(x, training=training)
            if index in self._attention_after:
                x = self.attention_layers[self._attention_after.index(index)](x, training=training)
        features = tf.reduce_sum(tf.nn.relu(x), axis=[1, 2])
        logits = tf.cast(self.linear(features, training=training), tf.float32)
        if labels is not None:
            embedded = self.embedding(labels, training=training)
            projection = tf.reduce_sum(
                tf.cast(embedded, tf.float32) * tf.cast(features, tf.float32), axis=-1, keepdims=True
            )
            logits = logits + projection
        return logits

    def compute_output_shape(self, input_shape):
        first = input_shape[0] if isinstance(input_shape, (list, tuple)) and isinstance(
            input_shape[0], (list, tuple, tf.TensorShape)) else input_shape
        return (tf.TensorShape(first)[0], 1)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "image_size": self.image_size,
            "base_channels": self.base_channels,
            "num_classes": self.num_classes,
            "discriminator_multipliers": list(self.discriminator_multipliers),
            "discriminator_downsample": list(self.discriminator_downsample),
            "attention_resolutions": list(self.attention_resolutions),
            "channels": self.channels,
            "power_iterations": self.power_iterations,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
