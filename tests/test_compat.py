"""ascendgan.compat: the Keras choice, precision helpers, loss scaling, registration, isolation."""

import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import ascendgan
from ascendgan import compat

keras = compat.keras

PACKAGE_DIR = pathlib.Path(ascendgan.__file__).resolve().parent


def _run_python(code, env_updates, unset=()):
    """Starts ``python -c code`` with a modified environment; returns the Popen."""
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    for name in unset:
        env.pop(name, None)
    env.update(env_updates)
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _last_json_line(process):
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, f"subprocess failed:\n{err[-3000:]}"
    return json.loads(out.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- Keras choice

_CHOICE_PROBE = """
import json, os
import tensorflow as tf
from ascendgan import compat
tf_keras_model = tf.keras.Model          # what TensorFlow itself resolved tf.keras to
print(json.dumps({
    "value": os.environ.get("TF_USE_LEGACY_KERAS"),
    "compat_module": compat.keras.__name__,
    "legacy": compat.LEGACY_KERAS,
    "keras_3": compat.KERAS_3,
    "version": list(compat.KERAS_VERSION),
    "same_model": tf_keras_model is compat.keras.Model,
    "same_dense": tf.keras.layers.Dense is compat.layers.Dense,
    "tf_keras_module": tf_keras_model.__module__,
}))
"""

# value of TF_USE_LEGACY_KERAS (None: unset) -> legacy Keras 2 expected, as TensorFlow decides
_CHOICES = {None: False, "1": True, "true": True, "True": True, "0": False}


def test_keras_choice_follows_tf_use_legacy_keras_exactly_as_tensorflow():
    processes = {}
    for value in _CHOICES:  # all subprocesses run concurrently (each imports TensorFlow)
        if value is None:
            processes[value] = _run_python(_CHOICE_PROBE, {}, unset=("TF_USE_LEGACY_KERAS",))
        else:
            processes[value] = _run_python(_CHOICE_PROBE, {"TF_USE_LEGACY_KERAS": value})
    for value, legacy in _CHOICES.items():
        result = _last_json_line(processes[value])
        assert result["value"] == value
        # compat picked the same Keras as tf.keras in the same process ...
        assert result["same_model"], (value, result)
        assert result["same_dense"], (value, result)
        # ... and that is the one TensorFlow's documented rule selects.
        assert result["legacy"] is legacy, (value, result)
        assert result["keras_3"] is (not legacy), (value, result)
        if legacy:
            assert result["compat_module"] == "tf_keras", (value, result)
            assert result["version"] == [2], (value, result)
            assert result["tf_keras_module"].startswith("tf_keras"), (value, result)
        else:
            assert result["compat_module"] == "keras", (value, result)
            assert result["version"][0] == 3, (value, result)
            assert result["tf_keras_module"].startswith("keras"), (value, result)


# ----------------------------------------------------------------------------- full_precision


class _DtypeRecorder(keras.layers.Layer):
    """Records the dtypes and values it reads its variable with, inside ``call``."""

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(3,), initializer="zeros")
        self.built = True

    def call(self, inputs):
        autocast = tf.convert_to_tensor(self.w)
        full = tf.convert_to_tensor(compat.full_precision(self.w))
        self.seen = {"autocast": autocast, "full": full}
        return inputs * tf.cast(full, inputs.dtype)


def test_full_precision_returns_float32_inside_call_under_mixed_bfloat16():
    # 1 + 2**-12 needs 13 mantissa bits: bfloat16 (8 bits) rounds it to 1.0.
    exact = np.array([1.0 + 2.0**-12, -3.0 - 2.0**-10, 0.1], "float32")
    with compat.precision_scope("mixed_bfloat16"):
        layer = _DtypeRecorder()
        x = tf.ones((2, 3))
        layer.build(x.shape)
        layer.w.assign(exact)
        with tf.GradientTape() as tape:
            y = layer(x)
            loss = tf.reduce_sum(tf.cast(layer.seen["full"], tf.float32) * [1.0, 2.0, 3.0])
    assert y.dtype == tf.bfloat16
    assert layer.seen["autocast"].dtype == tf.bfloat16  # what Keras hands out in call ...
    assert layer.seen["full"].dtype == tf.float32  # ... and what full_precision gives
    np.testing.assert_array_equal(layer.seen["full"].numpy(), exact)
    assert not np.array_equal(tf.cast(layer.seen["autocast"], tf.float32).numpy(), exact)
    # The float32 read still traces back to the variable.
    (gradient,) = tape.gradient(loss, [layer.w])
    np.testing.assert_allclose(np.asarray(gradient), [1.0, 2.0, 3.0])


