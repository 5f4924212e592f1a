"""ascendgan.data.imagenet: ImageNet class folders and TFRecords written here in their real
layouts; the evaluation resize / centre crop and the training random resized crop checked
with images whose pixels encode where they come from; labels, synset files, shards, epoch
orders and errors."""

import os

import numpy as np
import pytest
import tensorflow as tf

from ascendgan.data import (
    DataFormatError,
    DatasetNotFoundError,
    imagenet,
    imagenet_files,
    read_synsets,
)
from ascendgan.data.imagenet import epoch_order, random_resized_crop, resize_and_center_crop

QUADRANTS = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200], [220, 220, 40]], np.uint8)


def quadrant_image(height, width):
    """Four flat quadrants: top-left, top-right, bottom-left, bottom-right colours."""
    image = np.zeros((height, width, 3), np.uint8)
    h, w = height // 2, width // 2
    image[:h, :w], image[:h, w:], image[h:, :w], image[h:, w:] = QUADRANTS
    return image


def coordinate_image(size=64):
    """Red counts columns and green counts rows (4 levels a pixel): a crop says where it is."""
    rows, cols = np.mgrid[0:size, 0:size]
    return np.stack([cols * 4, rows * 4, np.full_like(rows, 128)], -1).astype(np.uint8)


def write_folder(root, write_image, splits=(("train", "train"), ("val", "val")), per_class=3,
                 classes=("n02", "n01"), size=(20, 16)):
    """``root/<folder>/<class>/<i>.png``; returns {split: {class: [images]}}."""
    rng = np.random.default_rng(0)
    written = {}
    for split, folder in splits:
        written[split] = {}
        for name in classes:
            images = [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(per_class)]
            for i, image in enumerate(images):
                write_image(os.path.join(root, folder, name, f"{i}.png"), image)
            written[split][name] = images
    return written


def write_records(path, images, labels):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for image, label in zip(images, labels):
            example = tf.train.Example(features=tf.train.Features(feature={
                "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(
                    value=[tf.io.encode_png(image).numpy()])),
                "image/class/label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                "image/class/text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"x"])),
            }))
            writer.write(example.SerializeToString())


# ----------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("height, width", [(48, 64), (64, 48)])
def test_evaluation_resizes_the_shorter_side_then_cuts_the_centre(height, width):
    """Shorter side 48 -> 24 (scale 1/2), centre 16x16: the crop spans rows 8..40 and columns
    16..48 of a 48x64 image, so each quadrant fills an 8x8 corner of the output."""
    out = resize_and_center_crop(tf.constant(quadrant_image(height, width)), 16, 24).numpy()
    assert out.shape == (16, 16, 3)
    for (r, c), colour in zip([(2, 2), (2, 13), (13, 2), (13, 13)], QUADRANTS):
        np.testing.assert_allclose(out[r, c], colour, atol=1.0)
    assert out.min() >= 0 and out.max() <= 255


def test_random_resized_crop_is_a_window_of_8_to_100_percent_with_a_bounded_aspect():
    image = tf.constant(coordinate_image(64))
    windows = set()
    for seed in range(12):
        out = random_resized_crop(image, 16, tf.constant([seed, 7], tf.int64)).numpy()
        assert out.shape == (16, 16, 3)
        red, green = out[..., 0], out[..., 1]
        assert np.all(np.diff(red, axis=1) >= -1e-3) and np.all(np.diff(green, axis=0) >= -1e-3)
        # the window's extent in source pixels, from the first and last output pixel centres
        width = (red[:, -1].mean() - red[:, 0].mean()) / 4 * 16 / 15
        height = (green[-1].mean() - green[0].mean()) / 4 * 16 / 15
        area = width * height / 64**2
        assert 0.08 * 0.8 <= area <= 1.0 + 1e-6, area
        assert 0.75 * 0.8 <= width / height <= 4 / 3 * 1.25, (width, height)
        windows.add((round(width), round(height), round(float(red[0, 0]))))
        again = random_resized_crop(image, 16, tf.constant([seed, 7], tf.int64)).numpy()
        np.testing.assert_array_equal(out, again)  # stateless: the seed decides
    assert len(windows) > 6  # different seeds, different windows


# ----------------------------------------------------------------------------- folders


def test_class_folders_labels_and_synset_order(tmp_path, write_image):
    written = write_folder(tmp_path, write_image, splits=(("train", "train"), ("val", "validation")))
    layout, files, labels, names = imagenet_files(tmp_path, "val")
    assert layout == "folder" and names == ("n01", "n02") and labels == [0, 0, 0, 1, 1, 1]
    assert all("/validation/" in f for f in files)

    (tmp_path / "synsets.txt").write_text("n02 second class, words\nn01 first\n")
    assert read_synsets(tmp_path / "synsets.txt") == ("n02", "n01")
    val = imagenet(tmp_path, "val", batch_size=6, image_size=16, eval_resize=16, num_classes=2,
                   synsets=str(tmp_path / "synsets.txt"))
    images, labels = next(iter(val))
    assert labels.numpy().tolist() == [0, 0, 0, 1, 1, 1]  # in label order: n02 is label 0 now
    # 20x16 images, shorter side 16 -> no resize; the centre 16x16 rows 2..18
    expected = np.stack(written["val"]["n02"] + written["val"]["n01"])[:, 2:18] / 127.5 - 1
    np.testing.assert_allclose(images.numpy(), expected, atol=1e-5)


