"""Public test helpers, used by ascendgan's own tests and usable for your own layers.

Example:

>>> from ascendgan.layers import SNDense
>>> from ascendgan.testing import run_layer_test
>>> _ = run_layer_test(SNDense, {"units": 3}, input_shape=(2, 4),
...                    expected_output_shape=(2, 3),
...                    expected_num_trainable_weights=2,
...                    expected_num_non_trainable_weights=1)
"""

from __future__ import annotations

import inspect
import os
import tempfile

import numpy as np
import tensorflow as tf

from ascendgan import compat

keras = compat.keras


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _random_inputs(input_shape, input_dtype, seed):
    rng = np.random.default_rng(seed)
    shapes = input_shape if isinstance(input_shape[0], (list, tuple)) else [input_shape]
    dtypes = input_dtype if isinstance(input_dtype, (list, tuple)) else [input_dtype] * len(shapes)
    arrays = []
    for shape, dtype in zip(shapes, dtypes):
        if np.dtype(dtype).kind in "iu":
            arrays.append(rng.integers(0, 2, size=shape).astype(dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(dtype))
    return arrays if len(arrays) > 1 else arrays[0]


def _count(weights):
    return len(weights)


def _constructor_arguments(layer_cls):
    names = []
    for klass in layer_cls.__mro__:
        if klass.__module__.startswith(("keras", "tf_keras")):
            break  # the base classes' arguments are Keras's own concern
        if "__init__" not in vars(klass):
            continue
        for name, parameter in inspect.signature(klass.__init__).parameters.items():
            if name != "self" and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                names.append(name)
    return names


def _check_registered(layer_cls):
    name = keras.saving.get_registered_name(layer_cls)
    if keras.saving.get_registered_object(name) is not layer_cls:
        raise AssertionError(
            f"{layer_cls.__name__} is not registered for Keras serialization: decorate it with "
            "`@ascendgan.compat.register` (or keras.saving.register_keras_serializable)."
        )


def _config_round_trip(layer_cls, layer):
    _check_registered(layer_cls)
    config = layer.get_config()
    missing = [name for name in _constructor_arguments(layer_cls) if name not in config]
    if missing:
        raise AssertionError(
            f"{layer_cls.__name__}.get_config() misses constructor argument(s) {missing}"
        )
    try:
        clone = layer_cls.from_config(config)
    except Exception as error:  # noqa: BLE001 - reported as the contract failure it is
        raise AssertionError(
            f"{layer_cls.__name__}.from_config(get_config()) failed: {error!r}"
        ) from error
    clone_config = clone.get_config()
    if clone_config != config:
        raise AssertionError(
            f"{layer_cls.__name__}.from_config(get_config()) changed the config:\n"
            f"  before: {config}\n  after:  {clone_config}"
        )
    serialized = compat.serialize(layer)
    restored = compat.deserialize(serialized)
    if type(restored) is not layer_cls:
        raise AssertionError(
            f"Serialization round trip returned {type(restored).__name__}, expected "
            f"{layer_cls.__name__}. Is the class registered with compat.register?"
        )
    if restored.get_config() != config:
        raise AssertionError(f"{layer_cls.__name__} serialization round trip changed the config")


def _build_model(layer, inputs, call_kwargs):
    symbolic = [
        keras.Input(shape=np.shape(x)[1:], batch_size=np.shape(x)[0], dtype=str(np.asarray(x).dtype))
        for x in _as_list(inputs)
    ]
    outputs = layer(symbolic if isinstance(inputs, list) else symbolic[0], **call_kwargs)
    return keras.Model(symbolic if isinstance(inputs, list) else symbolic[0], outputs)


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_shape=None,
    input_dtype="float32",
    input_data=None,
    call_kwargs=None,
    expected_output_shape=None,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
    expected_num_params=None,
    run_training_check=True,
    run_mixed_precision_check=True,
    run_saving_check=True,
    seed=0,
):
    """Checks the contract every ascendgan layer (and yours) should keep.

    In order: ``get_config``/``from_config`` and Keras serialization round trips (the class
    must be registered); a forward pass with the expected output shape and weight counts;
    a whole-model save to the ``.keras`` format and reload giving identical outputs; one
    ``fit`` step that changes the trainable weights; and a forward pass under the
    ``mixed_bfloat16`` policy with float32 variables, bfloat16 outputs and finite values.

    Args:
        layer_cls: the layer class.
        init_kwargs: dict of constructor arguments.
        input_shape: shape (with batch) of the input, or a list of shapes for several inputs.
        input_dtype: dtype, or list of dtypes, used with ``input_shape``.
        input_data: arrays to use instead of random ones made from ``input_shape``.
        call_kwargs: extra keyword arguments for the call (not ``training``).
        expected_output_shape: full output shape (with batch), checked when given.
        expected_num_trainable_weights: number of trainable variables, checked when given.
        expected_num_non_trainable_weights: number of non-trainable variables.
        expected_num_params: total number of scalar parameters (all variables).
        run_training_check: run the ``fit`` step.
        run_mixed_precision_check: run the ``mixed_bfloat16`` pass.
        run_saving_check: save and reload a model holding the layer.
        seed: seed for the random inputs.

    Returns:
        The built layer (float32), for further checks.

    Raises:
        AssertionError: naming the first property that does not hold.
    """
    call_kwargs = dict(call_kwargs or {})
    if input_data is None:
        if input_shape is None:
            raise ValueError("run_layer_test needs `input_shape` or `input_data`. Received neither.")
        input_data = _random_inputs(input_shape, input_dtype, seed)
    layer = layer_cls(**init_kwargs)
    _config_round_trip(layer_cls, layer)

    output = layer(input_data, training=False, **call_kwargs)
    output_np = np.asarray(output)
    if expected_output_shape is not None and tuple(output_np.shape) != tuple(expected_output_shape):
        raise AssertionError(
            f"{layer_cls.__name__} output shape {tuple(output_np.shape)} != expected "
            f"{tuple(expected_output_shape)}"
        )
    if not np.all(np.isfinite(output_np)):
        raise AssertionError(f"{layer_cls.__name__} produced non-finite outputs in float32")
    if expected_num_trainable_weights is not None and (
        _count(layer.trainable_weights) != expected_num_trainable_weights
    ):
        raise AssertionError(
            f"{layer_cls.__name__} has {_count(layer.trainable_weights)} trainable weights, "
            f"expected {expected_num_trainable_weights}: "
            f"{[compat.variable_path(w) for w in layer.trainable_weights]}"
        )
    if expected_num_non_trainable_weights is not None and (
        _count(layer.non_trainable_weights) != expected_num_non_trainable_weights
    ):
        raise AssertionError(
            f"{layer_cls.__name__} has {_count(layer.non_trainable_weights)} non-trainable "
            f"weights, expected {expected_num_non_trainable_weights}: "
            f"{[compat.variable_path(w) for w in layer.non_trainable_weights]}"
        )
    if expected_num_params is not None:
        params = int(sum(np.prod(w.shape) for w in layer.weights))
        if params != expected_num_params:
            raise AssertionError(
                f"{layer_cls.__name__} has {params} parameters, expected {expected_num_params}"
            )

    if run_saving_check:
        fresh = layer_cls(**init_kwargs)
        model = _build_model(fresh, input_data, call_kwargs)
        before = np.asarray(model(input_data, training=False))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            model.save(path)
            reloaded = keras.models.load_model(path)
        after = np.asarray(reloaded(input_data, training=False))
        if not np.allclose(before, after, rtol=1e-6, atol=1e-6):
            raise AssertionError(
                f"{layer_cls.__name__}: a model reloaded from the .keras format gives different "
                f"outputs (max abs difference {np.max(np.abs(before - after))})"
            )

    if run_training_check:
        trained = layer_cls(**init_kwargs)
        model = _build_model(trained, input_data, call_kwargs)
        target = np.random.default_rng(seed + 1).standard_normal(
            np.shape(model(input_data, training=False))
        ).astype("float32")
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
        start = [np.array(w) for w in model.trainable_weights]
        if not start:
            raise AssertionError(f"{layer_cls.__name__} has no trainable weights to fit")
        try:
            model.fit(input_data, target, batch_size=len(target), epochs=1, verbose=0)
        except ValueError as error:
            raise AssertionError(f"{layer_cls.__name__}: one fit step failed: {error}") from error
        moved = [not np.array_equal(a, np.array(w)) for a, w in zip(start, model.trainable_weights)]
        if not any(moved):
            raise AssertionError(f"{layer_cls.__name__}: one fit step changed no trainable weight")

    if run_mixed_precision_check:
        with compat.precision_scope("mixed_bfloat16"):
            mixed = layer_cls(**init_kwargs)
            mixed_output = mixed(input_data, training=True, **call_kwargs)
        if tf.as_dtype(mixed_output.dtype) != tf.bfloat16:
            raise AssertionError(
                f"{layer_cls.__name__} under mixed_bfloat16 returned {mixed_output.dtype}, "
                "expected bfloat16"
            )
        wrong = [compat.variable_path(w) for w in mixed.weights if tf.as_dtype(w.dtype) != tf.float32]
        if wrong:
            raise AssertionError(f"{layer_cls.__name__} under mixed_bfloat16 has non-float32 variables {wrong}")
        if not np.all(np.isfinite(np.asarray(tf.cast(mixed_output, tf.float32)))):
            raise AssertionError(f"{layer_cls.__name__} produced non-finite outputs in mixed_bfloat16")
    return layer


__all__ = ["run_layer_test"]
