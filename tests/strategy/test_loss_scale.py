"""Loss-scale managers: the update rule against a Python model, skipped steps in a GAN,
float16 / bfloat16 training, checkpoints."""

import numpy as np
import pytest
import tensorflow as tf
from _strategy_gans import PoisonGAN, Recorder, ReferenceExponentialManager, same, toy_data

import ascendgan
from ascendgan import compat
from ascendgan.strategy import (
    ExponentialUpdateLossScaleManager,
    FixedLossScaleManager,
    LastValue,
    attach_loss_scale,
    get_loss_scale_manager,
    get_strategy,
    is_loss_scaled,
    make_loss_scale_manager,
)

keras = compat.keras


# ----------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    "config",
    [
        dict(init_loss_scale=2.0**32, incr_every_n_steps=3),  # Ascend defaults: 2, 2, 0.8
        dict(init_loss_scale=4.0, incr_every_n_steps=2, decr_every_n_nan_or_inf=1,
             incr_ratio=3.0, decr_ratio=0.5),
        dict(init_loss_scale=1.5, incr_every_n_steps=1, decr_every_n_nan_or_inf=3),
    ],
)
def test_exponential_update_matches_a_python_model(config):
    rng = np.random.default_rng(0)
    flags = list(rng.random(60) < 0.7) + [True] * 5 + [False] * 9  # runs of both kinds
    manager = ExponentialUpdateLossScaleManager(**config)
    reference = ReferenceExponentialManager(**config)
    for finite in flags:
        manager.update_loss_scale(bool(finite))
        reference.update(bool(finite))
        state = manager.state()
        assert {k: state[k] for k in reference.state()} == reference.state()
    assert manager.state()["overflows"] == flags.count(False)


def test_scale_never_drops_below_one_nor_leaves_float32():
    low = ExponentialUpdateLossScaleManager(2.0, 5, decr_every_n_nan_or_inf=1, decr_ratio=0.5)
    for _ in range(4):
        low.update_loss_scale(False)
    assert low.state()["loss_scale"] == 1.0
    high = ExponentialUpdateLossScaleManager(3.0e38, 1, incr_ratio=2.0)
    high.update_loss_scale(True)
    assert high.state()["loss_scale"] == pytest.approx(3.0e38, rel=1e-6)  # 6e38 would be inf


def test_update_rule_inside_tf_function_matches_eager():
    config = dict(init_loss_scale=8.0, incr_every_n_steps=2, decr_every_n_nan_or_inf=2)
    eager, compiled = (ExponentialUpdateLossScaleManager(**config) for _ in range(2))
    update = tf.function(compiled.update_loss_scale)
    for finite in (True, False, True, True, False, False, True):
        eager.update_loss_scale(finite)
        update(tf.constant(finite))
    assert eager.state() == compiled.state()
    assert eager.state()["loss_scale"] == pytest.approx(8.0 * 2 * 0.8)


def test_fixed_manager_keeps_its_scale_and_counts_overflows():
    manager = FixedLossScaleManager(1024)
    for finite in (True, False, False, True):
        manager.update_loss_scale(finite)
    assert manager.state() == {"loss_scale": 1024.0, "steps": 4, "overflows": 2,
                               "last_overflow_step": 3}


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(init_loss_scale=0.5, incr_every_n_steps=10), "init_loss_scale"),
        (dict(init_loss_scale=8.0, incr_every_n_steps=0), "incr_every_n_steps"),
        (dict(init_loss_scale=8.0, incr_every_n_steps=2.5), "incr_every_n_steps"),
        (dict(init_loss_scale=8.0, incr_every_n_steps=2, decr_every_n_nan_or_inf=0),
         "decr_every_n_nan_or_inf"),
        (dict(init_loss_scale=8.0, incr_every_n_steps=2, incr_ratio=1.0), "incr_ratio"),
        (dict(init_loss_scale=8.0, incr_every_n_steps=2, decr_ratio=1.2), "decr_ratio"),
    ],
)
def test_bad_manager_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        ExponentialUpdateLossScaleManager(**kwargs)


