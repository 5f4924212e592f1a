"""Raw ``.bin`` files as Ascend's ``msame`` reads and writes them, and the seed inputs and
online outputs an offline run is compared with."""

from __future__ import annotations

import os

import numpy as np

from ascendgan.files import atomic_write
from ascendgan.sampling.generation import prior_latents
from ascendgan.validation import check_choice

#: Suffix of an output file, as msame names them: ``<stem>_output_<i>.bin``.
OUTPUT_SUFFIX = "_output_0.bin"


def write_bin(array, path, dtype=None):
    """Writes an array as raw bytes (``ndarray.tofile``'s: C order, no header); returns the path.

    The file is written atomically (:func:`ascendgan.files.atomic_write`); parent folders
    are created.

    Args:
        array: array-like.
        path: the ``.bin`` file.
        dtype: cast to this dtype first (e.g. ``"float32"`` for ``z``, ``"int32"`` for ``y``).

    Example:

    >>> import tempfile
    >>> path = write_bin(np.arange(3), os.path.join(tempfile.mkdtemp(), "y.bin"), "int32")
    >>> os.path.getsize(path)
    12
    """
    array = np.ascontiguousarray(array if dtype is None else np.asarray(array).astype(dtype))
    return atomic_write(path, array.tobytes())


def read_bin(path, dtype, shape=None):
    """Reads a raw ``.bin`` file as ``dtype``, reshaped to ``shape`` when given.

    ``shape`` may hold one ``None`` / ``-1`` (e.g. a dynamic batch), inferred from the size.

    Raises:
        ValueError: naming the file when it does not exist or its size does not fit.

    Example:

    >>> import tempfile
    >>> path = write_bin(np.ones((2, 3)), os.path.join(tempfile.mkdtemp(), "z.bin"), "float32")
    >>> read_bin(path, "float32", (None, 3)).shape
    (2, 3)
    """
    path = str(path)
    if not os.path.isfile(path):
        raise ValueError(f"Input file {path!r} does not exist.")
    dtype = np.dtype(dtype)
    size = os.path.getsize(path)
    if size % dtype.itemsize:
        raise ValueError(
            f"{path!r} holds {size} bytes, not a whole number of {dtype.name} values "
            f"({dtype.itemsize} bytes each)."
        )
    data = np.fromfile(path, dtype=dtype)
    if shape is None:
        return data
    shape = tuple(-1 if dim is None else int(dim) for dim in shape)
    known = int(np.prod([dim for dim in shape if dim != -1])) if shape else 1
    fits = data.size % known == 0 if -1 in shape else data.size == known
    if not fits:
        expected = "x".join("?" if dim == -1 else str(dim) for dim in shape) or "scalar"
        raise ValueError(
            f"{path!r} holds {data.size} {dtype.name} values; expected shape {expected} "
            f"({known} values{' per batch item' if -1 in shape else ''})."
        )
    return data.reshape(shape)


def seed_stem(seed):
    """The file stem for a seed: ``seed_000042``."""
    return f"seed_{int(seed):06d}"


def write_inputs(directory, inputs, stems=None):
    """Writes input arrays as ``<directory>/<input name>/<stem>.bin`` (msame's layout).

    Args:
        directory: the input folder.
        inputs: ``{name: sequence of arrays}``, one array per stem (one batch each), e.g.
            ``{"source": [batch0, batch1]}``. Floating arrays are written as float32,
            integer arrays as int32 (the dtypes the exported models take).
        stems: file stems, one per array (default ``"00000"``, ``"00001"``, ...).

    Returns:
        The list of stems.

    Example:

    >>> import tempfile
    >>> write_inputs(tempfile.mkdtemp(), {"z": np.zeros((2, 1, 4))}, stems=["a", "b"])
    ['a', 'b']
    """
    if not isinstance(inputs, dict) or not inputs:
        raise ValueError(f"`inputs` must be a non-empty dict {{name: arrays}}. Received: {type(inputs).__name__}")
    counts = {name: len(arrays) for name, arrays in inputs.items()}
    if len(set(counts.values())) != 1:
        raise ValueError(f"Every input must hold the same number of arrays. Received counts {counts}.")
    count = next(iter(counts.values()))
    stems = [f"{index:05d}" for index in range(count)] if stems is None else [str(s) for s in stems]
    if len(stems) != count:
        raise ValueError(f"`stems` must hold {count} names, one per array. Received {len(stems)}.")
    for name, arrays in inputs.items():
        for stem, array in zip(stems, arrays):
            array = np.asarray(array)
            dtype = np.int32 if np.issubdtype(array.dtype, np.integer) else np.float32
            write_bin(array, os.path.join(str(directory), name, f"{stem}.bin"), dtype)
    return stems


#: ``labels`` value that draws each seed's class ids as ``GAN.generate`` does without labels.
RANDOM_LABELS = "random"


def random_seed_labels(seed, batch_size, num_classes):
    """The class ids ``gan.generate(batch_size, seed=seed)`` draws for a GAN with
    ``num_classes`` classes when it is given no labels (uniform, from the seed).

    Example:

    >>> random_seed_labels(0, 4, 10).tolist() == np.random.default_rng(0).integers(0, 10, 4).tolist()
    True
    """
    return np.random.default_rng(seed).integers(0, num_classes, size=batch_size).astype(np.int32)


