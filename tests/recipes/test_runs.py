"""The application layer's GAN runs: the run object, the plan, resuming run directories
written by ascendgan 0.1 (before the two-layer layout)."""

import os
import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.models import get_family
from ascendgan.recipes import (
    DataSource,
    GANRun,
    RunDirectory,
    load_run,
    plan_training,
    read_run,
    run_preset,
    train_gan,
)
from ascendgan.training import restore_checkpoint

DATA = pathlib.Path(__file__).parent / "data"
#: `ascendgan train dcgan --smoke --set num_classes=10 --limit 64 --checkpoint-every 1` run by
#: ascendgan 0.1 (commit 024ec35), once per Keras mode.
OLD_RUN = DATA / ("v0_1_dcgan_mnist_legacy" if compat.LEGACY_KERAS else "v0_1_dcgan_mnist_keras3")


def test_run_defaults_are_the_family_defaults():
    run = GANRun("biggan")
    assert (run.preset, run.out, run.seed, run.smoke) == ("cifar10", os.path.join("runs", "biggan_cifar10"), 0, False)
    assert run.data == DataSource()


@pytest.mark.parametrize("field, value, message", [
    ("family", "stylegan", r"`family` must be one of \('dcgan', 'biggan', 'pix2pix'"),
    ("preset", "svhn", r"Unknown DCGAN preset 'svhn'"),
    ("steps", 0, r"`steps` must be an integer >= 1 or None. Received: steps=0"),
    ("batch_size", 2.5, r"`batch_size` must be an integer >= 1 or None. Received: batch_size=2.5"),
    ("epochs", True, r"`epochs` must be an integer >= 1 or None. Received: epochs=True"),
    ("seed", -1, r"`seed` must be a non-negative integer. Received: seed=-1"),
    ("data", "/data/mnist", r"`data` must be an ascendgan.recipes.DataSource"),
    ("overrides", {"width": 3}, r"Unknown DCGAN override key\(s\) \['width'\].*Valid keys"),
    ("overrides", {"batch_size": 0}, r"`batch_size` must be an integer >= 1. Received: batch_size=0"),
])
def test_bad_run_settings_name_the_field(field, value, message):
    arguments = {"family": "dcgan", field: value}
    with pytest.raises(ValueError, match=message):
        GANRun(**arguments)


def test_data_source_checks_its_fields():
    with pytest.raises(ValueError, match=r"`pairs` must be one of \('ab', 'edges'\). Received: pairs='AB'"):
        DataSource("photos", pairs="AB")
    with pytest.raises(ValueError, match=r"`limit` must be an integer >= 1 or None. Received: limit=0"):
        DataSource(limit=0)


def test_smoke_and_replica_overrides_come_before_the_users():
    run = GANRun("dcgan", smoke=True, overrides={"base_filters": 8})
    assert run.effective_overrides(1) == {"base_filters": 8}
    assert run.effective_overrides(2) == {"base_filters": 8, "synchronized_batch_norm": True}
    assert GANRun("dcgan", overrides={"synchronized_batch_norm": False}).effective_overrides(2) == {
        "synchronized_batch_norm": False}
    assert GANRun("pix2pix", smoke=True).effective_overrides(1)["image_size"] == 64


def test_plan_reads_the_run_then_the_preset():
    preset = get_family("dcgan").preset("mnist")
    # 10,000 images / 64 = 156 full batches; 25 epochs of 156 steps; samples every 200 steps
    plan = plan_training(GANRun("dcgan"), preset, 156, 1)
    assert (plan.batch_size, plan.steps, plan.steps_per_epoch) == (64, 25 * 156, 156)
    assert (plan.sample_every, plan.checkpoint_every, plan.keep) == (200, 200, 1)
    plan = plan_training(GANRun("dcgan", epochs=2, batch_size=32, keep=4), preset, 312, 1)
    assert (plan.batch_size, plan.steps, plan.keep) == (32, 624, 4)
    assert plan_training(GANRun("dcgan", steps=7), preset, 156, 1).steps == 7
    assert plan_training(GANRun("dcgan", smoke=True), preset, 5000, 1).steps == 2
    biggan = get_family("biggan").preset("cifar10")  # a step count, 2 D steps per G step
    plan = plan_training(GANRun("biggan"), biggan, 781, 2)
    assert (plan.steps, plan.steps_per_epoch, plan.sample_every) == (100_000, 390, 500)
    with pytest.raises(ValueError, match="size is unknown"):
        plan_training(GANRun("dcgan"), preset, -2, 1)


