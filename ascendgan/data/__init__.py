"""Data sets as ``tf.data`` pipelines of images in [-1, 1], and their raw numpy arrays.

Every dataset function returns a ``tf.data.Dataset`` of float32 channels-last images in
[-1, 1] (``x / 127.5 - 1``), with int32 labels where the data set has them, shuffled (with
an optional ``seed``), batched (``drop_remainder=True`` by default, for fixed GAN batch
shapes), prefetched and, for files, decoded in parallel. Paths go through ``tf.io.gfile``,
so remote file systems TensorFlow supports work; :func:`cache_locally` copies a remote
folder to a local cache first.

========================  =============================================================
function                  data
========================  =============================================================
``mnist``                 MNIST from its IDX files (gzip or raw), Keras's ``mnist.npz``,
                          or the test split shipped with ascendgan (offline)
``cifar10``               CIFAR-10 python / binary / MATLAB batches, or an image folder
``image_folder``          any folder of JPEG / PNG / BMP images (flat, nested, classes)
``imagenet``              ImageNet class folders or TFRecords, random resized / centre crops
``paired_images``         Pix2Pix pairs: A|B files or A/ and B/ folders, random jitter
``edge_pairs``            (edges, photo) pairs made from a folder of photos
``*_arrays``              the same data as numpy uint8 arrays (for metrics, examples)
========================  =============================================================

Nothing is downloaded unless ``download=True`` is passed; a missing data set raises
:class:`DatasetNotFoundError` saying where the loader looked and how to get the data.

Example:

>>> import ascendgan
>>> ds = ascendgan.data.mnist(split="test", batch_size=64, seed=0)   # shipped, offline
>>> images, labels = next(iter(ds))
>>> float(images.numpy().min()) >= -1.0, labels.dtype.name
(True, 'int32')
"""

from ascendgan.data.cache import cache_locally, default_cache_root
from ascendgan.data.cifar10 import CIFAR10_CLASSES, CIFAR10_FORMATS, cifar10, cifar10_arrays
from ascendgan.data.edges import edge_map, edge_pairs
from ascendgan.data.errors import CorruptImageWarning, DataFormatError, DatasetNotFoundError
from ascendgan.data.image_folder import (
    IMAGE_EXTENSIONS,
    image_folder,
    image_folder_arrays,
    list_image_files,
)
from ascendgan.data.imagenet import IMAGENET_FORMATS, imagenet, imagenet_files, read_synsets
from ascendgan.data.mnist import MNIST_SPLITS, mnist, mnist_arrays, read_idx
from ascendgan.data.paired import DIRECTIONS, paired_images
from ascendgan.data.shipped import SHIPPED, shipped_path

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_FORMATS",
    "DIRECTIONS",
    "IMAGENET_FORMATS",
    "IMAGE_EXTENSIONS",
    "MNIST_SPLITS",
    "SHIPPED",
    "CorruptImageWarning",
    "DataFormatError",
    "DatasetNotFoundError",
    "cache_locally",
    "cifar10",
    "cifar10_arrays",
    "default_cache_root",
    "edge_map",
    "edge_pairs",
    "image_folder",
    "image_folder_arrays",
    "imagenet",
    "imagenet_files",
    "list_image_files",
    "mnist",
    "mnist_arrays",
    "paired_images",
    "read_idx",
    "read_synsets",
    "shipped_path",
]
