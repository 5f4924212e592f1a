"""examples/custom_gan.py and docs/guides/custom_gan.md: the custom GAN runs end to end by
hand, as a registered family through ``recipes.train_gan`` and through the ``ascendgan``
command; its custom hooks compute what they say; the guide's code runs."""

import importlib.util
import json
import pathlib
import re

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat, recipes, sampling
from ascendgan.models import get_family

keras = compat.keras

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "custom_gan.py"
GUIDE = ROOT / "docs" / "guides" / "custom_gan.md"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("custom_gan_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def png(path):
    return tf.io.decode_png(tf.io.read_file(str(path))).numpy()


def checkpoint_names(run_dir):
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(run_dir / "checkpoints")))
    return sorted(reader.get_variable_to_shape_map())


def test_smoke_run_writes_grid_checkpoint_and_metrics(example, tmp_path):
    history = example.main(["--smoke", "--out", str(tmp_path)])
    logs = history.history
    assert {"d_loss", "g_loss", "gradient_penalty", "feature_matching"} <= set(logs)
    for name, values in logs.items():
        assert len(values) == 1 and np.all(np.isfinite(values)), (name, values)
    assert logs["gradient_penalty"][0] > 0.0
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-2")
    assert (tmp_path / "samples" / "step_0000002.png").exists()

    grid = png(tmp_path / "samples.png")
    per_class, size, classes = 4, example.IMAGE_SIZE, example.NUM_CLASSES
    assert grid.shape == (classes * (size + 2) + 2, per_class * (size + 2) + 2, 1)
    # Row k is class k; column j uses the same latent in every row (sampling.class_grid).
    gan = history.model
    for k in (0, classes - 1):
        expected = sampling.to_uint8(gan.generate(per_class, labels=[k] * per_class, seed=0))
        for j in (0, per_class - 1):
            top, left = 2 + k * (size + 2), 2 + j * (size + 2)
            np.testing.assert_array_equal(grid[top:top + size, left:left + size], expected[j])


def test_the_family_trains_through_train_gan_and_through_the_command(example, tmp_path):
    # recipes.train_gan(GANRun("cwgan_gp", smoke=True)), after registration
    result = example.main(["--recipe", "--smoke", "--out", str(tmp_path / "recipe")])
    assert result["final_step"] == 2 and get_family("cwgan_gp") is example.FAMILY
    # the ascendgan command, called from the script after registration
    assert example.main(["train", "cwgan_gp", "--smoke", "--quiet", "--out", str(tmp_path / "cli")]) == 0
    recipe, command = (json.loads((tmp_path / name / "run.json").read_text()) for name in ("recipe", "cli"))
    assert recipe == command and recipe["family"] == "cwgan_gp" and recipe["preset"] == "mnist"
    assert recipe["overrides"] == {"width": 8, "latent_dim": 8, "discriminator_steps": 1}
    assert checkpoint_names(tmp_path / "recipe") == checkpoint_names(tmp_path / "cli")

    # The run directory rebuilds the custom GAN, and `ascendgan sample` draws its class grid.
    gan, _ = recipes.load_run(tmp_path / "cli")
    assert isinstance(gan, example.ConditionalWGANGP) and gan.latent_dim == 8
    assert example.main(["sample", str(tmp_path / "cli"), "--output", str(tmp_path / "s.png")]) == 0
    assert png(tmp_path / "s.png").shape == (10 * 30 + 2, 8 * 30 + 2, 1)  # one row per class


def test_the_preset_routes_flat_overrides_to_its_sections(example):
    preset = example.FAMILY.preset("mnist", {"latent_dim": 16, "width": 32, "learning_rate": 5e-5})
    assert preset.network["latent_dim"] == preset.gan["latent_dim"] == 16
    assert preset.network["width"] == 32 and preset.optimizer.generator_learning_rate == 5e-5
    with pytest.raises(ValueError, match="Valid keys"):
        example.FAMILY.preset("mnist", {"base_filters": 4})
    with pytest.raises(ValueError, match="Valid presets"):
        example.FAMILY.preset("cifar10")