def test_run_directory_reads_and_writes_atomically(tmp_path):
    directory = RunDirectory(str(tmp_path / "run"))
    directory.write({"family": "dcgan", "preset": "mnist"})
    assert read_run(directory.path) == {"family": "dcgan", "preset": "mnist"}
    assert sorted(os.listdir(directory.path)) == ["run.json"]  # no temporary file left
    with pytest.raises(FileNotFoundError, match="with a run.json"):
        read_run(tmp_path)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"bad[/\\]run.json is not valid JSON"):
        read_run(tmp_path / "bad")


@pytest.fixture
def old_run(tmp_path):
    target = tmp_path / "old_run"
    shutil.copytree(OLD_RUN, target)
    return target


def _checkpoint_value(path, name):
    keys = [key for key, _ in tf.train.list_variables(path) if key.startswith(name)]
    return {key: tf.train.load_variable(path, key) for key in keys}


def test_a_run_written_by_version_0_1_loads_and_samples(old_run):
    record = read_run(old_run)
    assert run_preset(record).gan["num_classes"] == 10
    gan, path = load_run(old_run)
    assert path.endswith("ckpt-2")
    weights = {compat.variable_path(v): v for v in gan.generator.weights}
    saved = _checkpoint_value(path, "generator_weights/")
    assert saved, "the checkpoint keeps every generator weight by position"
    for index, variable in enumerate(gan.generator.weights):
        np.testing.assert_array_equal(
            np.asarray(variable), saved[f"generator_weights/{index}/.ATTRIBUTES/VARIABLE_VALUE"])
    assert len(weights) == len(gan.generator.weights)
    images = gan.generate(10, labels=range(10), seed=0)
    assert images.shape == (10, 28, 28, 1) and np.abs(images).max() <= 1.0
    # load_run restores the generator only; a resume restores everything, step counter included
    assert int(gan.generator_optimizer.iterations.numpy()) == 0
    gan.build_models((28, 28, 1))
    restore_checkpoint(gan, path, "all")
    assert int(gan.generator_optimizer.iterations.numpy()) == 2


def test_a_run_written_by_version_0_1_resumes(old_run):
    before = sorted(os.listdir(old_run / "checkpoints"))
    run = GANRun("dcgan", smoke=True, overrides={"num_classes": 10}, data=DataSource(limit=64),
                 steps=3, checkpoint_every=1, keep=2, out=str(old_run), tensorboard=False, verbose=0)
    result = train_gan(run)
    assert (result["resumed_from"], result["final_step"]) == (2, 3)
    assert "ckpt-3.index" in os.listdir(old_run / "checkpoints")
    assert set(before) - {"checkpoint"} <= set(os.listdir(old_run / "checkpoints"))
    assert read_run(old_run)["steps"] == 3


def test_the_main_job_ends_with_its_domain_fid(tmp_path):
    # the README's main job trains on the shipped MNIST (the test split): its FID is measured
    # in the shipped MNIST extractor's features against the held-out train split
    result = train_gan(GANRun("dcgan", smoke=True, out=str(tmp_path / "run"), tensorboard=False, verbose=0))
    evaluation = read_run(tmp_path / "run")["evaluation"]
    assert evaluation == result["evaluation"]
    protocol = evaluation["protocol"]
    assert (protocol["extractor"], protocol["reference_split"], protocol["num_samples"]) == ("mnist_cnn", "train", 500)
    # an untrained smoke generator is far from digits: above the one-class calibration value
    assert evaluation["fid_mnist_cnn"] > 100
    no_fid = train_gan(GANRun("dcgan", smoke=True, out=str(tmp_path / "quiet"), tensorboard=False,
                              verbose=0, final_fid=False))
    assert "evaluation" not in no_fid and "evaluation" not in read_run(tmp_path / "quiet")
