"""Scoring offline outputs: the images ``msame`` (or :func:`run_inference`) wrote, evaluated
with :func:`ascendgan.metrics.evaluate` like a generator.

``msame --output DIR`` writes into a new sub-folder ``DIR/<YYYYmmdd_HHMMSS>/`` one file per
input file and model output: ``<input stem>_output_<i>.bin``, the output tensor's raw bytes
(``--outfmt BIN``, the default), or ``<input stem>_output_<i>.txt``, its values as text
separated by spaces and blank lines (``--outfmt TXT``). The files carry no shape, so the
image shape comes from the caller (the run's preset on the command line).
"""

from __future__ import annotations

import os
import re

import numpy as np
import tensorflow as tf

from ascendgan.metrics import evaluate
from ascendgan.validation import check_choice, check_int

#: The sub-folder msame creates in ``--output`` for each run (``%Y%m%d_%H%M%S``).
MSAME_RUN_FOLDER = re.compile(r"^\d{8}_\d{6}$")
#: Output file formats: msame's ``--outfmt BIN`` (raw bytes) and ``TXT`` (text values).
OUTPUT_FORMATS = ("auto", "bin", "txt")
#: Dtypes of raw output files: float32 (the exported graph's output, ATC's default for it)
#: or float16 (an offline model converted with ``--output_type=FP16``).
OUTPUT_DTYPES = ("float32", "float16")
#: Largest ``|value|`` accepted in images in [-1, 1] (float16 rounding of tanh outputs).
_RANGE = 1.0 + 1e-2


def _listed(folder, output_index, output_format):
    pattern = re.compile(rf"^(.+)_output_{output_index}\.(bin|txt)$")
    found = {"bin": [], "txt": []}
    for name in sorted(os.listdir(folder)):
        match = pattern.match(name)
        if match and os.path.isfile(os.path.join(folder, name)):
            found[match.group(2)].append(os.path.join(folder, name))
    if output_format == "auto":
        return found["bin"] or found["txt"]
    return found[output_format]


def output_files(folder, output_index=0, output_format="auto"):
    """The output files of an offline run, sorted by name.

    ``folder`` is the folder holding ``<stem>_output_<output_index>.bin`` (or ``.txt``)
    files, or msame's ``--output`` folder holding one ``<YYYYmmdd_HHMMSS>`` run
    sub-folder with them.

    Args:
        folder: the output folder.
        output_index: which model output (``0``: the image output of ascendgan exports).
        output_format: ``"bin"``, ``"txt"`` or ``"auto"`` (``.bin`` files when there are
            any, else ``.txt``).

    Returns:
        A list of file paths.

    Raises:
        ValueError: naming the folder when it holds no output files, or several msame
            runs (pass the one to score).

    Example:

    >>> output_files("npu_out")                                    # doctest: +SKIP
    ['npu_out/20240101_120000/0_output_0.bin', 'npu_out/20240101_120000/1_output_0.bin']
    """
    folder = str(folder)
    output_index = check_int("output_index", output_index, minimum=0)
    output_format = check_choice("output_format", output_format, OUTPUT_FORMATS)
    if not os.path.isdir(folder):
        raise ValueError(f"`folder` must be a folder of offline outputs. Received: {folder!r} (not a folder)")
    files = _listed(folder, output_index, output_format)
    if files:
        return files
    runs = sorted(name for name in os.listdir(folder) if MSAME_RUN_FOLDER.match(name)
                  and _listed(os.path.join(folder, name), output_index, output_format))
    if len(runs) == 1:
        return _listed(os.path.join(folder, runs[0]), output_index, output_format)
    suffix = "bin or .txt" if output_format == "auto" else output_format
    if runs:
        raise ValueError(
            f"`folder` {folder!r} holds {len(runs)} msame runs ({', '.join(runs)}); pass the run "
            "folder to score, e.g. " + os.path.join(folder, runs[-1]) + "."
        )
    raise ValueError(
        f"`folder` {folder!r} holds no offline outputs: expected <stem>_output_{output_index}."
        f"{suffix} files, directly or in one msame run folder (YYYYmmdd_HHMMSS)."
    )


