"""Loss-scale managers and the WrappedOptimizer: the update rule against a Python model,
skipped steps in a GAN, float16 / bfloat16 training, checkpoints (keys unchanged)."""

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
    WrappedOptimizer,
    get_strategy,
    make_loss_scale_manager,
    resolve_loss_scale,
    wrap_optimizer,
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


def test_auto_is_resolved_in_one_place():
    for device in (None, "cpu", "gpu", "multi_worker"):  # Keras's rule off the NPU
        assert resolve_loss_scale("auto", float16=True, device=device) == "dynamic"
        assert resolve_loss_scale("auto", float16=False, device=device) is None
    # On the NPU, float16 compute gets the documented Ascend manager.
    assert resolve_loss_scale("auto", float16=True, device="npu") == "ascend"
    assert resolve_loss_scale("auto", float16=False, device="npu") is None
    assert resolve_loss_scale("auto", float16=False, default="ascend") == "ascend"
    assert resolve_loss_scale(None, float16=True, default="ascend", device="npu") is None
    assert resolve_loss_scale("dynamic", float16=True, device="npu") == "dynamic"
    assert resolve_loss_scale(64, float16=False) == 64
    template = FixedLossScaleManager(8)
    assert resolve_loss_scale("auto", float16=True, default=template, device="npu") is template
    # What "auto" builds: allow_mix_precision on the NPU -> the documented manager
    # ExponentialUpdateLossScaleManager(2**32, 1000, 2, incr_ratio 2, decr_ratio 0.8).
    ascend = make_loss_scale_manager(resolve_loss_scale("auto", True, device="npu")).get_config()
    assert [ascend[k] for k in ("init_loss_scale", "incr_every_n_steps",
                                "decr_every_n_nan_or_inf", "incr_ratio", "decr_ratio")] == [
        2.0**32, 1000, 2, 2.0, 0.8]


def test_wrapper_rules():
    optimizer = keras.optimizers.SGD(0.1)
    wrapped = WrappedOptimizer(optimizer, FixedLossScaleManager(4))
    assert wrapped.optimizer is optimizer and wrapped.loss_scaled
    assert not WrappedOptimizer(keras.optimizers.SGD(0.1)).loss_scaled
    assert wrap_optimizer(wrapped) is wrapped  # wrapped once
    with pytest.raises(ValueError, match="already has a loss-scale manager"):
        WrappedOptimizer(optimizer, FixedLossScaleManager(8))
    with pytest.raises(ValueError, match="another optimizer"):
        WrappedOptimizer(keras.optimizers.SGD(0.1), wrapped.loss_scale_manager)
    with pytest.raises(ValueError, match="LossScaleOptimizer"):
        WrappedOptimizer(compat.loss_scale_optimizer(keras.optimizers.SGD(0.1)),
                         FixedLossScaleManager(4))
    with pytest.raises(ValueError, match="loss_scale_manager"):
        WrappedOptimizer(keras.optimizers.SGD(0.1), 8)
    keras_own = WrappedOptimizer(compat.loss_scale_optimizer(keras.optimizers.SGD(0.1)))
    assert keras_own.loss_scaled and keras_own.loss_scale_manager is None


def test_wrap_optimizer_without_a_strategy_follows_the_global_policy():
    assert wrap_optimizer(keras.optimizers.SGD(0.1)).loss_scale_manager is None
    with compat.precision_scope("mixed_float16"):
        wrapped = wrap_optimizer(keras.optimizers.SGD(0.1))
    assert wrapped.loss_scale_manager.get_config()["init_loss_scale"] == 2.0**15
    fixed = wrap_optimizer(keras.optimizers.SGD(0.1), loss_scale=32)
    assert fixed.loss_scale_manager.state()["loss_scale"] == 32.0
    with compat.precision_scope("mixed_float16"):
        keras_own = wrap_optimizer(compat.loss_scale_optimizer(keras.optimizers.SGD(0.1)))
    assert keras_own.loss_scale_manager is None  # Keras's own optimizer scales itself
    with pytest.raises(ValueError, match="strategy"):
        wrap_optimizer(keras.optimizers.SGD(0.1), strategy="cpu")


def test_last_value_metric_reports_the_last_update():
    metric = LastValue("scale")
    for value in (3.0, 5.0, 2.0):
        metric.update_state(value)
    assert float(metric.result()) == 2.0


