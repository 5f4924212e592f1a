"""A PyTorch BigGAN (CIFAR-10 configuration) with the architecture of ``ascendgan.models.biggan("cifar10")``.

Written from the BigGAN paper (Brock, Donahue, Simonyan, arXiv:1809.11096) with SAGAN's
self-attention (arXiv:1805.08318), SN-GAN's spectral normalization (arXiv:1802.05957) and the
projection discriminator (arXiv:1802.05637), following the layer list of ascendgan's
:class:`~ascendgan.models.biggan.BigGANGenerator` / ``BigGANDiscriminator`` so the two can be
timed side by side (issue 15). Same trainable parameter counts as ascendgan: generator
9,523,716, discriminator 9,641,090. Trainable parameters are ``nn.Parameter`` objects here and
Keras ``trainable_variables`` there; on both sides the spectral-norm ``u`` vectors and the
batch-norm running statistics are non-trainable state (buffers here, non-trainable variables
in Keras) and are not counted.

Generator (32x32, ``ch = 96``, z 120 split into 4 chunks of 30, shared class embedding 128):
    z chunk 0 -> SNLinear 4·4·384 (bias) -> reshape (384, 4, 4)
    3 x GBlock(384 -> 384): CBN -> ReLU -> 2x nearest -> SNConv3x3 -> CBN -> ReLU -> SNConv3x3,
        shortcut 2x nearest -> SNConv1x1; each CBN gets [embedding(y), z chunk i+1] (158)
        and computes ``BN(x) * (1 + SNLinear_gain(c)) + SNLinear_bias(c)`` (no biases)
    self-attention after the 16x16 block
    BN (affine) -> ReLU -> SNConv3x3 to 3 channels -> tanh
Discriminator (channel 384 everywhere, down, down, -, -):
    DBlock0 (no pre-activation): SNConv3x3 -> ReLU -> SNConv3x3 -> avgpool, shortcut avgpool -> SNConv1x1
    self-attention at 16x16
    DBlock1 (pre-activated, down, 1x1 shortcut), DBlock2, DBlock3 (identity shortcuts)
    ReLU -> global sum pool -> SNLinear 1 + <SNEmbedding(y), features> (projection)
Self-attention: query / key 1x1 SN convs to C/8, value to C/2, keys and values 2x2
max-pooled, softmax over keys, 1x1 SN conv back to C, times a learned scalar gamma (init 0).
Convolutions in the residual blocks and the linear layers have biases; the attention
convolutions and the CBN projections do not. Weights are orthogonally initialized.

Spectral norm: W / σ(W) computed in the forward pass with one power iteration; ``u`` (over
the output axis, as ascendgan's ``(1, out)``) is a buffer updated in training mode only and
held out of the gradient (u and v are treated as constants, as in SN-GAN), so the gradient
flows through σ.

One training iteration, as ascendgan trains the preset: ``real`` holds
``discriminator_steps · batch_size`` images (ascendgan regroups its data the same way) split
into 2 chunks; 2 discriminator steps (fresh N(0, 1) latents, the chunk's labels, fakes from
a generator pass outside the gradient), hinge loss; 1 generator step on the last chunk's
labels with fresh latents, hinge generator loss + BigGAN's orthogonal regularization
(β = 1e-4, off-diagonal ``‖WWᵀ ⊙ (1 - I)‖²`` of each generator weight matrix, embeddings
excluded); then the generator EMA update with decay 0.9999 (0 for the first 1000 generator
steps, i.e. a copy, as ascendgan's ``ema_start``), batch-norm statistics and u copied.
Adam β (0, 0.9), lr D 4e-4, G 1e-4.

Example::

    generator, discriminator, train_iteration = build(64, precision="bfloat16")
    losses = train_iteration(images, labels)   # (128, 3, 32, 32) in [-1, 1], (128,) int64
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.peers._torch_common import autocast, count_parameters
from benchmarks.peers._torch_common import check_precision as _check_precision

IMAGE_SIZE = 32
BASE_CHANNELS = 96
LATENT_DIM = 120
NUM_CLASSES = 10
SHARED_EMBEDDING_DIM = 128
DISCRIMINATOR_STEPS = 2
ORTHOGONAL_BETA = 1e-4
EMA_DECAY = 0.9999
EMA_START = 1000


# ----------------------------------------------------------------------------- spectral norm

def _normalize(x, epsilon=1e-12):
    return x / (x.norm() + epsilon)


class _SpectralNorm:
    """Mixin: ``self.weight`` divided by its largest singular value (one power iteration).

    The weight is viewed as a matrix with one row per output unit (``output_axis``);
    ``u`` is a buffer over those rows.
    """

    output_axis = 0

    def _init_spectral(self):
        rows = self.weight.shape[self.output_axis]
        self.register_buffer("u", _normalize(torch.randn(1, rows)))

    def _matrix(self, weight):
        if self.output_axis != 0:
            weight = weight.transpose(0, self.output_axis)
        return weight.reshape(weight.shape[0], -1)

    def normalized_weight(self):
        weight = self.weight
        with torch.autocast("cpu", enabled=False):
            matrix = self._matrix(weight.float())
            with torch.no_grad():
                v = _normalize(self.u @ matrix)  # (1, cols)
                u = _normalize(v @ matrix.t())   # (1, rows)
                if self.training:
                    self.u.copy_(u)
            sigma = (u @ matrix @ v.t()).squeeze()
            return weight / sigma


class SNConv2d(_SpectralNorm, nn.Conv2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_spectral()

    def forward(self, x):
        return self._conv_forward(x, self.normalized_weight(), self.bias)


class SNLinear(_SpectralNorm, nn.Linear):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_spectral()

    def forward(self, x):
        return F.linear(x, self.normalized_weight(), self.bias)


class SNEmbedding(_SpectralNorm, nn.Embedding):
    output_axis = 1  # ascendgan normalizes embedding tables over their last axis

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_spectral()

    def forward(self, ids):
        return F.embedding(ids, self.normalized_weight())


# ----------------------------------------------------------------------------- layers

class ConditionalBatchNorm(nn.Module):
    """Batch norm without affine; gain 1 + SNLinear(c) and bias SNLinear(c), no biases."""

    def __init__(self, channels, condition_dim):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, momentum=0.1, eps=1e-5, affine=False)
        self.gain = SNLinear(condition_dim, channels, bias=False)
        self.bias = SNLinear(condition_dim, channels, bias=False)

    def forward(self, x, condition):
        gain = 1.0 + self.gain(condition)
        bias = self.bias(condition)
        return self.norm(x) * gain[:, :, None, None] + bias[:, :, None, None]


class SelfAttention(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.query = SNConv2d(channels, channels // 8, 1, bias=False)
        self.key = SNConv2d(channels, channels // 8, 1, bias=False)
        self.value = SNConv2d(channels, channels // 2, 1, bias=False)
        self.output = SNConv2d(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        n, _, height, width = x.shape
        query = self.query(x).flatten(2)                       # (n, c/8, hw)
        key = F.max_pool2d(self.key(x), 2).flatten(2)          # (n, c/8, hw/4)
        value = F.max_pool2d(self.value(x), 2).flatten(2)      # (n, c/2, hw/4)
        logits = torch.bmm(query.transpose(1, 2), key)         # (n, hw, hw/4)
        attention = torch.softmax(logits.float(), dim=-1).to(value.dtype)
        attended = torch.bmm(value, attention.transpose(1, 2))  # (n, c/2, hw)
        attended = attended.reshape(n, -1, height, width)
        return x + self.gamma * self.output(attended)


class GeneratorBlock(nn.Module):
    def __init__(self, in_channels, out_channels, condition_dim):
        super().__init__()
        self.bn1 = ConditionalBatchNorm(in_channels, condition_dim)
        self.conv1 = SNConv2d(in_channels, out_channels, 3, padding=1)
        self.bn2 = ConditionalBatchNorm(out_channels, condition_dim)
        self.conv2 = SNConv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = SNConv2d(in_channels, out_channels, 1)

    def forward(self, x, condition):
        h = F.relu(self.bn1(x, condition))
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv1(h)
        h = self.conv2(F.relu(self.bn2(h, condition)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DiscriminatorBlock(nn.Module):
    def __init__(self, in_channels, out_channels, downsample, preactivation):
        super().__init__()
        self.downsample = downsample
        self.preactivation = preactivation
        self.conv1 = SNConv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = SNConv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = (SNConv2d(in_channels, out_channels, 1)
                         if downsample or in_channels != out_channels else None)

    def forward(self, x):
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
            x = F.avg_pool2d(x, 2)
        if self.shortcut is not None:
            x = self.shortcut(x)
        return h + x


# ----------------------------------------------------------------------------- networks

class Generator(nn.Module):
    """BigGAN generator: (z (n, 120), labels (n,)) -> images (n, 3, 32, 32) in [-1, 1]."""

    def __init__(self, base_channels=BASE_CHANNELS, latent_dim=LATENT_DIM, num_classes=NUM_CLASSES,
                 shared_embedding_dim=SHARED_EMBEDDING_DIM, multipliers=(4, 4, 4, 4),
                 attention_resolutions=(16,), channels=3):
        super().__init__()
        num_blocks = len(multipliers) - 1
        self.chunk_size = latent_dim // (num_blocks + 1)
        self.width = multipliers[0] * base_channels
        condition_dim = shared_embedding_dim + self.chunk_size
        self.shared_embedding = nn.Embedding(num_classes, shared_embedding_dim)
        self.linear = SNLinear(self.chunk_size, 4 * 4 * self.width)
        self.blocks = nn.ModuleList()
        self.attention = nn.ModuleDict()
        resolution = 4
        for index in range(num_blocks):
            resolution *= 2
            self.blocks.append(GeneratorBlock(multipliers[index] * base_channels,
                                              multipliers[index + 1] * base_channels, condition_dim))
            if resolution in attention_resolutions:
                self.attention[str(index)] = SelfAttention(multipliers[index + 1] * base_channels)
        self.output_bn = nn.BatchNorm2d(multipliers[-1] * base_channels, momentum=0.1, eps=1e-5)
        self.output_conv = SNConv2d(multipliers[-1] * base_channels, channels, 3, padding=1)
        _orthogonal_init(self)

    def forward(self, z, labels):
        chunks = torch.split(z, self.chunk_size, dim=1)
        embedding = self.shared_embedding(labels)
        x = self.linear(chunks[0]).view(z.shape[0], 4, 4, self.width).permute(0, 3, 1, 2)
        for index, block in enumerate(self.blocks):
            x = block(x, torch.cat([embedding, chunks[index + 1]], dim=1))
            if str(index) in self.attention:
                x = self.attention[str(index)](x)
        x = F.relu(self.output_bn(x))
        return torch.tanh(self.output_conv(x))


class Discriminator(nn.Module):
    """BigGAN projection discriminator: (images (n, 3, 32, 32), labels (n,)) -> logits (n, 1)."""

    def __init__(self, base_channels=BASE_CHANNELS, num_classes=NUM_CLASSES, multipliers=(4, 4, 4, 4),
                 downsample=(True, True, False, False), attention_resolutions=(16,), image_size=IMAGE_SIZE,
                 channels=3):
        super().__init__()
        self.blocks = nn.ModuleList()
        self.attention = nn.ModuleDict()
        resolution = image_size
        in_channels = channels
        attended = set()
        for index, (multiplier, down) in enumerate(zip(multipliers, downsample)):
            out_channels = multiplier * base_channels
            self.blocks.append(DiscriminatorBlock(in_channels, out_channels, down, preactivation=index > 0))
            resolution //= 2 if down else 1
            if resolution in attention_resolutions and resolution not in attended:
                attended.add(resolution)  # one attention layer per resolution
                self.attention[str(index)] = SelfAttention(out_channels)
            in_channels = out_channels
        self.linear = SNLinear(in_channels, 1)
        self.embedding = SNEmbedding(num_classes, in_channels)
        _orthogonal_init(self)

    def forward(self, images, labels):
        x = images
        for index, block in enumerate(self.blocks):
            x = block(x)
            if str(index) in self.attention:
                x = self.attention[str(index)](x)
        features = torch.sum(F.relu(x), dim=(2, 3)).float()
        with torch.autocast("cpu", enabled=False):
            logits = self.linear(features)
            projection = torch.sum(self.embedding(labels) * features, dim=1, keepdim=True)
        return logits + projection


def _orthogonal_init(module):
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear, nn.Embedding)):
            nn.init.orthogonal_(layer.weight)
            if getattr(layer, "bias", None) is not None:
                nn.init.zeros_(layer.bias)


def orthogonal_regularization(module, beta=ORTHOGONAL_BETA):
    """BigGAN's ``beta · Σ ‖W Wᵀ ⊙ (1 - I)‖²_F`` over the weight matrices (one row per output
    unit) of the module's convolutions and linear layers; embeddings, biases and norms are
    left out, as in ascendgan."""
    total = 0.0
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            matrix = layer.weight.float().reshape(layer.weight.shape[0], -1)
            gram = matrix @ matrix.t()
            off_diagonal = gram - torch.diag(torch.diagonal(gram))
            total = total + torch.sum(off_diagonal ** 2)
    return beta * total


def build(batch_size, precision="float32", seed=0):
    """The networks and a closure doing one ascendgan-style BigGAN training iteration.

    Args:
        batch_size: images per discriminator step and per generator step (64 in the
            documented run); one iteration consumes ``2 · batch_size`` real images.
        precision: "float32" or "bfloat16" (CPU autocast + channels_last memory format).
        seed: torch seed for the weights.

    Returns:
        ``(generator, discriminator, train_iteration)``; ``train_iteration(real, labels)``
        takes ``(2·batch_size, 3, 32, 32)`` images in [-1, 1] and their int64 class ids and
        returns ``(d_loss, g_loss)`` of the last discriminator step and the generator step.
        ``train_iteration.ema_generator`` is the averaged generator.
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
    ema_generator = copy.deepcopy(generator).eval()
    for parameter in ema_generator.parameters():
        parameter.requires_grad_(False)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.0, 0.9))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=4e-4, betas=(0.0, 0.9))
    g_parameters = list(generator.parameters())
    state = {"generator_steps": 0}

    def latents(n):
        return torch.randn(n, LATENT_DIM)

    def train_iteration(real, labels):
        if precision == "bfloat16":
            real = real.contiguous(memory_format=torch.channels_last)
        reals = torch.chunk(real, DISCRIMINATOR_STEPS)
        label_chunks = torch.chunk(labels, DISCRIMINATOR_STEPS)
        for chunk, chunk_labels in zip(reals, label_chunks):
            with torch.no_grad(), autocast(precision):
                fakes = generator(latents(chunk.shape[0]), chunk_labels)
            with autocast(precision):
                real_logits = discriminator(chunk, chunk_labels).float()
                fake_logits = discriminator(fakes, chunk_labels).float()
            d_loss = torch.mean(F.relu(1.0 - real_logits)) + torch.mean(F.relu(1.0 + fake_logits))
            d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            d_optimizer.step()
        chunk_labels = label_chunks[-1]
        with autocast(precision):
            fakes = generator(latents(chunk_labels.shape[0]), chunk_labels)
            fake_logits = discriminator(fakes, chunk_labels).float()
        g_loss = -torch.mean(fake_logits)
        total = g_loss + orthogonal_regularization(generator)
        g_optimizer.zero_grad(set_to_none=True)
        total.backward(inputs=g_parameters)  # no discriminator weight gradients
        g_optimizer.step()
        state["generator_steps"] += 1
        decay = 0.0 if state["generator_steps"] <= EMA_START else EMA_DECAY
        with torch.no_grad():
            for average, weight in zip(ema_generator.parameters(), generator.parameters()):
                average.lerp_(weight, 1.0 - decay)
            for average, value in zip(ema_generator.buffers(), generator.buffers()):
                average.copy_(value)
        return d_loss.detach(), g_loss.detach()

    train_iteration.ema_generator = ema_generator
    return generator, discriminator, train_iteration


__all__ = ["Discriminator", "Generator", "build", "count_parameters", "orthogonal_regularization"]
