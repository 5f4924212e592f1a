"""Held-out quality and checkerboard artefacts of a Pix2Pix edges -> photo run, per checkpoint.

For a run directory written by ``ascendgan train pix2pix --pairs edges`` and a folder of
held-out photos (disjoint from the training folder), every checkpoint of the run, and the
untrained generator (step 0, built from the run's preset and seed), is evaluated on the
held-out ``(edges, photo)`` pairs. The pairs come from the library's own
:func:`ascendgan.data.edge_pairs` with the preset's sizes and no jitter (a plain
antialiased resize to ``crop_size``, no flip), so the edges are drawn exactly as in
training. Per checkpoint it reports:

- ``l1``: mean absolute error between translation and photo on [-1, 1] images;
- ``patch_real_on_real`` / ``patch_real_on_fake``: the fraction of PatchGAN output
  patches with logit > 0 on ``(edges, photo)`` and on ``(edges, translation)`` pairs;
- ``nyquist_share``: the share of the spectral power (per channel, mean removed, 2-D
  FFT) in the period-2 row and column of the spectrum (``fy = N/2`` or ``fx = N/2``),
  for the translations, the photos (baseline) and the edge maps (the input);
- ``phase_rms``: the RMS deviation of the means of the four pixel phases
  ``(i % 2, j % 2)`` from their average, in [-1, 1] units: the image-wide checkerboard
  amplitude (it equals the power at the three pure period-2 frequencies);
- ``periodic_share``: the power share of the exactly periodic part of period 2, 4 and 8
  (a period-4 or -8 grid comes from the upsampling layers before the last one);
- ``convt_phase_imbalance``: per decoder ``Conv2DTranspose`` (innermost first), the share
  of its flat-input gain that differs between its four output phases (weights only).

The generator runs as :meth:`ascendgan.models.Pix2Pix.translate` runs it by default
(``test_mode="train"``: batch statistics and active dropout, the pix2pix paper's test
mode, also what the sample grids show), one image per call as in training (batch size 1),
with a fixed dropout seed. ``--modes train inference`` adds the moving-statistics,
no-dropout mode. The discriminator runs as in training (``training=True``, one pair per
call). Networks compute in the run's precision, as :func:`ascendgan.recipes.load_run`
does.

    python scripts/pix2pix_checkerboard.py /tmp/ag/p2p /tmp/ag/p2p_data/heldout \\
        --output results.json --plot checkerboard.png
"""

from __future__ import annotations

import argparse
import datetime
import json
import os

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan import data as data_lib
from ascendgan import strategy as strategy_lib
from ascendgan.models import get_family
from ascendgan.recipes.run_dir import RunDirectory
from ascendgan.recipes.runs import run_preset
from ascendgan.training.checkpoints import find_checkpoints, restore_checkpoint

PERIODS = (2, 4, 8)


def held_out_pairs(folder, preset, limit=None):
    """``(edges, photos)`` numpy arrays in [-1, 1] of a photo folder, as training draws them
    but without random jitter or flip."""
    spec = preset.data
    dataset = data_lib.edge_pairs(folder, load_size=spec.load_size, crop_size=spec.crop_size,
                                  jitter=False, flip=False, batch_size=1, shuffle=False,
                                  drop_remainder=False, repeat=False, limit=limit)
    edges, photos = zip(*[(e.numpy()[0], p.numpy()[0]) for e, p in dataset])
    return np.stack(edges), np.stack(photos)


def build_gan(record, image_shape):
    """The run's GAN, built (networks and optimizers) in the run's precision, untrained."""
    policy = strategy_lib.resolve_precision(record.get("precision") or "float32", "cpu").policy
    with compat.precision_scope(policy):
        gan = get_family(record["family"]).build(run_preset(record), seed=record.get("seed"))
        gan.compile()
        gan.build_models(image_shape)
    return gan, policy


