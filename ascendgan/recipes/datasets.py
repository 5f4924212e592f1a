"""The data set of a preset: the loader its ``data`` section names, with the run's options."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from ascendgan import data as data_lib
from ascendgan.recipes.storage import localize_data
from ascendgan.validation import check_bool, check_choice, check_int

#: Pix2Pix data layouts: side-by-side ``A|B`` files, or edges computed from photos.
PAIR_LAYOUTS = ("ab", "edges")
#: How a run's data is named when it is the MNIST test split shipped with ascendgan.
SHIPPED_MNIST = "mnist (shipped with ascendgan)"
#: The split held out from a run that trained on a split: the reference of its FID.
HELD_OUT = {"train": "test", "test": "train"}


@dataclasses.dataclass(frozen=True)
class DataSource:
    """Where a run's images come from and how they are read.

    Args:
        path: MNIST IDX folder, CIFAR-10 batches or class folders, an image folder, a folder
            of A|B pairs or of photos (``pairs="edges"``); or a zip / tar archive of one
            (``cat.zip``); local or remote (``obs://``, ``s3://``, ``gs://``, ...), see
            :meth:`localized`. ``None`` uses the MNIST test split shipped with ascendgan for
            MNIST presets.
        pairs: paired presets only: ``"ab"`` (side-by-side A|B files) or ``"edges"`` (edges
            computed from a folder of photos, edges -> photo).
        skip_corrupt: skip unreadable images with a warning instead of failing.
        limit: use only the first ``limit`` examples (before shuffling).
        cache: the local folder a remote ``path`` is copied to (and an archive unpacked in);
            default: ``/cache/ascendgan`` on ModelArts, else a temporary folder
            (:func:`~ascendgan.recipes.storage.default_cache_dir`).
    """

    path: str | None = None
    pairs: str = "ab"
    skip_corrupt: bool = False
    limit: int | None = None
    cache: str | None = None

    def __post_init__(self):
        check_choice("pairs", self.pairs, PAIR_LAYOUTS)
        check_bool("skip_corrupt", self.skip_corrupt)
        check_int("limit", self.limit, minimum=1, allow_none=True)
        if self.path is not None:
            object.__setattr__(self, "path", str(self.path))

    def localized(self):
        """This source with a local ``path``, as the documented ModelArts runs read their data:
        a remote folder or file copied to the cache (with ``moxing`` when importable, else
        ``tf.io.gfile``), an archive unpacked there (its one top folder, if it has one), a
        local folder as it is (copied to ``cache`` when given). See
        :func:`~ascendgan.recipes.storage.localize_data`."""
        if self.path is None:
            return self
        path = localize_data(self.path, self.cache)
        if path == self.path and self.cache is None:
            return self
        return dataclasses.replace(self, path=path, cache=None)


def training_split(preset, data):
    """``(name, split)`` of the images :func:`preset_dataset` reads for ``preset`` from ``data``
    (a path or ``None``): the one rule behind the loader's choice, the final FID's held-out
    reference (:data:`HELD_OUT`) and what ``ascendgan evaluate`` stamps.

    - ``data=None`` with an MNIST preset: the shipped MNIST, which is the test split
      (the ``t10k`` files): ``(SHIPPED_MNIST, "test")``; other presets need data:
      ``(None, None)``.
    - an MNIST path, CIFAR-10 batches or ``<data>/train/<class>/`` folders: ``"train"``.
    - an image folder (or a folder of pairs), read whole: ``"all"``.
    """
    kind = preset.data.kind
    if data is None:
        return (SHIPPED_MNIST, "test") if kind == "mnist" else (None, None)
    data = str(data)
    if kind == "mnist" or (kind == "cifar10" and not _is_flat_image_folder(data)):
        return data, "train"
    return data, "all"


def preset_dataset(preset, source, batch_size, seed=0, repeat=True, shuffle=True,
                   drop_remainder=None):
    """The data set a preset trains on: batches of images (and labels for conditional GANs).

    Args:
        preset: a resolved :class:`~ascendgan.models.Preset` (its ``data`` section picks the
            loader and sizes; its ``gan`` section's ``num_classes`` whether labels come too,
            and the range every label must lie in: a label outside ``[0, num_classes)`` is a
            :class:`~ascendgan.data.DataFormatError` naming the file).
        source: a :class:`DataSource`.
        batch_size: images per batch.
        seed: shuffling and jitter seed.
        repeat: an infinite stream (training) or one pass (evaluation).
        shuffle: shuffle the examples.
        drop_remainder: drop a last partial batch (default: when ``repeat``).
    """
    spec = preset.data
    if drop_remainder is None:
        drop_remainder = repeat
    common = dict(batch_size=batch_size, shuffle=shuffle, seed=seed, repeat=repeat,
                  drop_remainder=drop_remainder, skip_corrupt=source.skip_corrupt, limit=source.limit)
    path = source.path
    if spec.kind == "paired":
        if path is None:
            raise ValueError(
                "Pix2Pix needs `data`: a folder of side-by-side A|B images (`pairs='ab'`) or a "
                "folder of photos to derive edges -> photo pairs from (`pairs='edges'`). Received: data=None"
            )
        jitter = dict(load_size=spec.load_size, crop_size=spec.crop_size, flip=spec.flip)
        if source.pairs == "ab":
            return data_lib.paired_images(path, direction=spec.direction, jitter=True, **jitter, **common)
        return data_lib.edge_pairs(path, jitter=True, **jitter, **common)
    num_classes = preset.gan.get("num_classes") or None
    with_labels = num_classes is not None  # every label is checked to be in [0, num_classes)
    if spec.kind == "mnist":
        _check_channels(spec, 1, "MNIST is greyscale")
        common.pop("skip_corrupt")
        images = data_lib.mnist(path, split=training_split(preset, path)[1], with_labels=with_labels,
                                num_classes=num_classes, **common)
        if spec.image_size != 28:
            images = images.map(lambda *x: (tf.image.resize(x[0], (spec.image_size,) * 2), *x[1:]))
        return images
    if spec.kind == "cifar10" and path is not None and training_split(preset, path)[1] == "train":
        _check_channels(spec, 3, "the CIFAR-10 batches are RGB")
        common.pop("skip_corrupt")
        return data_lib.cifar10(path, split="train", with_labels=with_labels,
                                num_classes=num_classes, **common)
    if path is None:
        raise ValueError(
            f"The preset {preset.name!r} trains on {spec.dataset!r}: pass `data`, the folder that holds "
            "it (an image folder works for every image preset). Received: data=None"
        )
    return data_lib.image_folder(
        path, image_size=spec.image_size, center_crop=spec.crop_size, channels=spec.channels,
        crop_to_aspect_ratio=spec.crop_size is None,  # photos of any shape: centred square, then resize
        with_labels=with_labels, num_classes=num_classes, **common,
    )


def _check_channels(spec, channels, why):
    """ValueError naming ``channels`` when the preset's images cannot come from this loader."""
    if spec.channels != channels:
        raise ValueError(
            f"`channels` must be {channels} to train on {spec.dataset!r} data ({why}). "
            f"Received: channels={spec.channels}"
        )


def _is_flat_image_folder(path):
    names = tf.io.gfile.listdir(path)
    return any(name.lower().endswith((".jpg", ".jpeg", ".png")) for name in names)


__all__ = ["HELD_OUT", "PAIR_LAYOUTS", "SHIPPED_MNIST", "DataSource", "preset_dataset", "training_split"]
