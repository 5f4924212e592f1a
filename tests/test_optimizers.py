"""``ascendgan.optimizers.FusedAdam`` against numpy Adam and Keras's own Adam."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.optimizers import FusedAdam, adam

keras = compat.keras


def numpy_adam(start, grads, lr, beta_1, beta_2, epsilon=1e-7):
    w, m, v = start.astype("float64"), 0.0, 0.0
    for t, g in enumerate(grads, 1):
        m = m + (g - m) * (1 - beta_1)
        v = v + (g * g - v) * (1 - beta_2)
        w = w - lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + epsilon)
    return w


def _variable(value):
    return keras.Variable(value) if compat.KERAS_3 else tf.Variable(value)


def _run(optimizer, start, grads, graph=True):
    variable = _variable(start)

    def step(gradient):
        optimizer.apply_gradients([(gradient, variable)])

    step = tf.function(step) if graph else step
    for gradient in grads:
        step(tf.constant(gradient))
    return np.asarray(variable)


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(6, 4)).astype("float32")
    grads = [rng.normal(size=(6, 4)).astype("float32") * (i + 1) for i in range(5)]
    return start, grads


@pytest.mark.parametrize("graph", [True, False], ids=["tf_function", "eager"])
def test_matches_numpy_and_keras_adam(problem, graph):
    start, grads = problem
    expected = numpy_adam(start, grads, 1e-2, 0.5, 0.9)
    fused = _run(FusedAdam(1e-2, beta_1=0.5, beta_2=0.9), start, grads, graph)
    plain = _run(keras.optimizers.Adam(1e-2, beta_1=0.5, beta_2=0.9), start, grads, graph)
    np.testing.assert_allclose(fused, expected, atol=2e-6)
    np.testing.assert_allclose(fused, plain, atol=2e-6)
    assert np.abs(expected - start).max() > 0.02


def _update_ops(optimizer, start, gradient):
    variable = _variable(start)
    compat.build_optimizer(optimizer, [variable])

    @tf.function
    def step(g):
        optimizer.apply_gradients([(g, variable)])

    return {op.type for op in step.get_concrete_function(tf.constant(gradient)).graph.get_operations()}


def test_dense_updates_run_one_fused_kernel(problem):
    start, grads = problem
    assert "ResourceApplyAdam" in _update_ops(FusedAdam(1e-2), start, grads[0])
    # The parent class (the reference above) does the update with separate element-wise ops.
    assert "ResourceApplyAdam" not in _update_ops(keras.optimizers.Adam(1e-2), start, grads[0])


def test_learning_rate_schedule_is_followed(problem):
    start, grads = problem
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=1, decay_rate=0.5)
    fused = _run(FusedAdam(schedule, beta_1=0.5, beta_2=0.9), start, grads)
    plain = _run(keras.optimizers.Adam(schedule, beta_1=0.5, beta_2=0.9), start, grads)
    np.testing.assert_allclose(fused, plain, atol=2e-6)
    # and differs from the constant rate
    assert np.abs(fused - _run(FusedAdam(1e-2, beta_1=0.5, beta_2=0.9), start, grads)).max() > 1e-3


def test_amsgrad_and_sparse_gradients_fall_back_to_keras(problem):
    start, grads = problem
    np.testing.assert_allclose(
        _run(FusedAdam(1e-2, amsgrad=True), start, grads),
        _run(keras.optimizers.Adam(1e-2, amsgrad=True), start, grads), atol=2e-6)
    # Sparse: rows 1 and 3 of an embedding table.
    results = []
    for optimizer in (FusedAdam(1e-2), keras.optimizers.Adam(1e-2)):
        table = _variable(start)
        for g in grads:
            optimizer.apply_gradients(
                [(tf.IndexedSlices(tf.constant(g[:2]), tf.constant([1, 3]), tf.constant(start.shape)),
                  table)])
        results.append(np.asarray(table))
    np.testing.assert_allclose(results[0], results[1], atol=2e-6)
    np.testing.assert_array_equal(results[0][[0, 2, 4, 5]], start[[0, 2, 4, 5]])


def test_weight_decay_and_clipping_are_the_parents(problem):
    start, grads = problem
    kwargs = dict(learning_rate=1e-2, weight_decay=0.1, global_clipnorm=1.0)
    np.testing.assert_allclose(_run(FusedAdam(**kwargs), start, grads),
                               _run(keras.optimizers.Adam(**kwargs), start, grads), atol=2e-6)


def test_serialization_round_trip():
    optimizer = FusedAdam(3e-4, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
    restored = compat.deserialize(compat.serialize(optimizer))
    assert type(restored) is FusedAdam
    config = restored.get_config()
    assert (config["beta_1"], config["beta_2"], config["epsilon"]) == (0.0, 0.99, 1e-8)
    assert np.isclose(float(np.asarray(restored.learning_rate)), 3e-4)


def test_adam_factory_and_bad_argument():
    assert type(adam(1e-3)) is FusedAdam
    assert type(adam(1e-3, fused=False)) is keras.optimizers.Adam
    with pytest.raises(TypeError, match="`fused` must be True or False. Received: 'yes'"):
        adam(fused="yes")


def test_checkpoints_are_interchangeable_with_keras_adam(problem, tmp_path):
    """Same slot variables as Keras's Adam: a run can move between the two."""
    start, grads = problem
    keras_adam, variable = keras.optimizers.Adam(1e-2), _variable(start)
    for g in grads[:3]:
        keras_adam.apply_gradients([(tf.constant(g), variable)])
    path = tf.train.Checkpoint(optimizer=keras_adam, variable=variable).write(str(tmp_path / "ck"))
    fused, restored = FusedAdam(1e-2), _variable(np.zeros_like(start))
    compat.build_optimizer(fused, [restored])
    tf.train.Checkpoint(optimizer=fused, variable=restored).read(path).assert_consumed()
    for g in grads[3:]:
        keras_adam.apply_gradients([(tf.constant(g), variable)])
        fused.apply_gradients([(tf.constant(g), restored)])
    np.testing.assert_allclose(np.asarray(restored), np.asarray(variable), atol=2e-6)
    np.testing.assert_allclose(np.asarray(variable), numpy_adam(start, grads, 1e-2, 0.9, 0.999),
                               atol=2e-6)


def test_gan_compile_uses_it_by_default():
    from ascendgan.models import dcgan

    gan = dcgan("mnist", base_filters=8)
    gan.compile()
    assert type(gan.generator_optimizer) is FusedAdam
    assert type(gan.discriminator_optimizer) is FusedAdam
    assert float(gan.generator_optimizer.beta_1) == 0.5  # the DCGAN preset's
