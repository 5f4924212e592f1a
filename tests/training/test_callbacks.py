"""Training callbacks: sample grids (PNG + TensorBoard) and throughput in the logs."""

import glob
import os

import numpy as np
import pytest
from PIL import Image

from ascendgan import compat, models
from ascendgan.training import SampleGrid, Throughput

keras = compat.keras


def tiny_dcgan(**overrides):
    gan = models.dcgan("mnist", base_filters=2, seed=3, **overrides)
    gan.compile()
    return gan


def mnist_like(n=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


def test_sample_grid_writes_the_fixed_samples_every_n_steps(tmp_path):
    gan = tiny_dcgan()
    grid = SampleGrid(str(tmp_path / "samples"), every_n_steps=2, num_images=4, columns=2, seed=5,
                      log_dir=str(tmp_path / "logs"))
    gan.fit(mnist_like(), batch_size=2, epochs=1, verbose=0, callbacks=[grid])  # 4 steps
    names = sorted(os.path.basename(p) for p in glob.glob(str(tmp_path / "samples" / "*.png")))
    assert names == ["step_0000002.png", "step_0000004.png"]
    # The last grid shows exactly gan.generate(4, seed=5), tiled 2x2 with 2-pixel padding.
    picture = np.asarray(Image.open(tmp_path / "samples" / "step_0000004.png"))
    expected = np.clip(np.rint((gan.generate(4, seed=5) + 1) * 127.5), 0, 255).astype(np.uint8)
    assert picture.shape == (2 * 30 + 2, 2 * 30 + 2)  # grey PNG
    for index in range(4):
        row, column = divmod(index, 2)
        tile = picture[2 + row * 30: 2 + row * 30 + 28, 2 + column * 30: 2 + column * 30 + 28]
        np.testing.assert_array_equal(tile, expected[index, ..., 0])
    assert (picture[:2] == 255).all() and (picture[:, 30:32] == 255).all()  # padding
    assert glob.glob(str(tmp_path / "logs" / "samples" / "events.out.tfevents.*"))


def test_sample_grid_writes_a_final_grid_off_the_schedule(tmp_path):
    gan = tiny_dcgan()
    grid = SampleGrid(str(tmp_path), every_n_steps=100, num_images=2)
    gan.fit(mnist_like(6), batch_size=2, epochs=1, verbose=0, callbacks=[grid])  # 3 steps
    assert [os.path.basename(p) for p in grid.written] == ["step_0000003.png"]


def test_conditional_grid_has_one_row_per_class(tmp_path):
    gan = tiny_dcgan(num_classes=3)
    gan.build_models((28, 28, 1))
    grid = SampleGrid(str(tmp_path), every_n_steps=1, num_images=12, columns=4, seed=1)
    grid.set_model(gan)
    images, columns = grid.pictures()
    assert columns == 4 and images.shape == (12, 28, 28, 1)
    np.testing.assert_allclose(images, gan.generate(12, labels=np.repeat(np.arange(3), 4), seed=1))


def test_sample_grid_rejects_bad_arguments():
    with pytest.raises(ValueError, match="every_n_steps"):
        SampleGrid("x", every_n_steps=0)
    with pytest.raises(ValueError, match="num_images"):
        SampleGrid("x", num_images=0)


def test_throughput_reports_ms_per_step_and_images_per_second():
    gan = tiny_dcgan()
    meter = Throughput(images_per_step=2, smoothing=1.0)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(dict(logs))

    history = gan.fit(mnist_like(), batch_size=2, epochs=1, verbose=0, callbacks=[meter, Record()])
    assert "ms_per_step" not in seen[0]  # the first step (tracing) is not timed
    for logs in seen[1:]:
        assert logs["ms_per_step"] > 0
        np.testing.assert_allclose(logs["images_per_s"], 2000.0 / logs["ms_per_step"], rtol=1e-6)
    assert history.history["ms_per_step"][-1] == pytest.approx(meter.ms_per_step)
    with pytest.raises(ValueError, match="images_per_step"):
        Throughput(0)