def _seed_labels(labels, seeds, batch_size, num_classes=None):
    """``labels`` (int, one entry per seed, ``(seeds, batch)`` or ``"random"``) -> ``(seeds, batch)``."""
    count = len(seeds)
    if isinstance(labels, str):
        check_choice("labels", labels, (RANDOM_LABELS,))
        if num_classes is None:
            raise ValueError("`labels='random'` draws class ids in [0, num_classes): pass "
                             "`num_classes`. Received: num_classes=None")
        return np.stack([random_seed_labels(seed, batch_size, num_classes) for seed in seeds])
    array = np.asarray(labels)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"`labels` must be integer class ids. Received dtype {array.dtype}.")
    if array.ndim == 0:
        return np.full((count, batch_size), array, np.int32)
    if array.ndim == 1 and array.shape[0] == count:
        return np.repeat(array[:, None], batch_size, axis=1).astype(np.int32)
    if array.ndim == 2 and array.shape == (count, batch_size):
        return array.astype(np.int32)
    raise ValueError(
        f"`labels` must be one class id, one per seed ({count}), an array of shape "
        f"({count}, {batch_size}) (seeds, batch) or 'random'. Received shape {array.shape}."
    )


def write_seed_inputs(directory, seeds, latent_dim, labels=None, latent_distribution="normal",
                      truncation=None, batch_size=1, label_rank=1, num_classes=None):
    """Writes ``z`` (and ``y``) ``.bin`` inputs for integer seeds.

    For each seed, ``<directory>/z/seed_<seed>.bin`` holds the ``(batch_size, latent_dim)``
    float32 latents of :func:`ascendgan.sampling.prior_latents` — the latents
    ``gan.generate(batch_size, labels=..., seed=seed, truncation=truncation)`` uses — and,
    with ``labels``, ``<directory>/y/seed_<seed>.bin`` holds the int32 class ids.

    Args:
        directory: the input folder.
        seeds: non-negative integer seeds, one input batch each.
        latent_dim: size of ``z`` (``gan.latent_dim``).
        labels: ``None`` (unconditional), one class id for everything, one class id per
            seed, an array ``(len(seeds), batch_size)``, or ``"random"``: each seed's
            ids drawn as ``gan.generate(batch_size, seed=seed)`` draws them without
            labels (:func:`random_seed_labels`; needs ``num_classes``), as the
            documented BigGAN inputs (random classes, truncation 2.0).
        latent_distribution: the GAN's latent prior (``gan.latent_distribution``).
        truncation: truncation threshold or ``None``.
        batch_size: the exported model's batch size.
        label_rank: 1 writes ``y`` as ``(batch,)``, 2 as ``(batch, 1)`` (same bytes).
        num_classes: the number of classes, for ``labels="random"``.

    Returns:
        The list of stems (``seed_000000``, ...).

    Example:

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> write_seed_inputs(folder, [0, 7], latent_dim=120, labels=[3, 5])
    ['seed_000000', 'seed_000007']
    >>> read_bin(os.path.join(folder, "y", "seed_000007.bin"), "int32").tolist()
    [5]
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("`seeds` must hold at least one seed. Received an empty sequence.")
    label_rank = check_choice("label_rank", label_rank, (1, 2))
    latents = [
        prior_latents(batch_size, latent_dim, seed, latent_distribution=latent_distribution,
                      truncation=truncation)
        for seed in seeds
    ]
    inputs = {"z": latents}
    if labels is not None:
        table = _seed_labels(labels, seeds, batch_size, num_classes)
        inputs["y"] = [row if label_rank == 1 else row[:, None] for row in table]
    return write_inputs(directory, inputs, stems=[seed_stem(seed) for seed in seeds])


def write_online_outputs(gan, directory, seeds, labels=None, truncation=None, batch_size=1,
                         use_ema=True, training=False):
    """Writes the Keras generator's images for seeds, as ``<directory>/seed_<seed>_output_0.bin``.

    The online counterpart of :func:`write_seed_inputs` + :func:`run_inference`: each file
    holds ``gan.generate(batch_size, labels=..., seed=seed, truncation=truncation)`` as
    float32, so :func:`compare` can check an offline run against it.

    Args:
        gan: a :class:`~ascendgan.training.GAN` with a latent.
        directory: the output folder.
        seeds, labels, truncation, batch_size: as :func:`write_seed_inputs`
            (``labels="random"``: the GAN's own ``num_classes``).
        use_ema: use the averaged generator when there is one (as the export does).
        training: training-mode batch norm / dropout (match the export).

    Returns:
        The list of written paths.
    """
    seeds = list(seeds)
    table = None if labels is None else _seed_labels(labels, seeds, batch_size, gan.num_classes)
    paths = []
    for index, seed in enumerate(seeds):
        images = gan.generate(batch_size, labels=None if table is None else table[index],
                              truncation=truncation, seed=seed, use_ema=use_ema, training=training)
        paths.append(write_bin(images, os.path.join(str(directory), seed_stem(seed) + OUTPUT_SUFFIX),
                               "float32"))
    return paths


__all__ = [
    "OUTPUT_SUFFIX",
    "RANDOM_LABELS",
    "random_seed_labels",
    "read_bin",
    "seed_stem",
    "write_bin",
    "write_inputs",
    "write_online_outputs",
    "write_seed_inputs",
]
