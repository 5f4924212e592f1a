"""Trains the domain feature extractors shipped in ``ascendgan/metrics/extractors/``.

For each domain (MNIST, CIFAR-10) it trains the classifier of
:func:`ascendgan.metrics.domain.build_domain_network` on the full train split with a
fixed recipe and seed, then writes, next to the package code:

- ``<name>-v<version>.npz``: the weights (compressed, one float32 array per variable);
- ``<name>-v<version>-{train,test}.npz``: mean and covariance (float64) of the 256-d
  features over the full train and test splits (a ``ReferenceStatistics`` file);
- ``<name>-v<version>.json``: the card (recipe, accuracies, hashes, the logits the tests
  check).

The SHA-256 values it prints go into ``DOMAIN_EXTRACTORS`` in
``ascendgan/metrics/domain.py`` (the package refuses files whose hash is not recorded
there). Data: the real MNIST IDX files and the CIFAR-10 JPEG tar of the project's shared
data folder (``../shared/data`` from the repository root), read with the package's own
loaders.

    python scripts/train_extractors.py                      # both, into the package
    python scripts/train_extractors.py --domains mnist --out /tmp/extractors
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np
import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from ascendgan import compat, data  # noqa: E402
from ascendgan.metrics import domain as domain_lib  # noqa: E402
from ascendgan.metrics import reference_statistics  # noqa: E402
from ascendgan.metrics.features import file_digest  # noqa: E402

keras = compat.keras

#: The training recipe of each extractor (recorded in its card).
RECIPES = {
    "mnist": {
        "epochs": 8,
        "batch_size": 128,
        "optimizer": "Adam (beta_1 0.9, beta_2 0.999, epsilon 1e-7)",
        "learning_rate": 2e-3,
        "schedule": "cosine decay to 0 over all steps",
        "dropout": 0.5,
        "augmentation": "random translation by up to 2 pixels in x and y (zero padding)",
        "pad": 2,
        "flip": False,
    },
    "cifar10": {
        "epochs": 7,
        "batch_size": 128,
        "optimizer": "Adam (beta_1 0.9, beta_2 0.999, epsilon 1e-7)",
        "learning_rate": 2e-3,
        "schedule": "cosine decay to 0 over all steps",
        "dropout": 0.3,
        "augmentation": "random horizontal flip and a random 32x32 crop of the image "
                        "zero-padded by 4 pixels",
        "pad": 4,
        "flip": True,
    },
}

SOURCES = {
    "mnist": "MNIST from the project's shared data (the four IDX files; rebuilt from a "
             "lossless PNG copy: labels and order as the official files, pixel statistics "
             "slightly different)",
    "cifar10": "CIFAR-10 from the project's shared data: a JPEG re-encoding of the official "
               "images (cifar10-jpeg.tar.gz, cifar10/{train,test}/<class>/*.jpg), read "
               "in class-folder order",
}
SLICE = {"mnist": 1000, "cifar10": 500}


def load_split(domain, data_dir, split, scratch):
    """uint8 images and int32 labels of a full split, through the package's loaders."""
    if domain == "mnist":
        return data.mnist_arrays(os.path.join(data_dir, "mnist"), split=split)
    folder = os.path.join(scratch, "cifar10")
    if not os.path.isdir(folder):
        with tarfile.open(os.path.join(data_dir, "cifar10-jpeg.tar.gz")) as archive:
            archive.extractall(scratch, filter="data")
    return data.cifar10_arrays(folder, split=split, format="folder")


def augment(images, recipe, rng):
    """Random translation (pad + crop) and horizontal flip of uint8 images, in numpy."""
    pad = recipe["pad"]
    count, height, width, _ = images.shape
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dy = rng.integers(0, 2 * pad + 1, count)
    dx = rng.integers(0, 2 * pad + 1, count)
    out = np.empty_like(images)
    for y in range(2 * pad + 1):
        for x in range(2 * pad + 1):
            index = np.flatnonzero((dy == y) & (dx == x))
            out[index] = padded[index, y:y + height, x:x + width]
    if recipe["flip"]:
        flip = np.flatnonzero(rng.random(count) < 0.5)
        out[flip] = out[flip, :, ::-1]
    return out


def to_unit(images):
    return images.astype(np.float32) / 127.5 - 1.0


