"""Exporting a generator for serving and offline inference: SavedModel, frozen graph, ONNX.

Every format holds the same computation, a *serving function* with static shapes chosen at
export time (:mod:`ascendgan.export.serving`):

- latent generators (BigGAN, DCGAN): input ``z`` ``(batch, latent_dim)`` float32 and, for
  class-conditional ones, ``y`` int32 class ids of shape ``(batch,)`` (``label_rank=1``)
  or ``(batch, 1)`` (``label_rank=2``);
- image-to-image generators (Pix2Pix): input ``source`` ``(batch, height, width,
  channels)`` float32 in [-1, 1];
- output ``output``: float32 images ``(batch, height, width, channels)`` in [-1, 1], also
  under a mixed-precision policy (the cast happens inside the graph).

Given a :class:`~ascendgan.training.GAN`, the averaged generator is exported when there is
one (``use_ema=True``; ``gan.sampling_generator(use_ema)``). Batch norm runs in inference
mode (moving statistics) unless ``training=True`` (batch statistics and active dropout,
e.g. Pix2Pix's test mode). Either way the exported graph is stateless: batch-norm moving
statistics, spectral-norm vectors and random-seed states are read, never written.

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

from ascendgan.export.atc import atc_command
from ascendgan.export.frozen_graph import (
    export_frozen_graph,
    frozen_graph_def,
    graph_inputs,
    load_frozen_graph,
)
from ascendgan.export.onnx import DEFAULT_OPSET, export_onnx
from ascendgan.export.saved_model import export_saved_model
from ascendgan.export.serving import (
    LABEL_NAME,
    LATENT_NAME,
    OUTPUT_NAME,
    SOURCE_NAME,
    input_signature,
    serving_module,
)
from ascendgan.validation import check_choice

#: Export formats of :func:`export`.
FORMATS = ("saved_model", "frozen_graph", "onnx")


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
    check_choice("format", format, FORMATS)
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