def nyquist_share(images):
    """Per image: share of spectral power (channels summed, means removed) in the
    ``fy = N/2`` row and ``fx = N/2`` column of the 2-D spectrum."""
    x = images - images.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(x, axes=(1, 2))) ** 2  # (n, h, w, c)
    h, w = images.shape[1:3]
    mask = np.zeros((h, w), bool)
    mask[h // 2, :] = True
    mask[:, w // 2] = True
    total = power.sum(axis=(1, 2, 3))
    return power[:, mask, :].sum(axis=(1, 2)) / np.maximum(total, 1e-12)


def periodic_share(images, period):
    """Per image: share of spectral power (channels summed, means removed) at the
    frequencies whose both indices are multiples of ``N / period``: the energy of the
    image's exactly ``period``-periodic component (the mean over the pixels of each of the
    ``period x period`` phases), e.g. a period-4 grid left by an inner upsampling layer."""
    x = images - images.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(x, axes=(1, 2))) ** 2
    h, w = images.shape[1:3]
    lattice = power[:, :: h // period, :: w // period, :].sum(axis=(1, 2, 3))
    return lattice / np.maximum(power.sum(axis=(1, 2, 3)), 1e-12)


def periodic_shares(images):
    """:func:`periodic_share` means for periods 2, 4 and 8, keyed by the period."""
    return {str(p): float(periodic_share(images, p).mean()) for p in PERIODS}


def phase_rms(images):
    """Per image: RMS over channels and the four pixel phases ``(i % 2, j % 2)`` of the
    phase mean minus the mean of the four phase means (the checkerboard amplitude)."""
    phases = np.stack([images[:, a::2, b::2, :].mean(axis=(1, 2)) for a in (0, 1) for b in (0, 1)])
    deviation = phases - phases.mean(axis=0, keepdims=True)  # (4, n, c)
    return np.sqrt((deviation**2).mean(axis=(0, 2)))


def phase_imbalance(kernel):
    """Share of a 4x4 stride-2 ``Conv2DTranspose`` kernel's flat-input gain that differs
    between its four output phases.

    Each output phase ``(a, b)`` is a 2x2 convolution with the taps ``kernel[a::2, b::2]``;
    on a flat input its gain is their sum ``S_ab`` (per output and input channel). Returns
    ``sum (S_ab - mean_ab S)^2 / sum S_ab^2``: 0 for a phase-balanced (smooth) upsampler,
    3/4 in expectation for independent random taps.
    """
    kernel = np.asarray(tf.cast(kernel, tf.float32))
    gains = np.stack([kernel[a::2, b::2].sum(axis=(0, 1)) for a in (0, 1) for b in (0, 1)])
    deviation = gains - gains.mean(axis=0, keepdims=True)
    return float((deviation**2).sum() / max((gains**2).sum(), 1e-30))


def decoder_imbalance(generator):
    """:func:`phase_imbalance` of every decoder ``Conv2DTranspose``, innermost first."""
    return [phase_imbalance(layer.kernel) for layer in generator.decoder_layers
            if isinstance(layer, compat.layers.Conv2DTranspose)]


def real_fraction(gan, edges, images):
    """Per pair: fraction of PatchGAN patches with logit > 0 (discriminator as in training)."""
    fractions = []
    for source, image in zip(edges, images):
        logits = gan.discriminate(tf.constant(image[None]), tf.constant(source[None]), training=True)
        fractions.append(float(np.mean(np.asarray(tf.cast(logits, tf.float32)) > 0)))
    return np.asarray(fractions)


def translate(gan, edges, training, seed):
    """Translations, one image per call (batch statistics of one image, as in training)."""
    compat.set_random_seed(seed)  # the same dropout masks for every checkpoint
    outputs = [np.asarray(tf.cast(gan.translate(source[None], training=training), tf.float32))[0]
               for source in edges]
    return np.stack(outputs)


def evaluate(gan, edges, photos, modes, seed):
    """The numbers of one generator state (see the module docstring)."""
    result = {}
    # "inference" first: calling batch norm with training=True in eager mode moves its statistics.
    for mode in sorted(modes, key=lambda m: m != "inference"):
        fakes = translate(gan, edges, mode == "train", seed)
        result[mode] = {
            "l1": float(np.mean(np.abs(fakes - photos))),
            "patch_real_on_fake": float(real_fraction(gan, edges, fakes).mean()),
            "nyquist_share_fake": float(nyquist_share(fakes).mean()),
            "phase_rms_fake": float(phase_rms(fakes).mean()),
            "periodic_share_fake": periodic_shares(fakes),
        }
    result["patch_real_on_real"] = float(real_fraction(gan, edges, photos).mean())
    result["convt_phase_imbalance"] = decoder_imbalance(gan.generator)
    return result


def plot(rows, baseline, modes, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [row["step"] for row in rows]
    figure, axes = plt.subplots(1, 5, figsize=(21, 3.8))
    for mode in modes:
        axes[0].plot(steps, [r[mode]["l1"] for r in rows], "o-", label=f"generator mode {mode}")
        axes[1].plot(steps, [r[mode]["patch_real_on_fake"] for r in rows], "o-",
                     label=f"(edges, translation), {mode}")
        axes[2].plot(steps, [r[mode]["nyquist_share_fake"] for r in rows], "o-", label=f"translations, {mode}")
    axes[0].axhline(baseline["l1_grey"], color="k", ls="--", label="constant grey (0)")
    axes[1].plot(steps, [r["patch_real_on_real"] for r in rows], "s-", label="(edges, photo)")
    imbalance = np.asarray([r["convt_phase_imbalance"] for r in rows])
    axes[4].plot(steps, imbalance[:, -1], "o-", label="output ConvT (64 -> 128)")
    axes[4].plot(steps, imbalance[:, :-1].mean(axis=1), "s-", label="inner ConvTs (mean)")
    axes[4].axhline(0.75, color="grey", ls=":", label="independent random taps")
    axes[2].axhline(baseline["nyquist_share_real"], color="k", ls="--", label="held-out photos")
    axes[2].axhline(baseline["nyquist_share_edges"], color="grey", ls=":", label="edge maps (input)")
    for period, color in zip(PERIODS, ("C0", "C2", "C3")):
        key = str(period)
        axes[3].plot(steps, [r[modes[0]]["periodic_share_fake"][key] for r in rows], "o-", color=color,
                     label=f"period {period}, translations ({modes[0]})")
        axes[3].axhline(baseline["periodic_share_real"][key], color=color, ls="--",
                        label=f"period {period}, photos")
    for axis in axes[2:4]:
        axis.set_yscale("log")
    titles = ("held-out L1 ([-1, 1] images)", "PatchGAN patches judged real (logit > 0)",
              "power share at period 2 (Nyquist row + column)", "power share of the exactly periodic part",
              "ConvT phase imbalance of flat-input gain (weights)")
    for axis, title in zip(axes, titles):
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("generator step")
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="run directory of `ascendgan train pix2pix --pairs edges`")
    parser.add_argument("held_out", help="folder of held-out photos, disjoint from the training folder")
    parser.add_argument("--output", required=True, help="JSON file to write")
    parser.add_argument("--plot", help="PNG file to write (default: the JSON path with .png)")
    parser.add_argument("--limit", type=int, default=None, help="use the first N held-out photos")
    parser.add_argument("--modes", nargs="+", choices=("train", "inference"), default=["train"],
                        help="generator modes: train (batch statistics + dropout, the library "
                             "default of Pix2Pix.translate) and/or inference (moving statistics)")
    parser.add_argument("--seed", type=int, default=0, help="dropout seed of the translations")
    parser.add_argument("--no-untrained", action="store_true", help="skip the step-0 generator")
    args = parser.parse_args(argv)

    directory = RunDirectory(args.run_dir)
    record = directory.read()
    preset = run_preset(record)
    edges, photos = held_out_pairs(args.held_out, preset, args.limit)
    print(f"{len(photos)} held-out pairs of {photos.shape[1]}x{photos.shape[2]} from {args.held_out}")
    baseline = {
        "l1_grey": float(np.mean(np.abs(photos))),  # L1 of a constant mid-grey (0) translation
        "nyquist_share_real": float(nyquist_share(photos).mean()),
        "phase_rms_real": float(phase_rms(photos).mean()),
        "nyquist_share_edges": float(nyquist_share(edges).mean()),
        "phase_rms_edges": float(phase_rms(edges).mean()),
        "periodic_share_real": periodic_shares(photos),
        "periodic_share_edges": periodic_shares(edges),
    }
    print("baseline", json.dumps(baseline))
    image_shape = photos.shape[1:]
    targets = [] if args.no_untrained else [None]
    targets += sorted(find_checkpoints(directory.checkpoints), key=lambda p: (len(p), p))
    rows = []
    for path in targets:
        compat.clear_session()
        gan, policy = build_gan(record, image_shape)
        if path is not None:
            restore_checkpoint(gan, path, "all")
        row = {"step": int(gan.generator_optimizer.iterations.numpy()),
               "checkpoint": path,
               "checkpoint_mtime": os.path.getmtime(path + ".index") if path else None}
        row.update(evaluate(gan, edges, photos, args.modes, args.seed))
        rows.append(row)
        print(json.dumps(row))
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "run_dir": os.path.abspath(args.run_dir),
        "run": record,
        "held_out": os.path.abspath(args.held_out),
        "held_out_pairs": int(len(photos)),
        "image_size": int(photos.shape[1]),
        "precision": policy,
        "generator_modes": args.modes,
        "dropout_seed": args.seed,
        "baseline": baseline,
        "checkpoints": rows,
    }
    with open(args.output, "w") as handle:
        json.dump(result, handle, indent=2)
    plot(rows, baseline, args.modes, args.plot or os.path.splitext(args.output)[0] + ".png")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
