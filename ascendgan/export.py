"""Exporting a generator for serving and offline inference: SavedModel, frozen graph, ONNX.

Every format holds the same computation, a *serving function* with static shapes chosen at
export time:

- latent generators (BigGAN, DCGAN): input ``z`` ``(batch, latent_dim)`` float32 and, for
  class-conditional ones, ``y`` int32 class ids of shape ``(batch,)`` (``label_rank=1``)
  or ``(batch, 1)`` (``label_rank=2``);
- image-to-image generators (Pix2Pix): input ``source`` ``(batch, height, width,
  channels)`` float32 in [-1, 1];
- output ``output``: float32 images ``(batch, height, width, channels)`` in [-1, 1], also
  under a mixed-precision policy (the cast happens inside the graph).

Given a :class:`~ascendgan.training.GAN`, the averaged generator (``ema_generator``) is
exported when there is one (``use_ema=True``). Batch norm runs in inference mode (moving
statistics) unless ``training=True`` (batch statistics and active dropout, e.g. Pix2Pix's
test mode). Either way the exported graph is stateless: batch-norm moving statistics,
spectral-norm vectors and random-seed states are read, never written.

Formats:

- :func:`export_saved_model`: ``tf.saved_model`` with a ``serving_default`` signature.
- :func:`export_frozen_graph`: a frozen ``GraphDef`` ``.pb`` (variables folded into
  constants) with placeholders ``z``/``y`` (or ``source``) and the node ``output``: what
  Ascend's ATC converter takes (``atc --framework=3``); :func:`atc_command` writes the
  command line.
- :func:`export_onnx`: ONNX through ``tf2onnx`` (``pip install "ascendgan[onnx]"``).

:func:`export` dispatches on a format name (what the ``ascendgan export`` command calls).
:mod:`ascendgan.inference` runs the exported files on raw ``.bin`` inputs.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import tensorflow as tf

from ascendgan import compat

#: Export formats of :func:`export`.
FORMATS = ("saved_model", "frozen_graph", "onnx")
#: Name of the output node / signature output.
OUTPUT_NAME = "output"
#: Input names: latent, class ids, source image.
LATENT_NAME, LABEL_NAME, SOURCE_NAME = "z", "y", "source"
#: The default ONNX opset (ATC converts ONNX opsets 11 to 15).
DEFAULT_OPSET = 13


# ----------------------------------------------------------------------------- the generator


class _Plan:
    """What to export: the generator and how to call it."""

    def __init__(self, generator, latent_dim=None, num_classes=None, image_shape=None):
        self.generator = generator
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.image_shape = image_shape


def _check_batch_size(batch_size):
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer or None. Received: batch_size={batch_size!r}")
    return int(batch_size)


def _plan(model, use_ema):
    from ascendgan.training.gan import GAN

    if isinstance(model, GAN):
        model.build_models()
        averaged = model.ema_generator
        generator = averaged if (use_ema and averaged is not None) else model.generator
        if model.latent_dim is not None:
            return _Plan(generator, latent_dim=model.latent_dim, num_classes=model.num_classes)
        size = getattr(generator, "image_size", None)
        channels = getattr(generator, "input_channels", None)
        if size is None or channels is None:
            raise ValueError(
                "`model` is a GAN without a latent (an image-to-image GAN) whose generator has no "
                "`image_size` / `input_channels` attributes, so its input shape is unknown. "
                f"Received generator {type(generator).__name__}."
            )
        return _Plan(generator, image_shape=(size, size, channels))
    if isinstance(model, compat.keras.Model):
        latent_dim = getattr(model, "latent_dim", None)
        if latent_dim is not None:
            return _Plan(model, latent_dim=latent_dim, num_classes=getattr(model, "num_classes", None))
        size = getattr(model, "image_size", None)
        channels = getattr(model, "input_channels", None)
        if size is not None and channels is not None:
            return _Plan(model, image_shape=(size, size, channels))
        raise ValueError(
            "`model` must be a GAN or an ascendgan generator (a Keras model with `latent_dim` "
            "[and `num_classes`], or with `image_size` and `input_channels`). "
            f"Received a {type(model).__name__} without these attributes."
        )
    raise ValueError(
        f"`model` must be a GAN or a Keras generator model. Received: {type(model).__name__}"
    )


def input_signature(model, batch_size=1, label_rank=1, use_ema=True):
    """The ``tf.TensorSpec`` inputs of the serving function, named ``z``/``y`` or ``source``.

    Args:
        model: a :class:`~ascendgan.training.GAN` or an ascendgan generator.
        batch_size: the static batch size (``None`` for a dynamic one).
        label_rank: 1 for class ids ``y`` of shape ``(batch,)``, 2 for ``(batch, 1)``.
        use_ema: take the averaged generator of a GAN when there is one.

    Returns:
        A list of ``tf.TensorSpec``.

    Example:

    >>> gan = ascendgan.models.biggan("cifar10", base_channels=4)       # doctest: +SKIP
    >>> [(s.name, tuple(s.shape)) for s in input_signature(gan)]        # doctest: +SKIP
    [('z', (1, 120)), ('y', (1,))]
    """
    batch_size = _check_batch_size(batch_size)
    if label_rank not in (1, 2):
        raise ValueError(f"`label_rank` must be 1 ((batch,)) or 2 ((batch, 1)). Received: label_rank={label_rank!r}")
    plan = _plan(model, use_ema)
    return _signature(plan, batch_size, label_rank)


def _signature(plan, batch_size, label_rank):
    if plan.latent_dim is None:
        return [tf.TensorSpec((batch_size, *plan.image_shape), tf.float32, name=SOURCE_NAME)]
    specs = [tf.TensorSpec((batch_size, plan.latent_dim), tf.float32, name=LATENT_NAME)]
    if plan.num_classes is not None:
        shape = (batch_size,) if label_rank == 1 else (batch_size, 1)
        specs.append(tf.TensorSpec(shape, tf.int32, name=LABEL_NAME))
    return specs


@contextlib.contextmanager
def _stateless_variables():
    """While tracing, variable writes (batch-norm moving statistics, spectral-norm vectors,
    seed states) return the value they would write and change nothing.

    An exported inference graph must not update state: a frozen graph cannot (its variables
    are constants) and a served SavedModel should not drift between calls. Both Keras
    versions route these writes through ``assign`` / ``assign_add`` / ``assign_sub`` of
    TensorFlow resource variables, which are replaced here for the duration of the trace.
    """
    from tensorflow.python.ops import resource_variable_ops

    def assign(self, value, use_locking=None, name=None, read_value=True):
        return tf.identity(tf.cast(value, self.dtype))

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        return self.read_value() + tf.cast(delta, self.dtype)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        return self.read_value() - tf.cast(delta, self.dtype)

    replacements = {"assign": assign, "assign_add": assign_add, "assign_sub": assign_sub}
    classes, stack = [], [resource_variable_ops.BaseResourceVariable]
    while stack:  # the base class and every subclass that overrides one of the methods
        cls = stack.pop()
        classes.append(cls)
        stack.extend(cls.__subclasses__())
    saved = [(cls, name, cls.__dict__[name]) for cls in classes for name in replacements
             if name in cls.__dict__]
    for cls, name, _ in saved:
        setattr(cls, name, replacements[name])
    try:
        yield
    finally:
        for cls, name, method in saved:
            setattr(cls, name, method)


def serving_module(model, batch_size=1, training=False, use_ema=True, label_rank=1):
    """A ``tf.Module`` whose ``serve`` ``tf.function`` maps the named inputs to ``{"output":
    images}`` (float32, [-1, 1]); the building block of every export format.

    The function is traced once here, with static shapes, and state writes disabled (see the
    module docstring).

    Args:
        model: a :class:`~ascendgan.training.GAN` (its ``ema_generator`` when ``use_ema`` and
            there is one) or an ascendgan generator (a Keras model with ``latent_dim`` /
            ``num_classes``, or with ``image_size`` / ``input_channels``).
        batch_size: the static batch size (``None`` for a dynamic one, which ATC rejects).
        training: run the generator in training mode (batch statistics in batch norm,
            active dropout); default inference mode.
        use_ema: export the averaged generator of a GAN when there is one.
        label_rank: 1 for class ids ``y`` of shape ``(batch,)``, 2 for ``(batch, 1)``.

    Returns:
        A ``tf.Module`` with attributes ``serve`` (the ``tf.function``), ``generator`` and
        ``input_names``.

    Example:

    >>> module = serving_module(gan, batch_size=2)                         # doctest: +SKIP
    >>> module.serve(z=tf.zeros((2, 120)), y=tf.constant([0, 1]))["output"].shape  # doctest: +SKIP
    TensorShape([2, 32, 32, 3])
    """
    specs = input_signature(model, batch_size=batch_size, label_rank=label_rank, use_ema=use_ema)
    plan = _plan(model, use_ema)
    generator = plan.generator
    if not isinstance(training, bool):
        raise ValueError(f"`training` must be True or False. Received: training={training!r}")

    def finish(images):
        return {OUTPUT_NAME: tf.identity(tf.cast(images, tf.float32), name=OUTPUT_NAME)}

    if plan.latent_dim is None:
        def serve(source):
            return finish(generator(source, training=training))
    elif plan.num_classes is None:
        def serve(z):
            return finish(generator(z, training=training))
    else:
        def serve(z, y):
            return finish(generator([z, tf.reshape(y, [-1])], training=training))

    module = tf.Module(name="ascendgan_serving")
    # Track the variables themselves rather than the Keras model, so that saving does not
    # run Keras's own (legacy Keras: per-layer) SavedModel serialization.
    module.captured_variables = [compat.full_precision(variable) for variable in generator.variables]
    module.generator = _Untracked(generator)
    module.input_names = tuple(spec.name for spec in specs)
    module.serve = tf.function(serve, input_signature=specs, autograph=False)
    with _stateless_variables():
        module.serve.get_concrete_function()
    return module


class _Untracked:
    """Holds an object on a ``tf.Module`` without tracking it for saving."""

    def __init__(self, value):
        self.value = value

    def __call__(self, *args, **kwargs):
        return self.value(*args, **kwargs)


# ----------------------------------------------------------------------------- file writing


def _write_bytes(path, data):
    path = str(path)
    parent = os.path.dirname(path)
    if parent:
        tf.io.gfile.makedirs(parent)
    temporary = f"{path}.tmp"
    with tf.io.gfile.GFile(temporary, "wb") as handle:
        handle.write(data)
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return path


# ----------------------------------------------------------------------------- SavedModel


def export_saved_model(model, path, batch_size=1, training=False, use_ema=True, label_rank=1):
    """Writes the generator as a SavedModel with a ``serving_default`` signature.

    The signature takes the named inputs (``z`` and ``y``, or ``z``, or ``source``) and
    returns ``{"output": images}``; the reloaded object also has ``serve(...)``.

    Args:
        model: a GAN or an ascendgan generator (see :func:`serving_module`).
        path: the SavedModel directory.
        batch_size: static batch size (``None``: any batch size).
        training: training-mode batch norm / dropout (default: inference mode).
        use_ema: export the averaged generator of a GAN when there is one.
        label_rank: 1 for ``y`` of shape ``(batch,)``, 2 for ``(batch, 1)``.

    Returns:
        ``path`` (a string).

    Example:

    >>> export_saved_model(gan, "generator_savedmodel")                    # doctest: +SKIP
    >>> loaded = tf.saved_model.load("generator_savedmodel")               # doctest: +SKIP
    >>> loaded.signatures["serving_default"](z=z, y=y)["output"]           # doctest: +SKIP
    """
    module = serving_module(model, batch_size=batch_size, training=training, use_ema=use_ema,
                            label_rank=label_rank)
    path = str(path)
    with _stateless_variables():
        tf.saved_model.save(
            module, path, signatures={"serving_default": module.serve.get_concrete_function()}
        )
    return path


# ----------------------------------------------------------------------------- frozen graph


def _without_asserts(graph_def):
    """Drops ``Assert`` nodes (runtime checks offline converters need not see) and the
    control edges to them, then prunes what only fed them."""
    removed = {node.name for node in graph_def.node if node.op == "Assert"}
    if not removed:
        return graph_def
    kept = tf.compat.v1.GraphDef()
    kept.versions.CopyFrom(graph_def.versions)
    kept.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        if node.name in removed:
            continue
        copy = kept.node.add()
        copy.CopyFrom(node)
        del copy.input[:]
        copy.input.extend(name for name in node.input if name.lstrip("^").split(":")[0] not in removed)
    return tf.compat.v1.graph_util.extract_sub_graph(kept, [OUTPUT_NAME])


def frozen_graph_def(model, batch_size=1, training=False, use_ema=True, label_rank=1,
                     strip_asserts=True):
    """The frozen ``GraphDef`` of the serving function (variables folded into constants).

    Placeholders are named ``z`` and ``y`` (or ``z``, or ``source``) and the output node
    ``output``; the graph is pruned to what ``output`` needs.

    Args:
        model: a GAN or an ascendgan generator (see :func:`serving_module`).
        batch_size: static batch size (ATC needs one; ``None`` leaves it dynamic).
        training: training-mode batch norm / dropout (default: inference mode).
        use_ema: export the averaged generator of a GAN when there is one.
        label_rank: 1 for ``y`` of shape ``(batch,)``, 2 for ``(batch, 1)``.
        strip_asserts: drop ``Assert`` nodes (the generators' class-id range checks).

    Returns:
        A ``tf.compat.v1.GraphDef``.

    Example:

    >>> graph_def = frozen_graph_def(gan, batch_size=1)                    # doctest: +SKIP
    >>> sorted(n.name for n in graph_def.node if n.op == "Placeholder")   # doctest: +SKIP
    ['y', 'z']
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    module = serving_module(model, batch_size=batch_size, training=training, use_ema=use_ema,
                            label_rank=label_rank)
    concrete = module.serve.get_concrete_function()
    try:
        frozen = convert_variables_to_constants_v2(concrete)
    except ValueError as error:  # pragma: no cover - depends on a layer writing state directly
        raise ValueError(
            "Freezing the generator failed; a layer probably writes a variable in a way "
            f"export cannot disable. TensorFlow said: {error}"
        ) from error
    graph_def = frozen.graph.as_graph_def()
    graph_def = tf.compat.v1.graph_util.extract_sub_graph(graph_def, [OUTPUT_NAME])
    if strip_asserts:
        graph_def = _without_asserts(graph_def)
    return graph_def


def export_frozen_graph(model, path, batch_size=1, training=False, use_ema=True, label_rank=1,
                        strip_asserts=True):
    """Writes the frozen graph ``.pb`` (binary ``GraphDef``) for ATC / TF1-style inference.

    Load it with :func:`load_frozen_graph` and ``tf.compat.v1.import_graph_def(graph_def,
    name="")``; feed ``z:0`` / ``y:0`` (or ``source:0``), fetch ``output:0``. Arguments as
    :func:`frozen_graph_def`.

    Returns:
        ``path`` (a string).

    Example:

    >>> export_frozen_graph(gan, "biggan.pb", batch_size=1)                # doctest: +SKIP
    >>> print(atc_command("biggan.pb"))                                    # doctest: +SKIP
    atc --framework=3 --model=biggan.pb --output=biggan --input_shape="z:1,120;y:1" --soc_version=Ascend910
    """
    graph_def = frozen_graph_def(model, batch_size=batch_size, training=training, use_ema=use_ema,
                                 label_rank=label_rank, strip_asserts=strip_asserts)
    return _write_bytes(path, graph_def.SerializeToString())


def load_frozen_graph(path):
    """Reads a binary ``GraphDef`` ``.pb`` file (e.g. from :func:`export_frozen_graph`).

    Raises:
        ValueError: naming the file when it does not exist or is not a GraphDef.
    """
    path = str(path)
    if not tf.io.gfile.exists(path):
        raise ValueError(f"Frozen graph file {path!r} does not exist.")
    graph_def = tf.compat.v1.GraphDef()
    with tf.io.gfile.GFile(path, "rb") as handle:
        data = handle.read()
    try:
        graph_def.ParseFromString(data)
    except Exception as error:  # protobuf raises its own DecodeError
        raise ValueError(f"{path!r} is not a binary GraphDef (.pb) file: {error}") from error
    return graph_def


def graph_inputs(graph_def):
    """``{name: (shape, numpy dtype)}`` of a graph's placeholders (``None`` for unknown dims).

    Example:

    >>> graph_inputs(load_frozen_graph("biggan.pb"))                       # doctest: +SKIP
    {'z': ((1, 120), dtype('float32')), 'y': ((1,), dtype('int32'))}
    """
    inputs = {}
    for node in graph_def.node:
        if node.op != "Placeholder":
            continue
        shape = tf.TensorShape(node.attr["shape"].shape)
        dims = tuple(shape.as_list()) if shape.rank is not None else None
        inputs[node.name] = (dims, tf.as_dtype(node.attr["dtype"].type).as_numpy_dtype().dtype)
    return inputs


def atc_command(graph_path, output=None, soc_version="Ascend910"):
    """The ATC command line that converts an exported frozen graph to an Ascend offline model.

    ``--input_shape`` is read off the graph's placeholders (e.g. ``"z:1,120;y:1"``).

    Args:
        graph_path: the frozen graph ``.pb`` written by :func:`export_frozen_graph`.
        output: the offline model's path without ``.om`` (default: ``graph_path`` without
            its extension).
        soc_version: the Ascend processor (``Ascend910``, ``Ascend310``, ...).

    Returns:
        The command as one string.

    Raises:
        ValueError: when a placeholder has a dynamic dimension (ATC needs static shapes:
            export with a ``batch_size``).
    """
    graph_path = str(graph_path)
    parts = []
    for name, (shape, _) in graph_inputs(load_frozen_graph(graph_path)).items():
        if shape is None or any(dim is None for dim in shape):
            raise ValueError(
                f"Input {name!r} of {graph_path!r} has a dynamic shape {shape}; ATC needs static "
                "shapes. Export with an integer `batch_size`."
            )
        parts.append(f"{name}:{','.join(str(dim) for dim in shape)}")
    if output is None:
        output = os.path.splitext(graph_path)[0]
    return (
        f"atc --framework=3 --model={graph_path} --output={output} "
        f"--input_shape=\"{';'.join(parts)}\" --soc_version={soc_version}"
    )


# ----------------------------------------------------------------------------- ONNX


def _tf2onnx():
    try:
        import tf2onnx
    except ImportError as error:
        raise ImportError(
            "ONNX export needs the `tf2onnx` package (and `onnxruntime` to run the result), "
            "which is not installed. Install them with `pip install \"ascendgan[onnx]\"` "
            "(or `pip install tf2onnx onnxruntime`)."
        ) from error
    return tf2onnx


def _rename_onnx_values(model_proto, mapping):
    graph = model_proto.graph
    for value in list(graph.input) + list(graph.output):
        value.name = mapping.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [mapping.get(name, name) for name in node.input]
        node.output[:] = [mapping.get(name, name) for name in node.output]


def export_onnx(model, path, batch_size=1, training=False, use_ema=True, label_rank=1,
                opset=DEFAULT_OPSET):
    """Writes the generator as an ONNX model (needs ``tf2onnx``: the ``onnx`` extra).

    The frozen graph of :func:`frozen_graph_def` is converted with tf2onnx; the ONNX inputs
    and output are renamed to ``z``/``y`` (or ``source``) and ``output``.

    Args:
        model: a GAN or an ascendgan generator (see :func:`serving_module`).
        path: the ``.onnx`` file.
        batch_size: static batch size (``None``: dynamic).
        training: training-mode batch norm / dropout (default: inference mode).
        use_ema: export the averaged generator of a GAN when there is one.
        label_rank: 1 for ``y`` of shape ``(batch,)``, 2 for ``(batch, 1)``.
        opset: the ONNX opset (default 13; ATC accepts 11 to 15).

    Returns:
        ``path`` (a string).

    Raises:
        ImportError: naming ``tf2onnx`` and the ``onnx`` extra when it is missing.

    Example:

    >>> export_onnx(gan, "generator.onnx")                                 # doctest: +SKIP
    """
    tf2onnx = _tf2onnx()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or opset < 7:
        raise ValueError(f"`opset` must be an integer ONNX opset (e.g. 13). Received: opset={opset!r}")
    graph_def = frozen_graph_def(model, batch_size=batch_size, training=training, use_ema=use_ema,
                                 label_rank=label_rank)
    names = list(graph_inputs(graph_def))
    model_proto, _ = tf2onnx.convert.from_graph_def(
        graph_def,
        input_names=[f"{name}:0" for name in names],
        output_names=[f"{OUTPUT_NAME}:0"],
        opset=int(opset),
    )
    mapping = {f"{name}:0": name for name in names}
    mapping[f"{OUTPUT_NAME}:0"] = OUTPUT_NAME
    _rename_onnx_values(model_proto, mapping)
    return _write_bytes(path, model_proto.SerializeToString())


# ----------------------------------------------------------------------------- dispatch


def export(model, path, format="saved_model", batch_size=1, training=False, use_ema=True,
           label_rank=1):
    """Exports ``model`` in one of :data:`FORMATS` (the ``ascendgan export`` command).

    Args:
        model: a GAN or an ascendgan generator.
        path: the SavedModel directory, ``.pb`` file or ``.onnx`` file.
        format: ``"saved_model"``, ``"frozen_graph"`` or ``"onnx"``.
        batch_size, training, use_ema, label_rank: see :func:`serving_module`.

    Returns:
        ``path`` (a string).

    Example:

    >>> export(gan, "biggan.pb", format="frozen_graph", batch_size=1)      # doctest: +SKIP
    """
    writers = {
        "saved_model": export_saved_model,
        "frozen_graph": export_frozen_graph,
        "onnx": export_onnx,
    }
    if format not in writers:
        raise ValueError(f"`format` must be one of {FORMATS}. Received: format={format!r}")
    return writers[format](model, path, batch_size=batch_size, training=training, use_ema=use_ema,
                           label_rank=label_rank)


__all__ = [
    "DEFAULT_OPSET",
    "FORMATS",
    "LABEL_NAME",
    "LATENT_NAME",
    "OUTPUT_NAME",
    "SOURCE_NAME",
    "atc_command",
    "export",
    "export_frozen_graph",
    "export_onnx",
    "export_saved_model",
    "frozen_graph_def",
    "graph_inputs",
    "input_signature",
    "load_frozen_graph",
    "serving_module",
]
