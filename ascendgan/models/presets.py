"""Structured presets: a documented configuration as separate sections, not one flat row.

A :class:`Preset` holds

- ``network``: constructor arguments of the family's generator and discriminator;
- ``gan``: arguments of the ``GAN`` model (latent prior, discriminator steps, EMA, losses ...);
- ``optimizer``: an :class:`~ascendgan.optimizers.AdamSettings` (``GAN.compile()``'s default);
- ``data``: a :class:`DataSpec` (which loader, image size, crops, jitter);
- ``schedule``: a :class:`Schedule` (batch size, length, sample / checkpoint frequency);
- ``smoke``: the overrides of the ``--smoke`` size (the same code path on a tiny network).

Overrides stay flat, as users write them (``base_filters=32``, ``batch_size=16``,
``learning_rate=1e-4``): :meth:`Preset.with_overrides` routes each key to the section(s)
holding it, so ``image_size`` changes the networks and the data together, and an unknown key
raises an error listing the valid ones.

Example:

>>> from ascendgan.models import get_family
>>> preset = get_family("dcgan").preset("mnist", {"base_filters": 16, "batch_size": 32})
>>> preset.network["base_filters"], preset.schedule.batch_size, preset.data.image_size
(16, 32, 28)
"""

from __future__ import annotations

import dataclasses
import numbers
import types
from collections.abc import Mapping

from ascendgan.optimizers import AdamSettings
from ascendgan.validation import check_bool, check_choice, check_int, check_number

#: Loader kinds a :class:`DataSpec` can name; the application layer maps each to a loader.
DATA_KINDS = ("mnist", "cifar10", "image_folder", "paired")


def _integer(minimum, allow_none=False):
    return lambda key, value: check_int(key, value, minimum=minimum, allow_none=allow_none)


def _number(minimum, maximum=None, allow_none=False):
    return lambda key, value: check_number(key, value, minimum=minimum, maximum=maximum,
                                           max_inclusive=False, allow_none=allow_none)


def _is_list(value):
    return not isinstance(value, (str, bytes, Mapping)) and hasattr(value, "__iter__")


def _integers(key, value):
    """A list of integers >= 1 (channel multipliers, attention resolutions)."""
    if not _is_list(value) or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in value):
        raise ValueError(f"`{key}` must be a list of integers >= 1. Received: {key}={value!r}")


def _booleans(key, value):
    if not _is_list(value) or not all(isinstance(v, bool) for v in value):
        raise ValueError(f"`{key}` must be a list of True / False. Received: {key}={value!r}")