# ----------------------------------------------------------------------------- optimizers


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf_function"])
def test_wrapped_apply_gradients_skips_non_finite_steps_and_unscales(compiled):
    kernel = tf.Variable([[1.0], [2.0]])
    wrapped = WrappedOptimizer(
        keras.optimizers.SGD(0.5),
        ExponentialUpdateLossScaleManager(8.0, 100, decr_every_n_nan_or_inf=1, decr_ratio=0.25))
    x = tf.constant([[1.0, 1.0]])

    def step(poison):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.matmul(x, kernel)) * poison
            scaled = wrapped.scale_loss(loss)
        applied = wrapped.apply_gradients(tape.gradient(scaled, [kernel]), [kernel])
        return scaled, applied

    if compiled:
        step = tf.function(step)
    scaled, applied = step(tf.constant(1.0))
    assert float(scaled) == 8.0 * 3.0 and bool(applied)  # the loss times the scale
    np.testing.assert_allclose(kernel.numpy(), [[0.5], [1.5]])  # gradient 1 (unscaled)
    _, applied = step(tf.constant(np.inf))
    assert not bool(applied)
    np.testing.assert_allclose(kernel.numpy(), [[0.5], [1.5]])  # skipped
    manager = wrapped.loss_scale_manager
    assert manager.state()["loss_scale"] == 2.0 and manager.state()["overflows"] == 1
    assert int(wrapped.optimizer.iterations.numpy()) == 1


def test_a_plain_wrapper_applies_every_step():
    kernel = tf.Variable([1.0])
    wrapped = WrappedOptimizer(keras.optimizers.SGD(0.5))
    with tf.GradientTape() as tape:
        scaled = wrapped.scale_loss(2.0 * kernel[0])
    assert float(scaled) == 2.0
    assert bool(wrapped.apply_gradients(tape.gradient(scaled, [kernel]), [kernel]))
    np.testing.assert_allclose(kernel.numpy(), [0.0])


def _compiled_gan(manager_d, manager_g, **compile_kwargs):
    compat.set_random_seed(3)
    gan = PoisonGAN()
    d_optimizer, g_optimizer = keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2)
    if manager_d is not None:  # optimizers wrapped by hand before compile() are kept
        d_optimizer = WrappedOptimizer(d_optimizer, manager_d)
        g_optimizer = WrappedOptimizer(g_optimizer, manager_g)
    gan.compile(g_optimizer, d_optimizer, loss="hinge", **compile_kwargs)
    return gan


def test_forced_overflow_skips_that_step_for_that_optimizer_only():
    config = dict(init_loss_scale=4.0, incr_every_n_steps=2, decr_every_n_nan_or_inf=2,
                  decr_ratio=0.8)
    gan = _compiled_gan(None, None, loss_scale=ExponentialUpdateLossScaleManager(**config))
    d_flags = [0, 1, 0, 0, 0, 1, 1, 0]
    g_flags = [0, 0, 0, 1, 0, 0, 0, 0]
    recorder = Recorder(d_flags, g_flags, managers={
        "d": lambda: gan.wrapped_discriminator_optimizer.loss_scale_manager,
        "g": lambda: gan.wrapped_generator_optimizer.loss_scale_manager})
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
    d_state = gan.wrapped_discriminator_optimizer.loss_scale_manager.state()
    g_state = gan.wrapped_generator_optimizer.loss_scale_manager.state()
    assert (d_state["loss_scale"], d_state["good_steps"]) == (2.0 * 2**2, 1)   # at 3 and 6
    assert (g_state["loss_scale"], g_state["good_steps"]) == (2.0 * 2**3, 1)   # at 2, 4, 6


def test_manager_state_is_checkpointed_with_its_optimizer(tmp_path):
    def wrapped():
        return WrappedOptimizer(keras.optimizers.SGD(0.1),
                                ExponentialUpdateLossScaleManager(4.0, incr_every_n_steps=3))

    flags = [True, False, True, True, False, True, True, True]
    straight, first = wrapped(), wrapped()
    for finite in flags:
        straight.loss_scale_manager.update_loss_scale(finite)
    for finite in flags[:5]:
        first.loss_scale_manager.update_loss_scale(finite)
    path = tf.train.Checkpoint(optimizer=first.optimizer).save(str(tmp_path / "ckpt"))
    resumed = wrapped()
    tf.train.Checkpoint(optimizer=resumed.optimizer).restore(path)
    assert resumed.loss_scale_manager.state() == first.loss_scale_manager.state()
    for finite in flags[5:]:
        resumed.loss_scale_manager.update_loss_scale(finite)
    assert resumed.loss_scale_manager.state() == straight.loss_scale_manager.state()


