"""The family table: every model family the runs, the CLI and the benchmarks can train.

A :class:`Family` is a name, its table of :class:`~ascendgan.models.presets.Preset` objects and
the function that builds a ``GAN`` from a preset. Nothing outside a family's folder branches
on its name: the application layer reads the preset's sections instead. Adding a family is
one folder (networks, presets, factory) plus one :func:`register_family` call.

Example:

>>> from ascendgan.models import family_names, get_family
>>> "dcgan" in family_names()
True
>>> get_family("biggan").default_preset
'cifar10'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from ascendgan.models.presets import Preset


@dataclasses.dataclass(frozen=True)
class Family:
    """A model family.

    Args:
        name: the name the CLI and ``run.json`` use (``"dcgan"``).
        presets: preset name -> :class:`Preset`.
        default_preset: the preset used when none is named.
        build: ``build(preset, seed=None) -> GAN``: an uncompiled GAN for a resolved preset.
        resolve: ``resolve(preset, overrides) -> Preset``; default
            :meth:`Preset.with_overrides` (BigGAN's also swaps in the paper's channel
            multipliers when ``image_size`` changes).
        description: one line for the CLI's help.
    """

    name: str
    presets: Mapping[str, Preset]
    default_preset: str
    build: Callable
    resolve: Callable | None = None
    description: str = ""

    def __post_init__(self):
        if self.default_preset not in self.presets:
            raise ValueError(
                f"`default_preset` must be one of {sorted(self.presets)}. "
                f"Received: default_preset={self.default_preset!r}"
            )

    def preset(self, name=None, overrides=None):
        """The preset ``name`` (default: the family's) with flat ``overrides`` applied.

        Raises:
            ValueError: for an unknown preset or override key, listing the valid ones.
        """
        name = self.default_preset if name is None else name
        if name not in self.presets:
            raise ValueError(
                f"Unknown {self.presets[self.default_preset].title} preset {name!r}. "
                f"Valid presets: {sorted(self.presets)}"
            )
        preset = self.presets[name]
        if self.resolve is not None:
            return self.resolve(preset, dict(overrides or {}))
        return preset.with_overrides(overrides)

    def create(self, preset=None, *, seed=None, **overrides):
        """An uncompiled GAN of a preset (what ``ascendgan.models.<family>(...)`` does)."""
        return self.build(self.preset(preset, overrides), seed=seed)


_FAMILIES: dict[str, Family] = {}


def register_family(family, replace=False):
    """Adds ``family`` to the table (``replace=True`` to redefine a name); returns it."""
    if not isinstance(family, Family):
        raise ValueError(
            f"`family` must be an ascendgan.models.Family. Received: family={family!r}"
        )
    if family.name in _FAMILIES and not replace:
        raise ValueError(
            f"A family named {family.name!r} is already registered; pass replace=True to "
            f"redefine it. Received: family.name={family.name!r}"
        )
    _FAMILIES[family.name] = family
    return family


def get_family(name):
    """The registered family ``name``.

    Raises:
        ValueError: naming the registered families when ``name`` is not one of them.
    """
    if name not in _FAMILIES:
        raise ValueError(f"`family` must be one of {family_names()}. Received: family={name!r}")
    return _FAMILIES[name]


def family_names():
    """The registered families' names, in registration order."""
    return tuple(_FAMILIES)


__all__ = ["Family", "family_names", "get_family", "register_family"]