#: Checks of the ``network`` and ``gan`` settings the built-in families use, applied to
#: every section holding the key, so a bad value fails when the run is described (with
#: the key the user wrote), not when the networks are built. Other keys (a user's own
#: family) are left to that family's constructors.
_SETTING_CHECKS = {
    **dict.fromkeys(
        ("latent_dim", "base_filters", "base_channels", "kernel_size", "shared_embedding_dim",
         "discriminator_steps", "discriminator_layers", "discriminator_base_filters",
         "num_downsamplings", "input_channels", "output_channels", "image_size", "channels"),
        _integer(1)),
    "num_classes": _integer(1, allow_none=True),
    **dict.fromkeys(("ema_start", "dropout_layers"), _integer(0)),
    "ema_decay": _number(0, 1, allow_none=True),
    "dropout": _number(0, 1),
    **dict.fromkeys(("orthogonal_regularization", "l1_weight", "gradient_penalty", "r1_penalty"),
                    _number(0)),
    **dict.fromkeys(("synchronized_batch_norm", "hierarchical_latent", "reuse_fakes"), check_bool),
    **dict.fromkeys(("generator_multipliers", "discriminator_multipliers", "attention_resolutions"),
                    _integers),
    "discriminator_downsample": _booleans,
}


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """What a preset trains on.

    Args:
        dataset: the data set's name (``"mnist"``, ``"celeba"``, ``"facades"`` ...).
        kind: the loader: ``"mnist"`` (IDX files; the test split ships with ascendgan),
            ``"cifar10"`` (CIFAR-10 batches or class folders), ``"image_folder"`` (any
            folder of images) or ``"paired"`` (Pix2Pix A|B pairs or edges -> photo pairs).
        image_size: side of the square images the networks see.
        channels: image channels.
        crop_size: a centre crop before resizing (image folders, e.g. CelebA's 108) or the
            random crop of the paired jitter.
        load_size: paired data: the size images are resized to before the random crop.
        flip: paired data: random mirroring.
        direction: paired data: ``"AtoB"`` or ``"BtoA"``.
    """

    dataset: str
    kind: str
    image_size: int
    channels: int
    crop_size: int | None = None
    load_size: int | None = None
    flip: bool = False
    direction: str | None = None

    def __post_init__(self):
        check_choice("kind", self.kind, DATA_KINDS)
        check_int("image_size", self.image_size, minimum=1)
        check_int("channels", self.channels, minimum=1)
        check_int("crop_size", self.crop_size, minimum=1, allow_none=True)
        check_int("load_size", self.load_size, minimum=1, allow_none=True)
        check_bool("flip", self.flip)
        if self.direction is not None:
            check_choice("direction", self.direction, ("AtoB", "BtoA"))


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How long and how a documented run trains.

    Args:
        batch_size: images per discriminator step.
        epochs: passes over the data (``None``: ``steps`` counts instead).
        steps: generator steps when ``epochs`` is ``None``.
        sample_every: generator steps between sample grids.
        checkpoint_every: generator steps between checkpoints (default ``sample_every``).
        max_checkpoints: checkpoints kept.
        truncation: the truncation threshold of sample grids (BigGAN's 2.0), or ``None``.
    """

    batch_size: int
    epochs: int | None = None
    steps: int | None = None
    sample_every: int = 500
    checkpoint_every: int | None = None
    max_checkpoints: int = 3
    truncation: float | None = None

    def __post_init__(self):
        check_int("batch_size", self.batch_size, minimum=1)
        check_int("epochs", self.epochs, minimum=1, allow_none=True)
        check_int("steps", self.steps, minimum=1, allow_none=True)
        if self.epochs is None and self.steps is None:
            raise ValueError("A schedule needs `epochs` or `steps`. Received: epochs=None, steps=None")
        check_int("sample_every", self.sample_every, minimum=1)
        check_int("checkpoint_every", self.checkpoint_every, minimum=1, allow_none=True)
        check_int("max_checkpoints", self.max_checkpoints, minimum=1)
        check_number("truncation", self.truncation, minimum=0, min_inclusive=False, allow_none=True)


#: Override keys that set an :class:`~ascendgan.optimizers.AdamSettings` field; ``learning_rate``
#: sets both networks' rates.
_OPTIMIZER_KEYS = ("generator_learning_rate", "discriminator_learning_rate", "beta_1", "beta_2",
                   "learning_rate")


def _fields(cls):
    return tuple(field.name for field in dataclasses.fields(cls))


@dataclasses.dataclass(frozen=True)
class Preset:
    """A documented configuration of a model family, in sections (see the module docs).

    ``network``, ``gan`` and ``smoke`` are read-only mappings; build a changed copy with
    :meth:`with_overrides`. The settings of the built-in families are checked when a preset
    is made (integers are integers, counts >= 1, rates and weights >= 0, ``dropout`` and
    ``ema_decay`` in [0, 1); the optimizer and schedule sections check their own), so a bad
    override fails with a ValueError naming its key before anything is built or written.
    """

    family: str
    name: str
    network: Mapping
    gan: Mapping
    optimizer: AdamSettings
    data: DataSpec
    schedule: Schedule
    smoke: Mapping = dataclasses.field(default_factory=dict)
    #: The family's name in messages ("DCGAN"); default ``family``.
    title: str = ""

    def __post_init__(self):
        if not self.title:
            object.__setattr__(self, "title", self.family)
        for section in ("network", "gan", "smoke"):
            object.__setattr__(self, section, types.MappingProxyType(dict(getattr(self, section))))
        for section in (self.network, self.gan):
            for key, value in section.items():
                if key in _SETTING_CHECKS:
                    _SETTING_CHECKS[key](key, value)

    def keys(self):
        """Every override key this preset accepts, sorted."""
        keys = set(self.network) | set(self.gan) | set(_OPTIMIZER_KEYS)
        keys |= set(_fields(Schedule)) | {"dataset", "image_size", "channels", "crop_size"}
        if self.data.kind == "paired":
            keys |= {"load_size", "flip", "direction"}
        return sorted(keys)

    def with_overrides(self, overrides=None):
        """A copy with flat ``overrides`` applied to every section holding each key.

        Raises:
            ValueError: for an unknown key (listing the valid ones) or an invalid value.
        """
        overrides = dict(overrides or {})
        if not overrides:
            return self
        unknown = sorted(set(overrides) - set(self.keys()))
        if unknown:
            raise ValueError(
                f"Unknown {self.title} override key(s) {unknown} for preset {self.name!r}. "
                f"Valid keys: {self.keys()}"
            )
        network = {key: overrides.get(key, value) for key, value in self.network.items()}
        gan = {key: overrides.get(key, value) for key, value in self.gan.items()}
        optimizer = dataclasses.asdict(self.optimizer)
        if "learning_rate" in overrides:  # checked under the key the user wrote
            check_number("learning_rate", overrides["learning_rate"], minimum=0,
                         min_inclusive=False)
            optimizer["generator_learning_rate"] = optimizer["discriminator_learning_rate"] = overrides["learning_rate"]
        optimizer.update({key: overrides[key] for key in optimizer if key in overrides})
        data = {key: overrides[key] for key in _fields(DataSpec) if key in overrides}
        schedule = {key: overrides[key] for key in _fields(Schedule) if key in overrides}
        return dataclasses.replace(
            self, network=network, gan=gan, optimizer=AdamSettings(**optimizer),
            data=dataclasses.replace(self.data, **data),
            schedule=dataclasses.replace(self.schedule, **schedule),
        )


__all__ = ["DATA_KINDS", "DataSpec", "Preset", "Schedule"]
