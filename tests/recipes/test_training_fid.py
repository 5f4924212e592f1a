"""``GANRun.fid_every`` / ``--fid-every``: the domain FID measured during training, on the
held-out split's shipped statistics, printed and written to TensorBoard at its step."""

import glob

import pytest
import tensorflow as tf

from ascendgan import metrics
from ascendgan.cli import main as cli_main
from ascendgan.models import get_family
from ascendgan.recipes import (
    TRAINING_FID_SAMPLES,
    DataSource,
    GANRun,
    held_out_split,
    load_run,
    plan_training,
    train_gan,
    training_fid,
)


def _scalars(folder):
    found = {}
    for path in glob.glob(str(folder / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                found.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
    return found


def test_fid_curve_in_tensorboard_at_generator_steps(tmp_path, capsys):
    out = tmp_path / "run"
    result = train_gan(GANRun("dcgan", smoke=True, steps=4, fid_every=2, out=str(out), verbose=0,
                              final_fid=False))
    assert result["final_step"] == 4
    curve = _scalars(out / "logs" / "metrics")["fid_mnist_cnn"]
    assert [step for step, _ in curve] == [2, 4]
    printed = capsys.readouterr().out
    assert "GANMetrics step 4: fid_mnist_cnn" in printed
    assert f"{TRAINING_FID_SAMPLES} samples vs 60000 of mnist (statistics shipped with ascendgan)/train" in printed

    # the value at step 4 is the final generator's FID on the same protocol: 2,000 samples,
    # the train split's statistics (the run trained on the shipped test split)
    gan, _ = load_run(str(out))
    extractor = metrics.domain_extractor("mnist")
    settings = metrics.EvaluationSettings(metrics=["fid"], num_samples=TRAINING_FID_SAMPLES,
                                          extractor=extractor, seed=0 + 3, batch_size=500)
    expected = metrics.evaluate(gan, metrics.domain_reference("mnist", "train", extractor=extractor), settings)
    assert curve[-1][1] == pytest.approx(expected["fid_mnist_cnn"], rel=1e-4)
    other = metrics.evaluate(gan, metrics.domain_reference("mnist", "test", extractor=extractor), settings)
    assert abs(other["fid_mnist_cnn"] - curve[-1][1]) > 1e-3  # the split is not a no-op


def test_default_cadence_and_where_it_is_off():
    preset = get_family("dcgan").preset("mnist")
    # the first multiple of the checkpoint period at or above 1,000 steps
    assert plan_training(GANRun("dcgan"), preset, 156, 1).fid_every == 1000
    assert plan_training(GANRun("dcgan", checkpoint_every=300), preset, 156, 1).fid_every == 1200
    assert plan_training(GANRun("dcgan", checkpoint_every=5000), preset, 156, 1).fid_every == 5000
    assert plan_training(GANRun("dcgan", smoke=True), preset, 156, 1).fid_every == 0
    assert plan_training(GANRun("dcgan", fid_every=7), preset, 156, 1).fid_every == 7
    assert training_fid(preset, DataSource(), 0) is None
    pix2pix = get_family("pix2pix").preset("facades")
    assert training_fid(pix2pix, DataSource("/photos"), 100) is None  # no shipped extractor
    callback = training_fid(preset, DataSource(), 100)
    assert (callback.every_n_steps, callback.settings.num_samples) == (100, TRAINING_FID_SAMPLES)


def test_reference_is_the_split_the_run_did_not_train_on(tmp_path):
    mnist = get_family("dcgan").preset("mnist")
    assert held_out_split(mnist, DataSource()) == "train"  # shipped MNIST = the test split
    assert held_out_split(mnist, DataSource("/data/mnist")) == "test"  # IDX folder: the train split
    cifar = get_family("dcgan").preset("cifar10")
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(b"")
    assert held_out_split(cifar, DataSource(str(photos))) == "train"  # a flat folder is read whole


def test_bad_fid_every_is_one_line(capsys):
    with pytest.raises(ValueError, match="fid_every"):
        GANRun("dcgan", fid_every=-1)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["train", "dcgan", "--fid-every", "x"])
    assert exit_info.value.code == 2
    assert "--fid-every: invalid int value: 'x'" in capsys.readouterr().err
