"""Sampling: turning a GAN's generator into pictures.

Images are channels-last in [-1, 1] everywhere in ascendgan; the writers convert to 8-bit
pixels at their own boundary.

- :mod:`ascendgan.sampling.generation`: reproducible latents for a seed
  (:func:`gan_latents`, :func:`prior_latents`), the generator on given latents
  (:func:`generate_from_latents`), the truncation trick (:func:`sample_grid`,
  :func:`truncation_grid`), class-conditional grids with one row per class
  (:func:`class_grid`), latent walks (:func:`interpolate`) and class-to-class
  interpolation with shared latents (:func:`interpolate_classes`). They duck-type the GAN
  (see :class:`~ascendgan.training.GAN`), so this package never imports
  :mod:`ascendgan.training`.
- :mod:`ascendgan.sampling.interpolation`: :func:`lerp` and :func:`slerp` (TensorFlow
  maths).
- :mod:`ascendgan.sampling.images`: :func:`to_uint8`, :func:`image_grid` and the atomic
  writers :func:`save_png`, :func:`save_image_grid` and :func:`save_gif` (which needs
  Pillow).

This is what the ``ascendgan sample`` command and the training callback
:class:`~ascendgan.training.SampleGrid` use.
"""

from ascendgan.sampling.generation import (
    class_grid,
    gan_latents,
    generate_from_latents,
    interpolate,
    interpolate_classes,
    prior_latents,
    sample_grid,
    truncation_grid,
)
from ascendgan.sampling.images import image_grid, save_gif, save_image_grid, save_png, to_uint8
from ascendgan.sampling.interpolation import INTERPOLATION_METHODS, lerp, slerp

__all__ = [
    "INTERPOLATION_METHODS",
    "class_grid",
    "gan_latents",
    "generate_from_latents",
    "image_grid",
    "interpolate",
    "interpolate_classes",
    "lerp",
    "prior_latents",
    "sample_grid",
    "save_gif",
    "save_image_grid",
    "save_png",
    "slerp",
    "to_uint8",
    "truncation_grid",
]