def test_loss_scale_specifications():
    dynamic = make_loss_scale_manager("dynamic").get_config()
    assert (dynamic["init_loss_scale"], dynamic["incr_every_n_steps"],
            dynamic["decr_every_n_nan_or_inf"], dynamic["decr_ratio"]) == (2.0**15, 2000, 1, 0.5)
    ascend = make_loss_scale_manager("ascend").get_config()
    assert (ascend["init_loss_scale"], ascend["incr_every_n_steps"],
            ascend["decr_every_n_nan_or_inf"], ascend["incr_ratio"], ascend["decr_ratio"]) == (
        2.0**32, 1000, 2, 2.0, 0.8)
    assert make_loss_scale_manager(64).get_config()["loss_scale"] == 64.0
    assert make_loss_scale_manager(None) is None
    template = ExponentialUpdateLossScaleManager(16.0, 7)
    copy = make_loss_scale_manager(template)
    assert copy is not template and copy.get_config() == template.get_config()
    with pytest.raises(ValueError, match="loss_scale"):
        make_loss_scale_manager("sometimes")


def test_attach_rules():
    optimizer = attach_loss_scale(keras.optimizers.SGD(0.1), FixedLossScaleManager(4))
    assert is_loss_scaled(optimizer) and not is_loss_scaled(keras.optimizers.SGD(0.1))
    with pytest.raises(ValueError, match="already has a loss-scale manager"):
        attach_loss_scale(optimizer, FixedLossScaleManager(8))
    with pytest.raises(ValueError, match="another optimizer"):
        attach_loss_scale(keras.optimizers.SGD(0.1), get_loss_scale_manager(optimizer))
    with pytest.raises(ValueError, match="LossScaleOptimizer"):
        attach_loss_scale(compat.loss_scale_optimizer(keras.optimizers.SGD(0.1)),
                          FixedLossScaleManager(4))


def test_last_value_metric_reports_the_last_update():
    metric = LastValue("scale")
    for value in (3.0, 5.0, 2.0):
        metric.update_state(value)
    assert float(metric.result()) == 2.0


# ----------------------------------------------------------------------------- optimizers


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf_function"])
def test_compat_apply_gradients_skips_non_finite_steps_and_unscales(compiled):
    kernel = tf.Variable([[1.0], [2.0]])
    optimizer = attach_loss_scale(
        keras.optimizers.SGD(0.5),
        ExponentialUpdateLossScaleManager(8.0, 100, decr_every_n_nan_or_inf=1, decr_ratio=0.25))
    x = tf.constant([[1.0, 1.0]])

    def step(poison):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.matmul(x, kernel)) * poison
            scaled = compat.scale_loss(optimizer, loss)
        compat.apply_gradients(optimizer, tape.gradient(scaled, [kernel]), [kernel])
        return scaled

    if compiled:
        step = tf.function(step)
    scaled = step(tf.constant(1.0))
    assert float(scaled) == 8.0 * 3.0  # the loss times the scale
    np.testing.assert_allclose(kernel.numpy(), [[0.5], [1.5]])  # gradient 1 (unscaled)
    step(tf.constant(np.inf))
    np.testing.assert_allclose(kernel.numpy(), [[0.5], [1.5]])  # skipped
    manager = get_loss_scale_manager(optimizer)
    assert manager.state()["loss_scale"] == 2.0 and manager.state()["overflows"] == 1
    assert int(optimizer.iterations.numpy()) == 1


def _compiled_gan(manager_d, manager_g, **compile_kwargs):
    compat.set_random_seed(3)
    gan = PoisonGAN()
    d_optimizer, g_optimizer = keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2)
    if manager_d is not None:  # managers attached by hand before compile() are kept
        attach_loss_scale(d_optimizer, manager_d)
        attach_loss_scale(g_optimizer, manager_g)
    gan.compile(g_optimizer, d_optimizer, loss="hinge", **compile_kwargs)
    return gan


