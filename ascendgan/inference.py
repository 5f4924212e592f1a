"""Offline inference on raw ``.bin`` files: run an exported generator the way Ascend's tools do.

Ascend's offline flow converts a frozen graph to an offline model with ATC and runs it with
``msame``, which reads each input from a raw binary file (the bytes numpy's
``array.tofile()`` writes: C order, no header) and writes each output to
``<name>_output_<i>.bin``. This module runs the *exported* model (frozen ``.pb``,
SavedModel or ONNX; see :mod:`ascendgan.export`) on the same files on any machine, so
offline results can be compared with online ones (``GAN.generate``) before and after
conversion:

1. :func:`write_seed_inputs` writes ``z`` (float32) and ``y`` (int32) files for seeds,
   ``<dir>/z/<stem>.bin`` and ``<dir>/y/<stem>.bin`` (the latents ``GAN.generate`` draws
   for the same seeds); :func:`write_inputs` writes any arrays in that layout.
2. :func:`run_inference` runs an exported model on every ``<stem>`` and writes
   ``<out>/<stem>_output_0.bin`` (float32) and, optionally, ``<out>/<stem>.png``.
3. :func:`write_online_outputs` writes the Keras generator's images for the same seeds in
   the same layout; :func:`compare` reports the maximum absolute difference.

Also a command: ``python -m ascendgan.inference {write-inputs,run,compare} ...``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

import numpy as np

#: Formats :func:`load_exported` reads.
EXPORTED_FORMATS = ("frozen_graph", "saved_model", "onnx")
#: Suffix of an output file, as msame names them: ``<stem>_output_<i>.bin``.
OUTPUT_SUFFIX = "_output_0.bin"


# ----------------------------------------------------------------------------- raw files


def write_bin(array, path, dtype=None):
    """Writes an array as raw bytes (``ndarray.tofile``: C order, no header); returns the path.

    Args:
        array: array-like.
        path: the ``.bin`` file; parent folders are created.
        dtype: cast to this dtype first (e.g. ``"float32"`` for ``z``, ``"int32"`` for ``y``).

    Example:

    >>> import tempfile
    >>> path = write_bin(np.arange(3), os.path.join(tempfile.mkdtemp(), "y.bin"), "int32")
    >>> os.path.getsize(path)
    12
    """
    array = np.ascontiguousarray(array if dtype is None else np.asarray(array).astype(dtype))
    path = str(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    array.tofile(path)
    return path


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


# ----------------------------------------------------------------------------- exported models


def detect_format(path):
    """``"frozen_graph"`` for a ``.pb`` file, ``"saved_model"`` for a SavedModel folder,
    ``"onnx"`` for a ``.onnx`` file.

    Raises:
        ValueError: naming the path when it is none of these.
    """
    path = str(path)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return "saved_model"
        raise ValueError(f"{path!r} is a folder without saved_model.pb; expected a SavedModel folder.")
    if not os.path.isfile(path):
        raise ValueError(f"Exported model {path!r} does not exist.")
    if path.endswith(".onnx"):
        return "onnx"
    if path.endswith(".pb"):
        return "frozen_graph"
    raise ValueError(
        f"Cannot tell the format of {path!r}: expected a frozen graph (.pb), an ONNX file (.onnx) "
        "or a SavedModel folder."
    )


class ExportedModel:
    """An exported generator loaded for inference: frozen graph, SavedModel or ONNX.

    Args:
        path: a frozen graph ``.pb`` (run in a fresh ``tf.Graph`` with a
            ``tf.compat.v1.Session``), a SavedModel folder (its ``serving_default``
            signature) or an ``.onnx`` file (onnxruntime).
        format: one of :data:`EXPORTED_FORMATS`; detected from ``path`` by default.

    Attributes:
        inputs: ``{name: (shape, numpy dtype)}``; ``None`` marks a dynamic dimension.
        output_names: the outputs' names (``["output"]`` for ascendgan exports).

    Call arguments:
        **inputs: one array per input name.

    Returns (of a call):
        ``{output name: numpy array}``.

    Example:

    >>> model = ExportedModel("biggan.pb")                                 # doctest: +SKIP
    >>> model.inputs                                                       # doctest: +SKIP
    {'z': ((1, 120), dtype('float32')), 'y': ((1,), dtype('int32'))}
    >>> model(z=z, y=y)["output"].shape                                    # doctest: +SKIP
    (1, 32, 32, 3)
    """

    def __init__(self, path, format=None):
        self.path = str(path)
        self.format = detect_format(self.path) if format is None else format
        if self.format not in EXPORTED_FORMATS:
            raise ValueError(f"`format` must be one of {EXPORTED_FORMATS}. Received: format={format!r}")
        getattr(self, f"_load_{self.format}")()

    # -- loaders

    def _load_frozen_graph(self):
        import tensorflow as tf

        from ascendgan.export import OUTPUT_NAME, graph_inputs, load_frozen_graph

        graph_def = load_frozen_graph(self.path)
        self.inputs = graph_inputs(graph_def)
        names = {node.name for node in graph_def.node}
        self.output_names = [OUTPUT_NAME] if OUTPUT_NAME in names else [graph_def.node[-1].name]
        self._graph = tf.Graph()
        with self._graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
        self._session = tf.compat.v1.Session(graph=self._graph)

        def run(feeds):
            fetches = [f"{name}:0" for name in self.output_names]
            values = self._session.run(fetches, {f"{name}:0": value for name, value in feeds.items()})
            return dict(zip(self.output_names, values))

        self._run = run

    def _load_saved_model(self):
        import tensorflow as tf

        loaded = tf.saved_model.load(self.path)
        if "serving_default" not in loaded.signatures:
            raise ValueError(f"SavedModel {self.path!r} has no 'serving_default' signature.")
        signature = loaded.signatures["serving_default"]
        specs = signature.structured_input_signature[1]
        self.inputs = {
            name: (tuple(spec.shape.as_list()), spec.dtype.as_numpy_dtype().dtype)
            for name, spec in specs.items()
        }
        self.output_names = list(signature.structured_outputs)
        self._loaded = loaded  # keeps the variables alive

        def run(feeds):
            outputs = signature(**{name: tf.constant(value) for name, value in feeds.items()})
            return {name: np.asarray(value) for name, value in outputs.items()}

        self._run = run

    def _load_onnx(self):
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError(
                "Running an ONNX model needs the `onnxruntime` package, which is not installed. "
                "Install it with `pip install \"ascendgan[onnx]\"` (or `pip install onnxruntime`)."
            ) from error
        session = onnxruntime.InferenceSession(self.path, providers=["CPUExecutionProvider"])
        types = {"tensor(float)": np.float32, "tensor(int32)": np.int32, "tensor(int64)": np.int64,
                 "tensor(double)": np.float64, "tensor(uint8)": np.uint8}
        self.inputs = {}
        for item in session.get_inputs():
            shape = tuple(dim if isinstance(dim, int) else None for dim in item.shape)
            self.inputs[item.name] = (shape, np.dtype(types.get(item.type, np.float32)))
        self.output_names = [item.name for item in session.get_outputs()]
        self._session = session

        def run(feeds):
            return dict(zip(self.output_names, session.run(self.output_names, feeds)))

        self._run = run

    # -- running

    def __call__(self, **inputs):
        missing = sorted(set(self.inputs) - set(inputs))
        unknown = sorted(set(inputs) - set(self.inputs))
        if missing or unknown:
            raise ValueError(
                f"The model takes inputs {sorted(self.inputs)}. Missing: {missing}; unknown: {unknown}."
            )
        feeds = {}
        for name, value in inputs.items():
            shape, dtype = self.inputs[name]
            value = np.asarray(value).astype(dtype, copy=False)
            if shape is not None and (
                value.ndim != len(shape)
                or any(dim is not None and dim != got for dim, got in zip(shape, value.shape))
            ):
                raise ValueError(
                    f"Input {name!r} must have shape {shape} (None: any size). Received shape {value.shape}."
                )
            feeds[name] = value
        return self._run(feeds)

    def close(self):
        """Releases the TensorFlow session of a frozen graph (no-op for other formats)."""
        session = getattr(self, "_session", None)
        if self.format == "frozen_graph" and session is not None:
            session.close()


def load_exported(path, format=None):
    """Loads an exported generator (frozen ``.pb``, SavedModel folder or ``.onnx``).

    Returns:
        An :class:`ExportedModel`.
    """
    return ExportedModel(path, format=format)


# ----------------------------------------------------------------------------- input files


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


def _seed_labels(labels, count, batch_size):
    """``labels`` (int, one entry per seed, or ``(seeds, batch)``) -> ``(seeds, batch)``."""
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
        f"`labels` must be one class id, one per seed ({count}), or an array of shape "
        f"({count}, {batch_size}) (seeds, batch). Received shape {array.shape}."
    )


def write_seed_inputs(directory, seeds, latent_dim, labels=None, latent_distribution="normal",
                      truncation=None, batch_size=1, label_rank=1):
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
            seed, or an array ``(len(seeds), batch_size)``.
        latent_distribution: the GAN's latent prior (``gan.latent_distribution``).
        truncation: truncation threshold or ``None``.
        batch_size: the exported model's batch size.
        label_rank: 1 writes ``y`` as ``(batch,)``, 2 as ``(batch, 1)`` (same bytes).

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
    from ascendgan.sampling import prior_latents

    seeds = list(seeds)
    if not seeds:
        raise ValueError("`seeds` must hold at least one seed. Received an empty sequence.")
    if label_rank not in (1, 2):
        raise ValueError(f"`label_rank` must be 1 or 2. Received: label_rank={label_rank!r}")
    latents = [
        prior_latents(batch_size, latent_dim, seed, latent_distribution=latent_distribution,
                      truncation=truncation)
        for seed in seeds
    ]
    inputs = {"z": latents}
    if labels is not None:
        table = _seed_labels(labels, len(seeds), batch_size)
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
        seeds, labels, truncation, batch_size: as :func:`write_seed_inputs`.
        use_ema: use the averaged generator when there is one (as the export does).
        training: training-mode batch norm / dropout (match the export).

    Returns:
        The list of written paths.
    """
    seeds = list(seeds)
    table = None if labels is None else _seed_labels(labels, len(seeds), batch_size)
    paths = []
    for index, seed in enumerate(seeds):
        images = gan.generate(batch_size, labels=None if table is None else table[index],
                              truncation=truncation, seed=seed, use_ema=use_ema, training=training)
        paths.append(write_bin(images, os.path.join(str(directory), seed_stem(seed) + OUTPUT_SUFFIX),
                               "float32"))
    return paths