_MANAGER_KEYS = {"loss_scale", "steps", "overflows", "last_overflow_step", "good_steps",
                 "bad_steps"}


def _previous_layout_optimizer(manager):
    """An optimizer as the code before WrappedOptimizer left it: a plain Keras optimizer
    with the manager set as its ``loss_scale_manager`` attribute (what ``GAN.checkpoint()``
    saved as ``generator_optimizer`` / ``discriminator_optimizer``)."""
    optimizer = keras.optimizers.Adam(1e-2)
    manager.build()
    optimizer.loss_scale_manager = manager
    return optimizer


def test_checkpoints_keep_their_keys_and_restore_across_the_wrapper(tmp_path):
    # New code -> the keys the previous code wrote and read.
    gan = _compiled_gan(ExponentialUpdateLossScaleManager(4.0, incr_every_n_steps=3),
                        ExponentialUpdateLossScaleManager(4.0, incr_every_n_steps=2))
    gan.fit(toy_data(12), batch_size=4, epochs=1, shuffle=False, verbose=0,
            callbacks=[Recorder(d_flags=[0, 1, 0])])
    path = gan.checkpoint().save(str(tmp_path / "new" / "ckpt"))
    keys = {name for name, _ in tf.train.list_variables(path)}
    for which in ("generator_optimizer", "discriminator_optimizer"):
        assert {f"{which}/loss_scale_manager/{k}/.ATTRIBUTES/VARIABLE_VALUE"
                for k in _MANAGER_KEYS} <= keys
    assert not any("wrapped" in key for key in keys)
    # ... which restore into optimizers laid out as before.
    old_d = _previous_layout_optimizer(ExponentialUpdateLossScaleManager(4.0, 3))
    old_g = _previous_layout_optimizer(ExponentialUpdateLossScaleManager(4.0, 2))
    tf.train.Checkpoint(generator_optimizer=old_g, discriminator_optimizer=old_d).restore(
        path).expect_partial()
    assert old_d.loss_scale_manager.state() == (
        gan.wrapped_discriminator_optimizer.loss_scale_manager.state())
    assert old_d.loss_scale_manager.state()["overflows"] == 1
    assert int(old_d.iterations.numpy()) == int(gan.discriminator_optimizer.iterations.numpy()) == 2
    assert int(old_g.iterations.numpy()) == 3

    # Previous layout -> a GAN compiled by the new code.
    old = {}
    for which, flags, steps in (("generator", (True, False, False, True), 7),
                                ("discriminator", (False, True), 3)):
        manager = ExponentialUpdateLossScaleManager(4.0, 3)
        old[which] = _previous_layout_optimizer(manager)
        for finite in flags:
            manager.update_loss_scale(finite)
        old[which].iterations.assign(steps)
    path = tf.train.Checkpoint(generator_optimizer=old["generator"],
                               discriminator_optimizer=old["discriminator"]).save(
        str(tmp_path / "old" / "ckpt"))
    resumed = _compiled_gan(ExponentialUpdateLossScaleManager(4.0, incr_every_n_steps=3),
                            ExponentialUpdateLossScaleManager(4.0, incr_every_n_steps=3))
    resumed.checkpoint().restore(path).expect_partial()
    for which in ("generator", "discriminator"):
        wrapped = getattr(resumed, f"wrapped_{which}_optimizer")
        assert wrapped.loss_scale_manager.state() == old[which].loss_scale_manager.state()
        assert int(wrapped.optimizer.iterations.numpy()) == int(old[which].iterations.numpy())
    assert resumed.wrapped_generator_optimizer.loss_scale_manager.state()["overflows"] == 2


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
    assert resumed.wrapped_discriminator_optimizer.loss_scale_manager.state() == (
        first.wrapped_discriminator_optimizer.loss_scale_manager.state())
    resumed.fit(data, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for which in ("wrapped_discriminator_optimizer", "wrapped_generator_optimizer"):
        assert getattr(resumed, which).loss_scale_manager.state() == (
            getattr(straight, which).loss_scale_manager.state())
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
    assert gan.wrapped_generator_optimizer.loss_scaled == scaled
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
    state = gan.wrapped_discriminator_optimizer.loss_scale_manager.state()
    assert state["overflows"] == 4
    assert state["loss_scale"] == pytest.approx(2.0**32 * 0.8**2, rel=1e-6)
    assert same(before, [np.asarray(v) for v in gan.discriminator.trainable_weights])
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 0
