"""SelfAttention: the SAGAN non-local block, as BigGAN uses it."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers._spectral import check_input
from ascendgan.layers.sn_conv2d import SNConv2D
from ascendgan.validation import check_bool, check_int


@compat.register
class SelfAttention(compat.layers.Layer):
    """Self-attention over the pixels of a feature map, added back with a learned gain.

    The non-local block of SAGAN, in the form BigGAN uses.  For an input ``x`` of
    shape ``(batch, height, width, channels)``, with ``c = channels``:

    * query ``θ(x)``: 1x1 convolution to ``c // key_reduction`` channels;
    * key ``φ(x)``: 1x1 convolution to ``c // key_reduction`` channels, then a 2x2
      max-pool with stride 2 (when ``pooling=True``);
    * value ``g(x)``: 1x1 convolution to ``c // value_reduction`` channels, then the
      same max-pool;
    * ``attention = softmax(θ φᵀ)`` over the key positions, of shape
      ``(batch, height·width, height·width / 4)`` (``/ 1`` without pooling); the logits
      are not scaled, as in SAGAN and BigGAN;
    * ``o = attention · g``, reshaped to ``(batch, height, width, c // value_reduction)``
      and brought back to ``c`` channels by a 1x1 output convolution;
    * ``outputs = x + γ · o``, with ``γ`` a trainable scalar initialised to 0, so the
      block starts as the identity.

    All four convolutions have no bias and, by default, are spectrally normalized
    (:class:`~ascendgan.layers.SNConv2D`).  Pixels are flattened row-major (height
    first).  Under mixed precision the softmax runs in float32 and its result is cast
    back to the compute dtype.

    Args:
        key_reduction: the query and key projections have ``channels // key_reduction``
            channels (at least 1). Defaults to 8.
        value_reduction: the value projection has ``channels // value_reduction``
            channels (at least 1). Defaults to 2.
        pooling: 2x2 max-pool (stride 2) the keys and values, which makes attention 4x
            cheaper. Needs an even height and width. Defaults to True.
        use_spectral_norm: use :class:`~ascendgan.layers.SNConv2D` for the four
            convolutions, else plain ``keras.layers.Conv2D``. Defaults to True.
        power_iterations: power-iteration steps per training call of each spectrally
            normalized convolution, >= 1. Defaults to 1.
        kernel_initializer: initializer of the four convolution kernels.
            Defaults to ``"glorot_uniform"`` (BigGAN uses ``"orthogonal"``).
        kernel_regularizer: optional regularizer of the four (raw) kernels, e.g. BigGAN's
            orthogonal regularization. Defaults to None.
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``).

    Call arguments:
        inputs: 4D tensor ``(batch, height, width, channels)``.
        training: Python bool or boolean tensor, passed to the spectrally normalized
            convolutions (``True`` advances their power iteration).
        return_attention_scores: also return the attention map. Defaults to False.

    Returns:
        A tensor of the shape of ``inputs``; with ``return_attention_scores=True``, the
        tuple ``(outputs, attention)`` where ``attention`` has shape
        ``(batch, height·width, key_positions)`` and rows that sum to 1
        (``key_positions`` is ``height·width / 4`` with pooling, else ``height·width``).

    Example:

    >>> import numpy as np
    >>> from ascendgan.layers.self_attention import SelfAttention
    >>> layer = SelfAttention()
    >>> x = np.random.default_rng(0).standard_normal((2, 8, 8, 16)).astype("float32")
    >>> y, attention = layer(x, training=True, return_attention_scores=True)
    >>> tuple(y.shape), tuple(attention.shape)
    ((2, 8, 8, 16), (2, 64, 16))
    >>> bool(np.array_equal(y, x))  # γ starts at 0
    True

    Reference:
        Zhang et al., "Self-Attention Generative Adversarial Networks", ICML 2019
        (arXiv:1805.08318); Brock et al., "Large Scale GAN Training for High Fidelity
        Natural Image Synthesis", ICLR 2019 (arXiv:1809.11096).
    """

    def __init__(
        self,
        key_reduction=8,
        value_reduction=2,
        pooling=True,
        use_spectral_norm=True,
        power_iterations=1,
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.key_reduction = check_int("key_reduction", key_reduction, minimum=1)
        self.value_reduction = check_int("value_reduction", value_reduction, minimum=1)
        self.pooling = check_bool("pooling", pooling)
        self.use_spectral_norm = check_bool("use_spectral_norm", use_spectral_norm)
        self.power_iterations = check_int("power_iterations", power_iterations, minimum=1)
        self.kernel_initializer = compat.initializers.get(kernel_initializer)
        self.kernel_regularizer = compat.regularizers.get(kernel_regularizer)
        self._channels = None
        # Filters are known once the input channels are; the sublayers are made in build.
        self.query_conv = None
        self.key_conv = None
        self.value_conv = None
        self.output_conv = None

    # ------------------------------------------------------------------ shapes

    def _check_shape(self, shape):
        """Validates a static input shape; returns ``(channels, key_ch, value_ch)``."""
        name = type(self).__name__
        check_input(shape, name, rank=4)
        shape = tf.TensorShape(shape)
        channels = shape[-1]
        if channels is None:
            raise ValueError(
                f"{name} needs the channels of `inputs` (last axis) to be known. "
                f"Received: inputs.shape={tuple(shape)}"
            )
        if channels // self.key_reduction < 1 or channels // self.value_reduction < 1:
            raise ValueError(
                f"{name} needs `inputs` with at least key_reduction={self.key_reduction} and "
                f"value_reduction={self.value_reduction} channels, so that the query/key and "
                f"value projections keep at least one channel. Received: "
                f"inputs.shape={tuple(shape)} ({channels} channels)"
            )
        if self.pooling:
            odd = [size for size in shape[1:3] if size is not None and size % 2]
            if odd:
                raise ValueError(
                    f"{name} with pooling=True 2x2 max-pools the keys and values, so it needs "
                    f"`inputs` with an even height and width. Received: "
                    f"inputs.shape={tuple(shape)}"
                )
        return channels, channels // self.key_reduction, channels // self.value_reduction

    def _initializer(self, index):
        """A fresh initializer for the ``index``-th kernel.

        Legacy Keras returns identical values when one unseeded initializer object is
        called twice, and a seeded initializer repeats itself in both versions; either
        would start θ and φ equal.  So each kernel gets its own object, and a seeded
        initializer gets the seed ``seed + index``.
        """
        config = compat.initializers.serialize(self.kernel_initializer)
        if isinstance(config, dict) and isinstance(config.get("config"), dict):
            config = dict(config, config=dict(config["config"]))
            seed = config["config"].get("seed")
            if isinstance(seed, int) and not isinstance(seed, bool):
                config["config"]["seed"] = seed + index
        return compat.initializers.get(config)

    def _conv(self, filters, name, index):
        initializer = self._initializer(index)
        common = dict(
            filters=filters,
            kernel_size=1,
            use_bias=False,
            kernel_initializer=initializer,
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name=name,
        )
        if self.use_spectral_norm:
            return SNConv2D(power_iterations=self.power_iterations, **common)
        return compat.layers.Conv2D(**common)

    def build(self, input_shape):
        channels, key_channels, value_channels = self._check_shape(input_shape)
        self._channels = channels
        shape = tf.TensorShape(input_shape).as_list()
        self.query_conv = self._conv(key_channels, "query", 0)
        self.key_conv = self._conv(key_channels, "key", 1)
        self.value_conv = self._conv(value_channels, "value", 2)
        self.output_conv = self._conv(channels, "output", 3)
        for conv, conv_shape in (
            (self.query_conv, shape),
            (self.key_conv, shape),
            (self.value_conv, shape),
            (self.output_conv, shape[:3] + [value_channels]),
        ):
            with tf.name_scope(conv.name):  # legacy Keras names variables by scope
                conv.build(conv_shape)
        self.gamma = self.add_weight(
            name="gamma", shape=(), initializer="zeros", trainable=True, dtype="float32"
        )
        self.built = True

    # ------------------------------------------------------------------ forward

    def _project(self, conv, inputs, training):
        if self.use_spectral_norm:
            return conv(inputs, training=training)
        return conv(inputs)

    def _pool(self, features):
        if not self.pooling:
            return features
        return tf.nn.max_pool2d(features, ksize=2, strides=2, padding="VALID")

    def call(self, inputs, training=None, return_attention_scores=False):
        self._check_shape(inputs.shape)
        check_input(inputs, type(self).__name__, rank=4, channels=self._channels)
        dynamic = tf.shape(inputs)
        batch, height, width = dynamic[0], dynamic[1], dynamic[2]
        checks = []
        if self.pooling and (inputs.shape[1] is None or inputs.shape[2] is None):
            checks.append(
                tf.debugging.assert_equal(
                    tf.math.floormod(dynamic[1:3], 2),
                    tf.zeros((2,), dynamic.dtype),
                    message=(
                        f"{type(self).__name__} with pooling=True needs `inputs` with an "
                        "even height and width"
                    ),
                )
            )
        with tf.control_dependencies(checks):
            query = self._project(self.query_conv, inputs, training)
        key = self._pool(self._project(self.key_conv, inputs, training))
        value = self._pool(self._project(self.value_conv, inputs, training))

        query = tf.reshape(query, (batch, -1, query.shape[-1]))  # (n, hw, ck)
        key = tf.reshape(key, (batch, -1, key.shape[-1]))  # (n, hw', ck)
        value = tf.reshape(value, (batch, -1, value.shape[-1]))  # (n, hw', cv)

        logits = tf.matmul(query, key, transpose_b=True)  # (n, hw, hw')
        attention = tf.cast(tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1), inputs.dtype)
        attended = tf.matmul(attention, value)  # (n, hw, cv)
        attended = tf.reshape(attended, (batch, height, width, value.shape[-1]))
        attended = self._project(self.output_conv, attended, training)

        outputs = inputs + tf.cast(self.gamma, inputs.dtype) * attended
        if return_attention_scores:
            return outputs, attention
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "key_reduction": self.key_reduction,
                "value_reduction": self.value_reduction,
                "pooling": self.pooling,
                "use_spectral_norm": self.use_spectral_norm,
                "power_iterations": self.power_iterations,
                "kernel_initializer": compat.initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": compat.regularizers.serialize(self.kernel_regularizer)
                if self.kernel_regularizer is not None
                else None,
            }
        )
        return config
