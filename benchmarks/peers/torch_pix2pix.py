"""A PyTorch pix2pix with the architecture of ``ascendgan.models.pix2pix("facades")``.

Written from the pix2pix paper (Isola, Zhu, Zhou, Efros, arXiv:1611.07004) with the layer
list of ascendgan's :class:`~ascendgan.models.pix2pix.UNetGenerator` and
``PatchGANDiscriminator``, so the two can be timed side by side (issue 15). Same parameter
counts as ascendgan: U-Net-256 54,413,955, 70x70 PatchGAN 2,768,705 trainable parameters.

- U-Net-256 generator, all convolutions 4x4, stride 2, padding 1.
  Encoder ``C64-C128-C256-C512-C512-C512-C512-C512``: level 0 Conv (no bias, no BN);
  levels 1-6 LReLU(0.2) -> Conv (no bias) -> BN; level 7 (1x1) LReLU -> Conv (no bias, no BN).
  Decoder from the innermost level out: ReLU -> ConvT (no bias) -> BN [-> Dropout 0.5 on
  the first three]; every later level first concatenates the encoder output of its level
  (skip first) with x; the last level's ConvT to 3 channels has a bias and ends in tanh.
- PatchGAN on the channel concatenation (source, target): C64 s2 (bias) -> LReLU,
  C128 s2 -> BN -> LReLU, C256 s2 -> BN -> LReLU, C512 s1 -> BN -> LReLU, C1 s1 (bias);
  4x4 kernels, padding 1; convolutions followed by BN have no bias. 256x256 -> 30x30 logits.
- weights N(0, 0.02), batch-norm gammas N(1, 0.02); batch norm momentum 0.9 (PyTorch's 0.1),
  epsilon 1e-5 (ascendgan's Keras batch norm).

One training iteration, as ascendgan trains the preset (``reuse_fakes=True``): one generator
pass (dropout on); the discriminator step trains on (source, real) vs (source, fake.detach())
with the non-saturating loss; the generator step takes the updated discriminator's verdict on
the same fakes plus 100 · mean |real - fake|, back-propagated into the one generator pass
(generator parameters only). Adam lr 2e-4, β (0.5, 0.999).

Example::

    generator, discriminator, train_iteration = build(1, precision="bfloat16")
    losses = train_iteration(source, target)     # (n, 3, 256, 256) each, in [-1, 1]
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.peers._torch_common import autocast, count_parameters
from benchmarks.peers._torch_common import batch_norm as _batch_norm
from benchmarks.peers._torch_common import check_precision as _check_precision

IMAGE_SIZE = 256
BASE_FILTERS = 64
NUM_DOWNSAMPLINGS = 8
L1_WEIGHT = 100.0


def _init_weights(module):
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


class UNetGenerator(nn.Module):
    """U-Net generator: images (n, 3, 256, 256) -> images (n, 3, 256, 256) in [-1, 1]."""

    def __init__(self, input_channels=3, output_channels=3, base_filters=BASE_FILTERS,
                 levels=NUM_DOWNSAMPLINGS, dropout=0.5, dropout_layers=3):
        super().__init__()
        filters = [base_filters * min(2**i, 8) for i in range(levels)]
        self.encoder = nn.ModuleList()
        for i in range(levels):
            layers = []
            if i > 0:
                layers.append(nn.LeakyReLU(0.2))
            layers.append(nn.Conv2d(input_channels if i == 0 else filters[i - 1], filters[i], 4, 2, 1,
                                    bias=False))
            if 0 < i < levels - 1:
                layers.append(_batch_norm(filters[i]))
            self.encoder.append(nn.Sequential(*layers))
        self.decoder = nn.ModuleList()
        for step, level in enumerate(reversed(range(levels))):
            outermost = level == 0
            in_channels = filters[level] if level == levels - 1 else 2 * filters[level]
            out_channels = output_channels if outermost else filters[level - 1]
            layers = [nn.ReLU(), nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=outermost)]
            if outermost:
                layers.append(nn.Tanh())
            else:
                layers.append(_batch_norm(out_channels))
                if step < dropout_layers and dropout > 0:
                    layers.append(nn.Dropout(dropout))
            self.decoder.append(nn.Sequential(*layers))
        _init_weights(self)

    def forward(self, x):
        skips = []
        for level in self.encoder:
            x = level(x)
            skips.append(x)
        skips.pop()  # the innermost output is not a skip
        for index, level in enumerate(self.decoder):
            if index > 0:
                x = torch.cat([skips.pop(), x], dim=1)
            x = level(x)
        return x


class PatchGANDiscriminator(nn.Module):
    """70x70 PatchGAN: (source, target) images -> logit map (n, 1, 30, 30) at 256x256."""

    def __init__(self, input_channels=6, base_filters=BASE_FILTERS, num_layers=3):
        super().__init__()
        specs = [(base_filters, 2, False)]
        specs += [(base_filters * min(2**n, 8), 2, True) for n in range(1, num_layers)]
        specs += [(base_filters * min(2**num_layers, 8), 1, True), (1, 1, False)]
        layers = []
        channels = input_channels
        for index, (filters, stride, normalized) in enumerate(specs):
            layers.append(nn.Conv2d(channels, filters, 4, stride, 1, bias=not normalized))
            if normalized:
                layers.append(_batch_norm(filters))
            if index < len(specs) - 1:
                layers.append(nn.LeakyReLU(0.2))
            channels = filters
        self.body = nn.Sequential(*layers)
        _init_weights(self)

    def forward(self, source, target):
        return self.body(torch.cat([source, target], dim=1))


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def build(batch_size, precision="float32", seed=0):
    """The networks and a closure doing one ascendgan-style pix2pix training iteration.

    Args:
        batch_size: pairs per iteration (pix2pix facades uses 1); informational here, the
            batch is the one passed to ``train_iteration``.
        precision: "float32" or "bfloat16" (CPU autocast + channels_last memory format).
        seed: torch seed for the weights.

    Returns:
        ``(generator, discriminator, train_iteration)``; ``train_iteration(real, source)``
        takes target images ``real`` and source images ``source`` (n, 3, 256, 256) in [-1, 1]
        and returns ``(d_loss, g_loss)`` tensors.
    """
    _check_precision(precision)
    del batch_size
    torch.manual_seed(seed)
    generator = UNetGenerator()
    discriminator = PatchGANDiscriminator()
    if precision == "bfloat16":
        generator = generator.to(memory_format=torch.channels_last)
        discriminator = discriminator.to(memory_format=torch.channels_last)
    generator.train()
    discriminator.train()
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_parameters = list(generator.parameters())

    def train_iteration(real, source):
        if precision == "bfloat16":
            real = real.contiguous(memory_format=torch.channels_last)
            source = source.contiguous(memory_format=torch.channels_last)
        with autocast(precision):
            fakes = generator(source)
        # Discriminator step on the one generator pass's fakes.
        with autocast(precision):
            real_logits = discriminator(source, real).float()
            fake_logits = discriminator(source, fakes.detach()).float()
        d_loss = _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        # Generator step: the updated discriminator's verdict on the same fakes + 100·L1.
        with autocast(precision):
            fake_logits = discriminator(source, fakes).float()
        l1 = torch.mean(torch.abs(real.float() - fakes.float()))
        g_loss = _bce(fake_logits, 1.0) + L1_WEIGHT * l1
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward(inputs=g_parameters)  # no discriminator weight gradients
        g_optimizer.step()
        return d_loss.detach(), g_loss.detach()

    return generator, discriminator, train_iteration


__all__ = ["PatchGANDiscriminator", "UNetGenerator", "build", "count_parameters"]
