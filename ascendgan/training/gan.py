"""The ``GAN`` Keras model: two networks, two optimizers, trained with ``fit()``."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan import losses as losses_lib
from ascendgan.augment import diffaugment
from ascendgan.latents import LATENT_DISTRIBUTIONS, latent_prior
from ascendgan.optimizers import AdamSettings
from ascendgan.strategy import loss_scale_metrics, wrap_optimizer
from ascendgan.training import generation, steps, weight_keys
from ascendgan.training.batches import batched_arrays, regroup, split_batch
from ascendgan.validation import check_bool, check_choice, check_int, check_number

keras = compat.keras

@compat.register
class GAN(keras.Model):
    """A generator and a discriminator trained adversarially with ``fit()``.

    ``GAN`` owns the gradient tapes, the two optimizers, the loss and the metrics.  It
    trains unconditional data (batches of ``images`` or ``(images,)``) and class-conditional
    data (``(images, labels)``); the generator is called on ``z`` or ``[z, labels]`` and the
    discriminator on ``images`` or ``[images, labels]``.

    One training iteration (one ``fit`` step) makes ``discriminator_steps`` discriminator
    updates, each on its own real batch, then one generator update. ``fit`` regroups the
    data set for this: with ``discriminator_steps=k``, one iteration consumes ``k`` batches.

    Subclass and override the small hooks to build another GAN:
    :meth:`unpack_batch`, :meth:`sample_latents`, :meth:`make_fakes`, :meth:`discriminate`,
    :meth:`compute_discriminator_loss`, :meth:`compute_generator_loss`,
    :meth:`augment`; ``train_step`` stays the escape hatch.

    Args:
        generator: a Keras model mapping ``z`` (or ``[z, labels]``) to images in [-1, 1].
        discriminator: a Keras model mapping images (or ``[images, labels]``) to logits of
            any rank.
        latent_dim: size of ``z``; ``None`` for generators without a latent (Pix2Pix).
        num_classes: number of classes for class-conditional models, else ``None``.
        latent_distribution: ``"normal"``, ``"normal01"``, ``"uniform_signed"`` or
            ``"uniform_unsigned"``. Samples come from tensorflow-probability.
        discriminator_steps: discriminator updates per generator update (>= 1).
        ema_decay: decay of the exponential moving average of the generator's weights
            (e.g. 0.999); ``None`` disables it. The averaged generator
            (``ema_generator``) is the one :meth:`generate` uses.
        ema_start: generator steps before averaging starts (the average copies the raw
            weights until then, as BigGAN does).
        generator_orthogonal: β of BigGAN's orthogonal regularization on the generator's
            kernels (0 disables it).
        discriminator_orthogonal: the same for the discriminator.
        gradient_penalty: weight λ of the WGAN-GP penalty on the discriminator (0 disables).
        r1_penalty: weight γ of the R1 penalty; the loss adds ``γ/2 · E‖∇D(x)‖²``.
        diff_augment: a DiffAugment policy (``"color,translation,cutout"`` or a subset)
            applied, with fresh random draws, to real and fake images before the
            discriminator in every D and G step (Zhao et al., arXiv:2006.10738);
            ``None`` disables it. See :mod:`ascendgan.augment`.
        reuse_fakes: run the generator once per iteration: the discriminator step trains
            on the fakes (gradient stopped) and the generator step back-propagates the
            updated discriminator's verdict on the same fakes into that one generator
            pass, as the PyTorch DCGAN and pix2pix reference scripts do. Saves a generator
            forward pass per iteration (about 10% of a DCGAN step); batch-norm statistics
            and dropout masks are then those of the one pass. Needs
            ``discriminator_steps=1``. Default False (fresh latents for the generator step).
        seed: seed of the model's latent random-number generator (its state is checkpointed,
            so a resumed run draws the same latents as an uninterrupted one).
        default_loss: the loss ``compile()`` uses when it is given none (a factory passes
            its preset's; default ``"hinge"``).
        default_optimizers: an :class:`~ascendgan.optimizers.AdamSettings` from which
            ``compile()`` builds the optimizers it is not given (a factory passes its
            preset's; default Adam 2e-4, β = (0.5, 0.999) for both networks).

    Example:

    >>> from ascendgan.models import dcgan
    >>> gan = dcgan("mnist", base_filters=8)                     # doctest: +SKIP
    >>> gan.compile(generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    ...             discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    ...             loss="non_saturating")                        # doctest: +SKIP
    >>> gan.fit(dataset, epochs=1)                                # doctest: +SKIP

    Reference:
        Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014;
        Brock et al., "Large Scale GAN Training for High Fidelity Natural Image
        Synthesis", ICLR 2019 (arXiv:1809.11096).
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim=None,
        num_classes=None,
        latent_distribution="normal",
        discriminator_steps=1,
        ema_decay=None,
        ema_start=0,
        generator_orthogonal=0.0,
        discriminator_orthogonal=0.0,
        gradient_penalty=0.0,
        r1_penalty=0.0,
        diff_augment=None,
        reuse_fakes=False,
        seed=None,
        default_loss="hinge",
        default_optimizers=None,
        **kwargs,
    ):
        preset = kwargs.pop("preset", None)  # configs saved before AdamSettings existed
        super().__init__(**kwargs)
        if preset:
            default_loss, default_optimizers = preset.get("loss", "hinge"), AdamSettings.from_row(preset)
        if isinstance(default_optimizers, dict):
            default_optimizers = AdamSettings(**default_optimizers)
        if default_optimizers is not None and not isinstance(default_optimizers, AdamSettings):
            raise ValueError(
                "`default_optimizers` must be an ascendgan.optimizers.AdamSettings or None. "
                f"Received: default_optimizers={default_optimizers!r}"
            )
        reuse_fakes = check_bool("reuse_fakes", reuse_fakes)
        discriminator_steps = check_int("discriminator_steps", discriminator_steps, minimum=1)
        if reuse_fakes and discriminator_steps != 1:
            raise ValueError(
                "`reuse_fakes=True` needs discriminator_steps=1 (each of several discriminator "
                f"steps draws its own fakes). Received: discriminator_steps={discriminator_steps!r}"
            )
        check_int("latent_dim", latent_dim, minimum=1, allow_none=True)
        check_int("num_classes", num_classes, minimum=1, allow_none=True)
        check_number("ema_decay", ema_decay, minimum=0, maximum=1, max_inclusive=False, allow_none=True)
        for name, value in (("generator_orthogonal", generator_orthogonal), ("r1_penalty", r1_penalty),
                            ("discriminator_orthogonal", discriminator_orthogonal),
                            ("gradient_penalty", gradient_penalty)):
            check_number(name, value, minimum=0)
        check_choice("latent_distribution", latent_distribution, LATENT_DISTRIBUTIONS)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.latent_distribution = latent_distribution
        self.discriminator_steps = discriminator_steps
        self.ema_decay = ema_decay
        self.ema_start = int(ema_start)
        self.generator_orthogonal = float(generator_orthogonal)
        self.discriminator_orthogonal = float(discriminator_orthogonal)
        self.gradient_penalty_weight = float(gradient_penalty)
        self.r1_penalty_weight = float(r1_penalty)
        self.diff_augment = diff_augment
        self.reuse_fakes = reuse_fakes
        self.seed = seed
        #: What ``compile()`` uses when it is given no loss / optimizers.
        self.default_loss = default_loss
        self.default_optimizers = default_optimizers or AdamSettings()
        self.seed_generator = (
            tf.random.Generator.from_seed(seed) if seed is not None else tf.random.Generator.from_non_deterministic_state()
        )
        self.ema_generator = self._clone_generator() if ema_decay is not None else None
        self.loss_pair = None

    # ------------------------------------------------------------------ construction

    def _clone_generator(self):
        clone = self.generator.__class__.from_config(self.generator.get_config())
        if self.generator.built:
            self._build_like_generator(clone)
            clone.set_weights(self.generator.get_weights())
        return clone

    def _example_generator_inputs(self, batch_size=2):
        z = tf.zeros((batch_size, self.latent_dim)) if self.latent_dim else None
        if self.num_classes:
            return [z, tf.zeros((batch_size,), tf.int32)]
        return z

    def _example_discriminator_inputs(self, image_shape, batch_size=2):
        images = tf.zeros((batch_size, *image_shape))
        return images if not self.num_classes else [images, tf.zeros((batch_size,), tf.int32)]

    def _build_like_generator(self, model):
        inputs = self._example_generator_inputs()
        if inputs is not None:
            model(inputs, training=False)

    def compile(
        self,
        generator_optimizer=None,
        discriminator_optimizer=None,
        loss=None,
        strategy=None,
        loss_scale="auto",
        **kwargs,
    ):
        """Configures training.

        Args:
            generator_optimizer: a Keras optimizer for the generator, or an
                ``ascendgan.strategy.WrappedOptimizer`` (used as it is). Default: Adam
                (``ascendgan.optimizers.FusedAdam``: Keras's Adam on one fused kernel per
                variable) built from the GAN's ``default_optimizers``.
            discriminator_optimizer: a Keras optimizer for the discriminator (same default).
                Different learning rates give the two-time-scale update rule (TTUR).
            loss: a loss family name (``"hinge"``, ``"non_saturating"``, ``"minimax"``,
                ``"least_squares"``, ``"wasserstein"``), a ``losses.GANLoss`` or a
                ``(generator_loss, discriminator_loss)`` pair; see ``ascendgan.losses.get``.
                Default: the GAN's ``default_loss``.
            strategy: an ``ascendgan.strategy.Strategy``; by default the one whose
                ``scope()`` is active, if any. Both optimizers are wrapped for it
                (``ascendgan.strategy.wrap_optimizer``: loss scaling, the NPU's all-reduce).
            loss_scale: ``"auto"`` (dynamic loss scaling when computing in float16: under
                the ``mixed_float16`` policy or the strategy's precision), ``"dynamic"``,
                ``"ascend"``, a number, a loss-scale manager (each optimizer gets its own
                copy) or ``None``; see ``ascendgan.strategy.make_loss_scale_manager``.
                Optimizers that already scale their loss are kept as they are.
            **kwargs: passed to ``keras.Model.compile`` (e.g. ``jit_compile``,
                ``steps_per_execution``, ``run_eagerly``).

        With loss scaling, each optimizer gets its own loss-scale manager: a step with a
        non-finite gradient is skipped for that optimizer only, and the metrics
        ``d_loss_scale`` / ``d_overflows`` / ``g_loss_scale`` / ``g_overflows`` report the
        scales and the number of skipped steps.  ``generator_optimizer`` /
        ``discriminator_optimizer`` stay the Keras optimizers (checkpointed under those
        names); the training step goes through ``wrapped_generator_optimizer`` /
        ``wrapped_discriminator_optimizer`` (``WrappedOptimizer``: ``scale_loss``,
        ``apply_gradients``, ``loss_scale_manager``), which a custom ``train_step`` uses too.
        """
        kwargs.pop("optimizer", None)
        super().compile(**kwargs)

        generator_optimizer = generator_optimizer or self.default_optimizers.generator()
        discriminator_optimizer = discriminator_optimizer or self.default_optimizers.discriminator()
        if loss is None:
            loss = self.default_loss
        wrapped = {}
        for which, optimizer in (("generator", generator_optimizer),
                                 ("discriminator", discriminator_optimizer)):
            current = getattr(self, f"wrapped_{which}_optimizer", None)
            if current is not None and optimizer is current.optimizer:
                optimizer = current  # compiled again: the same optimizer keeps its loss scale
            wrapped[which] = wrap_optimizer(optimizer, strategy, loss_scale)
        self.wrapped_generator_optimizer = wrapped["generator"]
        self.wrapped_discriminator_optimizer = wrapped["discriminator"]
        self.generator_optimizer = self.wrapped_generator_optimizer.optimizer
        self.discriminator_optimizer = self.wrapped_discriminator_optimizer.optimizer
        self.loss_pair = losses_lib.get(loss)
        self._trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("d_loss", "g_loss", "d_real", "d_fake")
        }
        if self.gradient_penalty_weight:
            self._trackers["gradient_penalty"] = keras.metrics.Mean(name="gradient_penalty")
        if self.r1_penalty_weight:
            self._trackers["r1_penalty"] = keras.metrics.Mean(name="r1_penalty")
        for name in self.extra_metric_names():
            self._trackers[name] = keras.metrics.Mean(name=name)
        self._trackers.update(loss_scale_metrics("d", self.wrapped_discriminator_optimizer))
        self._trackers.update(loss_scale_metrics("g", self.wrapped_generator_optimizer))

    def extra_metric_names(self):
        """Names of extra per-step values that loss hooks report (see
        :meth:`compute_generator_loss`); subclasses extend this."""
        return ()

    @property
    def metrics(self):
        return list(getattr(self, "_trackers", {}).values())

    def call(self, inputs, training=False):
        """Runs the generator (``inputs`` are ``z`` or ``[z, labels]``, or a source image)."""
        return self.generator(inputs, training=training)

    def build_models(self, image_shape=None):
        """Builds both networks and the optimizers' state (called by ``fit``), inside the
        model's ``tf.distribute`` strategy so variables are mirrored when there are replicas."""
        with self.distribute_strategy.scope():
            if not self.generator.built:
                self._build_like_generator(self.generator)
            if self.ema_generator is not None and not self.ema_generator.built:
                self._build_like_generator(self.ema_generator)
                self.ema_generator.set_weights(self.generator.get_weights())
            if not self.discriminator.built and image_shape is not None:
                self.discriminator(self._example_discriminator_inputs(image_shape), training=False)
            if getattr(self, "generator_optimizer", None) is not None:
                compat.build_optimizer(self.generator_optimizer, self.generator.trainable_variables)
                if self.discriminator.built:
                    compat.build_optimizer(self.discriminator_optimizer,
                                           self.discriminator.trainable_variables)
        if self.discriminator.built:
            self.built = True  # Keras 3 would otherwise try to build the GAN by calling it on images

    # ------------------------------------------------------------------ hooks

    def unpack_batch(self, data):
        """Splits one data-set element into ``(real_images, condition)``."""
        return split_batch(data)

    def sample_latents(self, batch_size, seed=None, truncation=None):
        """Draws ``(batch_size, latent_dim)`` latents from the latent prior.

        Args:
            batch_size: number of latents (int or scalar tensor).
            seed: a stateless seed (shape-[2] int tensor); by default one is drawn from the
                model's checkpointed random-number generator.
            truncation: optional threshold; see :func:`latent_prior`.
        """
        if self.latent_dim is None:
            return None
        if seed is None:
            seed = self.seed_generator.make_seeds(1)[:, 0]
        seed = tf.cast(seed, tf.int32)  # tensorflow-probability's stateless seeds are int32
        distribution = latent_prior(self.latent_distribution, truncation)
        return tf.cast(distribution.sample((batch_size, self.latent_dim), seed=seed), tf.float32)

    def make_fakes(self, condition, batch_size, training):
        """Generates a batch of fake images for ``condition`` (labels, or ``None``)."""
        z = self.sample_latents(batch_size)
        inputs = z if condition is None else [z, condition]
        return self.generator(inputs, training=training)

    def discriminate(self, images, condition, training):
        """Discriminator logits for ``images`` (conditioned on ``condition`` if given)."""
        inputs = images if condition is None else [images, condition]
        return self.discriminator(inputs, training=training)

    @property
    def diff_augment(self):
        return self._diff_augment

    @diff_augment.setter
    def diff_augment(self, policy):
        if policy is not None:
            policy = diffaugment.parse_policy(policy)  # raises for unknown operations
        self._diff_augment = policy

    def augment(self, images):
        """Augmentation applied to real and fake images before the discriminator.

        Applies the ``diff_augment`` policy when one is set (identity otherwise), drawing its
        randomness from the model's checkpointed random-number generator so a resumed run
        augments exactly as an uninterrupted one. Override for other augmentations.
        """
        if not self._diff_augment:
            return images
        seed = self.seed_generator.make_seeds(1)[:, 0]
        return diffaugment.diff_augment(images, policy=self._diff_augment, seed=seed)

    def compute_discriminator_loss(self, real_logits, fake_logits, real_images=None,
                                   fake_images=None, condition=None):
        """The adversarial discriminator loss (regularizers are added by ``train_step``)."""
        return self.loss_pair.discriminator_loss(real_logits, fake_logits)

    def compute_generator_loss(self, fake_logits, fake_images=None, real_images=None, condition=None):
        """The generator loss; Pix2Pix adds its L1 term here.

        May return ``loss`` or ``(loss, {name: value})``; each name must be listed by
        :meth:`extra_metric_names` and is reported as a metric.
        """
        return self.loss_pair.generator_loss(fake_logits)

    # ------------------------------------------------------------------ training

    def train_step(self, data):
        # Every state change below (optimizer counters, the latent generator, EMA, metrics)
        # waits for the data: when a data set of unknown length runs out, the failing last
        # call must not advance counters that do not otherwise depend on the batch.
        with tf.control_dependencies([t for t in tf.nest.flatten(data) if t is not None]):
            return self._train_step(data)

    def _train_step(self, data):
        real, condition = self.unpack_batch(data)
        if self.num_classes is not None and condition is None:
            raise ValueError(
                f"This GAN is class-conditional (num_classes={self.num_classes}); its data must "
                "be `(images, labels)` batches. Received batches without labels."
            )
        if self.num_classes is None and self.latent_dim is not None:
            condition = None  # unconditional: labels in the data are ignored
        k = self.discriminator_steps
        if k > 1:
            reals = tf.split(real, k)
            conditions = tf.split(condition, k) if condition is not None else [None] * k
        else:
            reals, conditions = [real], [condition]
        logs = {}
        if self.reuse_fakes:
            logs = steps.shared_pass_step(self, real, condition)
        else:
            for chunk, cond in zip(reals, conditions):
                logs = steps.discriminator_step(self, chunk, cond)
            logs.update(steps.generator_step(self, reals[-1], conditions[-1]))
        steps.update_ema(self)
        for name, value in logs.items():
            self._trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """``keras.Model.fit`` for a GAN.

        ``x`` is a ``tf.data.Dataset`` of batches (``images``, ``(images,)`` or
        ``(images, labels)``) or an array of images (then ``y`` may hold labels and
        ``batch_size`` applies). With ``discriminator_steps=k`` the data is regrouped so
        one iteration consumes ``k`` batches; epochs count iterations accordingly.
        """
        if self.loss_pair is None:
            raise RuntimeError("Call `compile()` before `fit()`.")
        if not isinstance(x, tf.data.Dataset):
            x = batched_arrays(x, y, batch_size, shuffle=kwargs.get("shuffle", True))
        kwargs["shuffle"] = False  # a data set is already in its order; avoid Keras's warning
        x = regroup(x, self.discriminator_steps, batch_size)
        image_shape = tuple(x.element_spec[0].shape[1:]) if isinstance(x.element_spec, tuple) else tuple(
            x.element_spec.shape[1:])
        self.build_models(image_shape)
        return super().fit(x, **kwargs)

    # ------------------------------------------------------------------ sampling

    def generate(self, n, labels=None, truncation=None, seed=None, batch_size=64, use_ema=True,
                 training=False):
        """Samples ``n`` images (numpy, in [-1, 1]).

        Args:
            n: number of images.
            labels: class ids for a conditional model (random classes when ``None``).
            truncation: truncation threshold ``t``: every latent component has ``|z| <= t``.
            seed: int seed for reproducible samples (latents and random labels).
            batch_size: images per generator call.
            use_ema: use the averaged generator when there is one.
            training: run batch norm / dropout in training mode.
        """
        return generation.generate(self, n, labels=labels, truncation=truncation, seed=seed,
                                   batch_size=batch_size, use_ema=use_ema, training=training)

    def sampling_generator(self, use_ema=True):
        """The generator that samples: the moving average when ``use_ema`` and the GAN keeps
        one, else the raw generator (the one decision every sampler, exporter and metric
        makes)."""
        if use_ema and self.ema_generator is not None:
            return self.ema_generator
        return self.generator

    def recompute_generator_statistics(self, num_batches=16, batch_size=64, use_ema=True):
        """BigGAN's "standing statistics": re-estimates the generator's batch-norm moving
        statistics as the average over ``num_batches`` batches of its own samples.

        Useful for the averaged generator, whose weights never produced the statistics it
        copied from the raw generator.
        """
        generation.recompute_generator_statistics(self, num_batches, batch_size, use_ema)

    # ------------------------------------------------------------------ state

    def checkpoint(self, part="all", path=None):
        """A ``tf.train.Checkpoint`` of the GAN whose keys are the same in both Keras versions.

        Network variables are keyed by attribute path (``blocks.0.conv1.kernel``), optimizer
        slots by their variable's key (:mod:`~ascendgan.training.weight_keys`). Build first.

        Args:
            part: ``"all"``: everything training needs to continue exactly (networks, the
                averaged generator, optimizers with their loss scales, the latent
                generator's state); ``"generator"``: the generator and the averaged
                generator, to sample, evaluate or export.
            path: the checkpoint about to be restored, when restoring: checkpoints written
                before the stable keys (weights by position) are then read in their layout,
                under the Keras version that wrote them.

        Raises:
            CheckpointModeError: ``path`` can only be restored under the other Keras version.
        """
        return tf.train.Checkpoint(**weight_keys.checkpoint_objects(self, part, path))

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=compat.serialize(self.generator),
            discriminator=compat.serialize(self.discriminator),
            latent_dim=self.latent_dim,
            num_classes=self.num_classes,
            latent_distribution=self.latent_distribution,
            discriminator_steps=self.discriminator_steps,
            ema_decay=self.ema_decay,
            ema_start=self.ema_start,
            generator_orthogonal=self.generator_orthogonal,
            discriminator_orthogonal=self.discriminator_orthogonal,
            gradient_penalty=self.gradient_penalty_weight,
            r1_penalty=self.r1_penalty_weight,
            diff_augment=self._diff_augment,
            reuse_fakes=self.reuse_fakes,
            seed=self.seed,
            default_loss=self.default_loss if isinstance(self.default_loss, str) else "hinge",
            default_optimizers=self.default_optimizers.get_config(),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = compat.deserialize(config["generator"])
        config["discriminator"] = compat.deserialize(config["discriminator"])
        return cls(**config)
