"""examples/custom_gan.py: runs end to end, and its custom hooks compute what they say."""

import gzip
import importlib.util
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat

keras = compat.keras

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "custom_gan.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("custom_gan_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_run_writes_grid_checkpoint_and_metrics(example, tmp_path):
    history = example.main(["--smoke", "--out", str(tmp_path)])
    logs = history.history
    assert {"d_loss", "g_loss", "gradient_penalty", "feature_matching"} <= set(logs)
    for name, values in logs.items():
        assert len(values) == 1 and np.all(np.isfinite(values)), (name, values)
    assert logs["gradient_penalty"][0] > 0.0
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")) is not None

    png = tf.io.decode_png(tf.io.read_file(str(tmp_path / "samples.png"))).numpy()
    per_class, size = 4, example.IMAGE_SIZE
    assert png.shape == (example.NUM_CLASSES * size, per_class * size, 1)
    # Row k, column j of the grid is sample j of class k: regenerate and compare.
    gan = history.model
    labels = np.repeat(np.arange(example.NUM_CLASSES), per_class)
    images = gan.generate(len(labels), labels=labels, seed=0)
    expected = np.clip((images + 1.0) * 127.5 + 0.5, 0, 255).astype("uint8")
    for k in (0, example.NUM_CLASSES - 1):
        for j in (0, per_class - 1):
            tile = png[k * size:(k + 1) * size, j * size:(j + 1) * size]
            np.testing.assert_array_equal(tile, expected[k * per_class + j])


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


def test_idx_reader_and_mnist_loader(example, tmp_path, rng):
    images = rng.integers(0, 256, (3, 28, 28)).astype("uint8")
    labels = np.array([7, 0, 9], "uint8")
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 0x08, 3]) + np.array([3, 28, 28], ">u4").tobytes() + images.tobytes())
    with gzip.open(tmp_path / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 0x08, 1]) + np.array([3], ">u4").tobytes() + labels.tobytes())
    x, y = example.load_mnist(str(tmp_path))
    assert x.shape == (3, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], images / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(y, [7, 0, 9])
    with gzip.open(tmp_path / "bad.gz", "wb") as f:
        f.write(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        example.read_idx(str(tmp_path / "bad.gz"))


def test_synthetic_strokes_depend_on_the_class(example):
    images, labels = example.synthetic_strokes(400, seed=1)
    assert images.shape == (400, 28, 28, 1) and images.min() == -1.0 and images.max() == 1.0
    means = np.stack([images[labels == k].mean(0) for k in range(example.NUM_CLASSES)])
    # Class means differ between classes far more than two halves of one class do.
    between = np.abs(means[0] - means[5]).mean()
    halves = np.abs(images[labels == 0][::2].mean(0) - images[labels == 0][1::2].mean(0)).mean()
    assert between > 3 * halves
