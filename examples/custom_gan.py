"""A GAN that ascendgan does not ship, built from its layers and the ``GAN`` hooks.

A class-conditional WGAN-GP for 28x28 grey images (MNIST):

* generator: ``SNDense`` -> 7x7 map -> two ``SNConv2DTranspose`` upsamplings, each
  preceded by class-conditional batch normalization (``ConditionalBatchNormalization``);
  ``tanh`` output in [-1, 1];
* critic: a projection discriminator: ``SNConv2D`` feature extractor (a nested model
  named ``"features"``), a linear head ``SNDense(1)`` plus the projection term
  ``<SNEmbedding(label), features>``;
* losses: the Wasserstein loss with the gradient penalty that ``GAN`` adds when given
  ``gradient_penalty=10.0``; the critic also gets a small "drift" term (overriding
  ``compute_discriminator_loss``), and the generator an extra *feature-matching* term
  (overriding ``compute_generator_loss``), reported as the ``feature_matching`` metric.

Run::

    python examples/custom_gan.py --smoke --out /tmp/custom_gan          # seconds, offline
    python examples/custom_gan.py --data /path/to/mnist --steps 600 --out runs/cwgan

Without ``--data`` the script trains on a synthetic data set of class-dependent strokes,
so it runs offline. It writes ``samples.png`` (one row per class) and a checkpoint
(``checkpoints/``) into ``--out``; running it again with the same ``--out`` resumes.

Reference:
    Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017
    (arXiv:1704.00028); Miyato and Koyama, "cGANs with Projection Discriminator",
    ICLR 2018 (arXiv:1802.05637); Salimans et al., "Improved Techniques for Training
    GANs", NeurIPS 2016 (feature matching, arXiv:1606.03498).
"""

from __future__ import annotations

import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan.layers import (
    ConditionalBatchNormalization,
    SNConv2D,
    SNConv2DTranspose,
    SNDense,
    SNEmbedding,
)
from ascendgan.training import GAN, GANCheckpoint

# In your own code `import keras` works as well; ascendgan's sources go through compat so
# that they run under both Keras 3 and legacy Keras 2 (TF_USE_LEGACY_KERAS=1).
keras = compat.keras

IMAGE_SIZE = 28
NUM_CLASSES = 10


# ----------------------------------------------------------------------------- networks


