"""A GAN that ascendgan does not ship, built from its layers and the ``GAN`` hooks, then
registered as a model family that ``ascendgan train`` can run.

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

Three ways to train it::

    # 1. by hand: data -> model -> compile -> callbacks -> fit -> class grid
    python examples/custom_gan.py --smoke --out /tmp/custom_gan          # seconds, offline
    python examples/custom_gan.py --data /path/to/mnist --steps 1000 --out runs/cwgan
    # 2. as the registered family "cwgan_gp", through ascendgan.recipes.train_gan
    python examples/custom_gan.py --recipe --smoke --out /tmp/cwgan
    # 3. through the ascendgan command, which this script calls after registering the family
    python examples/custom_gan.py train cwgan_gp --smoke --out /tmp/cwgan_cli
    python examples/custom_gan.py sample /tmp/cwgan_cli --output /tmp/cwgan.png

Without ``--data`` it trains on the MNIST test split shipped with ascendgan (offline).
Way 1 writes ``samples.png`` (one row per class), ``samples/`` and ``checkpoints/`` into
``--out`` (running it again with the same ``--out`` continues training); ways 2 and 3 write
the run directory of ``ascendgan train`` (``run.json``, ``checkpoints/``, ``samples/``, ``logs/``).

Reference:
    Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017
    (arXiv:1704.00028); Miyato and Koyama, "cGANs with Projection Discriminator",
    ICLR 2018 (arXiv:1802.05637); Salimans et al., "Improved Techniques for Training
    GANs", NeurIPS 2016 (feature matching, arXiv:1606.03498).
"""

from __future__ import annotations

import argparse
import os
import sys

import tensorflow as tf

import ascendgan
from ascendgan import cli, compat, recipes
from ascendgan.cli.train import positive_int
from ascendgan.layers import (
    ConditionalBatchNormalization,
    SNConv2D,
    SNConv2DTranspose,
    SNDense,
    SNEmbedding,
)
from ascendgan.models import DataSpec, Family, Preset, Schedule
from ascendgan.optimizers import AdamSettings
from ascendgan.training import GAN, GANCheckpoint, SampleGrid
from ascendgan.validation import check_number

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
        self.feature_matching_weight = check_number("feature_matching_weight", feature_matching_weight, minimum=0)
        self.drift_weight = check_number("drift_weight", drift_weight, minimum=0)

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


# ----------------------------------------------------------------------------- the family


def cwgan_gp(preset, seed=None):
    """The family's ``build``: an uncompiled, built ``ConditionalWGANGP`` for a resolved preset."""
    network, gan = preset.network, preset.gan
    model = ConditionalWGANGP(
        build_generator(network["latent_dim"], network["num_classes"], network["width"]),
        build_critic(network["num_classes"], network["width"]),
        feature_matching_weight=gan["feature_matching_weight"], drift_weight=gan["drift_weight"],
        latent_dim=gan["latent_dim"], num_classes=gan["num_classes"],
        gradient_penalty=gan["gradient_penalty"], discriminator_steps=gan["discriminator_steps"],
        seed=seed, default_loss=gan["loss"], default_optimizers=preset.optimizer, name="cwgan_gp",
    )
    model.build_models((preset.data.image_size, preset.data.image_size, preset.data.channels))
    return model


MNIST = Preset(
    family="cwgan_gp", name="mnist", title="Conditional WGAN-GP",
    network={"latent_dim": 64, "num_classes": NUM_CLASSES, "width": 64},
    gan={"latent_dim": 64, "num_classes": NUM_CLASSES, "gradient_penalty": 10.0, "discriminator_steps": 2,
         "feature_matching_weight": 1.0, "drift_weight": 1e-3, "loss": "wasserstein"},
    optimizer=AdamSettings(1e-4, 2e-4, beta_1=0.0, beta_2=0.9),  # compile()'s default optimizers
    data=DataSpec(dataset="mnist", kind="mnist", image_size=IMAGE_SIZE, channels=1),
    schedule=Schedule(batch_size=64, steps=1000, sample_every=200, checkpoint_every=200, max_checkpoints=1),
    smoke={"width": 8, "latent_dim": 8, "discriminator_steps": 1},  # --smoke's network
)
FAMILY = Family(name="cwgan_gp", presets={"mnist": MNIST}, default_preset="mnist", build=cwgan_gp,
                description="class-conditional WGAN-GP with feature matching (examples/custom_gan.py)")


