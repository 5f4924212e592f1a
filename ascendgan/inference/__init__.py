"""Offline inference on raw ``.bin`` files: run an exported generator the way Ascend's tools do.

Ascend's offline flow converts a frozen graph to an offline model with ATC and runs it with
``msame``, which reads each input from a raw binary file (the bytes numpy's
``array.tofile()`` writes: C order, no header) and writes each output to
``<name>_output_<i>.bin``. This package runs the *exported* model (frozen ``.pb``,
SavedModel or ONNX; see :mod:`ascendgan.export`) on the same files on any machine, so
offline results can be compared with online ones (``GAN.generate``) before and after
conversion:

1. :func:`write_seed_inputs` writes ``z`` (float32) and ``y`` (int32) files for seeds,
   ``<dir>/z/<stem>.bin`` and ``<dir>/y/<stem>.bin`` (the latents ``GAN.generate`` draws
   for the same seeds); :func:`write_inputs` writes any arrays in that layout
   (:mod:`ascendgan.inference.binary`).
2. :func:`run_inference` runs an exported model on every ``<stem>`` and writes
   ``<out>/<stem>_output_0.bin`` (float32) and, optionally, ``<out>/<stem>.png``
   (:mod:`ascendgan.inference.runner`).
3. :func:`write_online_outputs` writes the Keras generator's images for the same seeds in
   the same layout; :func:`compare` reports the maximum absolute difference
   (:mod:`ascendgan.inference.comparison`).

4. :func:`evaluate_outputs` scores the outputs of an offline run (msame's ``.bin`` /
   ``.txt`` files, or :func:`run_inference`'s) with IS / FID / KID through
   :func:`ascendgan.metrics.evaluate`, like a generator
   (:mod:`ascendgan.inference.scoring`).

The command line is ``ascendgan infer {write-inputs,run,compare,score} ...`` (also
``python -m ascendgan.inference ...``).
"""

from ascendgan.inference.binary import (
    OUTPUT_SUFFIX,
    RANDOM_LABELS,
    random_seed_labels,
    read_bin,
    seed_stem,
    write_bin,
    write_inputs,
    write_online_outputs,
    write_seed_inputs,
)
from ascendgan.inference.comparison import Comparison, compare
from ascendgan.inference.runner import (
    EXPORTED_FORMATS,
    ExportedModel,
    detect_format,
    load_exported,
    run_inference,
)
from ascendgan.inference.scoring import (
    MSAME_RUN_FOLDER,
    OUTPUT_DTYPES,
    OUTPUT_FORMATS,
    evaluate_outputs,
    offline_images,
    output_files,
    read_output,
)

__all__ = [
    "EXPORTED_FORMATS",
    "MSAME_RUN_FOLDER",
    "OUTPUT_DTYPES",
    "OUTPUT_FORMATS",
    "OUTPUT_SUFFIX",
    "RANDOM_LABELS",
    "Comparison",
    "ExportedModel",
    "compare",
    "detect_format",
    "evaluate_outputs",
    "load_exported",
    "offline_images",
    "output_files",
    "random_seed_labels",
    "read_bin",
    "read_output",
    "run_inference",
    "seed_stem",
    "write_bin",
    "write_inputs",
    "write_online_outputs",
    "write_seed_inputs",
]