def train(domain, train_images, train_labels, seed, log):
    """The trained network (mixed_bfloat16 compute, float32 variables); seconds taken."""
    recipe = RECIPES[domain]
    compat.clear_session()
    compat.set_random_seed(seed)
    model = domain_lib.build_domain_network(domain, dropout=recipe["dropout"],
                                            policy="mixed_bfloat16")
    steps_per_epoch = len(train_images) // recipe["batch_size"]
    schedule = keras.optimizers.schedules.CosineDecay(
        recipe["learning_rate"], decay_steps=recipe["epochs"] * steps_per_epoch)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    rng = np.random.default_rng(seed)
    load = [os.getloadavg()[0]]  # other jobs on the same cores make the wall time longer
    start = time.perf_counter()
    for epoch in range(recipe["epochs"]):
        order = rng.permutation(len(train_images))[: steps_per_epoch * recipe["batch_size"]]
        images = to_unit(augment(train_images[order], recipe, rng))
        history = model.fit(images, train_labels[order], batch_size=recipe["batch_size"],
                            epochs=1, shuffle=False, verbose=0)
        log(f"  {domain} epoch {epoch + 1}/{recipe['epochs']}: loss "
            f"{history.history['loss'][-1]:.4f}, accuracy {history.history['accuracy'][-1]:.4f} "
            f"({time.perf_counter() - start:.0f} s)")
        load.append(os.getloadavg()[0])
    return model, time.perf_counter() - start, (min(load), max(load))


def predict(extractor, images, batch=500):
    """Logits of uint8 images through the float32 extractor."""
    return np.concatenate([extractor(to_unit(images[i:i + batch])).logits
                           for i in range(0, len(images), batch)])


def statistics(extractor, images, name, split):
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(500).map(
        lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0)
    return reference_statistics(dataset, extractor, batch_size=500, max_features=0,
                                name=name, split=split)


def synthetic_inputs(spec):
    """The fixed inputs whose logits the card records (no data needed to check them)."""
    return np.random.default_rng(0).uniform(-1, 1, (4, *spec.input_shape)).astype(np.float32)


def machine():
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in text.splitlines()
                     if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or "unknown"
    return f"{model}, {os.cpu_count()} cores"


def rounded(array, digits=5):
    return np.round(np.asarray(array, np.float64), digits).tolist()