# ----------------------------------------------------------------------------- running


def _stems(input_dir, names):
    folders = {name: os.path.join(str(input_dir), name) for name in names}
    for name, folder in folders.items():
        if not os.path.isdir(folder):
            raise ValueError(
                f"Input folder {folder!r} for the model input {name!r} does not exist "
                f"(expected {input_dir}/<input name>/<stem>.bin)."
            )
    listed = {name: {f[:-4] for f in os.listdir(folder) if f.endswith(".bin")}
              for name, folder in folders.items()}
    first = names[0]
    stems = sorted(listed[first])
    for name in names[1:]:
        if listed[name] != listed[first]:
            raise ValueError(
                f"Input folders {folders[first]!r} and {folders[name]!r} hold different files: "
                f"only in {first}: {sorted(listed[first] - listed[name])}, only in {name}: "
                f"{sorted(listed[name] - listed[first])}."
            )
    if not stems:
        raise ValueError(f"No .bin files in {folders[first]!r}.")
    return stems


def run_inference(model, input_dir, output_dir, png=False):
    """Runs an exported model on every input file and writes the outputs.

    For each stem found in ``<input_dir>/<first input name>/``, reads
    ``<input_dir>/<name>/<stem>.bin`` for every model input (shape and dtype from the
    model), runs the model and writes ``<output_dir>/<stem>_output_0.bin`` (float32, raw)
    and with ``png=True`` the batch as an image grid ``<output_dir>/<stem>.png``.

    Args:
        model: an :class:`ExportedModel` or the path of an exported model.
        input_dir: folder with one subfolder per model input.
        output_dir: folder for the outputs (created).
        png: also write PNG grids.

    Returns:
        ``{stem: output array}``.

    Example:

    >>> outputs = run_inference("biggan.pb", "inputs", "outputs", png=True)  # doctest: +SKIP
    """
    from ascendgan import sampling

    owned = not isinstance(model, ExportedModel)
    if owned:
        model = load_exported(model)
    try:
        names = list(model.inputs)
        stems = _stems(input_dir, names)
        results = {}
        os.makedirs(str(output_dir), exist_ok=True)
        for stem in stems:
            feeds = {
                name: read_bin(os.path.join(str(input_dir), name, f"{stem}.bin"), dtype, shape)
                for name, (shape, dtype) in model.inputs.items()
            }
            images = np.asarray(model(**feeds)[model.output_names[0]], np.float32)
            write_bin(images, os.path.join(str(output_dir), stem + OUTPUT_SUFFIX))
            if png:
                sampling.save_image_grid(images, os.path.join(str(output_dir), f"{stem}.png"))
            results[stem] = images
    finally:
        if owned:
            model.close()
    return results