def read_output(path, image_shape, dtype="float32"):
    """One output file as a float32 batch of images ``(n, height, width, channels)``.

    A ``.bin`` file holds raw values of ``dtype``; a ``.txt`` file holds values as text
    (msame's ``--outfmt TXT``). The file must hold a whole number of images of
    ``image_shape``, in [-1, 1].

    Raises:
        ValueError: naming the file when its size does not fit ``image_shape`` / ``dtype``,
            or its values are not images in [-1, 1].

    Example:

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "0_output_0.bin")
    >>> _ = np.zeros((2, 4, 4, 3), np.float32).tofile(path)
    >>> read_output(path, (4, 4, 3)).shape
    (2, 4, 4, 3)
    """
    path = str(path)
    shape = tuple(check_int("image_shape", dim, minimum=1) for dim in image_shape)
    if len(shape) != 3:
        raise ValueError(f"`image_shape` must be (height, width, channels). Received: image_shape={image_shape!r}")
    dtype = check_choice("dtype", dtype, OUTPUT_DTYPES)
    per_image = int(np.prod(shape))
    if path.endswith(".txt"):
        with open(path, encoding="ascii") as handle:
            values = np.array(handle.read().split(), dtype=np.float32)
        described = f"{values.size} values"
    else:
        size = os.path.getsize(path)
        itemsize = np.dtype(dtype).itemsize
        if size % (per_image * itemsize):
            hint = ""
            other = "float16" if dtype == "float32" else "float32"
            if size and size % (per_image * np.dtype(other).itemsize) == 0:
                hint = f" It fits {other}: pass dtype={other!r} (--dtype {other})."
            raise ValueError(
                f"{path!r} holds {size} bytes, not a whole number of {dtype} images of shape "
                f"{shape} ({per_image * itemsize} bytes each).{hint}"
            )
        values = np.fromfile(path, dtype=dtype).astype(np.float32)
        described = f"{size} bytes"
    if values.size == 0 or values.size % per_image:
        raise ValueError(
            f"{path!r} holds {described}, not a whole number of images of shape {shape} "
            f"({per_image} values each)."
        )
    if not np.all(np.isfinite(values)) or np.abs(values).max() > _RANGE:
        raise ValueError(
            f"{path!r} does not hold images in [-1, 1] read as {dtype} (max |value| "
            f"{float(np.nanmax(np.abs(values))):.3g}): check `dtype` and that the file is the "
            "image output of an ascendgan export."
        )
    return values.reshape((-1, *shape))


def offline_images(files, image_shape, dtype="float32", batch_size=50):
    """A ``tf.data.Dataset`` of float32 image batches read from output files, in order.

    Args:
        files: output file paths (see :func:`output_files`).
        image_shape: ``(height, width, channels)``.
        dtype: dtype of ``.bin`` files (see :data:`OUTPUT_DTYPES`).
        batch_size: images per batch (files may hold any number of images each).

    Example:

    >>> dataset = offline_images(output_files("npu_out"), (32, 32, 3))   # doctest: +SKIP
    """
    files = [str(path) for path in files]
    shape = tuple(int(dim) for dim in image_shape)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if files:
        read_output(files[0], shape, dtype)  # a wrong shape or dtype fails here, not mid-stream

    def batches():
        for path in files:
            yield read_output(path, shape, dtype)

    dataset = tf.data.Dataset.from_generator(
        batches, output_signature=tf.TensorSpec((None, *shape), tf.float32))
    return dataset.unbatch().batch(batch_size)


def evaluate_outputs(folder, image_shape, reference=None, settings=None, dtype="float32",
                     output_index=0, output_format="auto", **overrides):
    """IS / FID / KID (any :func:`ascendgan.metrics.evaluate` metric) of offline outputs.

    The images of every output file in ``folder`` (see :func:`output_files`) are the
    evaluated source, compared with ``reference`` under ``settings`` exactly as
    ``evaluate(gan, reference, settings)`` compares a generator's images. Without
    ``settings`` (and a ``num_samples`` override) every image is used; with ``settings``,
    its ``num_samples`` (``None``: every image).

    Args:
        folder: the output folder (or msame's ``--output`` folder).
        image_shape: ``(height, width, channels)`` of the model's images.
        reference, settings, **overrides: as :func:`ascendgan.metrics.evaluate`.
        dtype: dtype of ``.bin`` files (``"float32"``; ``"float16"`` for an offline model
            converted with ``--output_type=FP16``).
        output_index, output_format: which files (see :func:`output_files`).

    Returns:
        The :class:`~ascendgan.metrics.EvaluationResult`; its protocol names the source
        ``offline outputs <folder>`` and holds ``output_files`` (their count) and
        ``output_dtype``.

    Example:

    >>> result = evaluate_outputs("npu_out", (32, 32, 3), "cifar10_stats.npz",  # doctest: +SKIP
    ...                           metrics=["fid", "is"])
    """
    files = output_files(folder, output_index=output_index, output_format=output_format)
    overrides.setdefault("num_samples", None if settings is None else settings.num_samples)
    batch = overrides.get("batch_size", 50 if settings is None else settings.batch_size)
    images = offline_images(files, image_shape, dtype=dtype, batch_size=batch)
    result = evaluate(images, reference, settings, **overrides)
    result.protocol.update(source=f"offline outputs {os.path.dirname(files[0])}",
                           output_files=len(files), output_dtype=dtype)
    return result


__all__ = [
    "MSAME_RUN_FOLDER",
    "OUTPUT_DTYPES",
    "OUTPUT_FORMATS",
    "evaluate_outputs",
    "offline_images",
    "output_files",
    "read_output",
]
