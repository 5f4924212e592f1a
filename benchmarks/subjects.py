"""The benchmarked models ("subjects") at their documented configuration.

The GANs come from the family table (``ascendgan.models.get_family``): each subject names a
family, a preset and the overrides of its documented configuration; image sizes, channels,
batch sizes, learning rates and the ``--tiny`` (smoke) sizes are read from the preset's
sections. The Wide-ResNet classifier is not a GAN family: its network, batch size, SGD settings and
smoke size come from its documented run, ``classifier_preset("autoaugment_cifar10")``.
"""

from __future__ import annotations

#: The benchmarked models, in table order (``run.py``'s default ``--models``).
MODEL_NAMES = ("dcgan", "pix2pix", "biggan", "biggan_pytorch", "wrn")
#: BigGAN at 64x64 and 128x128 (its ImageNet presets), for ``run.py --peers``' resolution
#: scaling only.
SCALING_NAMES = ("biggan64", "biggan128")
#: Every subject name.
ALL_NAMES = MODEL_NAMES + SCALING_NAMES
PRECISIONS = ("float32", "mixed_bfloat16")
#: Largest batch of a ``--tiny`` run (the documented batch when smaller).
TINY_BATCH_SIZE = 4
#: The classifier's documented run (``classifier_presets.CLASSIFIER_PRESETS``).
CLASSIFIER_PRESET = "autoaugment_cifar10"

#: Each subject: a title, and for a GAN its family, preset and overrides of the preset.
MODELS = {
    "dcgan": {"title": "DCGAN 64x64 (celeba)", "family": "dcgan", "preset": "celeba"},
    "pix2pix": {"title": "Pix2Pix 256x256 (facades)", "family": "pix2pix", "preset": "facades"},
    "biggan": {"title": "BigGAN CIFAR-10 32x32 (cifar10, 2 D steps)", "family": "biggan",
               "preset": "cifar10"},
    "biggan_pytorch": {
        "title": "BigGAN CIFAR-10 32x32, BigGAN-PyTorch's CIFAR script (base 64, no attention, "
                 "4 D steps, batch 50)",
        "family": "biggan", "preset": "cifar10",
        "overrides": {"base_channels": 64, "attention_resolutions": (), "discriminator_steps": 4,
                      "batch_size": 50},
    },
    "wrn": {"title": "WRN-28-10 AutoAugment classifier (CIFAR-10 32x32)", "family": None},
    "biggan64": {"title": "BigGAN ImageNet 64x64 (imagenet64, 2 D steps)", "family": "biggan",
                 "preset": "imagenet64"},
    "biggan128": {"title": "BigGAN ImageNet 128x128 (imagenet128, 2 D steps)",
                  "family": "biggan", "preset": "imagenet128"},
}

#: Published step times in ms of the documented BigGAN run on other hardware (context only:
#: never compared with a time measured here).
REFERENCES = {
    "biggan": {"ascend910": 196, "gpu": 347},
}


def _images(rng, shape):
    import numpy as np

    return rng.uniform(-1.0, 1.0, shape).astype(np.float32)


def parameter_count(model):
    """Trainable parameters of a Keras model."""
    return int(sum(int(w.shape.num_elements()) for w in model.trainable_weights))


def gan_optimizers(settings, optimizer):
    """``compile()`` arguments for the GAN optimizers: the library default (``{}``:
    ``FusedAdam`` from the GAN's ``default_optimizers``) or, for the before/after
    experiment (``"keras_adam"``), Keras's own Adam with the same
    :class:`~ascendgan.optimizers.AdamSettings` ``settings`` (the preset's optimizer section)."""
    if optimizer == "default":
        return {}
    from ascendgan import compat

    def make(rate):
        return compat.keras.optimizers.Adam(rate, beta_1=settings.beta_1, beta_2=settings.beta_2)

    return {"generator_optimizer": make(settings.generator_learning_rate),
            "discriminator_optimizer": make(settings.discriminator_learning_rate)}


def compile_subject(subject, steps, xla=False, optimizer="default"):
    """Compiles a subject as its documented run does, for ``steps`` training iterations.

    A GAN: ``GAN.compile(jit_compile=xla)`` with :func:`gan_optimizers`. The classifier:
    ``ascendgan.recipes.classifier.compile_classifier`` with its preset's SGD settings and
    a cosine learning rate over the ``steps`` iterations (no XLA variant).
    """
    model = subject["model"]
    if subject["kind"] == "gan":
        model.compile(jit_compile=xla, **gan_optimizers(subject["optimizer_settings"], optimizer))
        return
    from ascendgan.recipes.classifier import compile_classifier
    from ascendgan.schedules import CosineDecay

    if xla:
        raise ValueError("The classifier trains without XLA (compile_classifier uses "
                         "jit_compile=False); it has no XLA variant. Received: xla=True")
    settings = subject["optimizer_settings"]
    compile_classifier(model, settings, CosineDecay(settings.learning_rate, steps))


def resolve_preset(name, tiny=False, fresh_fakes=False, batch_size=None):
    """The family preset of a GAN subject with its documented overrides, at the family's
    smoke size with ``tiny``, without ``reuse_fakes`` with ``fresh_fakes`` and at
    ``batch_size`` when given.

    Returns:
        ``(family, preset, overrides)``.
    """
    from ascendgan.models import get_family

    spec = MODELS[name]
    family = get_family(spec["family"])
    overrides = dict(spec.get("overrides", {}))
    if tiny:
        documented = family.preset(spec["preset"], overrides)
        overrides.update(documented.smoke)
        if "batch_size" not in documented.smoke:
            overrides["batch_size"] = min(documented.schedule.batch_size, TINY_BATCH_SIZE)
    if fresh_fakes and "reuse_fakes" in family.preset(spec["preset"]).gan:
        overrides["reuse_fakes"] = False
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    return family, family.preset(spec["preset"], overrides), overrides


