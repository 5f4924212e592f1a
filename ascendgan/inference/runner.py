"""Running an exported generator (frozen graph, SavedModel or ONNX) on raw ``.bin`` inputs."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from ascendgan.export import OUTPUT_NAME, graph_inputs, load_frozen_graph
from ascendgan.inference.binary import OUTPUT_SUFFIX, read_bin, write_bin
from ascendgan.sampling.images import save_image_grid
from ascendgan.validation import check_choice

#: Formats :func:`load_exported` reads.
EXPORTED_FORMATS = ("frozen_graph", "saved_model", "onnx")


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
        check_choice("format", self.format, EXPORTED_FORMATS)
        getattr(self, f"_load_{self.format}")()

    # -- loaders

    def _load_frozen_graph(self):
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
                save_image_grid(images, os.path.join(str(output_dir), f"{stem}.png"))
            results[stem] = images
    finally:
        if owned:
            model.close()
    return results


__all__ = ["EXPORTED_FORMATS", "ExportedModel", "detect_format", "load_exported", "run_inference"]
