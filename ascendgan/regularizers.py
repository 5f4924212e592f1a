"""Weight and gradient regularizers for GAN training.

* :func:`orthogonal_penalty`, :class:`OrthogonalRegularizer` and
  :func:`orthogonal_regularization`: BigGAN's off-diagonal orthogonal regularization
  of the weights, ``β·‖WᵀW ⊙ (1 - I)‖²_F``.
* :func:`gradient_penalty`: WGAN-GP's two-sided penalty on the discriminator's input
  gradient at random interpolates of real and generated images.
* :func:`r1_penalty`: the R1 penalty, the squared input-gradient norm at real images.

All return float32 scalars, are computed in float32 whatever the dtype of the weights
or logits, and are differentiable with respect to the model weights (so they can be
added to a loss inside a ``tf.GradientTape``).

Example:

>>> import numpy as np
>>> from ascendgan import regularizers
>>> kernel = np.eye(3, dtype="float32") * 2.0  # orthogonal columns
>>> float(regularizers.orthogonal_penalty(kernel))
0.0
"""

from __future__ import annotations

import numbers

import tensorflow as tf

from ascendgan import compat
from ascendgan.losses import check_float_tensor
from ascendgan.validation import check_number, check_seed

__all__ = [
    "OrthogonalRegularizer",
    "gradient_penalty",
    "orthogonal_penalty",
    "orthogonal_regularization",
    "r1_penalty",
]

# Added under the square root of the gradient's squared norm, so that the norm's own
# gradient stays finite when the input gradient is exactly zero.
_NORM_EPSILON = 1e-12


# ----------------------------------------------------------------------------- checks


def _float_tensor(value, argument: str) -> tf.Tensor:
    """``value`` (a mixed-precision variable read in full precision) as a tensor of its own
    floating dtype; TypeError naming ``argument`` otherwise."""
    return check_float_tensor(argument, compat.full_precision(value))


def _check_discriminator(discriminator):
    if not callable(discriminator):
        raise TypeError(
            "`discriminator` must be a callable mapping images to logits, e.g. a Keras model "
            "or `lambda x: model([x, labels], training=True)`. Received: discriminator of "
            f"type {type(discriminator).__name__}"
        )


def _check_batched(tensor, argument: str):
    rank = tensor.shape.rank
    if rank is None or rank < 1:
        raise ValueError(
            f"`{argument}` must be a batch of images with a known rank >= 1 (batch first). "
            f"Received: {argument}.shape={tensor.shape}"
        )


# ----------------------------------------------------------------------------- orthogonal


def _off_diagonal_gram_energy(kernel: tf.Tensor) -> tf.Tensor:
    """``‖WᵀW ⊙ (1 - I)‖²_F`` of ``kernel`` reshaped to ``(-1, last axis)``, in float32.

    For a wide matrix (fewer rows than columns, e.g. the latent-to-4x4 projection of
    BigGAN's cifar10 generator, 30 x 6,144) the column Gram ``WᵀW`` is large and of low rank; the same value comes from
    the row Gram: ``‖WᵀW‖²_F = ‖WWᵀ‖²_F`` (both are ``trace((WᵀW)²)``) and the diagonal of
    ``WᵀW`` holds the squared column norms, so the energy is
    ``‖WWᵀ‖²_F - Σ_j ‖w_j‖⁴``. The two forms are equal in exact arithmetic; the second
    never builds the ``columns x columns`` matrix (for 6,144 columns: 151 MB and 1.5 GFLOP
    each way, per generator step).
    """
    matrix = tf.reshape(tf.cast(kernel, tf.float32), (-1, tf.shape(kernel)[-1]))
    rows, columns = matrix.shape
    if rows is not None and columns is not None and rows < columns:
        row_gram = tf.matmul(matrix, matrix, transpose_b=True)  # (rows, rows)
        squared_norms = tf.reduce_sum(tf.square(matrix), axis=0)  # diagonal of WᵀW
        energy = tf.reduce_sum(tf.square(row_gram)) - tf.reduce_sum(tf.square(squared_norms))
        return tf.maximum(energy, 0.0)  # rounding must not make an energy negative
    gram = tf.matmul(matrix, matrix, transpose_a=True)  # (out, out): filter dot products
    off_diagonal = tf.linalg.set_diag(gram, tf.zeros_like(tf.linalg.diag_part(gram)))
    return tf.reduce_sum(tf.square(off_diagonal))


