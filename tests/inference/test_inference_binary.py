"""Raw .bin files and seed inputs (ascendgan.inference.binary)."""

import os

import numpy as np
import pytest

from ascendgan import inference, sampling


def test_write_bin_writes_exactly_the_bytes_of_numpy_tofile(tmp_path, rng):
    array = rng.standard_normal((2, 3))
    path = inference.write_bin(array, tmp_path / "a" / "z.bin", "float32")
    array.astype("float32").tofile(tmp_path / "reference.bin")
    assert open(path, "rb").read() == (tmp_path / "reference.bin").read_bytes()
    np.testing.assert_array_equal(inference.read_bin(path, "float32", (2, 3)), array.astype("float32"))
    np.testing.assert_array_equal(inference.read_bin(path, "float32", (None, 3)), array.astype("float32"))
    assert inference.read_bin(path, "float32").shape == (6,)


def test_read_bin_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="missing.bin"):
        inference.read_bin(tmp_path / "missing.bin", "float32")
    path = inference.write_bin(np.zeros(5), tmp_path / "five.bin", "float32")
    with pytest.raises(ValueError, match=r"five\.bin.*expected shape 2x3"):
        inference.read_bin(path, "float32", (2, 3))
    with pytest.raises(ValueError, match=r"five\.bin.*per batch item"):
        inference.read_bin(path, "float32", (None, 2))
    odd = tmp_path / "odd.bin"
    odd.write_bytes(b"\x00" * 6)
    with pytest.raises(ValueError, match="odd.bin.*whole number"):
        inference.read_bin(odd, "float32")


def test_write_seed_inputs_holds_the_latents_generate_uses(tmp_path, biggan):
    stems = inference.write_seed_inputs(tmp_path, [3, 41], latent_dim=120, labels=[2, 9],
                                        truncation=1.0, batch_size=2)
    assert stems == ["seed_000003", "seed_000041"]
    for seed, label, stem in zip([3, 41], [2, 9], stems):
        z = inference.read_bin(tmp_path / "z" / f"{stem}.bin", "float32", (2, 120))
        np.testing.assert_array_equal(z, sampling.gan_latents(biggan, 2, seed, truncation=1.0))
        assert np.abs(z).max() <= 1.0
        y = inference.read_bin(tmp_path / "y" / f"{stem}.bin", "int32")
        assert y.tolist() == [label, label]


def test_write_seed_inputs_label_layouts(tmp_path):
    inference.write_seed_inputs(tmp_path / "one", [0, 1], latent_dim=4, labels=7)
    assert inference.read_bin(tmp_path / "one" / "y" / "seed_000001.bin", "int32").tolist() == [7]
    inference.write_seed_inputs(tmp_path / "table", [0, 1], latent_dim=4, labels=[[1, 2], [3, 4]],
                                batch_size=2, label_rank=2)
    assert inference.read_bin(tmp_path / "table" / "y" / "seed_000001.bin", "int32",
                              (2, 1)).tolist() == [[3], [4]]
    inference.write_seed_inputs(tmp_path / "none", [5], latent_dim=4)
    assert sorted(os.listdir(tmp_path / "none")) == ["z"]
    with pytest.raises(ValueError, match="`labels`"):
        inference.write_seed_inputs(tmp_path / "bad", [0, 1, 2], latent_dim=4, labels=[1, 2])
    with pytest.raises(ValueError, match="`seeds`"):
        inference.write_seed_inputs(tmp_path / "bad", [], latent_dim=4)


def test_random_labels_are_the_labels_generate_draws(conditional_dcgan, tmp_path):
    stems = inference.write_seed_inputs(tmp_path / "in", [3, 11], latent_dim=100, labels="random",
                                        num_classes=10, batch_size=4, latent_distribution="uniform_signed")
    for seed, stem in zip([3, 11], stems):
        y = inference.read_bin(tmp_path / "in" / "y" / f"{stem}.bin", "int32")
        np.testing.assert_array_equal(y, np.random.default_rng(seed).integers(0, 10, 4))
    # online: gan.generate(batch, seed=seed) without labels draws the same classes
    paths = inference.write_online_outputs(conditional_dcgan, tmp_path / "online", [3], labels="random",
                                           batch_size=4)
    np.testing.assert_allclose(inference.read_bin(paths[0], "float32", (4, 28, 28, 1)),
                               conditional_dcgan.generate(4, seed=3, batch_size=4), atol=1e-6)
    with pytest.raises(ValueError, match="pass `num_classes`"):
        inference.write_seed_inputs(tmp_path / "x", [0], latent_dim=4, labels="random")
    with pytest.raises(ValueError, match="`labels`"):
        inference.write_seed_inputs(tmp_path / "x", [0], latent_dim=4, labels="all", num_classes=3)