# ----------------------------------------------------------------------------- comparing


@dataclasses.dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes:
        max_abs_diff: largest absolute difference over all compared values.
        mean_abs_diff: mean absolute difference over all compared values.
        per_file: ``{file name: max abs diff}`` (one entry ``"array"`` for arrays / files).
        only_in_a: file names found only in ``a``.
        only_in_b: file names found only in ``b``.
    """

    max_abs_diff: float
    mean_abs_diff: float
    per_file: dict
    only_in_a: list
    only_in_b: list

    def within(self, tolerance):
        """True when every file matched and ``max_abs_diff <= tolerance``."""
        return not self.only_in_a and not self.only_in_b and self.max_abs_diff <= tolerance

    def __str__(self):
        lines = [f"{name}: max abs diff {diff:.3g}" for name, diff in sorted(self.per_file.items())]
        lines.append(
            f"{len(self.per_file)} compared: max abs diff {self.max_abs_diff:.3g}, "
            f"mean abs diff {self.mean_abs_diff:.3g}"
        )
        if self.only_in_a:
            lines.append(f"only in a: {self.only_in_a}")
        if self.only_in_b:
            lines.append(f"only in b: {self.only_in_b}")
        return "\n".join(lines)


def _as_table(source, dtype, name):
    if isinstance(source, (str, os.PathLike)):
        path = str(source)
        if os.path.isdir(path):
            return {f: os.path.join(path, f) for f in os.listdir(path) if f.endswith(".bin")}
        if os.path.isfile(path):
            return {"array": path}
        raise ValueError(f"`{name}` path {path!r} does not exist.")
    return {"array": np.asarray(source, dtype)}


def compare(a, b, dtype="float32"):
    """Maximum and mean absolute difference between two results (e.g. online vs offline).

    Args:
        a: a ``.bin`` file, a folder of ``.bin`` files (matched by file name) or an array.
        b: the same kinds.
        dtype: dtype of the raw files.

    Returns:
        A :class:`Comparison` (``str()`` gives a report).

    Raises:
        ValueError: naming the files when two matched files differ in size, or when
            nothing can be compared.

    Example:

    >>> report = compare(np.array([0.0, 1.0]), np.array([0.0, 1.5]))
    >>> report.max_abs_diff
    0.5
    """
    table_a, table_b = _as_table(a, dtype, "a"), _as_table(b, dtype, "b")
    common = sorted(set(table_a) & set(table_b))
    if not common:
        raise ValueError(
            f"Nothing to compare: no file names in common (a: {sorted(table_a)[:5]}, b: {sorted(table_b)[:5]})."
        )

    def load(value):
        return read_bin(value, dtype).astype(np.float64) if isinstance(value, str) else value.astype(np.float64)

    per_file, total, count = {}, 0.0, 0
    for key in common:
        left, right = load(table_a[key]), load(table_b[key])
        if left.size != right.size:
            raise ValueError(
                f"{key!r} holds {left.size} values in a and {right.size} in b; they cannot be compared."
            )
        diff = np.abs(left.reshape(-1) - right.reshape(-1))
        per_file[key] = float(diff.max()) if diff.size else 0.0
        total += float(diff.sum())
        count += diff.size
    return Comparison(
        max_abs_diff=max(per_file.values()),
        mean_abs_diff=total / max(count, 1),
        per_file=per_file,
        only_in_a=sorted(set(table_a) - set(table_b)),
        only_in_b=sorted(set(table_b) - set(table_a)),
    )


# ----------------------------------------------------------------------------- command line


def build_parser():
    """The ``python -m ascendgan.inference`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m ascendgan.inference",
        description="Offline inference on raw .bin files with an exported ascendgan generator.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    inputs = sub.add_parser("write-inputs", help="write z (and y) .bin inputs for seeds")
    inputs.add_argument("--output", required=True, help="input folder to write (gets z/ and y/)")
    inputs.add_argument("--seeds", type=int, nargs="+", required=True, help="integer seeds")
    inputs.add_argument("--latent-dim", type=int, required=True, help="size of z")
    inputs.add_argument("--labels", type=int, nargs="+", default=None,
                        help="class id(s): one for all seeds or one per seed (conditional models)")
    inputs.add_argument("--distribution", default="normal",
                        help="latent prior: normal, normal01, uniform_signed, uniform_unsigned")
    inputs.add_argument("--truncation", type=float, default=None, help="truncation threshold")
    inputs.add_argument("--batch-size", type=int, default=1, help="the model's batch size (default 1)")
    inputs.add_argument("--label-rank", type=int, default=1, choices=(1, 2),
                        help="y shape: 1 -> (batch,), 2 -> (batch, 1)")

    run = sub.add_parser("run", help="run an exported model on an input folder")
    run.add_argument("--model", required=True, help="frozen graph .pb, SavedModel folder or .onnx")
    run.add_argument("--input", required=True, help="input folder (<input>/<name>/<stem>.bin)")
    run.add_argument("--output", required=True, help="output folder")
    run.add_argument("--png", action="store_true", help="also write PNG grids")

    check = sub.add_parser("compare", help="max abs difference of two .bin files or folders")
    check.add_argument("a")
    check.add_argument("b")
    check.add_argument("--tolerance", type=float, default=None,
                       help="exit with status 1 when the max abs diff exceeds it")
    return parser


def main(argv=None):
    """Runs the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "write-inputs":
        labels = None
        if args.labels is not None:
            labels = args.labels[0] if len(args.labels) == 1 else args.labels
        stems = write_seed_inputs(
            args.output, args.seeds, args.latent_dim, labels=labels,
            latent_distribution=args.distribution, truncation=args.truncation,
            batch_size=args.batch_size, label_rank=args.label_rank,
        )
        print(f"wrote {len(stems)} input batch(es) to {args.output}")
        return 0
    if args.command == "run":
        outputs = run_inference(args.model, args.input, args.output, png=args.png)
        print(f"wrote {len(outputs)} output(s) to {args.output}")
        return 0
    report = compare(args.a, args.b)
    print(report)
    if args.tolerance is not None and not report.within(args.tolerance):
        return 1
    return 0


__all__ = [
    "EXPORTED_FORMATS",
    "OUTPUT_SUFFIX",
    "Comparison",
    "ExportedModel",
    "compare",
    "detect_format",
    "load_exported",
    "main",
    "read_bin",
    "run_inference",
    "seed_stem",
    "write_bin",
    "write_inputs",
    "write_online_outputs",
    "write_seed_inputs",
]


if __name__ == "__main__":
    sys.exit(main())
