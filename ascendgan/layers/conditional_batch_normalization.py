"""ConditionalBatchNormalization: batch norm with a per-sample gain and bias."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.layers._batch_norm import (
    add_moving_statistics,
    batch_norm,
    check_batch_norm_arguments,
)
from ascendgan.layers._spectral import check_spectral_norm_initializer
from ascendgan.layers.sn_dense import SNDense
from ascendgan.layers.sublayers import (
    build_sublayer,
    describe_inputs,
    fresh_initializer,
    is_list_of_inputs,
)
from ascendgan.validation import check_int


@compat.register
class ConditionalBatchNormalization(compat.layers.Layer):
    """Batch normalization whose gain and bias depend on a per-sample condition.

    ``x`` is batch-normalized without an affine of its own, then every sample gets its
    own per-channel gain and bias computed from its condition ``c``:

        out = (x - mean) / sqrt(variance + epsilon) * (1 + Δγ(c)) + β(c)

    Two kinds of condition:

    * **class ids** (``num_classes`` given): ``c`` is an integer tensor ``(n,)`` or
      ``(n, 1)``; Δγ and β are rows of two tables ``(num_classes, channels)``
      (``gain_embeddings``, ``bias_embeddings``), initialized to zeros so the layer
      starts as plain batch normalization (conditional BN of the projection-
      discriminator / SN-GAN generators).
    * **a continuous vector** (``num_classes=None``): ``c`` is a float tensor ``(n, d)``;
      Δγ and β are linear projections of it (``gain_projection``, ``bias_projection``),
      spectrally normalized when ``use_spectral_norm=True``.  This is BigGAN's
      generator, where ``c`` is the shared class embedding concatenated with a chunk
      of the latent vector.  As in BigGAN-PyTorch (``SNLinear(..., bias=False)``) the
      projections have no bias by default.

    Batch statistics follow ascendgan's batch-norm conventions: they are computed in
    float32 (also under mixed precision; the output is in the compute dtype); the
    batch is normalized with the biased batch variance, the moving variance is updated
    with the unbiased one (as PyTorch and cuDNN); ``moving = moving * momentum + batch *
    (1 - momentum)``, so the default ``momentum=0.9`` is PyTorch's (and BigGAN's)
    ``momentum=0.1``; 4D inputs use a fused kernel.  The moving statistics are
    non-trainable float32 variables averaged across replicas under ``tf.distribute``.

    Args:
        num_classes: number of classes for class-id conditions, or None (the default)
            for continuous condition vectors.
        momentum: moving-average momentum in [0, 1). Defaults to 0.9.
        epsilon: added to the variance. Defaults to 1e-5 (BigGAN).
        synchronized: under a ``tf.distribute`` strategy, compute the batch statistics
            over all replicas (cross-replica batch norm, as BigGAN's large-batch runs do).
            Defaults to False (per-replica statistics; no effect on one device).
        use_spectral_norm: make the projections of the vector mode ``SNDense`` layers
            (BigGAN's generator does). Defaults to False.  Not available with
            ``num_classes``: BigGAN keeps class embeddings of its generator free of
            spectral normalization (it found it hurt training), and a spectrally
            normalized table could not start at zero.
        power_iterations: power-iteration steps of the spectral norm, >= 1. Defaults to 1.
        embeddings_initializer: initializer of the two class-mode tables.
            Defaults to ``"zeros"`` (start as plain batch normalization).
        kernel_initializer: initializer of the vector-mode projection kernels.  Defaults
            to ``"orthogonal"`` (BigGAN's initialization).  A zero kernel has no spectral
            norm, so ``"zeros"`` is refused with ``use_spectral_norm=True``; without
            spectral norm ``"zeros"`` makes the layer start as plain batch normalization.
        projection_use_bias: give the projections bias vectors. Defaults to False
            (BigGAN-PyTorch).
        bias_initializer: initializer of those biases. Defaults to ``"zeros"``.
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``).

    Call arguments:
        inputs: list ``[x, condition]``: ``x`` of shape ``(n, channels)`` or
            ``(n, h, w, channels)``; ``condition`` integer ``(n,)`` / ``(n, 1)`` class ids
            in ``[0, num_classes)``, or float ``(n, d)``.
        training: Python bool or boolean tensor; True normalizes with batch statistics
            and updates the moving statistics, False (or None) uses the moving
            statistics.

    Returns:
        a tensor shaped like ``x``, in the compute dtype.

    Example:

    >>> import numpy as np
    >>> from ascendgan.layers import ConditionalBatchNormalization
    >>> x = np.random.normal(size=(4, 8, 8, 16)).astype("float32")
    >>> by_class = ConditionalBatchNormalization(num_classes=10)
    >>> tuple(by_class([x, np.array([0, 3, 3, 9])], training=True).shape)
    (4, 8, 8, 16)
    >>> by_vector = ConditionalBatchNormalization(use_spectral_norm=True)
    >>> c = np.random.normal(size=(4, 20)).astype("float32")
    >>> tuple(by_vector([x, c], training=True).shape)
    (4, 8, 8, 16)

    Reference:
        de Vries et al., "Modulating early visual processing by language", NeurIPS 2017
        (arXiv:1707.00683); Dumoulin et al., "A Learned Representation for Artistic
        Style", ICLR 2017; Brock et al., "Large Scale GAN Training for High Fidelity
        Natural Image Synthesis", ICLR 2019 (arXiv:1809.11096).
    """

    def __init__(
        self,
        num_classes=None,
        momentum=0.9,
        epsilon=1e-5,
        use_spectral_norm=False,
        power_iterations=1,
        embeddings_initializer="zeros",
        kernel_initializer="orthogonal",
        projection_use_bias=False,
        bias_initializer="zeros",
        synchronized=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # num_classes=None: vector conditions
        self.num_classes = check_int("num_classes", num_classes, minimum=1, allow_none=True)
        self.momentum, self.epsilon, self.synchronized = check_batch_norm_arguments(
            momentum, epsilon, synchronized
        )
        if num_classes is not None and use_spectral_norm:
            raise ValueError(
                "`use_spectral_norm=True` applies to the projections of vector conditions "
                "(num_classes=None); class-id conditions use plain embedding tables. Received: "
                f"num_classes={num_classes!r}, use_spectral_norm=True"
            )
        check_spectral_norm_initializer(use_spectral_norm, kernel_initializer)
        self.power_iterations = check_int("power_iterations", power_iterations, minimum=1)
        self.use_spectral_norm = bool(use_spectral_norm)
        self.embeddings_initializer = compat.initializers.get(embeddings_initializer)
        self.kernel_initializer = compat.initializers.get(kernel_initializer)
        self.projection_use_bias = bool(projection_use_bias)
        self.bias_initializer = compat.initializers.get(bias_initializer)
        self._condition_dim = None
        self.gain_projection = None
        self.bias_projection = None

    # ------------------------------------------------------------------ input checks

    def _split(self, inputs, shapes=False):
        if not is_list_of_inputs(inputs, shapes) or len(inputs) != 2:
            raise ValueError(
                f"{type(self).__name__} must be called on a list of two tensors "
                f"`[x, condition]`. Received: inputs={describe_inputs(inputs, shapes)}"
            )
        return inputs[0], inputs[1]

    def _check_shapes(self, x_shape, c_shape):
        name = type(self).__name__
        x_shape = tf.TensorShape(x_shape)
        c_shape = tf.TensorShape(c_shape)
        if x_shape.rank is not None and x_shape.rank not in (2, 4):
            raise ValueError(
                f"{name} expects `x` of rank 2 (n, channels) or 4 (n, h, w, channels). "
                f"Received: x.shape={tuple(x_shape.as_list())}"
            )
        if x_shape.rank is not None and x_shape[-1] is None:
            raise ValueError(
                f"{name} needs a known channel count (last axis of `x`). "
                f"Received: x.shape={tuple(x_shape.as_list())}"
            )
        if c_shape.rank is not None:
            if self.num_classes is not None and not (
                c_shape.rank == 1 or (c_shape.rank == 2 and c_shape[1] in (1, None))
            ):
                raise ValueError(
                    f"{name} with num_classes expects `condition` class ids of shape (n,) or "
                    f"(n, 1). Received: condition.shape={tuple(c_shape.as_list())}"
                )
            if self.num_classes is None and c_shape.rank != 2:
                raise ValueError(
                    f"{name} with num_classes=None expects a `condition` vector of shape "
                    f"(n, d). Received: condition.shape={tuple(c_shape.as_list())}"
                )
            if self.num_classes is None and self._condition_dim is not None and (
                c_shape[-1] is not None and c_shape[-1] != self._condition_dim
            ):
                raise ValueError(
                    f"{name} was built for `condition` vectors of size {self._condition_dim}. "
                    f"Received: condition.shape={tuple(c_shape.as_list())}"
                )
        if x_shape.rank is not None and c_shape.rank is not None and c_shape.rank >= 1:
            x_batch, c_batch = x_shape[0], c_shape[0]
            if x_batch is not None and c_batch is not None and x_batch != c_batch:
                raise ValueError(
                    f"{name} expects one `condition` per sample of `x`. Received: "
                    f"x.shape={tuple(x_shape.as_list())}, "
                    f"condition.shape={tuple(c_shape.as_list())}"
                )

    def _check_dtype(self, condition):
        dtype = tf.as_dtype(condition.dtype)
        if self.num_classes is not None and not dtype.is_integer:
            raise TypeError(
                f"{type(self).__name__} with num_classes expects integer class ids as "
                f"`condition`. Received: condition.dtype={dtype.name}"
            )
        if self.num_classes is None and not dtype.is_floating:
            raise TypeError(
                f"{type(self).__name__} with num_classes=None expects a float `condition` "
                f"vector (pass num_classes for class ids). Received: condition.dtype={dtype.name}"
            )

    # ------------------------------------------------------------------ build / call

    def build(self, input_shape):
        x_shape, c_shape = self._split(input_shape, shapes=True)
        self._check_shapes(x_shape, c_shape)
        x_shape = tf.TensorShape(x_shape)
        c_shape = tf.TensorShape(c_shape)
        channels = int(x_shape[-1])
        add_moving_statistics(self, channels)
        if self.num_classes is not None:
            self.gain_embeddings = self.add_weight(
                name="gain_embeddings", shape=(self.num_classes, channels),
                initializer=fresh_initializer(self.embeddings_initializer), trainable=True,
                dtype="float32",
            )
            self.bias_embeddings = self.add_weight(
                name="bias_embeddings", shape=(self.num_classes, channels),
                initializer=fresh_initializer(self.embeddings_initializer), trainable=True,
                dtype="float32",
            )
        else:
            if c_shape[-1] is None:
                raise ValueError(
                    f"{type(self).__name__} needs the size of the `condition` vector at build. "
                    f"Received: condition.shape={tuple(c_shape.as_list())}"
                )
            self._condition_dim = int(c_shape[-1])
            self.gain_projection = self._projection("gain_projection", channels)
            self.bias_projection = self._projection("bias_projection", channels)
            for projection in (self.gain_projection, self.bias_projection):
                build_sublayer(projection, (None, self._condition_dim))
        self.built = True

    def _projection(self, name, channels):
        common = dict(
            use_bias=self.projection_use_bias,
            kernel_initializer=fresh_initializer(self.kernel_initializer),
            bias_initializer=fresh_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )
        if self.use_spectral_norm:
            return SNDense(channels, power_iterations=self.power_iterations, **common)
        return compat.layers.Dense(channels, **common)

    def _gain_and_bias(self, condition, training):
        """Δγ and β, float32, shape (n, channels)."""
        if self.num_classes is not None:
            ids = tf.cast(condition, tf.int32)
            if ids.shape.rank == 2:
                ids = tf.squeeze(ids, axis=1)
            checks = [
                tf.debugging.assert_non_negative(
                    ids, message=f"`condition` holds class ids < 0 (num_classes={self.num_classes})"
                ),
                tf.debugging.assert_less(
                    ids, tf.constant(self.num_classes, tf.int32),
                    message=f"`condition` holds class ids >= num_classes={self.num_classes}",
                ),
            ]
            with tf.control_dependencies([c for c in checks if c is not None]):
                ids = tf.identity(ids)
            gain = tf.gather(tf.cast(compat.full_precision(self.gain_embeddings), tf.float32), ids)
            bias = tf.gather(tf.cast(compat.full_precision(self.bias_embeddings), tf.float32), ids)
            return gain, bias
        condition = tf.cast(condition, self.compute_dtype)
        if self.use_spectral_norm:
            gain = self.gain_projection(condition, training=training)
            bias = self.bias_projection(condition, training=training)
        else:
            gain = self.gain_projection(condition)
            bias = self.bias_projection(condition)
        return tf.cast(gain, tf.float32), tf.cast(bias, tf.float32)

    def call(self, inputs, training=None):
        x, condition = self._split(inputs)
        self._check_shapes(x.shape, condition.shape)
        self._check_dtype(condition)
        normalized = batch_norm(
            x, training, self.moving_mean, self.moving_variance, self.momentum, self.epsilon,
            synchronized=self.synchronized,
        )
        gain, bias = self._gain_and_bias(condition, training)
        if x.shape.rank == 4:
            gain = gain[:, None, None, :]
            bias = bias[:, None, None, :]
        return normalized * tf.cast(1.0 + gain, normalized.dtype) + tf.cast(bias, normalized.dtype)

    def compute_output_shape(self, input_shape):
        return self._split(input_shape, shapes=True)[0]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "use_spectral_norm": self.use_spectral_norm,
                "power_iterations": self.power_iterations,
                "embeddings_initializer": compat.initializers.serialize(
                    self.embeddings_initializer
                ),
                "kernel_initializer": compat.initializers.serialize(self.kernel_initializer),
                "projection_use_bias": self.projection_use_bias,
                "bias_initializer": compat.initializers.serialize(self.bias_initializer),
                "synchronized": self.synchronized,
            }
        )
        return config
