"""Packaging for ascendgan (metadata lives here; tool configuration in pyproject.toml)."""

from setuptools import find_packages, setup

setup(
    name="ascendgan",
    version="0.1.0",
    description=(
        "Keras-style GAN building blocks for TensorFlow (spectral norm, self-attention, "
        "conditional BN, losses, BigGAN/DCGAN/Pix2Pix) that run on CPU, GPU and Ascend NPUs"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["ascendgan", "ascendgan.*"]),
    include_package_data=True,
    package_data={"ascendgan": ["data/shipped/*", "data/shipped/**/*", "metrics/extractors/*"]},
    install_requires=[
        # The full tensorflow package: tf-keras (legacy Keras 2 mode) depends on it.
        "tensorflow>=2.16,<2.22",
        "keras>=3.5",
        # Legacy Keras 2 (TF_USE_LEGACY_KERAS=1), the API Ascend's TF adapter supports;
        # tensorflow-probability also needs it to import.
        "tf-keras>=2.16,<2.22",
        "tensorflow-probability>=0.24",
        # tf.summary's scalar and image writers (TensorBoard logs of training) live here;
        # TensorFlow 2.21 no longer installs it.
        "tensorboard>=2.16",
        "numpy>=1.26",
        "scipy>=1.11",
    ],
    # No "ascend" extra: the Ascend adapter (npu_bridge for TF1 graphs, npu_device for TF2) is not
    # on PyPI. It comes with Huawei's CANN toolkit (the TensorFlow adapter plug-in package) and is
    # built for TensorFlow 1.15 or 2.6.5 only, which this package's TensorFlow >= 2.16 cannot
    # share an environment with yet; see README "On Ascend NPUs" and docs/strategy.md.
    extras_require={
        "test": ["pytest>=8", "pillow>=10", "tf2onnx>=1.16", "onnxruntime"],
        # animated GIFs of latent interpolations (PNG needs nothing extra)
        "images": ["pillow>=10"],
        "onnx": ["tf2onnx>=1.16", "onnxruntime"],
        # benchmarks/: the plots of benchmarks/fidelity.py (FID against minutes) and the PyTorch
        # peers of benchmarks/peers (a CPU build of torch: see benchmarks/README.md)
        "bench": ["matplotlib>=3.7", "torch>=2.4"],
        "dev": ["pytest>=8", "pillow>=10", "ruff>=0.6", "tf2onnx>=1.16", "onnxruntime"],
    },
    entry_points={"console_scripts": ["ascendgan=ascendgan.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: TensorFlow",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