def test_feature_matching_loss_against_numpy(example):
    real = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0]], "float32")  # column means 2, 1, 0.5
    fake = np.array([[0.0, 1.0, 0.5], [0.0, 3.0, 0.5], [0.0, 2.0, 0.5]], "float32")  # 0, 2, 0.5
    # ((2-0)² + (1-2)² + 0²) / 3 = 5/3
    assert float(example.feature_matching_loss(real, fake)) == pytest.approx(5.0 / 3.0, rel=1e-6)
    assert float(example.feature_matching_loss(real, real[::-1])) == 0.0


def _tiny_gan(example, **kwargs):
    gan = example.ConditionalWGANGP(
        example.build_generator(latent_dim=4, num_classes=3, width=4),
        example.build_critic(num_classes=3, width=4),
        latent_dim=4, num_classes=3, gradient_penalty=10.0, seed=0, **kwargs,
    )
    gan.compile(loss="wasserstein")
    gan.build_models((28, 28, 1))
    return gan


def test_generator_and_critic_loss_hooks_against_numpy(example, rng):
    gan = _tiny_gan(example, feature_matching_weight=0.5, drift_weight=0.25)
    assert gan.extra_metric_names() == ("feature_matching",)
    real = rng.uniform(-1, 1, (5, 28, 28, 1)).astype("float32")
    fake = rng.uniform(-1, 1, (5, 28, 28, 1)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1], "int32")
    fake_logits = rng.standard_normal((5, 1)).astype("float32")
    real_logits = rng.standard_normal((5, 1)).astype("float32")

    features = gan.discriminator.get_layer("features")
    real_f = features(real, training=False).numpy()
    fake_f = features(fake, training=False).numpy()
    matching = np.mean((real_f.mean(0) - fake_f.mean(0)) ** 2)
    assert matching > 0

    loss, logs = gan.compute_generator_loss(tf.constant(fake_logits), tf.constant(fake), tf.constant(real),
                                            tf.constant(labels))
    assert set(logs) == {"feature_matching"}
    np.testing.assert_allclose(float(logs["feature_matching"]), matching, rtol=1e-4)
    np.testing.assert_allclose(float(loss), -fake_logits.mean() + 0.5 * matching, rtol=1e-4)

    d_loss = gan.compute_discriminator_loss(tf.constant(real_logits), tf.constant(fake_logits))
    expected = fake_logits.mean() - real_logits.mean() + 0.25 * np.mean(real_logits**2)
    np.testing.assert_allclose(float(d_loss), expected, rtol=1e-5)


def test_feature_matching_gradient_reaches_the_generator_only_through_fakes(example, rng):
    gan = _tiny_gan(example, feature_matching_weight=1.0)
    real = tf.constant(rng.uniform(-1, 1, (4, 28, 28, 1)).astype("float32"))
    fake = tf.Variable(rng.uniform(-1, 1, (4, 28, 28, 1)).astype("float32"))
    real_var = tf.Variable(real)
    with tf.GradientTape(persistent=True) as tape:
        _, logs = gan.compute_generator_loss(tf.zeros((4, 1)), fake, real_var, tf.zeros((4,), tf.int32))
    assert tape.gradient(logs["feature_matching"], real_var) is None  # reals are a fixed target
    assert np.abs(tape.gradient(logs["feature_matching"], fake).numpy()).sum() > 0


def test_bad_weights_are_rejected(example):
    with pytest.raises(ValueError, match="feature_matching_weight"):
        _tiny_gan(example, feature_matching_weight=-1.0)
    with pytest.raises(ValueError, match="drift_weight"):
        _tiny_gan(example, drift_weight=-0.1)


_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def test_the_guide_runs(tmp_path, monkeypatch):
    """Every ```python block of the guide, in order, in one namespace (as tests/test_docs.py
    runs docs/*.md)."""
    monkeypatch.chdir(tmp_path)
    text = GUIDE.read_text(encoding="utf-8")
    namespace = {"__name__": "guide_custom_gan"}
    blocks = list(_FENCE.finditer(text))
    assert len(blocks) >= 6
    for match in blocks:
        line = text.count("\n", 0, match.start()) + 1
        exec(compile(match.group(1), f"{GUIDE.name}:{line}", "exec"), namespace)  # noqa: S102
    assert (tmp_path / "samples.png").exists()
    assert json.loads((tmp_path / "runs" / "cwgan_cli" / "run.json").read_text())["family"] == "cwgan_gp"