def orthogonal_penalty(kernel, beta=1e-4):
    """BigGAN's off-diagonal orthogonal penalty of one weight tensor.

    ``penalty(W) = beta · ‖WᵀW ⊙ (1 - I)‖²_F``

    where ``W`` is ``kernel`` reshaped to a matrix ``(-1, kernel.shape[-1])``: each
    column is one output filter (``Dense`` kernels are ``(in, out)``, ``Conv2D`` kernels
    ``(kh, kw, in, out)``).  Only the off-diagonal entries of the Gram matrix count,
    so the penalty pushes filters towards pairwise orthogonality without constraining
    their norms: ``W`` with orthogonal columns of any lengths gives 0.

    ``Conv2DTranspose`` kernels are ``(kh, kw, out, in)``; this function still reshapes
    by the last axis, so for them it decorrelates the *input*-channel slices.  Transpose
    such a kernel first (``tf.transpose(k, (0, 1, 3, 2))``) to penalize output filters.

    Args:
        kernel: float tensor or variable of rank >= 2, any float dtype (computed in
            float32; mixed-precision variables are read in full precision).
        beta: weight β >= 0. BigGAN uses 1e-4. Defaults to 1e-4.

    Returns:
        float32 scalar.

    Example:

    >>> import numpy as np
    >>> w = np.array([[1.0, 1.0], [0.0, 1.0]], "float32")  # columns have dot product 1
    >>> float(orthogonal_penalty(w, beta=1.0))  # two off-diagonal entries of 1
    2.0

    Reference:
        Brock et al., "Large Scale GAN Training for High Fidelity Natural Image
        Synthesis", ICLR 2019 (arXiv:1809.11096), section 3.1.
    """
    beta = check_number("beta", beta, minimum=0)
    kernel = _float_tensor(kernel, "kernel")
    if kernel.shape.rank is None or kernel.shape.rank < 2:
        raise ValueError(
            "`kernel` must have a known rank >= 2 (a Dense or convolution kernel). "
            f"Received: kernel.shape={kernel.shape}"
        )
    return beta * _off_diagonal_gram_energy(kernel)


@compat.register
class OrthogonalRegularizer(compat.regularizers.Regularizer):
    """Keras weight regularizer applying BigGAN's off-diagonal orthogonal penalty.

    ``beta · ‖WᵀW ⊙ (1 - I)‖²_F`` with ``W`` the kernel reshaped to
    ``(-1, kernel.shape[-1])``; see :func:`orthogonal_penalty`.  Pass it as
    ``kernel_regularizer=`` to ``Dense``, ``Conv2D`` or the ``SN*`` layers; the
    penalty then appears in ``layer.losses`` / ``model.losses`` and ``fit()`` adds it
    to the loss.  (This is not ``keras.regularizers.OrthogonalRegularizer``, which
    penalizes the mean absolute cosine similarity of normalized rows or columns.)

    Args:
        beta: weight β >= 0. Defaults to 1e-4 (BigGAN).

    Example:

    >>> import numpy as np
    >>> from ascendgan import compat
    >>> layer = compat.layers.Dense(4, kernel_regularizer=OrthogonalRegularizer(1e-4))
    >>> _ = layer(np.zeros((1, 3), "float32"))
    >>> len(layer.losses)
    1

    Reference:
        Brock et al., "Large Scale GAN Training for High Fidelity Natural Image
        Synthesis", ICLR 2019 (arXiv:1809.11096), section 3.1.
    """

    def __init__(self, beta=1e-4):
        self.beta = check_number("beta", beta, minimum=0)

    def __call__(self, x):
        return orthogonal_penalty(x, self.beta)

    def get_config(self):
        return {"beta": self.beta}


def _is_kernel(variable) -> bool:
    shape = variable.shape
    rank = getattr(shape, "rank", None) if isinstance(shape, tf.TensorShape) else len(shape)
    return (
        compat.variable_name(variable).startswith("kernel")
        and rank is not None
        and rank >= 2
        and bool(getattr(variable, "trainable", True))
    )