def register():
    """Adds the family to ascendgan's table (``replace=True``: calling it twice is harmless)."""
    return ascendgan.models.register_family(FAMILY, replace=True)


# ----------------------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None,
                        help="MNIST IDX folder (train split); default: the test split shipped with ascendgan")
    parser.add_argument("--steps", type=positive_int, default=None, help="generator steps (default 1000)")
    parser.add_argument("--batch-size", type=positive_int, default=None, help="batch size (default 64)")
    parser.add_argument("--width", type=positive_int, default=None, help="base channel count (default 64)")
    parser.add_argument("--latent-dim", type=positive_int, default=None, help="size of z (default 64)")
    parser.add_argument("--discriminator-steps", type=positive_int, default=None,
                        help="critic updates per generator update (default 2)")
    parser.add_argument("--samples-per-class", type=positive_int, default=10, help="columns of the sample grid")
    parser.add_argument("--out", default="runs/custom_gan", help="output directory")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--smoke", action="store_true", help="the preset's tiny network, batch 2, 2 steps")
    parser.add_argument("--recipe", action="store_true",
                        help="train the registered family with ascendgan.recipes.train_gan")
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("train", "sample", "evaluate", "export"):
        register()  # the ascendgan command knows only registered families
        return cli.main(argv)
    args = parse_args(argv)
    names = {"width": args.width, "latent_dim": args.latent_dim, "discriminator_steps": args.discriminator_steps}
    overrides = {key: value for key, value in names.items() if value is not None}
    if args.recipe:  # the run directory `ascendgan train cwgan_gp` writes
        register()
        result = recipes.train_gan(recipes.GANRun(
            "cwgan_gp", overrides=overrides, data=recipes.DataSource(args.data), out=args.out,
            steps=args.steps, batch_size=args.batch_size, seed=args.seed, smoke=args.smoke))
        print(f"trained {result['final_step']} steps into {result['run_dir']}")
        return result

    # By hand: the preset's sizes (the smoke ones with --smoke), then the command line's.
    preset = FAMILY.preset("mnist", {**(MNIST.smoke if args.smoke else {}), **overrides})
    steps = args.steps or (2 if args.smoke else preset.schedule.steps)
    batch_size = args.batch_size or (2 if args.smoke else preset.schedule.batch_size)
    per_class = 4 if args.smoke else args.samples_per_class
    compat.set_random_seed(args.seed)
    # ## Data: (images in [-1, 1], labels) batches from ascendgan's MNIST loader.
    dataset = ascendgan.data.mnist(args.data, split="train" if args.data else "test", batch_size=batch_size,
                                   with_labels=True, repeat=True, seed=args.seed)
    # ## Model and compile: compile() defaults to the preset's optimizer section (Adam 1e-4 / 2e-4,
    # β (0, 0.9)) and its Wasserstein loss; generator_optimizer=..., loss=... change them.
    gan = cwgan_gp(preset, seed=args.seed)
    gan.compile()
    # ## Callbacks and fit
    callbacks = [
        GANCheckpoint(os.path.join(args.out, "checkpoints")),  # saves at the end, resumes on rerun
        SampleGrid(os.path.join(args.out, "samples"), every_n_steps=preset.schedule.sample_every,
                   num_images=NUM_CLASSES * per_class, columns=per_class, seed=args.seed),
    ]
    history = gan.fit(dataset, epochs=1, steps_per_epoch=steps, callbacks=callbacks,
                      verbose=0 if args.smoke else 2)
    # ## Samples: one row per class, the same latent in each column.
    picture = ascendgan.sampling.class_grid(gan, per_class=per_class, seed=args.seed)
    png = ascendgan.sampling.save_png(picture, os.path.join(args.out, "samples.png"))
    print(", ".join(f"{name} {values[-1]:.4g}" for name, values in history.history.items()))
    print(f"wrote {png} and {callbacks[0].manager.latest_checkpoint}")
    return history  # history.model is the trained GAN


if __name__ == "__main__":
    main()