def test_forced_overflow_skips_that_step_for_that_optimizer_only():
    config = dict(init_loss_scale=4.0, incr_every_n_steps=2, decr_every_n_nan_or_inf=2,
                  decr_ratio=0.8)
    gan = _compiled_gan(None, None, loss_scale=ExponentialUpdateLossScaleManager(**config))
    d_flags = [0, 1, 0, 0, 0, 1, 1, 0]
    g_flags = [0, 0, 0, 1, 0, 0, 0, 0]
    recorder = Recorder(d_flags, g_flags, managers={
        "d": lambda: get_loss_scale_manager(gan.discriminator_optimizer),
        "g": lambda: get_loss_scale_manager(gan.generator_optimizer)})
    gan.build_models((2,))
    recorder.snapshot(gan)
    history = gan.fit(toy_data(32), batch_size=4, epochs=1, shuffle=False, verbose=0,
                      callbacks=[recorder])
    references = {"d": ReferenceExponentialManager(**config),
                  "g": ReferenceExponentialManager(**config)}
    for step in range(1, 9):
        for name, flags, weights in (("d", d_flags, recorder.d_weights),
                                     ("g", g_flags, recorder.g_weights)):
            poisoned = bool(flags[step - 1])
            assert same(weights[step - 1], weights[step]) == poisoned, (name, step)
            references[name].update(not poisoned)
            state = recorder.states[step][name]
            assert {k: state[k] for k in references[name].state()} == references[name].state()
    d_state = recorder.states[-1]["d"]
    # Overflows at steps 2, 6 and 7; bad steps accumulate, so the scale grew at step 4 (two
    # good steps in a row) and shrank by 0.8 at step 7 (the second overflow since then).
    assert d_state["overflows"] == 3 and d_state["last_overflow_step"] == 7
    assert d_state["loss_scale"] == pytest.approx(4.0 * 2 * 0.8)
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 5
    assert int(gan.generator_optimizer.iterations.numpy()) == 7
    assert history.history["d_loss_scale"][-1] == d_state["loss_scale"]
    assert history.history["d_overflows"][-1] == 3.0
    assert history.history["g_overflows"][-1] == 1.0


def test_growth_after_n_good_steps_in_a_gan():
    gan = _compiled_gan(ExponentialUpdateLossScaleManager(2.0, incr_every_n_steps=3),
                        ExponentialUpdateLossScaleManager(2.0, incr_every_n_steps=2))
    gan.fit(toy_data(28), batch_size=4, epochs=1, shuffle=False, verbose=0)  # 7 good steps
    d_state = get_loss_scale_manager(gan.discriminator_optimizer).state()
    g_state = get_loss_scale_manager(gan.generator_optimizer).state()
    assert (d_state["loss_scale"], d_state["good_steps"]) == (2.0 * 2**2, 1)   # at 3 and 6
    assert (g_state["loss_scale"], g_state["good_steps"]) == (2.0 * 2**3, 1)   # at 2, 4, 6


def test_manager_state_is_checkpointed_with_its_optimizer(tmp_path):
    def optimizer():
        return attach_loss_scale(keras.optimizers.SGD(0.1),
                                 ExponentialUpdateLossScaleManager(4.0, incr_every_n_steps=3))

    flags = [True, False, True, True, False, True, True, True]
    straight, first = optimizer(), optimizer()
    for finite in flags:
        get_loss_scale_manager(straight).update_loss_scale(finite)
    for finite in flags[:5]:
        get_loss_scale_manager(first).update_loss_scale(finite)
    path = tf.train.Checkpoint(optimizer=first).save(str(tmp_path / "ckpt"))
    resumed = optimizer()
    tf.train.Checkpoint(optimizer=resumed).restore(path)
    assert get_loss_scale_manager(resumed).state() == get_loss_scale_manager(first).state()
    for finite in flags[5:]:
        get_loss_scale_manager(resumed).update_loss_scale(finite)
    assert get_loss_scale_manager(resumed).state() == get_loss_scale_manager(straight).state()


