"""The application layer: the documented runs, run directories and trainers (work in progress)."""

from ascendgan.recipes.runs import (
    DEFAULT_PRESETS,
    FAMILIES,
    SMOKE_OVERRIDES,
    build_dataset,
    build_gan,
    load_run,
    read_run,
    replica_overrides,
    train_gan,
)

__all__ = ["DEFAULT_PRESETS", "FAMILIES", "SMOKE_OVERRIDES", "build_dataset", "build_gan", "load_run", "read_run",
           "replica_overrides", "train_gan"]
