"""Training: the ``GAN`` Keras model and its callbacks."""

from ascendgan.training.callbacks import GANCheckpoint, SampleGrid, Throughput, restore_latest
from ascendgan.training.gan import GAN, LATENT_DISTRIBUTIONS, latent_prior

__all__ = ["GAN", "GANCheckpoint", "SampleGrid", "Throughput", "LATENT_DISTRIBUTIONS", "latent_prior", "restore_latest"]
