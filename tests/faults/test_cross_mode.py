"""Issue 14, case 12: a run trained under one Keras version loads under the other.

Checkpoints are written in this process's Keras version and restored in a subprocess
running the other one, and the other way round (one subprocess does both its reads and its
writes). Every variable gets its own random value before saving, so a weight, a batch-norm
statistic, a spectral-norm vector or an optimizer slot restored into the wrong variable
changes what is compared. The references are independent of the checkpoint keys: the
networks' outputs on fixed inputs, and their outputs after one Adam step with fixed
gradients (which reads every slot, the step counter and the learning rate).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.models.registry import get_family
from ascendgan.optimizers import FusedAdam
from ascendgan.training import weight_keys
from ascendgan.training.weight_keys import CheckpointModeError

HERE = pathlib.Path(__file__).resolve()
DATA = HERE.parents[1] / "recipes" / "data"
FAMILIES = ("dcgan", "biggan", "pix2pix")
MODE = weight_keys.KERAS_MODE
OTHER = "keras3" if MODE == "tf_keras" else "tf_keras"
ATOL = 1e-6


# ----------------------------------------------------------------------------- shared by both processes


def build(family, seed=0, keras_loss_scale=False):
    """A tiny GAN of ``family`` (its smoke sizes), compiled and built."""
    compat.clear_session()
    spec = get_family(family)
    gan = spec.build(spec.preset(None, dict(spec.preset().smoke)), seed=seed)
    if keras_loss_scale:  # Keras's own LossScaleOptimizer: no stable names for its state
        gan.compile(generator_optimizer=compat.loss_scale_optimizer(FusedAdam(2e-4)),
                    discriminator_optimizer=FusedAdam(2e-4))
    else:
        gan.compile()
    gan.build_models(image_shape(gan))
    return gan


def image_shape(gan):
    g = gan.generator
    channels = g.output_channels if hasattr(g, "output_channels") else g.channels
    return (g.image_size, g.image_size, channels)


def randomize(gan, seed):
    """Gives every variable of the GAN (networks, optimizers, latent generator) its own value."""
    rng = np.random.default_rng(seed)
    for model in (gan.generator, gan.ema_generator, gan.discriminator):
        for variable in [] if model is None else model.weights:
            shape = tuple(variable.shape)
            positive = "variance" in compat.variable_name(variable)
            value = rng.uniform(0.5, 1.5, shape) if positive else rng.normal(0.0, 0.3, shape)
            variable.assign(value.astype(np.float32))
    for optimizer in (gan.generator_optimizer, gan.discriminator_optimizer):
        optimizer.iterations.assign(7 + seed % 5)
        for variable in optimizer.variables:
            if variable is optimizer.iterations or "iteration" in compat.variable_name(variable):
                continue
            if "learning_rate" in compat.variable_name(variable):
                variable.assign(1e-3 * (1 + seed % 3))
            else:  # moments: positive, so that sqrt(v) is defined
                variable.assign(rng.uniform(0.01, 1.0, tuple(variable.shape)).astype(np.float32))
    gan.seed_generator.reset_from_seed(seed)


def probe_inputs(gan):
    """Fixed generator and discriminator inputs: ``(generator_inputs, images, condition)``."""
    rng = np.random.default_rng(123)
    shape = image_shape(gan)
    images = tf.constant(rng.uniform(-1, 1, (2, *shape)), tf.float32)
    if gan.latent_dim is None:  # Pix2Pix: the source image is the condition
        channels = gan.generator.input_channels
        source = tf.constant(rng.uniform(-1, 1, (2, *shape[:2], channels)), tf.float32)
        return source, images, source
    z = tf.constant(rng.normal(size=(2, gan.latent_dim)), tf.float32)
    if gan.num_classes:
        labels = tf.constant([1, gan.num_classes - 1], tf.int32)
        return [z, labels], images, labels
    return z, images, None


def snapshot(gan, part):
    """What a restore must reproduce: network outputs on fixed inputs; for ``part="all"``
    also every variable by stable name and the outputs after one Adam step."""
    inputs, images, condition = probe_inputs(gan)
    out = {"out/generator": gan.generator(inputs, training=False)}
    if gan.ema_generator is not None:
        out["out/ema_generator"] = gan.ema_generator(inputs, training=False)
    if part == "all":
        out["out/discriminator"] = gan.discriminate(images, condition, training=False)
        objects = weight_keys.checkpoint_objects(gan, "all")
        for name, value in objects.items():
            if name == "seed_generator":
                out["var/seed_generator"] = np.array(value.state)
            elif isinstance(value, dict):
                for path, variable in _flatten(value, name):
                    out[f"var/{path}"] = np.array(variable)  # before the step
        for model, optimizer in ((gan.generator, gan.generator_optimizer),
                                 (gan.discriminator, gan.discriminator_optimizer)):
            variables = model.trainable_variables
            gradients = [0.01 * tf.convert_to_tensor(v) + 0.001 for v in variables]
            compat.apply_gradients(optimizer, gradients, variables)
        out["step/generator"] = gan.generator(inputs, training=False)
        out["step/discriminator"] = gan.discriminate(images, condition, training=False)
    return {key: np.asarray(value) for key, value in out.items()}


def _flatten(tree, prefix):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}/{key}")
        elif hasattr(value, "shape"):
            yield f"{prefix}/{key}", value


def positional_checkpoint(gan):
    """``GAN.checkpoint()`` as ascendgan 0.1 (and the code until issue 14) wrote it."""
    objects = {"generator": gan.generator, "discriminator": gan.discriminator,
               "seed_generator": gan.seed_generator}
    if gan.ema_generator is not None:
        objects["ema_generator"] = gan.ema_generator
    for name in ("generator", "discriminator", "ema_generator"):
        if objects.get(name) is not None:
            objects[f"{name}_weights"] = list(objects[name].weights)
    objects["generator_optimizer"] = gan.generator_optimizer
    objects["discriminator_optimizer"] = gan.discriminator_optimizer
    return tf.train.Checkpoint(**objects)


def write(family, directory, layout="stable", keras_loss_scale=False):
    """Builds, randomizes and saves a GAN; saves its snapshot next to the checkpoint."""
    gan = build(family, seed=1, keras_loss_scale=keras_loss_scale)
    randomize(gan, seed=11)
    checkpoint = positional_checkpoint(gan) if layout == "positional" else gan.checkpoint()
    path = checkpoint.save(os.path.join(directory, "ckpt"))
    np.savez(os.path.join(directory, "written.npz"), **snapshot(gan, "all"))
    return path


def read(family, path, part, out=None, keras_loss_scale=False):
    """Restores ``path`` as the lead's restore code does into a fresh GAN (other weights);
    returns (and saves to ``out``) its snapshot, or the error raised."""
    gan = build(family, seed=2, keras_loss_scale=keras_loss_scale)
    randomize(gan, seed=22)
    try:
        gan.checkpoint(part, path=path).restore(path).assert_existing_objects_matched()
    except Exception as error:  # noqa: BLE001 - reported to the test
        return f"{type(error).__name__}: {error}"
    values = snapshot(gan, part)
    if out:
        np.savez(out, **values)
    return values


JOBS = [(family, "stable", False) for family in FAMILIES] + [
    ("dcgan", "positional", False), ("dcgan", "stable", True)]


def _job_dir(root, mode, family, layout, lso):
    return os.path.join(root, mode, f"{family}-{layout}{'-lso' if lso else ''}")


def exchange(root, reader_mode):
    """Reads what the other Keras version wrote under ``root``, then writes this version's
    checkpoints; returns ``{job: result}`` (``"ok"`` or the error)."""
    writer = "keras3" if reader_mode == "tf_keras" else "tf_keras"
    results = {}
    for family, layout, lso in JOBS:
        source = _job_dir(root, writer, family, layout, lso)
        path = json.loads(pathlib.Path(source, "path.json").read_text())
        for part in ("all", "generator"):
            out = os.path.join(source, f"read-{part}.npz")
            value = read(family, path, part, out=out, keras_loss_scale=lso)
            results[f"{family}-{layout}{'-lso' if lso else ''}-{part}"] = (
                value if isinstance(value, str) else "ok")
    write_all(root, reader_mode)
    return results


def write_all(root, mode):
    for family, layout, lso in JOBS:
        directory = _job_dir(root, mode, family, layout, lso)
        os.makedirs(directory, exist_ok=True)
        path = write(family, directory, layout, keras_loss_scale=lso)
        pathlib.Path(directory, "path.json").write_text(json.dumps(path))


if __name__ == "__main__":  # the subprocess: python test_cross_mode.py ROOT
    root = sys.argv[1]
    pathlib.Path(root, f"results-{MODE}.json").write_text(json.dumps(exchange(root, MODE)))
    sys.exit(0)


# ----------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Checkpoints written here, read by the other Keras version (which writes its own),
    read back here."""
    root = str(tmp_path_factory.mktemp("cross_mode"))
    write_all(root, MODE)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if OTHER == "tf_keras":
        env["TF_USE_LEGACY_KERAS"] = "1"
    else:
        env.pop("TF_USE_LEGACY_KERAS", None)
    done = subprocess.run([sys.executable, str(HERE), root], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(pathlib.Path(root, f"results-{OTHER}.json").read_text())
    return root, theirs


def _compare(expected, actual, keys):
    for key in keys:
        np.testing.assert_allclose(actual[key], expected[key], atol=ATOL, rtol=0, err_msg=key)


def _check(root, writer, family, part, values):
    directory = _job_dir(root, writer, family, "stable", False)
    expected = dict(np.load(os.path.join(directory, "written.npz")))
    keys = [k for k in expected if k.startswith("out/")] if part == "generator" else list(expected)
    if part == "generator":
        keys = [k for k in keys if "discriminator" not in k]
    assert set(keys) <= set(values), sorted(set(keys) - set(values))
    _compare(expected, values, keys)
    if part == "all":  # every variable by stable name, none left out
        assert {k for k in values if k.startswith("var/")} == {k for k in expected if k.startswith("var/")}


@pytest.mark.parametrize("part", ["all", "generator"])
@pytest.mark.parametrize("family", FAMILIES)
def test_a_checkpoint_of_this_keras_restores_under_the_other(runs, family, part):
    root, theirs = runs
    assert theirs[f"{family}-stable-{part}"] == "ok"
    values = dict(np.load(os.path.join(_job_dir(root, MODE, family, "stable", False),
                                       f"read-{part}.npz")))
    _check(root, MODE, family, part, values)


@pytest.mark.parametrize("part", ["all", "generator"])
@pytest.mark.parametrize("family", FAMILIES)
def test_a_checkpoint_of_the_other_keras_restores_here(runs, family, part):
    root, _ = runs
    path = json.loads(pathlib.Path(_job_dir(root, OTHER, family, "stable", False), "path.json").read_text())
    values = read(family, path, part)
    assert not isinstance(values, str), values
    _check(root, OTHER, family, part, values)


@pytest.mark.parametrize("family", FAMILIES)
def test_both_keras_versions_write_the_same_keys(runs, family):
    root, _ = runs
    keys = {}
    for mode in (MODE, OTHER):
        path = json.loads(pathlib.Path(_job_dir(root, mode, family, "stable", False), "path.json").read_text())
        keys[mode] = {name: shape for name, shape in tf.train.list_variables(path)
                      if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}
    assert keys[MODE] == keys[OTHER]
    assert weight_keys.checkpoint_layout(path) == "stable"
    assert not any(name.startswith(("generator_weights/", "generator/")) for name in keys[MODE])


def test_positional_checkpoints_are_refused_by_the_other_keras_and_restore_in_their_own(runs):
    root, theirs = runs
    for part in ("all", "generator"):
        message = theirs[f"dcgan-positional-{part}"]
        assert message.startswith("CheckpointModeError: Checkpoint "), message
        assert "weights by position" in message and "TF_USE_LEGACY_KERAS" in message
        path = json.loads(pathlib.Path(_job_dir(root, OTHER, "dcgan", "positional", False),
                                       "path.json").read_text())
        with pytest.raises(CheckpointModeError, match=r"Received: path="):
            read_raising(path, part)
    # ... and in the Keras version that wrote it, exactly as before.
    directory = _job_dir(root, MODE, "dcgan", "positional", False)
    path = json.loads(pathlib.Path(directory, "path.json").read_text())
    values = read("dcgan", path, "all")
    assert not isinstance(values, str), values
    expected = dict(np.load(os.path.join(directory, "written.npz")))
    _compare(expected, values, [k for k in expected if not k.startswith("var/")])


def read_raising(path, part):
    gan = build("dcgan", seed=2)
    gan.checkpoint(part, path=path).restore(path).assert_existing_objects_matched()


def test_optimizer_state_without_stable_names_is_refused_across_versions(runs):
    """Keras's own LossScaleOptimizer keeps its state by position: a cross-version training
    resume is refused with a clear error; the generator still restores."""
    root, theirs = runs
    assert theirs["dcgan-stable-lso-generator"] == "ok"
    message = theirs["dcgan-stable-lso-all"]
    assert message.startswith("CheckpointModeError: ") and "generator optimizer" in message, message
    directory = _job_dir(root, MODE, "dcgan", "stable", True)
    values = dict(np.load(os.path.join(directory, "read-generator.npz")))
    expected = dict(np.load(os.path.join(directory, "written.npz")))
    _compare(expected, values, ["out/generator"])
    # In the version that wrote it, everything restores.
    path = json.loads(pathlib.Path(directory, "path.json").read_text())
    values = read("dcgan", path, "all", keras_loss_scale=True)
    assert not isinstance(values, str), values
    _compare(expected, values, [k for k in expected if not k.startswith("var/")])


@pytest.mark.parametrize("part", ["all", "generator"])
def test_version_0_1_runs_restore_in_their_keras_and_are_refused_in_the_other(part):
    own = DATA / ("v0_1_dcgan_mnist_keras3" if MODE == "keras3" else "v0_1_dcgan_mnist_legacy")
    other = DATA / ("v0_1_dcgan_mnist_legacy" if MODE == "keras3" else "v0_1_dcgan_mnist_keras3")

    def fixture_gan():
        compat.clear_session()
        gan = get_family("dcgan").create("mnist", seed=0, base_filters=4, num_classes=10)
        gan.compile()
        gan.build_models((28, 28, 1))
        return gan

    path = str(own / "checkpoints" / "ckpt-2")
    gan = fixture_gan()
    gan.checkpoint(part, path=path).restore(path).assert_existing_objects_matched()
    saved = tf.train.load_variable(path, "generator_weights/0/.ATTRIBUTES/VARIABLE_VALUE")
    np.testing.assert_array_equal(np.asarray(gan.generator.weights[0]), saved)
    assert weight_keys.checkpoint_layout(path) == "positional"
    path = str(other / "checkpoints" / "ckpt-2")
    with pytest.raises(CheckpointModeError, match=r"by position .* load it with TF_USE_LEGACY_KERAS"):
        fixture_gan().checkpoint(part, path=path)


def test_keys_name_layers_by_attribute_not_by_keras_auto_names():
    gan = build("biggan")
    keys = weight_keys.variable_keys(gan.generator)
    assert "blocks.0.bn1.gain_projection.kernel" in keys
    assert "attention_layers.0.gamma" in keys and "output_norm.moving_variance" in keys
    assert len(keys) == len(gan.generator.weights)
    compat.clear_session()
    build("dcgan")  # other layers first: Keras's auto-names move, the keys do not
    again = weight_keys.variable_keys(build("biggan").generator)
    assert sorted(again) == sorted(keys)


def test_an_unreadable_path_gets_the_stable_layout_so_restoring_reports_the_read_error(tmp_path):
    gan = build("dcgan")
    broken = tmp_path / "ckpt-1"
    (tmp_path / "ckpt-1.index").write_bytes(b"not an index")
    assert weight_keys.checkpoint_layout(str(broken)) == "stable"
    checkpoint = gan.checkpoint("all", path=str(broken))
    with pytest.raises(tf.errors.OpError, match="sstable"):  # the read error itself
        checkpoint.restore(str(broken))
    with pytest.raises(ValueError, match=r"`part` must be one of"):
        gan.checkpoint("discriminator")
