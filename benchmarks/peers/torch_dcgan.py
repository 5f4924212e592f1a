"""A PyTorch DCGAN-64 with the architecture of ``ascendgan.models.dcgan("celeba")``.

Written from the DCGAN paper (Radford, Metz, Chintala, arXiv:1511.06434) with the layer list
of ascendgan's :class:`~ascendgan.models.dcgan.DCGANGenerator` / ``DCGANDiscriminator``, so
that the two can be timed side by side (issue 15). Same parameter counts as ascendgan:
generator 3,576,704, discriminator 2,765,568 trainable parameters.

- generator: z (n, 100) -> Linear 4·4·512 (no bias) -> BN -> ReLU -> ConvT 256 -> BN -> ReLU
  -> ConvT 128 -> BN -> ReLU -> ConvT 64 -> BN -> ReLU -> ConvT 3 -> tanh; every ConvT 4x4,
  stride 2, padding 1, no bias (ascendgan's "same" padding for k=4, s=2).
- discriminator: Conv 64 -> LReLU(0.2) -> Conv 128 -> BN -> LReLU -> Conv 256 -> BN -> LReLU
  -> Conv 512 -> BN -> LReLU -> flatten -> Linear 1 (no bias); every Conv 4x4, stride 2,
  padding 1, no bias.
- weights N(0, 0.02), batch-norm gammas N(1, 0.02); batch norm momentum 0.9 (PyTorch's 0.1)
  and epsilon 1e-5.

One training iteration, as ascendgan trains the preset (``reuse_fakes=True``): one generator
pass; the discriminator step trains on those fakes (detached) with the non-saturating loss;
the generator step back-propagates the updated discriminator's verdict on the same fakes
into that pass. Only the generator's parameters receive gradients in the generator step (as
ascendgan's tape over the fakes). Adam lr 2e-4, β (0.5, 0.999); latents U[-1, 1].

Example::

    generator, discriminator, train_iteration = build(64, precision="bfloat16")
    losses = train_iteration(torch.rand(64, 3, 64, 64) * 2 - 1)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.peers._torch_common import autocast, count_parameters
from benchmarks.peers._torch_common import batch_norm as _batch_norm
from benchmarks.peers._torch_common import check_precision as _check_precision

LATENT_DIM = 100
IMAGE_SIZE = 64
BASE_FILTERS = 64
KERNEL_SIZE = 4


def _init_weights(module):
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


class Generator(nn.Module):
    """DCGAN generator: z (n, latent_dim) -> images (n, 3, 64, 64) in [-1, 1]."""

    def __init__(self, latent_dim=LATENT_DIM, base_filters=BASE_FILTERS, channels=3):
        super().__init__()
        self.start_filters = base_filters * 8
        self.project = nn.Linear(latent_dim, 4 * 4 * self.start_filters, bias=False)
        self.project_bn = _batch_norm(self.start_filters)
        layers = []
        filters = self.start_filters
        for _ in range(3):
            layers += [
                nn.ConvTranspose2d(filters, filters // 2, KERNEL_SIZE, 2, 1, bias=False),
                _batch_norm(filters // 2),
                nn.ReLU(inplace=True),
            ]
            filters //= 2
        layers += [nn.ConvTranspose2d(filters, channels, KERNEL_SIZE, 2, 1, bias=False), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        _init_weights(self)

    def forward(self, z):
        x = self.project(z).view(z.shape[0], self.start_filters, 4, 4)
        x = F.relu(self.project_bn(x))
        return self.body(x)


class Discriminator(nn.Module):
    """DCGAN discriminator: images (n, 3, 64, 64) -> logits (n, 1)."""

    def __init__(self, base_filters=BASE_FILTERS, channels=3):
        super().__init__()
        layers = []
        in_channels = channels
        for i in range(4):
            filters = base_filters * 2**i
            layers.append(nn.Conv2d(in_channels, filters, KERNEL_SIZE, 2, 1, bias=False))
            if i > 0:  # no batch normalization on the input layer
                layers.append(_batch_norm(filters))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_channels = filters
        layers.append(nn.Flatten())
        self.body = nn.Sequential(*layers)
        self.logit = nn.Linear(in_channels * 4 * 4, 1, bias=False)
        _init_weights(self)

    def forward(self, images):
        return self.logit(self.body(images))


def build(batch_size, precision="float32", seed=0):
    """The networks and a closure doing one ascendgan-style training iteration.

    Args:
        batch_size: images per iteration (the latents drawn per iteration).
        precision: "float32" or "bfloat16" (CPU autocast + channels_last memory format).
        seed: torch seed for the weights.

    Returns:
        ``(generator, discriminator, train_iteration)``; ``train_iteration(real, z=None)``
        takes real images (n, 3, 64, 64) in [-1, 1] and returns ``(d_loss, g_loss)`` tensors.
    """
    _check_precision(precision)
    torch.manual_seed(seed)
    generator = Generator()
    discriminator = Discriminator()
    if precision == "bfloat16":
        generator = generator.to(memory_format=torch.channels_last)
        discriminator = discriminator.to(memory_format=torch.channels_last)
    generator.train()
    discriminator.train()
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_parameters = list(generator.parameters())

    def train_iteration(real, z=None):
        if precision == "bfloat16":
            real = real.contiguous(memory_format=torch.channels_last)
        if z is None:
            z = torch.rand(batch_size, LATENT_DIM) * 2 - 1  # uniform_signed, the paper's
        with autocast(precision):
            fakes = generator(z)
        # Discriminator step on the one generator pass's fakes.
        with autocast(precision):
            real_logits = discriminator(real).float()
            fake_logits = discriminator(fakes.detach()).float()
        d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        # Generator step: the updated discriminator's verdict on the same fakes.
        with autocast(precision):
            fake_logits = discriminator(fakes).float()
        g_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward(inputs=g_parameters)  # no discriminator weight gradients
        g_optimizer.step()
        return d_loss.detach(), g_loss.detach()

    return generator, discriminator, train_iteration


__all__ = ["Discriminator", "Generator", "build", "count_parameters"]
