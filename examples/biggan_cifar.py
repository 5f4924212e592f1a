"""BigGAN on CIFAR-10 32x32: the documented (seed) run, written out as a recipe.

The documented configuration is the ``cifar10`` preset of ``ascendgan.models.biggan``: batch
64, Adam with G lr 1e-4 and D lr 4e-4, β (0, 0.9), 2 D steps per G step, hinge loss, spectral
norm in G and D, self-attention at 16x16, conditional batch norm with a shared class embedding
(128) and a hierarchical latent (z 120), a projection discriminator, base channels 96,
orthogonal regularization 1e-4, a generator EMA from step 1000, 100k G steps, sample grids
truncated at 2.0. At the end the averaged generator is frozen to the graph of the documented
offline inference: inputs ``z`` (1x120) and ``y`` (1x1), output ``output``.

``--data`` is a CIFAR-10 folder in any official format (python pickles ``data_batch_*``,
binary ``data_batch_*.bin``, MATLAB ``data_batch_*.mat``) or an image folder with one
sub-folder per class.

The recipe: strategy and precision (``strategy.scope()``) -> model (``ascendgan.models.biggan``)
-> data (``recipes.preset_dataset``) -> ``compile()`` -> callbacks (throughput,
checkpoints, class-grid samples, TensorBoard) -> resume -> ``fit`` -> samples and export.
Interrupt it and run the same command again: it resumes from the last checkpoint.

    python examples/biggan_cifar.py --data /data/cifar-10-batches-mat
    python examples/biggan_cifar.py --data /tmp/cifar10/train --precision mixed_bfloat16
    python examples/biggan_cifar.py --smoke --data some/cifar --out /tmp/biggan_smoke

Outputs go to ``runs/biggan_cifar10`` (``--out``): ``run.json``, ``checkpoints/``,
``samples/step_*.png``, ``logs/``, ``class_grid.png`` and ``biggan_cifar10.pb``: the run
directory ``ascendgan train biggan`` writes, so ``ascendgan sample`` / ``evaluate`` /
``export`` take it too.

Reference: Brock, Donahue and Simonyan, arXiv:1809.11096; Zhang et al. (SAGAN),
arXiv:1805.08318; Miyato et al. (SN-GAN), arXiv:1802.05957.
"""

import argparse
import math
import os

import ascendgan
from ascendgan import compat, recipes
from ascendgan.cli.train import add_train_arguments, positive_int, run_from_arguments


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    # The options of `ascendgan train` (--data, --out, --epochs, --steps, --smoke, --set KEY=VALUE,
    # ...) and the strategy options (add_strategy_arguments: --device, --precision, --loss-scale).
    add_train_arguments(parser, family="biggan")
    parser.set_defaults(preset="cifar10")  # --out defaults to runs/biggan_<preset>
    parser.add_argument("--export-batch-size", type=positive_int, default=1,
                        help="batch size of the frozen graph (default 1)")
    parser.add_argument("--no-export", action="store_true", help="do not write the frozen graph")
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

        # ## Model: an uncompiled, class-conditional GAN of the preset (with its EMA generator).
        gan = ascendgan.models.biggan(run.preset, seed=run.seed, **overrides)
        k = gan.discriminator_steps  # 2: each generator step consumes two batches

        # ## Data: (images, labels) batches in [-1, 1]; one pass measures an epoch, the plan
        # turns --epochs / --steps (default: the preset's 100k steps) into generator steps.
        preset = ascendgan.models.get_family("biggan").preset(run.preset, overrides)
        one_pass = recipes.preset_dataset(preset, source, run.batch_size_for(preset),
                                          seed=run.seed, repeat=False, drop_remainder=True)
        plan = recipes.plan_training(run, preset, int(one_pass.cardinality()), k)
        dataset = recipes.preset_dataset(preset, source, plan.batch_size, seed=run.seed)

        # ## Compile: the defaults are the preset's: Adam G 1e-4 / D 4e-4 (TTUR), β (0, 0.9), the
        # hinge loss; loss scaling follows the strategy's precision.
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

        # ## Callbacks and fit: throughput, checkpoints, class grids truncated at 2.0, stop at
        # the last step, TensorBoard.
        if done < plan.steps:
            callbacks = recipes.run_callbacks(run_dir, plan, k, num_samples=run.num_samples,
                                              seed=run.seed, truncation=preset.schedule.truncation,
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
            # ## Quality: the FID of the final generator in the shipped domain extractor's
            # features (offline), printed and recorded in run.json as `ascendgan train` does.
            evaluation = recipes.record_final_fid(gan, run, run_dir, record, preset, source)
            if evaluation:
                print(", ".join(f"{k} {v:.2f}" for k, v in evaluation.items() if k != "protocol"))

    # ## Samples and export: one row per class (airplane ... truck) from the averaged generator,
    # truncated latents shared by the rows; then the frozen graph for offline inference.
    picture = ascendgan.sampling.class_grid(gan, per_class=8, truncation=preset.schedule.truncation,
                                            seed=run.seed + 1)
    print("wrote " + ascendgan.sampling.save_png(picture, os.path.join(run.out, "class_grid.png")))
    if not args.no_export:
        graph = ascendgan.export.export(gan, os.path.join(run.out, f"biggan_{run.preset}.pb"),
                                        format="frozen_graph", batch_size=args.export_batch_size,
                                        label_rank=2)  # y of shape (batch, 1)
        print(f"wrote {graph}; offline model: {ascendgan.export.atc_command(graph)}")
    if run.train_url:  # the final samples and exports too
        recipes.push_run(run.out, run.train_url)
    return gan


if __name__ == "__main__":
    main()