def orthogonal_regularization(model_or_variables, beta=1e-4):
    """Sum of :func:`orthogonal_penalty` over the kernels of a model.

    The kernels are the trainable variables whose short name starts with ``"kernel"``
    and whose rank is >= 2: the kernels of ``Dense``, ``Conv2D``, ``SNDense``,
    ``SNConv2D``, ... .  Biases, normalization scales, embeddings (``"embeddings"``,
    e.g. BigGAN's shared class embedding) and the non-trainable spectral-norm ``u``
    vectors are left out.  The same selection applies to an explicit list of variables,
    so ``orthogonal_regularization(model)`` equals
    ``orthogonal_regularization(model.trainable_variables)``; to penalize an arbitrary
    set of tensors, sum :func:`orthogonal_penalty` yourself.

    Every kernel is reshaped by its last axis (see :func:`orthogonal_penalty`,
    including the note on ``Conv2DTranspose``).  BigGAN applies this to the generator
    only, with ``beta=1e-4``.  Call it inside the generator's ``GradientTape`` and add
    it to the generator loss; it is differentiable with respect to the kernels.

    Args:
        model_or_variables: a Keras model or layer (its ``trainable_variables`` are
            searched), or an iterable of variables.
        beta: weight β >= 0. Defaults to 1e-4.

    Returns:
        float32 scalar; 0.0 when there is no kernel.

    Example:

    >>> import numpy as np
    >>> from ascendgan import compat
    >>> model = compat.keras.Sequential([compat.layers.Dense(4), compat.layers.Dense(2)])
    >>> _ = model(np.zeros((1, 3), "float32"))
    >>> penalty = orthogonal_regularization(model, beta=1e-4)
    >>> penalty.dtype.name, penalty.shape.rank
    ('float32', 0)

    Reference:
        Brock et al., "Large Scale GAN Training for High Fidelity Natural Image
        Synthesis", ICLR 2019 (arXiv:1809.11096), section 3.1.
    """
    beta = check_number("beta", beta, minimum=0)
    if hasattr(model_or_variables, "trainable_variables"):
        variables = list(model_or_variables.trainable_variables)
    elif hasattr(model_or_variables, "shape") and hasattr(model_or_variables, "dtype"):
        raise TypeError(
            "`model_or_variables` must be a Keras model/layer or a list of variables; for a "
            "single kernel use `orthogonal_penalty(kernel)`. Received: a single "
            f"{type(model_or_variables).__name__} named {getattr(model_or_variables, 'name', '?')!r}"
        )
    else:
        try:
            variables = list(model_or_variables)
        except TypeError as error:
            raise TypeError(
                "`model_or_variables` must be a Keras model/layer or an iterable of variables. "
                f"Received: model_or_variables of type {type(model_or_variables).__name__}"
            ) from error
    seen, kernels = set(), []
    for variable in variables:
        if id(variable) in seen or not hasattr(variable, "name"):
            continue
        seen.add(id(variable))
        if _is_kernel(variable):
            kernels.append(variable)
    if not kernels:
        return tf.constant(0.0, tf.float32)
    energies = [_off_diagonal_gram_energy(_float_tensor(k, "kernel")) for k in kernels]
    return beta * tf.add_n(energies)


# ----------------------------------------------------------------------------- gradient penalties


