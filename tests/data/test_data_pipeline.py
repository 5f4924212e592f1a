import inspect

import numpy as np
import pytest

import ascendgan
from ascendgan import compat
from ascendgan.data import mnist, paired_images


def test_every_public_symbol_is_documented_with_an_example():
    for name in ascendgan.data.__all__:
        value = getattr(ascendgan.data, name)
        if inspect.isfunction(value) or inspect.isclass(value):
            doc = inspect.getdoc(value) or ""
            assert "Example" in doc, f"ascendgan.data.{name} has no Example in its docstring"
            if inspect.isfunction(value):
                for parameter in inspect.signature(value).parameters:
                    assert parameter in doc, f"{name}: argument {parameter} is not documented"


def test_dataset_functions_share_the_common_arguments():
    common = {"batch_size", "shuffle", "seed", "drop_remainder", "repeat"}
    for function in (
        ascendgan.data.mnist,
        ascendgan.data.cifar10,
        ascendgan.data.image_folder,
        ascendgan.data.paired_images,
        ascendgan.data.edge_pairs,
    ):
        assert common <= set(inspect.signature(function).parameters), function.__name__


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (
            {"split": "val"},
            ValueError,
            r"`split` must be one of \('train', 'test'\). Received: split='val'",
        ),
        ({"batch_size": True}, ValueError, r"`batch_size` must be an integer >= 1"),
        ({"batch_size": 2.0}, ValueError, r"`batch_size` must be an integer >= 1"),
        ({"seed": 1.5}, ValueError, r"`seed` must be a non-negative integer or None"),
        ({"with_labels": "no"}, ValueError, r"`with_labels` must be True or False"),
        ({"download": 1}, ValueError, r"`download` must be True or False"),
        ({"drop_remainder": None}, ValueError, r"`drop_remainder` must be True or False"),
    ],
)
def test_mnist_argument_errors(kwargs, error, pattern):
    kwargs = {"split": "test", **kwargs}
    with pytest.raises(error, match=pattern):
        mnist(**kwargs)


def test_path_argument_must_be_a_path():
    with pytest.raises(TypeError, match=r"`path` must be a path"):
        paired_images(42)
    with pytest.raises(ValueError, match=r"`path` must be a non-empty path"):
        paired_images("")


def test_a_dataset_feeds_keras_fit():
    keras = compat.keras
    ds = mnist(split="test", batch_size=32, seed=0).take(8)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.005),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(ds, epochs=3, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]  # real digits are learnable


def test_limit_keeps_the_first_examples_before_shuffling(
    tmp_path, write_image, write_cifar, collect, to_unit
):
    images, labels = ascendgan.data.mnist_arrays(split="test")
    out_images, out_labels = collect(mnist(split="test", batch_size=5, seed=0, limit=10))
    assert out_images.shape == (10, 28, 28, 1)
    first = {images[i].tobytes(): labels[i] for i in range(10)}
    found = [np.rint((x + 1) * 127.5).astype(np.uint8).tobytes() for x in out_images]
    assert sorted(found) == sorted(first)  # exactly the first 10 images, shuffled
    assert [first[key] for key in found] == out_labels.tolist()

    written = write_cifar(str(tmp_path / "cifar"), "binary")
    cifar_images, _ = collect(
        ascendgan.data.cifar10(tmp_path / "cifar", batch_size=4, shuffle=False, limit=4)
    )
    np.testing.assert_allclose(cifar_images, to_unit(written["train"][0][:4]), atol=1e-6)

    for index in range(5):
        image = np.full((4, 8, 3), 40 * index, np.uint8)
        write_image(tmp_path / "photos" / f"{index}.png", image)
    ds = ascendgan.data.image_folder(tmp_path / "photos", batch_size=1, shuffle=False, limit=2)
    assert len(ds.file_paths) == 2 and np.unique(collect(ds)).size == 2
    assert (
        int(paired_images(tmp_path / "photos", load_size=4, crop_size=4, limit=3).cardinality())
        == 3
    )
    edges = ascendgan.data.edge_pairs(tmp_path / "photos", load_size=4, crop_size=4, limit=1)
    assert int(edges.cardinality()) == 1
    arrays = ascendgan.data.image_folder_arrays(tmp_path / "photos", limit=3)
    assert arrays[:, 0, 0, 0].tolist() == [0, 40, 80]
    with pytest.raises(ValueError, match=r"`limit` must be an integer >= 1 or None. Received: limit=0"):
        mnist(split="test", limit=0)


def test_pipeline_objects_check_and_normalize_their_fields():
    from ascendgan.data._image_pipeline import ImageSpec
    from ascendgan.data._images import Jitter
    from ascendgan.data._pipeline import Batching

    spec = ImageSpec(image_size=64, center_crop=[108, 100])
    assert (spec.image_size, spec.center_crop, spec.channels, spec.scale) == (
        (64, 64), (108, 100), 3, True)
    with pytest.raises(ValueError, match=r"`expected_size` must be None, a positive int"):
        ImageSpec(expected_size=0)
    with pytest.raises(ValueError, match=r"`skip_corrupt` must be True or False"):
        ImageSpec(skip_corrupt="yes")
    batching = Batching(batch_size=np.int64(4), seed=np.int64(3))
    assert (type(batching.batch_size), batching.seed, batching.derived_seed(1)) == (int, 3, 4)
    assert Batching.in_order(8).deterministic and not Batching(shuffle=True).deterministic
    with pytest.raises(ValueError, match=r"holds 3 images, fewer than batch_size=4"):
        batching.check_enough(3, "the data")
    assert Jitter(load_size=8, crop_size=8, jitter=False).crop_size == 8
    with pytest.raises(ValueError, match=r"`crop_size` must be an integer >= 1. Received: crop_size=0"):
        Jitter(crop_size=0)


def test_edge_pairs_argument_errors(tmp_path):
    with pytest.raises(ValueError, match=r"`edge_channels` must be 1 \(greyscale\) or 3"):
        ascendgan.data.edge_pairs(tmp_path, edge_channels=2)
    with pytest.raises(ValueError, match=r"`edge_threshold` must be a number > 0"):
        ascendgan.data.edge_pairs(tmp_path, edge_threshold=0)
    with pytest.raises(ValueError, match=r"`blur_sigma` must be a number >= 0"):
        ascendgan.data.edge_map(np.zeros((1, 4, 4, 1), "float32"), blur_sigma=-1)
