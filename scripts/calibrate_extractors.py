"""Calibration of the shipped domain extractors: FID of known degradations of real images.

With each shipped extractor (``mnist_cnn``, ``cifar10_cnn``) it computes the FID of

- real images (the other split),
- real images blurred by a Gaussian of sigma 1 pixel,
- real images plus uniform noise in [-40, 40] (on 0..255, clipped),
- real images of one class only (class 1), and of two classes (0 and 1),
- uniform noise images,

against each split's shipped reference statistics: samples made from the test split
against the train reference (what ``ascendgan evaluate`` uses for a run on the shipped
MNIST, and ``domain_fid``'s default), and samples made from 10,000 random train images
against the test reference. It prints a Markdown table (for ``docs/metrics.md``) and
writes the numbers to ``ascendgan/metrics/extractors/calibration.json``, which the tests
check ``domain_fid`` against.

    python scripts/calibrate_extractors.py
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile

import numpy as np
from scipy import ndimage

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from train_extractors import load_split, machine  # noqa: E402

from ascendgan import metrics  # noqa: E402
from ascendgan.metrics.domain import EXTRACTORS_DIR  # noqa: E402

NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
CLASS_NAMES = {"mnist": ("zero", "one"), "cifar10": ("airplane", "automobile")}
#: The rows of the table: (key, description).
CONDITIONS = (
    ("real", "real images (the other split)"),
    ("blur", "real, Gaussian blur σ = 1 pixel"),
    ("noise", "real + uniform noise ±40 (of 0..255)"),
    ("one_class", "real, one class only (class 1)"),
    ("two_classes", "real, two classes (0 and 1)"),
    ("uniform_noise", "uniform noise images"),
)
SEED = 0
SAMPLES = 10_000


def degraded(condition, images, labels, rng):
    """float images in 0..255 for a condition, from uint8 real images."""
    x = images.astype(np.float32)
    if condition == "real":
        return x
    if condition == "blur":
        return ndimage.gaussian_filter(x, sigma=(0, 1, 1, 0), mode="reflect")
    if condition == "noise":
        return np.clip(x + rng.uniform(-40, 40, x.shape).astype(np.float32), 0, 255)
    if condition == "one_class":
        return x[labels == 1]
    if condition == "two_classes":
        return x[(labels == 0) | (labels == 1)]
    if condition == "uniform_noise":
        return rng.uniform(0, 255, (SAMPLES, *x.shape[1:])).astype(np.float32)
    raise ValueError(condition)


def calibrate(domain, data_dir, scratch, log):
    train_images, train_labels = load_split(domain, data_dir, "train", scratch)
    test_images, test_labels = load_split(domain, data_dir, "test", scratch)
    rng = np.random.default_rng(SEED)
    pick = np.sort(rng.choice(len(train_images), SAMPLES, replace=False))
    extractor = metrics.domain_extractor(domain)
    references = {split: metrics.domain_reference(domain, split, extractor=extractor)
                  for split in ("train", "test")}
    train_test = metrics.frechet_distance(references["train"].mean, references["train"].covariance,
                                          references["test"].mean, references["test"].covariance)
    results = {"train_vs_test_statistics": train_test}
    sources = {"train": (test_images, test_labels), "test": (train_images[pick], train_labels[pick])}
    for reference_split, (images, labels) in sources.items():
        for condition, _ in CONDITIONS:
            samples = degraded(condition, images, labels, np.random.default_rng(SEED)) / 127.5 - 1
            result = metrics.evaluate(
                samples.astype(np.float32), references[reference_split], metrics=["fid"],
                num_samples=None, extractor=extractor, batch_size=500, seed=SEED)
            value = result.values[f"fid_{extractor.name}"]
            results[f"{condition}_vs_{reference_split}"] = {"fid": value, "samples": len(samples)}
            log(f"  {domain} {condition} vs {reference_split}: {value:.4g} ({len(samples)} images)")
    return {"extractor": extractor.name, "version": extractor.version,
            "weights_sha256": extractor.weights_sha256, "results": results}


def markdown(calibration, when):
    domains = list(calibration)
    header = "| samples | " + " | ".join(
        f"{NAMES[d]} vs train ref. | {NAMES[d]} vs test ref." for d in domains) + " |"
    lines = [header, "| --- |" + " ---: | ---: |" * len(domains)]
    for condition, text in CONDITIONS:
        cells = []
        for domain in domains:
            results = calibration[domain]["results"]
            for split in ("train", "test"):
                entry = results[f"{condition}_vs_{split}"]
                count = "" if entry["samples"] == SAMPLES else f" ({entry['samples']:,} images)"
                cells.append(f"{entry['fid']:.3g}{count}")
        lines.append(f"| {text} | " + " | ".join(cells) + " |")
    cells = []
    for domain in domains:
        value = calibration[domain]["results"]["train_vs_test_statistics"]
        cells += [f"{value:.3g}", "″"]
    lines.append("| the full train split's statistics vs the test split's | " + " | ".join(cells) + " |")
    extractors = ", ".join(f"`{c['extractor']}` v{c['version']}" for c in calibration.values())
    lines.append("")
    lines.append(f"Extractors {extractors}; samples made from the test split (10,000 images) "
                 "against the full train split's shipped statistics (\"vs train ref.\"), and from "
                 "10,000 random train images against the test split's (\"vs test ref.\"); class "
                 "1 is MNIST's ones and CIFAR-10's automobiles, classes 0 and 1 add zeros / "
                 f"airplanes. Measured {when['date']} on {when['machine']} by "
                 "`scripts/calibrate_extractors.py`.")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data"))
    parser.add_argument("--domains", nargs="+", default=list(metrics.DOMAIN_EXTRACTORS))
    parser.add_argument("--json", default=os.path.join(EXTRACTORS_DIR, "calibration.json"))
    parser.add_argument("--markdown", default=None, help="also write the table to this file")
    args = parser.parse_args(argv)
    when = {"date": datetime.date.today().isoformat(), "machine": machine()}
    calibration = {}
    with tempfile.TemporaryDirectory() as scratch:
        for domain in args.domains:
            calibration[domain] = calibrate(domain, args.data, scratch,
                                            lambda text: print(text, flush=True))
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump({"measured": when, "seed": SEED, "samples": SAMPLES, **calibration}, handle,
                  indent=1)
        handle.write("\n")
    table = markdown(calibration, when)
    print(table)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as handle:
            handle.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
