"""Sample sources: GANs, callables, data sets and arrays as image batches; their errors."""

import numpy as np
import pytest
import tensorflow as tf
from _metric_helpers import images, pixel_features, pixels, tiny_gan

from ascendgan.metrics import evaluate, inception_score
from ascendgan.metrics.sources import image_batches


def test_gan_source_is_reproducible_and_counted():
    gan = tiny_gan()
    batches = list(image_batches(gan, num_samples=10, batch_size=4, seed=5))
    assert [len(b) for b in batches] == [4, 4, 2]
    again = np.concatenate(list(image_batches(gan, num_samples=10, batch_size=4, seed=5)))
    other = np.concatenate(list(image_batches(gan, num_samples=10, batch_size=4, seed=6)))
    np.testing.assert_array_equal(np.concatenate(batches), again)
    assert not np.allclose(again, other)
    assert np.abs(again).max() <= 1.0
    real = images(np.random.default_rng(0), 30)
    r1 = evaluate(gan, real, num_samples=10, extractor=pixels(), batch_size=4, seed=5)
    r2 = evaluate(again, real, num_samples=None, extractor=pixels(), batch_size=3)
    assert r1["fid"] == pytest.approx(r2["fid"], rel=1e-6)   # rank-deficient: round-off grows
    assert r1.protocol["source"].startswith("GAN")


def test_conditional_gan_gets_random_labels():
    gan = tiny_gan(num_classes=16)
    generated = np.concatenate(list(image_batches(gan, num_samples=40, batch_size=16, seed=0)))
    labels = np.argmax(generated.reshape(40, 16), axis=1)   # the one-hot pixel is the label
    assert len(np.unique(labels)) >= 8


def test_callable_source_is_called_with_the_batch_sizes(rng):
    sizes = []

    def sample(n):
        sizes.append(n)
        return tf.constant(images(rng, n))

    result = evaluate(sample, images(rng, 20), num_samples=10, extractor=pixels(), batch_size=4)
    assert sizes == [4, 4, 2] and result.protocol["num_samples"] == 10


@pytest.mark.parametrize("form", ["unbatched", "batched", "labelled", "dict"])
def test_dataset_sources(rng, form):
    data = images(rng, 23)
    labels = np.arange(23)
    if form == "unbatched":
        ds = tf.data.Dataset.from_tensor_slices(data)
    elif form == "batched":
        ds = tf.data.Dataset.from_tensor_slices(data).batch(5)
    elif form == "labelled":
        ds = tf.data.Dataset.from_tensor_slices((data, labels)).batch(5)
    else:
        ds = tf.data.Dataset.from_tensor_slices({"images": data, "labels": labels}).batch(5)
    got = np.concatenate(list(image_batches(ds, num_samples=12, batch_size=4)))
    np.testing.assert_array_equal(got, data[:12])
    everything = np.concatenate(list(image_batches(ds, num_samples=None, batch_size=4)))
    np.testing.assert_array_equal(everything, data)


def test_a_short_data_set_warns_and_stamps_the_real_count(rng):
    data = images(rng, 9)
    with pytest.warns(UserWarning, match="ran out after 9"):
        result = evaluate(tf.data.Dataset.from_tensor_slices(data), images(rng, 20),
                          metrics=["fid", "is"], num_samples=50, extractor=pixels(), splits=3)
    assert result.protocol["num_samples"] == 9
    _, logits = pixel_features(data)
    assert result["is"] == pytest.approx(inception_score(logits, 3, from_logits=True).mean, rel=1e-6)


def test_source_errors(rng):
    gan = tiny_gan()
    with pytest.raises(TypeError, match="not an ascendgan GAN"):
        list(image_batches(gan.generator, num_samples=4))
    with pytest.raises(ValueError, match="num_samples"):
        list(image_batches(lambda n: images(rng, n), num_samples=None))
    with pytest.raises(TypeError, match="generator_or_dataset"):
        evaluate(42, images(rng, 8), extractor=pixels())
    with pytest.raises(TypeError, match="127.5"):
        evaluate((images(rng, 8) * 127 + 128).astype("uint8"), images(rng, 8), num_samples=None,
                 extractor=pixels())
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        evaluate(images(rng, 8) * 100, images(rng, 8), num_samples=None, extractor=pixels())
    with pytest.raises(ValueError, match="Unknown metric 'fld'"):
        evaluate(images(rng, 8), images(rng, 8), metrics=["fld"], extractor=pixels())
    with pytest.raises(TypeError, match="`reference` must be"):
        evaluate(images(rng, 8), 42, num_samples=None, extractor=pixels())
    with pytest.raises(ValueError, match="`reference` is required"):
        evaluate(images(rng, 8), metrics=["fid"], num_samples=None, extractor=pixels())


def test_gan_settings_pick_the_generator_and_the_truncation(rng):
    gan = tiny_gan(ema_decay=0.9)
    gan.generate(1)                                       # builds the averaged generator
    gan.generator.set_weights([w + 0.5 for w in gan.generator.get_weights()])

    def drawn(**kwargs):
        return np.concatenate(list(image_batches(gan, num_samples=6, batch_size=3, seed=1, **kwargs)))

    raw, averaged = drawn(use_ema=False), drawn()
    assert not np.allclose(raw, averaged)
    gan.ema_generator.set_weights(gan.generator.get_weights())
    np.testing.assert_array_equal(drawn(), raw)           # same latents, the generator differs
    assert not np.allclose(drawn(truncation=0.05), raw)
    result = evaluate(gan, images(rng, 20), num_samples=6, extractor=pixels(), batch_size=3,
                      truncation=0.05, use_ema=False)
    assert result.protocol["truncation"] == 0.05 and result.protocol["use_ema"] is False
    with pytest.raises(ValueError, match="truncation"):
        evaluate(images(rng, 8), images(rng, 8), num_samples=None, extractor=pixels(),
                 truncation=1.0)