def build_generator(latent_dim=64, num_classes=NUM_CLASSES, width=64):
    """``[z, labels] -> images (n, 28, 28, 1)`` in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    labels = keras.Input((), dtype="int32", name="labels")
    h = SNDense(7 * 7 * 2 * width, name="project")(z)
    h = keras.layers.Reshape((7, 7, 2 * width))(h)
    h = ConditionalBatchNormalization(num_classes=num_classes, name="cbn_7")([h, labels])
    h = keras.layers.ReLU()(h)
    h = SNConv2DTranspose(width, 4, strides=2, padding="same", name="up_14")(h)
    h = ConditionalBatchNormalization(num_classes=num_classes, name="cbn_14")([h, labels])
    h = keras.layers.ReLU()(h)
    h = SNConv2DTranspose(1, 4, strides=2, padding="same", name="up_28")(h)
    images = keras.layers.Activation("tanh", dtype="float32", name="images")(h)
    return keras.Model([z, labels], images, name="generator")


def build_feature_extractor(width=64):
    """``images -> features (n, 7 * 7 * 2 * width)``: the critic's body, without batch
    norm (WGAN-GP's penalty assumes the critic treats every sample on its own).

    The 7x7 map is flattened, not pooled: this shallow body sees only small patches, and
    a global average of them would let the generator win with one plausible stroke."""
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1))
    h = SNConv2D(width // 2, 3, padding="same")(images)
    h = keras.layers.LeakyReLU(0.2)(h)
    h = SNConv2D(width, 4, strides=2, padding="same")(h)  # 14x14
    h = keras.layers.LeakyReLU(0.2)(h)
    h = SNConv2D(2 * width, 4, strides=2, padding="same")(h)  # 7x7
    h = keras.layers.LeakyReLU(0.2)(h)
    features = keras.layers.Flatten()(h)
    return keras.Model(images, features, name="features")


def build_critic(num_classes=NUM_CLASSES, width=64):
    """``[images, labels] -> scores (n, 1)``: ``ψ(φ(x)) + <embed(y), φ(x)>``."""
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="images")
    labels = keras.Input((), dtype="int32", name="labels")
    features = build_feature_extractor(width)(images)
    unconditional = SNDense(1, name="head")(features)
    embedded = SNEmbedding(num_classes, 7 * 7 * 2 * width, name="class_embedding")(labels)
    projection = keras.layers.Dot(axes=1, name="projection")([embedded, features])
    scores = keras.layers.Add(dtype="float32", name="scores")([unconditional, projection])
    return keras.Model([images, labels], scores, name="critic")


# ----------------------------------------------------------------------------- the GAN


def feature_matching_loss(real_features, fake_features):
    """``mean_k (mean_i real[i, k] - mean_i fake[i, k])²``: the squared distance
    between the batch means of the critic's features (Salimans et al., 2016)."""
    real_mean = tf.reduce_mean(tf.cast(real_features, tf.float32), axis=0)
    fake_mean = tf.reduce_mean(tf.cast(fake_features, tf.float32), axis=0)
    return tf.reduce_mean(tf.square(real_mean - fake_mean))


class ConditionalWGANGP(GAN):
    """Class-conditional WGAN-GP with a feature-matching term for the generator.

    Everything else (tapes, optimizers, the gradient penalty, metrics, ``fit``,
    ``generate``, checkpoints) comes from :class:`ascendgan.training.GAN`.

    Args:
        generator: ``[z, labels] -> images``.
        discriminator: ``[images, labels] -> scores``, holding a nested model named
            ``"features"`` (``images -> features``).
        feature_matching_weight: weight of the feature-matching term in the generator loss.
        drift_weight: weight ε of ``ε·E[D(x_real)²]`` in the critic loss (keeps the
            Wasserstein scores near zero; Karras et al., 2018).
        **kwargs: :class:`~ascendgan.training.GAN` arguments (``latent_dim``,
            ``num_classes``, ``gradient_penalty``, ``discriminator_steps``, ...).
    """

    def __init__(self, generator, discriminator, feature_matching_weight=1.0, drift_weight=1e-3, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if not feature_matching_weight >= 0:
            raise ValueError(
                "`feature_matching_weight` must be >= 0. "
                f"Received: feature_matching_weight={feature_matching_weight!r}"
            )
        if not drift_weight >= 0:
            raise ValueError(f"`drift_weight` must be >= 0. Received: drift_weight={drift_weight!r}")
        self.feature_matching_weight = float(feature_matching_weight)
        self.drift_weight = float(drift_weight)

    # Hook 1: names of the extra values compute_generator_loss reports (compile() makes a
    # Mean metric for each; they appear in fit()'s history and progress bar).
    def extra_metric_names(self):
        return ("feature_matching",)

    # Hook 2: the critic loss. loss="wasserstein" gives mean(D(fake)) - mean(D(real)); the
    # gradient penalty is added by GAN.train_step because gradient_penalty > 0.
    def compute_discriminator_loss(self, real_logits, fake_logits, real_images=None,
                                   fake_images=None, condition=None):
        loss = self.loss_pair.discriminator_loss(real_logits, fake_logits)
        drift = tf.reduce_mean(tf.square(tf.cast(real_logits, tf.float32)))
        return loss + self.drift_weight * drift

    # Hook 3: the generator loss, returned as (loss, {metric name: value}).
    def compute_generator_loss(self, fake_logits, fake_images=None, real_images=None, condition=None):
        adversarial = self.loss_pair.generator_loss(fake_logits)
        # training=False: the spectral-norm vectors are not advanced by these extra calls.
        features = self.discriminator.get_layer("features")
        real_features = tf.stop_gradient(features(real_images, training=False))
        fake_features = features(tf.cast(fake_images, real_images.dtype), training=False)
        matching = feature_matching_loss(real_features, fake_features)
        return adversarial + self.feature_matching_weight * matching, {"feature_matching": matching}

    def get_config(self):
        config = super().get_config()
        config.update(feature_matching_weight=self.feature_matching_weight, drift_weight=self.drift_weight)
        return config


# ----------------------------------------------------------------------------- data


def read_idx(path):
    """Reads one (optionally gzipped) IDX file (the MNIST format) into a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if zero != 0 or type_code not in dtypes:
        raise ValueError(f"{path} is not an IDX file (magic bytes {data[:4]!r}).")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    array = np.frombuffer(data, dtype=dtypes[type_code], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape}, found {array.size} values.")
    return array.reshape(shape)


def load_mnist(directory):
    """MNIST's training split: images ``(60000, 28, 28, 1)`` float32 in [-1, 1], labels int32."""
    images = read_idx(os.path.join(directory, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(directory, "train-labels-idx1-ubyte.gz"))
    images = images.astype("float32")[..., None] / 127.5 - 1.0
    return images, labels.astype("int32")


def synthetic_strokes(n, num_classes=NUM_CLASSES, seed=0):
    """Offline stand-in for MNIST: class ``k`` is a stroke at angle ``k·180°/num_classes``
    through a jittered centre, with random thickness and length, on a black background."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=n).astype("int32")
    angle = labels * np.pi / num_classes + rng.normal(0.0, 0.05, n)
    centre = IMAGE_SIZE / 2 + rng.normal(0.0, 1.5, (n, 2))
    thickness = rng.uniform(1.0, 2.5, n)
    length = rng.uniform(7.0, 11.0, n)
    rows, cols = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype("float32") + 0.5
    dy = rows[None] - centre[:, 0, None, None]
    dx = cols[None] - centre[:, 1, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    along = dx * cos + dy * sin
    across = -dx * sin + dy * cos
    ink = (np.abs(across) < thickness[:, None, None]) & (np.abs(along) < length[:, None, None])
    images = np.where(ink, 1.0, -1.0).astype("float32")[..., None]
    return images, labels


def make_dataset(images, labels, batch_size, seed=0):
    """An endless shuffled data set of ``(images, labels)`` batches."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = dataset.shuffle(min(len(images), 10_000), seed=seed).repeat()
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


# ----------------------------------------------------------------------------- samples


def sample_grid(gan, num_classes, per_class, seed=0):
    """A ``(num_classes·28, per_class·28, 1)`` uint8 grid: row ``k`` holds class ``k``."""
    labels = np.repeat(np.arange(num_classes), per_class)
    images = gan.generate(len(labels), labels=labels, seed=seed)  # [-1, 1], (n, 28, 28, 1)
    images = np.clip((images + 1.0) * 127.5 + 0.5, 0, 255).astype("uint8")
    height, width, channels = images.shape[1:]
    grid = images.reshape(num_classes, per_class, height, width, channels)
    return grid.transpose(0, 2, 1, 3, 4).reshape(num_classes * height, per_class * width, channels)


def write_png(path, grid):
    tf.io.write_file(path, tf.io.encode_png(grid))


# ----------------------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Train a class-conditional WGAN-GP (a custom GAN built on ascendgan's hooks) "
        "on 28x28 grey images.",
    )
    parser.add_argument("--data", default=None,
                        help="MNIST IDX directory (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz); "
                             "default: a synthetic data set of class-dependent strokes")
    parser.add_argument("--steps", type=int, default=1000, help="generator steps (default 1000)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--width", type=int, default=64, help="base channel count (default 64)")
    parser.add_argument("--latent-dim", type=int, default=64, help="size of z (default 64)")
    parser.add_argument("--discriminator-steps", type=int, default=2,
                        help="critic updates per generator update (default 2)")
    parser.add_argument("--samples-per-class", type=int, default=10, help="columns of the sample grid")
    parser.add_argument("--out", default="runs/custom_gan", help="output directory (samples.png, checkpoints/)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny configuration (a few steps, tiny widths) to check the script runs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.batch_size, args.width, args.latent_dim = min(args.steps, 3), 8, 8, 8
        args.discriminator_steps, args.samples_per_class = 1, 4
    for name in ("steps", "batch_size", "width", "latent_dim", "discriminator_steps", "samples_per_class"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    compat.set_random_seed(args.seed)

    if args.data:
        images, labels = load_mnist(args.data)
    else:
        images, labels = synthetic_strokes(64 if args.smoke else 20_000, seed=args.seed)
    num_classes = NUM_CLASSES
    dataset = make_dataset(images, labels, args.batch_size, seed=args.seed)

    gan = ConditionalWGANGP(
        build_generator(args.latent_dim, num_classes, args.width),
        build_critic(num_classes, args.width),
        latent_dim=args.latent_dim,
        num_classes=num_classes,
        gradient_penalty=10.0,
        discriminator_steps=args.discriminator_steps,
        seed=args.seed,
    )
    gan.compile(
        generator_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9),
        discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9),
        loss="wasserstein",
    )
    checkpoint = GANCheckpoint(os.path.join(args.out, "checkpoints"))  # saves at the end, resumes on rerun
    start = time.perf_counter()
    history = gan.fit(dataset, epochs=1, steps_per_epoch=args.steps, callbacks=[checkpoint],
                      verbose=0 if args.smoke else 2)
    seconds = time.perf_counter() - start

    grid = sample_grid(gan, num_classes, args.samples_per_class, seed=args.seed)
    png = os.path.join(args.out, "samples.png")
    write_png(png, grid)
    logs = {name: float(values[-1]) for name, values in history.history.items()}
    print(f"{args.steps} steps in {seconds:.1f} s ({1000 * seconds / args.steps:.0f} ms/step, "
          "first step includes tracing); "
          + ", ".join(f"{name}={value:.4g}" for name, value in logs.items()))
    print(f"wrote {png} and {checkpoint.manager.latest_checkpoint}")
    return history  # history.model is the trained GAN


if __name__ == "__main__":
    main(sys.argv[1:])
