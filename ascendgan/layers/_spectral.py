"""Spectral normalization maths shared by the SN* layers (not public API)."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.validation import check_int, check_number


def _l2_normalize(x, epsilon):
    return x / tf.maximum(tf.norm(x), epsilon)


def spectral_norm(matrix, u, power_iterations: int = 1, epsilon: float = 1e-12):
    """Estimates the largest singular value of ``matrix`` by power iteration.

    Args:
        matrix: float tensor of shape ``(n, m)``; ``m`` is the output axis.
        u: float tensor of shape ``(1, m)``, the current estimate of the top right
            singular vector.
        power_iterations: number of iterations, >= 0.  With 0, ``u`` is used as it is.
        epsilon: floor of vector norms.

    Returns:
        ``(sigma, u_new)``: the scalar estimate ``vᵀ W u`` (differentiable with respect to
        ``matrix``; ``u`` and ``v`` are held out of the gradient) and the new ``u``.
    """
    u = tf.stop_gradient(u)
    w = tf.stop_gradient(matrix)
    v = None
    for _ in range(power_iterations):
        v = _l2_normalize(tf.matmul(u, w, transpose_b=True), epsilon)  # (1, n)
        u = _l2_normalize(tf.matmul(v, w), epsilon)  # (1, m)
    if v is None:
        v = _l2_normalize(tf.matmul(u, w, transpose_b=True), epsilon)
    u = tf.stop_gradient(u)
    v = tf.stop_gradient(v)
    sigma = tf.reduce_sum(tf.matmul(v, matrix) * u)
    return sigma, u


def is_training(training) -> bool | tf.Tensor:
    """Normalizes Keras's ``training`` argument (None means inference)."""
    if training is None:
        return False
    return training


class SpectralNormMixin:
    """Holds the state and the forward-pass normalization of an SN layer.

    The host layer calls :meth:`_sn_validate` in ``__init__``, :meth:`_sn_build` at the end
    of ``build`` and :meth:`_sn_weight` in ``call``.
    """

    def _sn_validate(self, power_iterations, epsilon):
        self.power_iterations = check_int("power_iterations", power_iterations, minimum=1)
        self.epsilon = check_number("epsilon", epsilon, minimum=0, min_inclusive=False)
        self.input_spec = None  # replaced by check_input, whose errors name `inputs`

    def _sn_build(self, output_size: int):
        self.input_spec = None  # the parent's build sets one again
        self.u = compat.add_state_weight(
            self,
            name="u",
            shape=(1, output_size),
            initializer=compat.initializers.RandomNormal(stddev=1.0),
            # Power iteration does not depend on the data: every replica computes the
            # same u, so the first replica's value is exact and costs no all-reduce.
            aggregation="only_first_replica",
        )

    def _sn_matrix(self, weight):
        """Reshapes the raw weight to ``(n, output_size)``; override for other layouts."""
        return tf.reshape(weight, (-1, tf.shape(weight)[-1]))

    def _sn_weight(self, training):
        """Returns ``W / σ`` in float32 and advances ``u`` when training."""
        weight = tf.cast(compat.full_precision(self._sn_variable()), tf.float32)
        u = tf.cast(compat.full_precision(self.u), tf.float32)
        training = is_training(training)

        def advance():
            sigma, u_new = spectral_norm(
                self._sn_matrix(weight), u, self.power_iterations, self.epsilon
            )
            with tf.control_dependencies([self.u.assign(u_new)]):
                return tf.identity(sigma)

        def hold():
            sigma, _ = spectral_norm(self._sn_matrix(weight), u, 0, self.epsilon)
            return sigma

        if isinstance(training, bool):
            sigma = advance() if training else hold()
        else:
            sigma = tf.cond(tf.cast(training, tf.bool), advance, hold)
        return weight / sigma

    def sigma_estimate(self):
        """The current estimate of the kernel's largest singular value σ, read off the stored
        power-iteration vector ``u`` (a float32 scalar tensor); the layer divides its kernel
        by it."""
        weight = tf.cast(compat.full_precision(self._sn_variable()), tf.float32)
        u = tf.cast(compat.full_precision(self.u), tf.float32)
        return spectral_norm(self._sn_matrix(weight), u, 0, self.epsilon)[0]

    def _sn_variable(self):
        """The normalized weight variable; the embedding layer overrides this."""
        return self.kernel

    # Keras 3's Dense / Conv / Embedding save only their kernel and bias; the generic
    # Layer implementation saves every variable, u included, in both Keras versions.
    def save_own_variables(self, store):
        compat.keras.layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store):
        compat.keras.layers.Layer.load_own_variables(self, store)

    def _sn_config(self):
        return {"power_iterations": self.power_iterations, "epsilon": self.epsilon}


def check_spectral_norm_initializer(use_spectral_norm, kernel_initializer):
    """Raises a ValueError when spectral normalization would divide a zero kernel by 0."""
    if isinstance(kernel_initializer, str):
        zeros = kernel_initializer.lower() == "zeros"
    else:
        zeros = isinstance(kernel_initializer, compat.initializers.Zeros)
    if use_spectral_norm and zeros:
        raise ValueError(
            "A zero kernel has no spectral norm: with `use_spectral_norm=True` the "
            f"`kernel_initializer` must not be zeros. Received: kernel_initializer={kernel_initializer!r}"
        )


def check_channels_last(data_format, layer_name):
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"{layer_name} supports channels-last images only (ascendgan's convention). "
            f"Received: data_format={data_format!r}"
        )


def check_input(inputs, layer_name: str, rank: int | None = None, min_rank: int | None = None,
                channels: int | None = None, argument: str = "inputs"):
    """Raises a ValueError naming ``argument`` when the input's rank or last axis is wrong.

    ``inputs`` is a tensor or a shape.
    """
    shape = tf.TensorShape(getattr(inputs, "shape", inputs))
    if shape.rank is None:
        return
    if rank is not None and shape.rank != rank:
        raise ValueError(
            f"{layer_name} expects `{argument}` of rank {rank}. Received: "
            f"{argument}.shape={tuple(shape)} (rank {shape.rank})"
        )
    if min_rank is not None and shape.rank < min_rank:
        raise ValueError(
            f"{layer_name} expects `{argument}` of rank >= {min_rank}. Received: "
            f"{argument}.shape={tuple(shape)} (rank {shape.rank})"
        )
    if channels is not None and shape[-1] is not None and shape[-1] != channels:
        raise ValueError(
            f"{layer_name} was built for `{argument}` with {channels} features on the last axis. "
            f"Received: {argument}.shape={tuple(shape)}"
        )
