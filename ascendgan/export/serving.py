"""The serving function every export format holds, traced once with static shapes.

:func:`serving_module` traces the generator into a ``tf.function`` and then removes the
graph's variable writes (batch-norm moving statistics, spectral-norm vectors, Keras 3 seed
states, written in training mode): the trace is re-imported into a second ``tf.function``
without the assignment ops, its variable captures mapped to the same variables. The
exported function therefore reads the variables and never writes them; a frozen graph can
fold them into constants and a served SavedModel does not drift between calls.
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan import compat
from ascendgan.validation import check_bool, check_choice, check_int

#: Name of the output node / signature output.
OUTPUT_NAME = "output"
#: Input names: latent, class ids, source image.
LATENT_NAME, LABEL_NAME, SOURCE_NAME = "z", "y", "source"
#: The graph ops that write a resource variable; the serving function has none of them.
STATE_WRITE_OPS = ("AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp")


class _Plan:
    """What to export: the generator and how to call it."""

    def __init__(self, generator, latent_dim=None, num_classes=None, image_shape=None):
        self.generator = generator
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.image_shape = image_shape


def _plan(model, use_ema):
    if hasattr(model, "sampling_generator"):  # a GAN (duck-typed: ascendgan.training.GAN)
        model.build_models()
        generator = model.sampling_generator(use_ema)
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
    batch_size = check_int("batch_size", batch_size, minimum=1, allow_none=True)
    label_rank = check_choice("label_rank", label_rank, (1, 2))
    return _signature(_plan(model, use_ema), batch_size, label_rank)


def _signature(plan, batch_size, label_rank):
    if plan.latent_dim is None:
        return [tf.TensorSpec((batch_size, *plan.image_shape), tf.float32, name=SOURCE_NAME)]
    specs = [tf.TensorSpec((batch_size, plan.latent_dim), tf.float32, name=LATENT_NAME)]
    if plan.num_classes is not None:
        shape = (batch_size,) if label_rank == 1 else (batch_size, 1)
        specs.append(tf.TensorSpec(shape, tf.int32, name=LABEL_NAME))
    return specs


def drop_nodes(graph_def, op_types):
    """A copy of ``graph_def`` without the nodes of the given op types and the control edges
    to them (data edges from them must not exist: these are ops nobody reads, such as
    ``Assert`` or variable writes).

    Example:

    >>> graph_def = drop_nodes(graph_def, ("Assert",))                    # doctest: +SKIP
    """
    removed = {node.name for node in graph_def.node if node.op in op_types}
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
    return kept


def _named_serving_function(call, specs):
    """``call(list of inputs) -> images`` as a ``tf.function`` with the named arguments of
    ``specs`` (``source``, ``z`` or ``z, y``), returning ``{"output": float32 images}``."""

    def finish(images):
        return {OUTPUT_NAME: tf.identity(tf.cast(images, tf.float32), name=OUTPUT_NAME)}

    names = tuple(spec.name for spec in specs)
    if names == (SOURCE_NAME,):
        def serve(source):
            return finish(call([source]))
    elif names == (LATENT_NAME,):
        def serve(z):
            return finish(call([z]))
    else:
        def serve(z, y):
            return finish(call([z, y]))
    return tf.function(serve, input_signature=specs, autograph=False)


def _without_state_writes(traced, specs, output_name):
    """Re-traces the concrete function ``traced`` with its variable writes removed; the new
    function returns the tensor ``output_name`` of ``traced`` (the generator's images).

    The variables ``traced`` reads stay captured (a SavedModel keeps them; freezing folds
    them into constants). A read that followed a removed write now sees the stored value,
    so every read sees the variables as they are.
    """
    graph_def = drop_nodes(traced.graph.as_graph_def(), STATE_WRITE_OPS)
    nested = sorted({function.signature.name for function in graph_def.library.function
                     for node in function.node_def if node.op in STATE_WRITE_OPS})
    if nested:
        raise ValueError(
            "The generator writes variables inside nested TensorFlow functions "
            f"({', '.join(nested)}), which export cannot remove. Export in inference mode "
            "(training=False) or write state outside tf.function-decorated helpers."
        )
    input_names = [tensor.name for tensor in traced.graph.inputs[:len(specs)]]
    captures = list(traced.graph.captures)  # (outer tensor, inner placeholder)
    variables = {id(variable.handle): variable for variable in traced.graph.variables}

    def call(inputs):
        graph = tf.compat.v1.get_default_graph()  # the FuncGraph being traced
        input_map = dict(zip(input_names, inputs))
        for outer, inner in captures:
            if id(outer) in variables:
                graph.watch_variable(variables[id(outer)])  # so freezing finds its value
            input_map[inner.name] = graph.capture(outer)
        (images,) = tf.graph_util.import_graph_def(
            graph_def, input_map=input_map, return_elements=[output_name], name="generator"
        )
        return images

    return _named_serving_function(call, specs)


def serving_module(model, batch_size=1, training=False, use_ema=True, label_rank=1):
    """A ``tf.Module`` whose ``serve`` ``tf.function`` maps the named inputs to ``{"output":
    images}`` (float32, [-1, 1]); the building block of every export format.

    The function is traced here, with static shapes, and holds no variable writes (see the
    module docstring): batch-norm moving statistics, spectral-norm vectors and random-seed
    states are read, never written, also with ``training=True``.

    Args:
        model: a :class:`~ascendgan.training.GAN` (``gan.sampling_generator(use_ema)``) or
            an ascendgan generator (a Keras model with ``latent_dim`` / ``num_classes``, or
            with ``image_size`` / ``input_channels``).
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
    generator = _plan(model, use_ema).generator
    training = check_bool("training", training)

    outputs = []

    def call(inputs):
        if len(inputs) == 2:
            z, y = inputs
            outputs.append(generator([z, tf.reshape(y, [-1])], training=training))
        else:
            outputs.append(generator(inputs[0], training=training))
        return outputs[-1]

    traced = _named_serving_function(call, specs).get_concrete_function()
    module = tf.Module(name="ascendgan_serving")
    # Track the variables themselves rather than the Keras model, so that saving does not
    # run Keras's own (legacy Keras: per-layer) SavedModel serialization.
    module.captured_variables = list(traced.graph.variables)
    module.generator = _Untracked(generator)
    module.input_names = tuple(spec.name for spec in specs)
    module.serve = _without_state_writes(traced, specs, outputs[-1].name)
    module.serve.get_concrete_function()
    return module


class _Untracked:
    """Holds an object on a ``tf.Module`` without tracking it for saving."""

    def __init__(self, value):
        self.value = value

    def __call__(self, *args, **kwargs):
        return self.value(*args, **kwargs)


__all__ = [
    "LABEL_NAME",
    "LATENT_NAME",
    "OUTPUT_NAME",
    "SOURCE_NAME",
    "STATE_WRITE_OPS",
    "drop_nodes",
    "input_signature",
    "serving_module",
]
