"""GAN building-block layers. Each is a Keras layer registered as ``"ascendgan>Name"``."""

from ascendgan.layers.conditional_batch_normalization import ConditionalBatchNormalization
from ascendgan.layers.res_block_down import ResBlockDown
from ascendgan.layers.res_block_up import ResBlockUp
from ascendgan.layers.self_attention import SelfAttention
from ascendgan.layers.sn_conv2d import SNConv2D
from ascendgan.layers.sn_conv2d_transpose import SNConv2DTranspose
from ascendgan.layers.sn_dense import SNDense
from ascendgan.layers.sn_embedding import SNEmbedding

__all__ = [
    "ConditionalBatchNormalization",
    "ResBlockDown",
    "ResBlockUp",
    "SNConv2D",
    "SNConv2DTranspose",
    "SNDense",
    "SNEmbedding",
    "SelfAttention",
]
