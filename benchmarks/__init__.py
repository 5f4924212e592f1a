"""Training-speed benchmarks of ascendgan's documented models (not part of the installed
package; run ``python benchmarks/run.py``).

Modules: :mod:`benchmarks.subjects` (the models at their documented configuration),
:mod:`benchmarks.harness` (timing one configuration, fresh processes, the results JSON),
:mod:`benchmarks.flops` (FLOP counting on the traced training step),
:mod:`benchmarks.profiling` (op-type time breakdown) and ``run.py`` (the command).
"""