def test_full_precision_outside_mixed_precision_is_the_variable_value():
    layer = _DtypeRecorder()
    layer(tf.ones((1, 3)))
    layer.w.assign([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(tf.convert_to_tensor(compat.full_precision(layer.w)).numpy(), [1, 2, 3])


# ----------------------------------------------------------------------------- loss scaling


def _dense_pair():
    """Two identical built Dense layers (one per optimizer)."""
    layers = []
    for _ in range(2):
        layer = keras.layers.Dense(2, use_bias=True, kernel_initializer="ones")
        layer.build((None, 3))
        layers.append(layer)
    return layers


def _loss(layer, x, target):
    return tf.reduce_mean(tf.square(layer(x) - target))


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf_function"])
def test_scale_loss_and_apply_gradients_unscale(compiled):
    x = tf.constant(np.random.default_rng(0).standard_normal((4, 3)), tf.float32)
    target = tf.constant(np.random.default_rng(1).standard_normal((4, 2)), tf.float32)
    scaled_layer, plain_layer = _dense_pair()
    scale = 2.0**10
    optimizer = compat.loss_scale_optimizer(keras.optimizers.SGD(0.1), initial_scale=scale)
    assert compat.is_loss_scale_optimizer(optimizer)
    plain = keras.optimizers.SGD(0.1)
    assert not compat.is_loss_scale_optimizer(plain)

    def scaled_step():
        with tf.GradientTape() as tape:
            loss = _loss(scaled_layer, x, target)
            scaled = compat.scale_loss(optimizer, loss)
        grads = tape.gradient(scaled, scaled_layer.trainable_variables)
        compat.apply_gradients(optimizer, grads, scaled_layer.trainable_variables)
        return loss, scaled, grads

    def plain_step():
        with tf.GradientTape() as tape:
            loss = _loss(plain_layer, x, target)
            same = compat.scale_loss(plain, loss)  # identity without loss scaling
        grads = tape.gradient(same, plain_layer.trainable_variables)
        compat.apply_gradients(plain, grads, plain_layer.trainable_variables)
        return loss, same, grads

    if compiled:
        scaled_step, plain_step = tf.function(scaled_step), tf.function(plain_step)
    loss, scaled, scaled_grads = scaled_step()
    plain_loss, same, plain_grads = plain_step()
    np.testing.assert_allclose(float(scaled), scale * float(loss), rtol=1e-6)
    assert float(same) == float(plain_loss)
    for g_scaled, g_plain in zip(scaled_grads, plain_grads):
        np.testing.assert_allclose(np.asarray(g_scaled), scale * np.asarray(g_plain), rtol=1e-5)
    # After unscaling, the update equals the plain optimizer's on the same gradients.
    for a, b in zip(scaled_layer.trainable_variables, plain_layer.trainable_variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    assert not np.allclose(np.asarray(scaled_layer.kernel), 1.0)  # a step was taken


def test_apply_gradients_skips_a_non_finite_step():
    layer, _ = _dense_pair()
    optimizer = compat.loss_scale_optimizer(keras.optimizers.SGD(0.1), initial_scale=2.0**10)
    before = [np.asarray(v).copy() for v in layer.trainable_variables]
    grads = [tf.fill(v.shape, np.inf) for v in layer.trainable_variables]
    compat.apply_gradients(optimizer, grads, layer.trainable_variables)
    for a, b in zip(before, layer.trainable_variables):
        np.testing.assert_array_equal(a, np.asarray(b))


# ----------------------------------------------------------------------------- precision_scope


def test_precision_scope_sets_and_restores_the_policy():
    compat.set_precision("mixed_float16")
    with compat.precision_scope("mixed_bfloat16"):
        assert compat.global_precision() == "mixed_bfloat16"
        assert keras.layers.Dense(1).compute_dtype == "bfloat16"
    assert compat.global_precision() == "mixed_float16"


def test_precision_scope_restores_the_policy_on_exception():
    assert compat.global_precision() == "float32"
    with pytest.raises(RuntimeError, match="boom"):
        with compat.precision_scope("mixed_bfloat16"):
            assert compat.global_precision() == "mixed_bfloat16"
            raise RuntimeError("boom")
    assert compat.global_precision() == "float32"
    assert keras.layers.Dense(1).compute_dtype == "float32"


# ----------------------------------------------------------------------------- register


@compat.register
class CompatTestRegisteredLayer(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


@compat.register(package="my_package")
class CompatTestOtherPackageLayer(keras.layers.Layer):
    pass


def test_register_gives_ascendgan_registration_names():
    assert keras.saving.get_registered_name(CompatTestRegisteredLayer) == "ascendgan>CompatTestRegisteredLayer"
    assert keras.saving.get_registered_name(CompatTestOtherPackageLayer) == "my_package>CompatTestOtherPackageLayer"
    assert keras.saving.get_registered_object("ascendgan>CompatTestRegisteredLayer") is CompatTestRegisteredLayer
    restored = compat.deserialize(compat.serialize(CompatTestRegisteredLayer(factor=3.0)))
    assert type(restored) is CompatTestRegisteredLayer and restored.factor == 3.0


def test_library_layers_are_registered_under_ascendgan():
    from ascendgan import layers

    for name in layers.__all__:
        assert keras.saving.get_registered_name(getattr(layers, name)) == f"ascendgan>{name}"


# ----------------------------------------------------------------------------- isolation

_KERAS_IMPORT = re.compile(r"^\s*(?:>>>\s*|\.\.\.\s*)?(?:import|from)\s+(?:keras|tf_keras)\b", re.MULTILINE)


def test_only_compat_imports_keras():
    offenders = []
    sources = sorted(PACKAGE_DIR.rglob("*.py"))
    assert len(sources) > 10  # the package really was found
    for path in sources:
        if path == PACKAGE_DIR / "compat.py":
            continue
        text = path.read_text(encoding="utf-8")
        for match in _KERAS_IMPORT.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            offenders.append(f"{path.relative_to(PACKAGE_DIR.parent)}:{line}: {match.group(0).strip()}")
    assert not offenders, (
        "Only ascendgan/compat.py may import keras / tf_keras; use `from ascendgan import compat` "
        "and `compat.keras` instead:\n" + "\n".join(offenders)
    )


def test_the_isolation_check_catches_each_import_form():
    for line in ("import keras", "from keras import layers", "import tf_keras as k",
                 "from tf_keras.layers import Dense", "    import keras", ">>> from keras import ops"):
        assert _KERAS_IMPORT.search(line), line
    for line in ("from ascendgan import compat", "keras = compat.keras", "import kerastuner",
                 "# differs from keras's wrapper"):
        assert not _KERAS_IMPORT.search(line), line


_OPTIONAL = ("tensorflow_probability", "tf2onnx", "npu_bridge", "npu_device")

_IMPORT_PROBE = """
import importlib, importlib.util, json, sys
import ascendgan
after_package = sorted(m for m in sys.modules if m.split(".")[0] in {optional!r})
for name in ("compat", "layers", "losses", "regularizers", "testing", "models", "training",
             "data", "augment", "metrics", "strategy", "export"):
    if importlib.util.find_spec("ascendgan." + name) is not None:
        importlib.import_module("ascendgan." + name)
after_modules = sorted(m for m in sys.modules if m.split(".")[0] in {optional!r})
print(json.dumps({{"package": after_package, "modules": after_modules}}))
"""


def test_import_ascendgan_does_not_import_optional_dependencies():
    code = _IMPORT_PROBE.format(optional=set(_OPTIONAL))
    result = _last_json_line(_run_python(code, {}))
    assert result["package"] == [], f"`import ascendgan` imported {result['package']}"
    assert result["modules"] == [], f"importing ascendgan's modules imported {result['modules']}"
