"""Issue 14, case 6: a user-given model file never runs its Python code unless asked to.

A ``Lambda`` layer saves its function's bytecode; Keras runs it while rebuilding the model.
Legacy Keras (tf-keras) ignores ``safe_mode`` for ``.h5`` files and SavedModel folders, so
``TF_USE_LEGACY_KERAS=1 ascendgan evaluate RUN --extractor model.h5`` ran the file's code.
Each model below carries a lambda that creates a marker file when it runs: loading must
refuse it without creating the marker, and opting in (the positive control, which shows the
marker mechanism works) must run it.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from ascendgan import compat
from ascendgan.cli import main

keras = compat.keras

#: The formats the current Keras mode writes (legacy Keras also writes SavedModel folders).
FORMATS = ["model.keras", "model.h5"] + (["saved_model"] if compat.LEGACY_KERAS else [])


def _save(model, path):
    if path.endswith("saved_model"):
        model.save(path, save_format="tf")
    else:
        model.save(path)
    return path


def _lambda_model(marker):
    """A model whose Lambda layer creates ``marker`` whenever its Python code runs."""
    # the path is a constant of the bytecode (Keras 3 cannot reload a lambda's default arguments)
    touch = eval(f"lambda x: (open({str(marker)!r}, 'a').close(), x)[1]")  # noqa: S307
    inputs = keras.Input((28, 28, 1))
    hidden = keras.layers.Lambda(touch, name="touches_a_file")(inputs)
    hidden = keras.layers.Flatten()(hidden)
    return keras.Model(inputs, keras.layers.Dense(4, name="features")(hidden), name="extractor")


@pytest.fixture
def lambda_file(tmp_path, request):
    """(saved Lambda model, marker path), the marker removed after saving (saving runs it)."""
    marker = tmp_path / "marker"
    path = _save(_lambda_model(marker), str(tmp_path / request.param))
    if marker.exists():
        marker.unlink()
    return path, marker


@pytest.mark.parametrize("lambda_file", FORMATS, indirect=True)
def test_a_lambda_layer_is_refused_and_its_code_never_runs(lambda_file):
    path, marker = lambda_file
    with pytest.raises(ValueError) as caught:
        compat.load_model(path)
    message = str(caught.value)
    assert "\n" not in message
    assert repr(path) in message and "'extractor/touches_a_file'" in message
    assert "Lambda layer" in message
    assert "safe_mode=False" in message and "--unsafe-extractor" in message
    assert not marker.exists(), "the Lambda's Python code ran while loading"


@pytest.mark.parametrize("lambda_file", ["model.h5"], indirect=True)
def test_the_format_is_recognised_from_the_content_not_the_name(lambda_file, tmp_path):
    """Legacy Keras loads a non-zip ``x.keras`` as HDF5, so the name must not decide."""
    path, marker = lambda_file
    disguised = shutil.copy(path, tmp_path / "disguised.keras")
    with pytest.raises(ValueError, match="Lambda layer"):
        compat.load_model(disguised)
    assert not marker.exists()


@pytest.mark.parametrize("lambda_file", FORMATS, indirect=True)
def test_opting_in_loads_the_model_and_runs_its_code(lambda_file):
    path, marker = lambda_file
    model = compat.load_model(path, safe_mode=False)
    assert marker.exists(), "positive control: the marker shows the Lambda's code ran"
    assert model.get_layer("touches_a_file").__class__.__name__ == "Lambda"


@pytest.mark.parametrize("name", FORMATS)
def test_a_plain_model_still_loads(tmp_path, name):
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(4, name="features")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs, name="plain")
    path = _save(model, str(tmp_path / name))
    images = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    loaded = compat.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(model(images)), rtol=1e-6)


def test_a_missing_file_is_named(tmp_path):
    missing = str(tmp_path / "nope.keras")
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        compat.load_model(missing)
    with pytest.raises(TypeError, match="safe_mode"):
        compat.load_model(missing, safe_mode="no")


@pytest.mark.parametrize("config, expected", [
    # legacy Keras: a Lambda's bytecode and a lambda output shape, inside a nested model
    ({"class_name": "Functional", "config": {"name": "outer", "layers": [
        {"class_name": "Functional", "config": {"name": "inner", "layers": [
            {"class_name": "Lambda", "config": {"name": "f", "function": ["AAAA", None, None],
                                                "function_type": "lambda"}}]}}]}},
     ["layer 'outer/inner/f' is a Lambda layer"]),
    # Keras 3 / the .keras format: a serialized lambda anywhere in a layer's config
    ({"class_name": "Dense", "config": {"name": "d", "activation": {
        "class_name": "__lambda__", "config": {"value": ["AAAA", None, None]}}}},
     ["layer 'd' holds a serialized Python lambda"]),
    # legacy cell wrappers keep their function as "<name>_type": "lambda"
    ({"class_name": "ResidualWrapper", "config": {"name": "w", "residual_fn": ["AAAA", None, None],
                                                  "residual_fn_type": "lambda"}},
     ["layer 'w' holds a serialized Python lambda ('residual_fn_type')"]),
    # SavedModel node metadata names the layer at the top level
    ({"name": "f", "class_name": "Lambda", "config": {"function": "abs", "function_type": "function"}},
     ["layer 'f' is a Lambda layer"]),
    # TF ops recorded by legacy Keras (TFOpLambda) name a TensorFlow function: no Python code
    ({"class_name": "TFOpLambda", "config": {"name": "tf.math.add", "function": "math.add"}}, []),
    ({"class_name": "Dense", "config": {"name": "d", "activation": "relu"}}, []),
])
def test_python_code_is_found_wherever_the_config_holds_it(config, expected):
    assert compat.python_code_in(config) == expected


def test_the_cli_refuses_a_lambda_extractor_unless_asked(tmp_path, capsys):
    marker = tmp_path / "marker"
    path = _save(_lambda_model(marker), str(tmp_path / "model.h5"))
    marker.unlink()
    run_dir = str(tmp_path / "no_run")
    assert main(["evaluate", run_dir, "--extractor", path]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("ascendgan: error: Refusing to load")
    assert "--unsafe-extractor" in error and path in error
    assert not marker.exists()
    # opted in, the extractor loads (running its code) and evaluate goes on to the run
    assert main(["evaluate", run_dir, "--extractor", path, "--unsafe-extractor"]) == 1
    assert marker.exists()
    assert "Refusing" not in capsys.readouterr().err
    assert os.path.exists(path)