def build(domain, data_dir, out, seed, scratch, log, limit=None):
    spec = domain_lib.domain_spec(domain)
    recipe = RECIPES[domain]
    train_images, train_labels = load_split(domain, data_dir, "train", scratch)
    if limit:  # checking the script only
        train_images, train_labels = train_images[:limit], train_labels[:limit]
    test_images, test_labels = load_split(domain, data_dir, "test", scratch)
    log(f"{domain}: train {train_images.shape}, test {test_images.shape}")
    model, seconds, load = train(domain, train_images, train_labels, seed, log)

    weights = os.path.join(out, f"{spec.stem}.npz")
    digest = domain_lib.save_weights(model, weights)
    extractor = domain_lib.domain_extractor(domain, weights=weights, sha256=digest)
    test_logits = predict(extractor, test_images)
    train_logits = predict(extractor, train_images)
    test_accuracy = float(np.mean(test_logits.argmax(1) == test_labels))
    train_accuracy = float(np.mean(train_logits.argmax(1) == train_labels))
    log(f"{domain}: test accuracy {test_accuracy:.4f}, train {train_accuracy:.4f}, "
        f"trained in {seconds:.0f} s")

    if domain == "mnist":  # the slice the tests read: the shipped test digits
        slice_images, slice_labels = data.mnist_arrays(split="test")
        slice_text = ("the first 1000 images of the MNIST test split shipped with ascendgan "
                      "(ascendgan.data.mnist_arrays(split='test'))")
    else:
        slice_images, slice_labels = test_images, test_labels
        slice_text = ("the first 500 images of the CIFAR-10 test split of the shared data, as "
                      "ascendgan.data.cifar10_arrays(<extracted tar>/cifar10, split='test', "
                      "format='folder') reads them (class folders in CIFAR10_CLASSES order)")
    count = SLICE[domain]
    slice_logits = predict(extractor, slice_images[:count])
    slice_correct = int(np.sum(slice_logits.argmax(1) == slice_labels[:count]))
    synthetic = extractor(synthetic_inputs(spec))

    references = {}
    for split, images in (("train", train_images), ("test", test_images)):
        stats = statistics(extractor, images, domain, split)
        path = os.path.join(out, f"{spec.stem}-{split}.npz")
        stats.save(path, compressed=True)
        references[split] = {"file": os.path.basename(path), "sha256": file_digest(path),
                             "count": stats.count, "dtype": "float64", "bytes": os.path.getsize(path)}
    card = {
        "name": spec.name,
        "version": spec.version,
        "domain": domain,
        "weights_file": os.path.basename(weights),
        "sha256": digest,
        "weights_bytes": os.path.getsize(weights),
        "parameters": int(model.count_params()),
        "architecture": (f"{' | '.join(' '.join(f'conv3x3-{f}' for f in stage) for stage in spec.stages)}"
                         f" (each stage ends in 2x2 max pooling; "
                         f"{'batch norm + ' if spec.batch_norm else ''}ReLU after each conv), "
                         f"max pool {spec.head_pool[0]}x{spec.head_pool[0]} stride "
                         f"{spec.head_pool[1]}, flatten, Dense(256) + batch norm + ReLU = features, "
                         f"dropout, Dense(10) = logits"),
        "input": {"shape": list(spec.input_shape), "range": [-1, 1],
                  "from_uint8": "x / 127.5 - 1", "resize": "none (image_size=None)"},
        "features": {"layer": "features", "dim": domain_lib.FEATURE_DIM, "activation": "relu"},
        "logits_layer": "logits",
        "train_split": {"data": SOURCES[domain], "split": "train", "count": int(len(train_images))},
        "recipe": {**{k: v for k, v in recipe.items() if k not in ("pad", "flip")},
                   "loss": "sparse categorical cross-entropy on logits",
                   "precision": "mixed_bfloat16 compute, float32 variables; the shipped "
                                "network runs in float32",
                   "seed": seed, "model_selection": "none (the last epoch is shipped; the "
                                                     "test split was only used to report)"},
        "training": {"seconds": round(seconds, 1), "machine": machine(),
                     "load_average": [round(v, 2) for v in load],
                     "date": datetime.date.today().isoformat(),
                     "tensorflow": tf.__version__, "keras": ".".join(map(str, compat.KERAS_VERSION))},
        "test_accuracy": round(test_accuracy, 6),
        "test_count": int(len(test_images)),
        "train_accuracy": round(train_accuracy, 6),
        "slice": {"description": slice_text, "count": count, "correct": slice_correct,
                  "accuracy": slice_correct / count, "logits_first_4": rounded(slice_logits[:4])},
        "synthetic": {"description": "np.random.default_rng(0).uniform(-1, 1, (4, *input_shape)) "
                                     "as float32",
                      "logits": rounded(synthetic.logits),
                      "features_sum": rounded(synthetic.features.sum(axis=1), 4)},
        "reference_statistics": references,
    }
    with open(os.path.join(out, f"{spec.stem}.json"), "w", encoding="utf-8") as handle:
        handle.write(card_json(card))
    return card


def card_json(card):
    """The card as indented JSON with lists of numbers kept on one line."""
    text = json.dumps(card, indent=1)
    return re.sub(r"\[\s*([-0-9.e,\s]+?)\s*\]",
                  lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
                  text) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data"),
                        help="the shared data folder (mnist/, cifar10-jpeg.tar.gz)")
    parser.add_argument("--out", default=domain_lib.EXTRACTORS_DIR, help="where the files go")
    parser.add_argument("--domains", nargs="+", default=["mnist", "cifar10"],
                        choices=sorted(domain_lib.DOMAIN_EXTRACTORS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None,
                        help="override every recipe's epochs (only to check the script)")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N images only (only to check the script)")
    args = parser.parse_args(argv)
    if args.epochs:
        for recipe in RECIPES.values():
            recipe["epochs"] = args.epochs
    os.makedirs(args.out, exist_ok=True)
    cards = {}
    with tempfile.TemporaryDirectory() as scratch:
        for domain in args.domains:
            cards[domain] = build(domain, args.data, args.out, args.seed, scratch,
                                  lambda text: print(text, flush=True), args.limit)
    print("\nRecord these in DOMAIN_EXTRACTORS (ascendgan/metrics/domain.py):")
    for domain, card in cards.items():
        refs = {split: ref["sha256"] for split, ref in card["reference_statistics"].items()}
        print(f"  {domain}: weights_sha256={card['sha256']!r},\n"
              f"      reference_sha256={refs!r},")
        print(f"  test accuracy {card['test_accuracy']}, {card['training']['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