def _input_gradients(discriminator, images: tf.Tensor) -> tf.Tensor:
    """Gradient of the summed logits with respect to ``images`` (float32)."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = discriminator(images)
        logits = _float_tensor(logits, "discriminator(images)")
        total = tf.reduce_sum(tf.cast(logits, tf.float32))
    gradients = tape.gradient(total, images)
    if gradients is None:
        raise ValueError(
            "The `discriminator`'s logits do not depend on its input images (the gradient "
            "is None). Check that the callable uses its argument."
        )
    return tf.cast(gradients, tf.float32)


def _per_sample_squared_norm(gradients: tf.Tensor) -> tf.Tensor:
    axes = list(range(1, gradients.shape.rank))
    return tf.reduce_sum(tf.square(gradients), axis=axes)


def gradient_penalty(discriminator, real, fake, alpha=None, seed=None, target=1.0):
    """WGAN-GP gradient penalty.

    ``x̂ = real + α·(fake - real)`` with ``α ~ U[0, 1)`` drawn per sample (shape
    ``(batch, 1, ..., 1)``) unless given, and

    ``penalty = mean_over_batch((‖∇ₓ D(x̂)‖₂ - target)²)``

    where the norm runs over all non-batch axes.  Logits of any rank (e.g. a PatchGAN
    map) are summed per sample before differentiating; the whole batch is
    differentiated at once, which equals per-sample gradients as long as the
    discriminator treats samples independently (no batch normalization in training
    mode, no minibatch statistics).  ``x̂`` is held out of the gradient, so the
    penalty depends on the discriminator's weights only; it works inside
    ``tf.function`` and inside an outer ``GradientTape`` (the usual case: the
    discriminator's train step differentiates ``d_loss + λ·penalty``, λ = 10 in the
    paper).  ``real`` and ``fake`` are cast to float32; the discriminator's own layers
    cast to their compute dtype.  A tiny epsilon (1e-12) under the square root keeps
    the norm differentiable at zero.

    Args:
        discriminator: callable mapping a batch of images to logits, e.g. a Keras model
            or ``lambda x: model([x, labels], training=True)`` for a conditional one.
        real: float tensor ``(batch, ...)``, real images.
        fake: float tensor of the same shape, generated images.
        alpha: optional interpolation weights: a number in [0, 1] or a float tensor
            broadcastable to ``real`` (typically ``(batch, 1, ..., 1)``).
            Defaults to ``U[0, 1)`` per sample.
        seed: optional int, op-level seed of the ``tf.random.uniform`` draw of ``alpha``
            (reproducible together with ``tf.random.set_seed``).
        target: the gradient norm the penalty pulls towards, >= 0. Defaults to 1.0
            (WGAN-GP); 0.0 gives a zero-centred penalty.

    Returns:
        float32 scalar.

    Example:

    >>> import numpy as np
    >>> w = tf.constant([3.0, 4.0])
    >>> critic = lambda x: tf.reduce_sum(x * w, axis=-1)  # ∇ₓ = w, ‖w‖ = 5
    >>> real, fake = np.zeros((2, 2), "float32"), np.ones((2, 2), "float32")
    >>> float(gradient_penalty(critic, real, fake))  # (5 - 1)²
    16.0

    Reference:
        Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017
        (arXiv:1704.00028).
    """
    _check_discriminator(discriminator)
    target = check_number("target", target, minimum=0)
    seed = check_seed("seed", seed, allow_none=True)
    real = tf.cast(_float_tensor(real, "real"), tf.float32)
    fake = tf.cast(_float_tensor(fake, "fake"), tf.float32)
    _check_batched(real, "real")
    if not real.shape.is_compatible_with(fake.shape):
        raise ValueError(
            "`real` and `fake` must have the same shape. Received: "
            f"real.shape={real.shape}, fake.shape={fake.shape}"
        )
    rank = real.shape.rank
    if alpha is None:
        alpha_shape = tf.concat(
            [tf.shape(real)[:1], tf.ones([rank - 1], dtype=tf.int32)], axis=0
        )
        alpha = tf.random.uniform(alpha_shape, 0.0, 1.0, dtype=tf.float32, seed=seed)
    elif isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
        alpha = tf.constant(check_number("alpha", alpha, minimum=0, maximum=1), tf.float32)
    else:
        alpha = tf.cast(_float_tensor(alpha, "alpha"), tf.float32)
        if alpha.shape.rank is not None and (
            alpha.shape.rank > rank or _broadcasts_badly(alpha.shape, real.shape)
        ):
            raise ValueError(
                "`alpha` must broadcast to the shape of `real` (typically (batch, 1, ..., 1)). "
                f"Received: alpha.shape={alpha.shape}, real.shape={real.shape}"
            )
    interpolates = tf.stop_gradient(real + alpha * (fake - real))
    gradients = _input_gradients(discriminator, interpolates)
    norms = tf.sqrt(_per_sample_squared_norm(gradients) + _NORM_EPSILON)
    return tf.reduce_mean(tf.square(norms - target))


def _broadcasts_badly(shape: tf.TensorShape, full: tf.TensorShape) -> bool:
    """True when a tensor of static ``shape`` cannot broadcast to ``full`` without
    changing ``full``'s shape (``shape``'s rank must be <= ``full``'s)."""
    dims = [None] * (full.rank - shape.rank) + shape.as_list()
    for small, large in zip(dims, full.as_list()):
        if small in (None, 1) or large is None:
            continue
        if small != large:
            return True
    return False


def r1_penalty(discriminator, real):
    """R1 penalty: ``mean_over_batch(‖∇ₓ D(x)‖²₂)`` at the real images.

    The norm runs over all non-batch axes; logits of any rank are summed per sample
    (see :func:`gradient_penalty` for the independence assumption).  The penalty is
    returned unweighted: the usual regularizer is ``gamma / 2 · r1_penalty(...)``,
    with the ``gamma / 2`` applied by the caller (StyleGAN uses gamma = 10 on FFHQ).
    ``real`` is held out of the gradient.

    Args:
        discriminator: callable mapping a batch of images to logits.
        real: float tensor ``(batch, ...)``, real images.

    Returns:
        float32 scalar.

    Example:

    >>> w = tf.constant([3.0, 4.0])
    >>> float(r1_penalty(lambda x: tf.reduce_sum(x * w, axis=-1), tf.zeros((2, 2))))
    25.0

    Reference:
        Mescheder et al., "Which Training Methods for GANs do actually Converge?",
        ICML 2018 (arXiv:1801.04406).
    """
    _check_discriminator(discriminator)
    real = tf.cast(_float_tensor(real, "real"), tf.float32)
    _check_batched(real, "real")
    gradients = _input_gradients(discriminator, tf.stop_gradient(real))
    return tf.reduce_mean(_per_sample_squared_norm(gradients))
