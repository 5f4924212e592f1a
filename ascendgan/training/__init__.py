"""Training: the ``GAN`` Keras model and its callbacks."""

from ascendgan.latents import LATENT_DISTRIBUTIONS, latent_prior
from ascendgan.training.callbacks import SampleGrid, Throughput
from ascendgan.training.checkpoints import (
    GANCheckpoint,
    PeriodicCheckpoint,
    checkpoint_manager,
    restore_latest,
)
from ascendgan.training.gan import GAN

__all__ = [
    "GAN",
    "GANCheckpoint",
    "LATENT_DISTRIBUTIONS",
    "PeriodicCheckpoint",
    "SampleGrid",
    "Throughput",
    "checkpoint_manager",
    "latent_prior",
    "restore_latest",
]
