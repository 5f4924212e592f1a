"""The application layer: the documented runs, their run directories and trainers.

This is the only code that brings models, data, strategy and training together; the library
(``ascendgan.layers`` ... ``ascendgan.strategy``) never imports it. The ``ascendgan`` command
and the scripts in ``examples/`` both call these functions:

>>> from ascendgan.recipes import DataSource, GANRun, train_gan          # doctest: +SKIP
>>> train_gan(GANRun("dcgan", data=DataSource("/data/mnist"), epochs=5))  # doctest: +SKIP
"""

from ascendgan.recipes.classifier import (
    ClassifierCheckpoint,
    compile_classifier,
    evaluate_checkpoints,
    evaluate_run,
    fit_classifier,
    restore_classifier,
    start_classifier,
    train_classifier,
)
from ascendgan.recipes.classifier_run import ClassifierRun, StepLog, TrainingScalars
from ascendgan.recipes.datasets import (
    HELD_OUT,
    PAIR_LAYOUTS,
    SHIPPED_MNIST,
    DataSource,
    preset_dataset,
    training_split,
)
from ascendgan.recipes.run_dir import RunDirectory, read_run
from ascendgan.recipes.runs import (
    TRAINING_FID_MIN_STEPS,
    TRAINING_FID_SAMPLES,
    GANRun,
    StopAtStep,
    TrainingPlan,
    final_fid,
    held_out_split,
    load_run,
    plan_training,
    record_final_fid,
    replica_overrides,
    run_callbacks,
    run_preset,
    run_record,
    start_run,
    train_gan,
    training_fid,
)
from ascendgan.recipes.storage import CopyBack, localize_data, pull_run, push_run

__all__ = [
    "HELD_OUT",
    "PAIR_LAYOUTS",
    "SHIPPED_MNIST",
    "training_split",
    "ClassifierCheckpoint",
    "ClassifierRun",
    "StepLog",
    "CopyBack",
    "TrainingScalars",
    "compile_classifier",
    "evaluate_checkpoints",
    "evaluate_run",
    "fit_classifier",
    "restore_classifier",
    "start_classifier",
    "train_classifier",
    "DataSource",
    "GANRun",
    "RunDirectory",
    "StopAtStep",
    "TrainingPlan",
    "final_fid",
    "held_out_split",
    "training_fid",
    "TRAINING_FID_MIN_STEPS",
    "TRAINING_FID_SAMPLES",
    "load_run",
    "record_final_fid",
    "localize_data",
    "plan_training",
    "preset_dataset",
    "pull_run",
    "push_run",
    "read_run",
    "replica_overrides",
    "run_callbacks",
    "run_preset",
    "run_record",
    "start_run",
    "train_gan",
]
