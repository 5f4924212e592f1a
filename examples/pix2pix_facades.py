"""Pix2Pix on the facades layout (side-by-side A|B images): the documented run, as a recipe.

The documented configuration is the ``facades`` preset of ``ascendgan.models.pix2pix``: a
U-Net generator (256x256, 8 downsamplings, skip connections, dropout), a 70x70 PatchGAN
discriminator, GAN loss + 100·L1, batch 1, Adam 2e-4 with β1 0.5, 200 epochs, random jitter
(resize to 286, random crop 256, flip), direction B->A (labels -> photo) as in the paper. The
documented run trained in mixed precision with dynamic loss scaling (initial scale 2^32, ×2
after 1000 good steps, ×0.8 after 2 overflowing steps): ``--precision mixed_float16
--loss-scale ascend`` (``mixed_bfloat16`` needs no loss scaling). Its two phases are *train*
and *test*: ``--test-data`` translates the test split at the end, with the generator in the
paper's test mode (batch statistics and dropout active).

``--data`` is a folder of A|B images (e.g. ``facades/train``). With ``--pairs edges`` it is a
folder of photos instead, and each photo is paired with its edge map (edges -> photo, as
pix2pix's edges2cats demo): a real paired task when no paired set is at hand.

The recipe: strategy and precision (``strategy.scope()``) -> model (``ascendgan.models.pix2pix``)
-> data (``recipes.preset_dataset``) -> ``compile()`` -> callbacks (throughput,
checkpoints, source / translation / target grids, TensorBoard) -> resume -> ``fit`` -> test.
Interrupt it and run the same command again: it resumes from the last checkpoint.

    python examples/pix2pix_facades.py --data /data/facades/train --test-data /data/facades/test
    python examples/pix2pix_facades.py --pairs edges --data ../shared/data/cats --precision mixed_bfloat16
    python examples/pix2pix_facades.py --smoke --pairs edges --data some/photos --out /tmp/p2p_smoke

Outputs go to ``runs/pix2pix_facades`` (``--out``): ``run.json``, ``checkpoints/``,
``samples/step_*.png``, ``logs/`` and, with ``--test-data``, ``test.png``: the run directory
``ascendgan train pix2pix`` writes (``ascendgan export RUN_DIR --training`` exports the
generator in test mode).

Reference: Isola, Zhu, Zhou and Efros, arXiv:1611.07004.
"""

import argparse
import math
import os

import numpy as np

import ascendgan
from ascendgan import compat, recipes
from ascendgan.cli.train import add_train_arguments, run_from_arguments


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    # The options of `ascendgan train` (--data, --pairs, --out, --epochs, --steps, --smoke, --set
    # KEY=VALUE, ...) and the strategy options (add_strategy_arguments: --device, --precision, ...).
    add_train_arguments(parser, family="pix2pix")
    parser.set_defaults(preset="facades")  # --out defaults to runs/pix2pix_<preset>
    parser.add_argument("--test-data", default=None,
                        help="test phase: translate the first 8 pairs of this folder (same --pairs layout)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    run = run_from_arguments(args)  # a recipes.GANRun, as `ascendgan train` builds it
    strategy = run.strategy  # device, precision, loss scaling, data parallelism
    run_dir = recipes.RunDirectory(run.out)
    if run.train_url:  # ModelArts: a restarted job continues from what --train_url holds
        recipes.pull_run(run.train_url, run.out)
    source = run.data.localized()
    # --smoke's tiny network, synchronized batch norm over several replicas, then --set overrides.
    overrides = run.effective_overrides(strategy.distribute.num_replicas_in_sync)

    with strategy.scope():  # the precision policy and the tf.distribute scope
        compat.set_random_seed(run.seed)

        # ## Model: an uncompiled Pix2Pix (a GAN whose condition is the source image).
        gan = ascendgan.models.pix2pix(run.preset, seed=run.seed, **overrides)
        k = gan.discriminator_steps

        # ## Data: jittered (source, target) batches in [-1, 1]; one pass measures an epoch.
        preset = ascendgan.models.get_family("pix2pix").preset(run.preset, overrides)
        one_pass = recipes.preset_dataset(preset, source, run.batch_size_for(preset),
                                          seed=run.seed, repeat=False, drop_remainder=True)
        plan = recipes.plan_training(run, preset, int(one_pass.cardinality()), k)
        dataset = recipes.preset_dataset(preset, source, plan.batch_size, seed=run.seed)

        # ## Compile: the defaults are the preset's: Adam 2e-4, β1 0.5 for both networks, the
        # non-saturating (BCE) loss, to which Pix2Pix adds 100·L1; loss scaling per the strategy.
        gan.compile()
        # Build the networks and the optimizers' state for the data's image shape (a checkpoint
        # is restored into built variables).
        real_images, _ = gan.unpack_batch(next(iter(dataset.take(1))))
        gan.build_models(tuple(real_images.shape[1:]))

        # ## Resume: the newest checkpoint that restores completely (damaged ones are skipped
        # and moved aside; --no-resume moves an earlier run aside), then run.json is written.
        # The batches the interrupted run consumed are skipped below.
        record = recipes.run_record(run, source, plan, overrides, strategy)
        done = recipes.start_run(gan, run, run_dir, record)

        # ## Callbacks and fit: the sample grids translate fixed sources (rows of source,
        # translation, target); throughput, checkpoints, stop at the last step, TensorBoard.
        if done < plan.steps:
            sample_batch = recipes.preset_dataset(preset, source, min(run.num_samples, 4), seed=run.seed + 1)
            pairs = tuple(x.numpy() for x in next(iter(sample_batch.take(1))))
            callbacks = recipes.run_callbacks(run_dir, plan, k, num_samples=run.num_samples,
                                              seed=run.seed, sample_pairs=pairs,
                                              tensorboard=run.tensorboard,
                                              train_url=run.train_url)
            history = gan.fit(
                dataset.skip(done * k),
                epochs=math.ceil(plan.steps / plan.steps_per_epoch),
                initial_epoch=done // plan.steps_per_epoch,
                steps_per_epoch=plan.steps_per_epoch,
                callbacks=callbacks,
                verbose=run.verbose,
            )
            last = int(gan.generator_optimizer.iterations.numpy())
            if last % plan.checkpoint_every and not run.train_url:  # (CopyBack saves it itself)
                callbacks[1].save()  # the GANCheckpoint: the last step is always saved
            print(", ".join(f"{key} {values[-1]:.4g}" for key, values in history.history.items()))

    # ## Test phase: the first 8 test pairs without jitter (loaded at the crop size, no flip),
    # translated in the paper's test mode; one row per pair: source, translation, target.
    if args.test_data:
        no_jitter = preset.with_overrides({"load_size": preset.data.crop_size, "flip": False})
        test = recipes.preset_dataset(no_jitter, recipes.DataSource(args.test_data, pairs=source.pairs),
                                      batch_size=8, repeat=False, shuffle=False, drop_remainder=False)
        sources, targets = (x.numpy() for x in next(iter(test.take(1))))
        translations = np.asarray(gan.translate(sources), np.float32)
        rows = np.stack([sources, translations, targets], axis=1).reshape((-1,) + sources.shape[1:])
        picture = ascendgan.sampling.image_grid(rows, columns=3)
        print("wrote " + ascendgan.sampling.save_png(picture, os.path.join(run.out, "test.png")))
    if run.train_url:  # the final samples and exports too
        recipes.push_run(run.out, run.train_url)
    return gan


if __name__ == "__main__":
    main()
