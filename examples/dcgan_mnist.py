"""DCGAN on MNIST (28x28 grey digits): the documented run, written out as a recipe.

The documented configuration is the ``mnist`` preset of ``ascendgan.models.dcgan``: batch 64,
Adam with learning rate 2e-4 and β1 0.5, z of size 100 drawn from U[-1, 1] (``--set
latent_distribution=normal01`` or ``uniform_unsigned`` for the other priors), the
non-saturating loss, 25 epochs, a sample grid and a checkpoint every 200 generator steps, one
checkpoint kept; at the end the generator is frozen to a graph with a new batch size
(``--export-batch-size``). The documented run used mixed precision: ``--precision
mixed_bfloat16`` on a CPU, ``mixed_float16`` on a GPU, ``allow_mix_precision`` on Ascend.

The recipe: strategy and precision (``strategy.scope()``) -> model (``ascendgan.models.dcgan``)
-> data (``recipes.preset_dataset``) -> ``compile()`` -> callbacks (throughput,
checkpoints, sample grids, TensorBoard) -> resume -> ``fit`` -> samples and export.
Interrupt it and run the same command again: it resumes from the last checkpoint.

    # the full run on the four MNIST IDX files (gzip or raw) in a folder
    python examples/dcgan_mnist.py --data ../shared/data/mnist
    # offline, on the MNIST test split shipped with ascendgan
    python examples/dcgan_mnist.py
    # a tiny end-to-end check: the preset's smoke network, batch 2, 2 steps
    python examples/dcgan_mnist.py --smoke --out /tmp/dcgan_smoke

Outputs go to ``runs/dcgan_mnist`` (``--out``): ``run.json``, ``checkpoints/``,
``samples/step_*.png``, ``logs/`` (``tensorboard --logdir runs/dcgan_mnist/logs``),
``samples.png`` and ``dcgan_mnist.pb``. It is the run directory ``ascendgan train dcgan``
writes, so ``ascendgan sample`` / ``evaluate`` / ``export`` take it too.

Reference: Radford, Metz and Chintala, arXiv:1511.06434.
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
    add_train_arguments(parser, family="dcgan")
    parser.set_defaults(preset="mnist")  # --out defaults to runs/dcgan_<preset>
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
    # --smoke's tiny network, then --set overrides (e.g. base_filters=32).
    overrides = run.effective_overrides(strategy.distribute.num_replicas_in_sync)

    with strategy.scope():  # the precision policy and the tf.distribute scope
        compat.set_random_seed(run.seed)

        # ## Model: an uncompiled GAN of the preset; flat overrides reach its sections.
        gan = ascendgan.models.dcgan(run.preset, seed=run.seed, **overrides)
        k = gan.discriminator_steps  # batches one generator step consumes (1 for DCGAN)

        # ## Data: the preset's loader (MNIST IDX files -> batches in [-1, 1]); one pass
        # measures an epoch, the plan turns epochs / --steps into generator steps.
        preset = ascendgan.models.get_family("dcgan").preset(run.preset, overrides)
        one_pass = recipes.preset_dataset(preset, source, run.batch_size_for(preset),
                                          seed=run.seed, repeat=False, drop_remainder=True)
        plan = recipes.plan_training(run, preset, int(one_pass.cardinality()), k)
        dataset = recipes.preset_dataset(preset, source, plan.batch_size, seed=run.seed)

        # ## Compile: the defaults are the preset's: Adam 2e-4, β1 0.5, β2 0.999 for both
        # networks and the non-saturating loss; loss scaling follows the strategy's precision.
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

        # ## Callbacks and fit: throughput, checkpoints, sample grids, stop at the last step,
        # TensorBoard (or build them yourself from ascendgan.training's GANCheckpoint,
        # SampleGrid and Throughput).
        if done < plan.steps:
            callbacks = recipes.run_callbacks(run_dir, plan, k, num_samples=run.num_samples,
                                              seed=run.seed, tensorboard=run.tensorboard,
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

    # ## Samples and export: digits from fresh latents (the grids in samples/ follow fixed
    # ones), and the frozen graph (input `z`, output `output`) Ascend's ATC converts.
    picture = ascendgan.sampling.sample_grid(gan, n=run.num_samples, seed=run.seed + 1)
    print("wrote " + ascendgan.sampling.save_png(picture, os.path.join(run.out, "samples.png")))
    if not args.no_export:
        graph = ascendgan.export.export(gan, os.path.join(run.out, f"dcgan_{run.preset}.pb"),
                                        format="frozen_graph", batch_size=args.export_batch_size)
        print(f"wrote {graph}; offline model: {ascendgan.export.atc_command(graph)}")
    if run.train_url:  # the final samples and exports too
        recipes.push_run(run.out, run.train_url)
    return gan


if __name__ == "__main__":
    main()
