"""Training: the ``GAN`` Keras model and its callbacks."""

from ascendgan.latents import LATENT_DISTRIBUTIONS, latent_prior
from ascendgan.training.callbacks import SampleGrid, Throughput
from ascendgan.training.checkpoints import (
    CheckpointError,
    CheckpointWarning,
    GANCheckpoint,
    PeriodicCheckpoint,
    checkpoint_manager,
    find_checkpoints,
    newest_restorable,
    restore_checkpoint,
    restore_latest,
)
from ascendgan.training.gan import GAN
from ascendgan.training.weight_keys import CheckpointModeError

__all__ = [
    "CheckpointError",
    "CheckpointModeError",
    "CheckpointWarning",
    "GAN",
    "GANCheckpoint",
    "LATENT_DISTRIBUTIONS",
    "PeriodicCheckpoint",
    "SampleGrid",
    "Throughput",
    "checkpoint_manager",
    "find_checkpoints",
    "newest_restorable",
    "restore_checkpoint",
    "latent_prior",
    "restore_latest",
]