def build_gan(name, tiny=False, fresh_fakes=False, batch_norm="fused", batch_size=None):
    """The GAN of a subject, its resolved preset and the overrides applied.

    ``batch_norm`` is the networks' constructor argument (``"keras"``: Keras's unfused
    ``BatchNormalization``), an ordinary preset override of the DCGAN and Pix2Pix presets.
    """
    family, preset, overrides = resolve_preset(name, tiny, fresh_fakes, batch_size)
    if batch_norm != "fused":
        overrides["batch_norm"] = batch_norm  # an unknown key for BigGAN: a clear error
        preset = family.preset(MODELS[name]["preset"], overrides)
    return family.build(preset, seed=0), preset, overrides


def _gan_subject(name, tiny, fresh_fakes, batch_norm, rng, batch_size=None):
    import numpy as np

    gan, preset, overrides = build_gan(name, tiny, fresh_fakes, batch_norm, batch_size)
    batch_size, size = preset.schedule.batch_size, preset.data.image_size
    if preset.data.kind == "paired":  # image-to-image: (source, target) pairs
        source = _images(rng, (batch_size, size, size, gan.generator.input_channels))
        target = _images(rng, (batch_size, size, size, gan.generator.output_channels))
        batch = (source, target)
        networks = {"generator": (gan.generator, source[:1]),
                    "discriminator": (gan.discriminator, [source[:1], target[:1]])}
    else:
        images = _images(rng, (batch_size, size, size, preset.data.channels))
        z = np.zeros((1, gan.latent_dim), np.float32)
        if gan.num_classes:
            labels = rng.integers(0, gan.num_classes, (batch_size,)).astype(np.int32)
            batch = (images, labels)
            networks = {"generator": (gan.generator, [z, labels[:1]]),
                        "discriminator": (gan.discriminator, [images[:1], labels[:1]])}
        else:
            batch = images
            networks = {"generator": (gan.generator, z),
                        "discriminator": (gan.discriminator, images[:1])}
    steps = gan.discriminator_steps
    return {
        "kind": "gan", "model": gan, "batch": batch, "batch_size": batch_size,
        "images_per_iteration": batch_size * steps, "networks": networks,
        "optimizer_settings": preset.optimizer,
        "config": {"preset": preset.name, "batch_size": batch_size,
                   "discriminator_steps": steps, "reuse_fakes": gan.reuse_fakes,
                   "overrides": overrides, "tiny": tiny},
    }


def _classifier_subject(tiny, rng):
    import numpy as np

    from ascendgan.models.classifiers.classifier_presets import classifier_preset
    from ascendgan.recipes.classifier_run import build_classifier

    preset = classifier_preset(CLASSIFIER_PRESET, smoke=tiny)
    batch_size = preset.schedule.batch_size
    model = build_classifier(preset)
    images = _images(rng, (batch_size, *preset.data.input_shape))
    labels = rng.integers(0, model.num_classes, (batch_size,)).astype(np.int32)
    return {
        "kind": "classifier", "model": model, "batch": (images, labels),
        "batch_size": batch_size, "images_per_iteration": batch_size,
        "networks": {"classifier": (model, images[:1])},
        "optimizer_settings": preset.optimizer,
        "config": {"preset": preset.network.model, "batch_size": batch_size, "tiny": tiny},
    }


def build(name, tiny=False, fresh_fakes=False, batch_norm="fused", batch_size=None):
    """Builds one benchmark subject at its documented (or ``tiny``) configuration.

    Args:
        name: one of :data:`MODEL_NAMES`.
        tiny: the preset's smoke size (its ``smoke`` section; GAN batches of at most
            :data:`TINY_BATCH_SIZE` unless the section sets one), for smoke tests.
        fresh_fakes: GANs with ``reuse_fakes=False`` (a second generator pass for the G
            step) instead of their presets' one pass per iteration.
        batch_norm: the networks' ``batch_norm`` argument (``"fused"`` or ``"keras"``).
        batch_size: a GAN's batch instead of its documented one (the scaling runs).

    Returns:
        a dict: ``kind`` (``"gan"`` or ``"classifier"``), ``model``, ``batch`` (the numpy
        batch one ``fit`` step reads before regrouping), ``batch_size``,
        ``images_per_iteration`` (real images one iteration consumes), ``networks``
        (``{name: (model, example input)}`` for the forward FLOP counts), ``config``
        (a JSON-able description) and ``optimizer_settings`` (the preset's optimizer
        section: ``AdamSettings`` of a GAN, ``SGDSettings`` of the classifier).
    """
    import numpy as np

    from ascendgan.validation import check_choice

    check_choice("name", name, ALL_NAMES)
    rng = np.random.default_rng(0)
    if MODELS[name]["family"] is None:
        if batch_size is not None:
            raise ValueError("The classifier benchmarks at its documented batch only. "
                             f"Received: batch_size={batch_size!r}")
        return _classifier_subject(tiny, rng)
    return _gan_subject(name, tiny, fresh_fakes, batch_norm, rng, batch_size)