@pytest.mark.slow
def test_checkpoint_resume_continues_the_loss_scale_exactly(tmp_path):
    def fresh():
        return _compiled_gan(ExponentialUpdateLossScaleManager(4.0, incr_every_n_steps=3),
                             ExponentialUpdateLossScaleManager(4.0, incr_every_n_steps=2))

    data = toy_data(16)
    straight = fresh()
    straight.fit(data, batch_size=4, epochs=2, shuffle=False, verbose=0)
    first = fresh()
    first.fit(data, batch_size=4, epochs=1, shuffle=False, verbose=0)
    path = first.checkpoint().save(str(tmp_path / "ckpt"))
    resumed = fresh()
    resumed.build_models((2,))
    resumed.checkpoint().restore(path).assert_consumed()
    assert get_loss_scale_manager(resumed.discriminator_optimizer).state() == (
        get_loss_scale_manager(first.discriminator_optimizer).state())
    resumed.fit(data, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for which in ("discriminator_optimizer", "generator_optimizer"):
        assert get_loss_scale_manager(getattr(resumed, which)).state() == (
            get_loss_scale_manager(getattr(straight, which)).state())
    assert same([np.asarray(v) for v in resumed.generator.weights],
                [np.asarray(v) for v in straight.generator.weights])


# ----------------------------------------------------------------------------- precisions


def _images(n=8):
    return np.random.default_rng(0).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


@pytest.mark.parametrize("precision", ["allow_mix_precision", "mixed_bfloat16"])
def test_half_precision_dcgan_steps_stay_finite(precision):
    strategy = get_strategy("cpu", precision=precision)
    with strategy.scope():
        gan = ascendgan.models.dcgan("mnist", base_filters=4, seed=0)
        gan.compile()
        before = [np.asarray(v).copy() for v in gan.generator.trainable_weights]
        history = gan.fit(_images(), batch_size=4, epochs=1, verbose=0)
    compute = {"mixed_bfloat16": "bfloat16"}.get(precision, "float16")
    kernels = [layer for layer in gan.generator.layers if getattr(layer, "kernel", None) is not None]
    assert kernels and all(layer.compute_dtype == compute for layer in kernels)
    assert compat.global_precision() == "float32"  # the scope restored the policy
    for name in ("d_loss", "g_loss"):
        assert np.all(np.isfinite(history.history[name]))
    weights = [np.asarray(v) for v in gan.generator.trainable_weights]
    assert all(np.all(np.isfinite(w)) for w in weights)
    assert not same(before, weights)
    scaled = compute == "float16"
    assert is_loss_scaled(gan.generator_optimizer) == scaled
    assert ("d_loss_scale" in history.history) == scaled
    if scaled:  # the "dynamic" rule: 2**15, halved at every overflow (no growth in 2 steps)
        overflows = history.history["d_overflows"][-1]
        assert history.history["d_loss_scale"][-1] == 2.0**15 * 0.5**overflows


def test_float16_overflow_from_a_huge_scale_skips_and_shrinks():
    # 2**32 times a float16 gradient overflows: Ascend's documented start. Every step is
    # skipped (weights unchanged) and the scale shrinks by 0.8 after every 2 overflows.
    with get_strategy("cpu", precision="mixed_float16", loss_scale="ascend").scope():
        gan = ascendgan.models.dcgan("mnist", base_filters=4, seed=0)
        gan.compile()
        before = [np.asarray(v).copy() for v in gan.discriminator.trainable_weights]
        gan.fit(_images(16), batch_size=4, epochs=1, verbose=0)
    state = get_loss_scale_manager(gan.discriminator_optimizer).state()
    assert state["overflows"] == 4
    assert state["loss_scale"] == pytest.approx(2.0**32 * 0.8**2, rel=1e-6)
    assert same(before, [np.asarray(v) for v in gan.discriminator.trainable_weights])
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 0
