"""Pix2Pix: conditional GAN for paired image-to-image translation."""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan import losses as losses_lib
from ascendgan.training.gan import GAN

_TEST_MODES = ("train", "inference")


@compat.register
class Pix2Pix(GAN):
    """Image-to-image translation GAN: U-Net generator, PatchGAN discriminator, GAN + λ·L1.

    Data are ``(source, target)`` batches of images in [-1, 1]. The generator maps
    ``source`` to a fake target; the discriminator sees ``[source, image]``. The generator
    loss is the adversarial loss plus ``l1_weight`` times the mean absolute error to the
    target. It overrides four hooks of :class:`~ascendgan.training.GAN`
    (``unpack_batch``, ``make_fakes``, ``discriminate``, ``compute_generator_loss``).

    Args:
        generator: e.g. :class:`~ascendgan.models.pix2pix.UNetGenerator`.
        discriminator: e.g. :class:`~ascendgan.models.pix2pix.PatchGANDiscriminator`,
            called on ``[source, image]``.
        l1_weight: λ of the L1 term (100 in the paper).
        test_mode: how :meth:`translate` runs the generator by default: ``"train"``
            (batch statistics and active dropout, as the paper does at test time) or
            ``"inference"`` (moving statistics, no dropout).
        **kwargs: other :class:`~ascendgan.training.GAN` arguments (``ema_decay``, ...).

    Example:

    >>> gan = ascendgan.models.pix2pix("facades")           # doctest: +SKIP
    >>> gan.compile()   # Adam 2e-4, β1 0.5, non-saturating loss, from the preset
    >>> gan.fit(pairs.batch(1), epochs=200)                 # doctest: +SKIP
    >>> fakes = gan.translate(sources)                      # doctest: +SKIP

    Reference:
        Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional Adversarial
        Networks", CVPR 2017 (arXiv:1611.07004).
    """

    def __init__(self, generator, discriminator, l1_weight=100.0, test_mode="train", **kwargs):
        kwargs.pop("latent_dim", None)
        kwargs.pop("num_classes", None)
        super().__init__(generator, discriminator, latent_dim=None, num_classes=None, **kwargs)
        if not float(l1_weight) >= 0:
            raise ValueError(f"`l1_weight` must be >= 0. Received: l1_weight={l1_weight!r}")
        if test_mode not in _TEST_MODES:
            raise ValueError(f"`test_mode` must be one of {_TEST_MODES}. Received: test_mode={test_mode!r}")
        self.l1_weight = float(l1_weight)
        self.test_mode = test_mode

    def _example_generator_inputs(self, batch_size=2):
        size = getattr(self.generator, "image_size", None)
        channels = getattr(self.generator, "input_channels", 3)
        if size is None:
            return None
        return tf.zeros((batch_size, size, size, channels))

    def _example_discriminator_inputs(self, image_shape, batch_size=2):
        source = self._example_generator_inputs(batch_size)
        return [source, tf.zeros((batch_size, *image_shape[:-1], self.generator.output_channels))]

    def unpack_batch(self, data):
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError("Pix2Pix batches must be `(source, target)` pairs of images.")
        source, target = data
        return target, source

    def make_fakes(self, condition, batch_size, training):
        return self.generator(condition, training=training)

    def discriminate(self, images, condition, training):
        return self.discriminator([condition, images], training=training)

    def extra_metric_names(self):
        return ("l1",)

    def compute_generator_loss(self, fake_logits, fake_images=None, real_images=None, condition=None):
        adversarial = self.loss_pair.generator_loss(fake_logits)
        l1 = losses_lib.l1_loss(real_images, tf.cast(fake_images, real_images.dtype))
        return adversarial + self.l1_weight * l1, {"l1": l1}

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def translate(self, source, training=None, use_ema=True):
        """Translates source images (numpy or tensor, [-1, 1]) to the target domain.

        Args:
            training: generator mode; ``None`` follows ``test_mode``.
            use_ema: use the averaged generator when there is one.
        """
        if training is None:
            training = self.test_mode == "train"
        model = self.sampling_generator(use_ema)
        return model(tf.convert_to_tensor(source, tf.float32), training=training)

    def get_config(self):
        config = super().get_config()
        config.pop("latent_dim", None)
        config.pop("num_classes", None)
        config.update(l1_weight=self.l1_weight, test_mode=self.test_mode)
        return config