def test_training_batches_are_seeded_crops_of_every_image(tmp_path, write_image):
    write_folder(tmp_path, write_image, per_class=4)

    def epoch(seed):
        data = imagenet(tmp_path, "train", batch_size=4, image_size=8, eval_resize=8, seed=seed,
                        num_classes=2)
        return [(x.numpy(), y.numpy()) for x, y in data]

    first = epoch(3)
    assert len(first) == 2 and all(x.shape == (4, 8, 8, 3) for x, _ in first)
    assert sorted(np.concatenate([y for _, y in first]).tolist()) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert all(x.min() >= -1 and x.max() <= 1 for x, _ in first)
    again = epoch(3)
    for (x, y), (x2, y2) in zip(first, again):
        np.testing.assert_array_equal(y, y2)
        np.testing.assert_allclose(x, x2)
    assert any(not np.allclose(a[0], b[0]) for a, b in zip(first, epoch(4)))


def test_shards_keep_every_nth_file(tmp_path, write_image):
    write_folder(tmp_path, write_image, per_class=3)  # 6 images per split
    data = imagenet(tmp_path, "val", batch_size=6, image_size=16, eval_resize=16, num_classes=2,
                    shard=(2, 1), drop_remainder=False)
    _, files, labels, _ = imagenet_files(tmp_path, "val")
    found = np.concatenate([y.numpy() for _, y in data]).tolist()
    assert found == labels[1::2] and len(found) == 3


def test_epoch_orders_are_a_function_of_the_seed():
    stream = epoch_order(range(5), seed=2, repeat=True)
    first = [int(i) for i in stream.take(15)]
    assert all(sorted(first[k:k + 5]) == list(range(5)) for k in (0, 5, 10))
    assert first[:5] != first[5:10] or first[5:10] != first[10:]
    assert [int(i) for i in stream.take(15)] == first  # a new iterator: the same sequence
    assert int(stream.cardinality()) == int(tf.data.INFINITE_CARDINALITY)
    one = epoch_order(range(5), seed=2)
    assert int(one.cardinality()) == 5 and sorted(int(i) for i in one) == list(range(5))
    assert [int(i) for i in epoch_order(range(3), shuffle=False)] == [0, 1, 2]


# ----------------------------------------------------------------------------- TFRecords


def test_tfrecords_with_the_standard_features(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    labels = [1, 2, 3, 1, 2]  # build_imagenet_data.py numbers the classes from 1
    write_records(tmp_path / "validation-00000-of-00002", images[:3], labels[:3])
    write_records(tmp_path / "validation-00001-of-00002", images[3:], labels[3:])
    write_records(tmp_path / "train-00000-of-00001", images, labels)
    layout, files, _, _ = imagenet_files(tmp_path, "val")
    assert layout == "tfrecord" and [os.path.basename(f) for f in files] == [
        "validation-00000-of-00002", "validation-00001-of-00002"]
    val = imagenet(tmp_path, "val", batch_size=5, image_size=8, eval_resize=8, num_classes=3,
                   drop_remainder=False)
    x, y = next(iter(val))
    assert sorted(y.numpy().tolist()) == [0, 0, 1, 1, 2]  # label_offset=-1
    order = [next(i for i in range(5) if np.allclose(img, images[i] / 127.5 - 1, atol=1e-5))
             for img in x.numpy()]
    assert sorted(order) == [0, 1, 2, 3, 4]  # every image, decoded exactly
    assert [labels[i] - 1 for i in order] == y.numpy().tolist()
    train = imagenet(str(tmp_path / "train-*"), "train", batch_size=2, image_size=4, eval_resize=4,
                     num_classes=3, seed=0)
    assert next(iter(train))[0].shape == (2, 4, 4, 3)
    zero_based = imagenet(tmp_path, "val", batch_size=5, image_size=8, eval_resize=8, num_classes=3,
                          label_offset=0, drop_remainder=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label 3, outside \[0, 3\).*label_offset"):
        list(zero_based)


# ----------------------------------------------------------------------------- errors


def test_errors_name_what_is_wrong(tmp_path, write_image):
    with pytest.raises(DatasetNotFoundError, match=r"split 'train' was not found.*train/<class>/.*train-\*"):
        imagenet(tmp_path, "train")
    write_folder(tmp_path, write_image, classes=("a", "b", "c"))
    with pytest.raises(DataFormatError, match=r"3 class sub-folders .* num_classes=2"):
        imagenet(tmp_path, "train", num_classes=2, image_size=8, eval_resize=8)
    (tmp_path / "dup.txt").write_text("a\nb\na\n")
    with pytest.raises(DataFormatError, match=r"dup.txt', line 3: synset 'a'"):
        read_synsets(tmp_path / "dup.txt")
    (tmp_path / "mixed.txt").write_text("a 0\nb\n")
    with pytest.raises(DataFormatError, match="mixes lines with and without a label"):
        read_synsets(tmp_path / "mixed.txt")
    with pytest.raises(ValueError, match=r"`eval_resize` must be an integer >= 224"):
        imagenet(tmp_path, "train", eval_resize=200)
    with pytest.raises(ValueError, match=r"`split` must be one of"):
        imagenet(tmp_path, "test")
    with pytest.raises(ValueError, match=r"`shard index` must be an integer >= 0 and <= 1"):
        imagenet(tmp_path, "train", shard=(2, 2))
