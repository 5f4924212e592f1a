"""Smoke tests of benchmarks/run.py (the code path, not the timings).

Independent reference: FLOP counts written out by hand for tiny convolution nets
(2 · output elements · k_h · k_w · C_in per convolution, 2 · m · n · k per matrix
product).
"""

import importlib.util
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.models import get_family

keras = compat.keras
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "ascendgan_benchmarks_run", os.path.join(ROOT, "benchmarks", "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- FLOP counting


def test_flops_of_a_tiny_conv_net_match_the_hand_count(bench):
    kernel = tf.constant(np.ones((3, 3, 2, 4), np.float32))
    weights = tf.constant(np.ones((8 * 8 * 4, 3), np.float32))

    def forward(x):
        y = tf.nn.conv2d(x, kernel, 1, "SAME")           # (2, 8, 8, 4)
        return tf.matmul(tf.reshape(y, (2, -1)), weights)  # (2, 3)

    total, by_type, uncounted = bench.function_flops(
        forward, tf.TensorSpec((2, 8, 8, 2), tf.float32))
    conv = 2 * (2 * 8 * 8 * 4) * (3 * 3 * 2)              # 18,432
    matmul = 2 * 2 * 256 * 3                              # 3,072
    assert by_type["Conv2D"] == conv
    assert by_type["MatMul"] == matmul
    assert total == conv + matmul
    assert uncounted == []


def test_flops_of_a_training_step_count_the_backward_convolutions(bench):
    def step(x, kernel, weights):
        with tf.GradientTape() as tape:
            tape.watch([kernel, weights])
            y = tf.nn.relu(tf.nn.conv2d(x, kernel, 2, "SAME"))    # (2, 4, 4, 4)
            logits = tf.matmul(tf.reshape(y, (2, -1)), weights)  # (2, 3)
            loss = tf.reduce_sum(tf.square(logits))  # needs the forward logits
        return tape.gradient(loss, [kernel, weights])

    specs = (tf.TensorSpec((2, 8, 8, 2)), tf.TensorSpec((3, 3, 2, 4)), tf.TensorSpec((64, 3)))
    _, by_type, _ = bench.function_flops(step, *specs)
    conv = 2 * (2 * 4 * 4 * 4) * (3 * 3 * 2)      # forward: 4,608
    assert by_type["Conv2D"] == conv
    assert by_type["Conv2DBackpropFilter"] == conv  # kernel gradient: same count
    assert "Conv2DBackpropInput" not in by_type     # no gradient for the input
    # forward, weight gradient x^T g, input gradient g W^T: each 2 * 2 * 64 * 3
    assert by_type["MatMul"] == 3 * (2 * 2 * 64 * 3)


def test_transposed_convolution_counts_as_its_input_side(bench):
    layer = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=False)
    layer.build((1, 4, 4, 5))
    total, by_type, _ = bench.function_flops(
        lambda x: layer(x), tf.TensorSpec((1, 4, 4, 5), tf.float32))
    # the rule 2 · H_in · W_in · C_in · C_out · k² for a stride-2 transposed conv
    assert by_type["Conv2DBackpropInput"] == 2 * 4 * 4 * 5 * 3 * 16 == total


def test_analytic_estimate_is_the_backward_twice_forward_rule(bench):
    # DCGAN 64x64 at batch 64 from its published per-image forward FLOPs
    g, d = 209_000_000, 208_000_000
    estimate = bench.analytic_flops("dcgan", {"generator": g, "discriminator": d}, 64)
    assert estimate == 64 * (g + 6 * d) + 64 * (3 * g + 3 * d)
    assert abs(estimate / 1e9 - 173) < 1.5  # the "~173 GFLOP"
    # one generator pass per iteration saves one generator forward
    reused = bench.analytic_flops("dcgan", {"generator": g, "discriminator": d}, 64, 1, True)
    assert estimate - reused == 64 * g
    two_steps = bench.analytic_flops("biggan", {"generator": 10, "discriminator": 1}, 4, 2)
    assert two_steps == 2 * 4 * (10 + 6) + 4 * (30 + 3)
    assert bench.analytic_flops("wrn", {"classifier": 7}, 128) == 3 * 128 * 7


# ----------------------------------------------------------------------------- the command


def test_the_command_writes_the_documented_json(bench, tmp_path):
    output = tmp_path / "bench.json"
    report = bench.main([
        "--models", "dcgan", "--precisions", "mixed_bfloat16", "--xla", "off", "--tiny",
        "--iterations", "2", "--warmup", "1", "--in-process", "--output", str(output),
    ])
    assert compat.global_precision() == "float32"  # the policy is restored
    with open(output) as handle:
        saved = json.load(handle)
    assert saved == json.loads(json.dumps(report))
    assert {"started", "finished", "command", "machine", "results"} <= set(saved)
    assert saved["machine"]["cores"] == os.cpu_count()
    assert saved["machine"]["keras_mode"] == ("keras3" if compat.KERAS_3 else "tf_keras")
    (result,) = saved["results"]
    assert (result["model"], result["precision"], result["xla"]) == (
        "dcgan", "mixed_bfloat16", False)
    assert result["batch_size"] == 4 and result["images_per_iteration"] == 4
    assert result["reuse_fakes"] is True  # the DCGAN preset: one generator pass
    assert len(result["ms_all"]) == 2 and all(t > 0 for t in result["ms_all"])
    assert result["ms_per_iteration"] == pytest.approx(float(np.median(result["ms_all"])), abs=0.02)
    assert result["ms_min"] <= result["ms_per_iteration"] <= result["ms_max"]
    assert result["images_per_s"] == pytest.approx(
        4 / (result["ms_per_iteration"] / 1000), rel=0.01)
    assert len(result["load_average_before"]) == 3
    # --tiny is the family table's smoke size: the celeba preset (64x64) with its smoke
    # override base_filters=4, batch min(64, 4); generator 62,264 + discriminator 11,568
    #   G: Dense 100 -> 4*4*32 (51,200), BN 32 (64), ConvT 32 -> 16 (8,192), BN 16 (32),
    #      ConvT 16 -> 8 (2,048), BN 8 (16), ConvT 8 -> 4 (512), BN 4 (8), ConvT 4 -> 3 (192)
    #   D: Conv 3 -> 4 (192), Conv 4 -> 8 (512), BN 8 (16), Conv 8 -> 16 (2,048), BN 16 (32),
    #      Conv 16 -> 32 (8,192), BN 32 (64), Dense 512 -> 1 (512)
    smoke = get_family("dcgan").preset("celeba").smoke
    assert result["overrides"] == {**smoke, "batch_size": 4} and smoke == {"base_filters": 4}
    assert result["parameters"] == {
        "generator": 51200 + 64 + 8192 + 32 + 2048 + 16 + 512 + 8 + 192,
        "discriminator": 192 + 512 + 16 + 2048 + 32 + 8192 + 64 + 512}
    forward = result["forward_flops_per_image"]
    # generator: 2 * H_in * W_in * C_in * C_out * k^2 per transposed convolution (4x4 .. 32x32
    # inputs), 2 * m * n for the Dense
    convolutions = 2 * (16 * 32 * 16 * 16 + 64 * 16 * 8 * 16 + 256 * 8 * 4 * 16
                        + 1024 * 4 * 3 * 16 + 100 * 512)  # 1,282,048
    assert convolutions <= forward["generator"] < 1.1 * convolutions  # + element-wise ops
    assert result["flops_by_op_type"]["Conv2DBackpropFilter"] > 0
    assert result["flops_per_iteration"] == sum(result["flops_by_op_type"].values())
    ratio = result["flops_per_iteration"] / result["analytic_flops_per_iteration"]
    # The rule counts input and weight gradients for every backward pass; TensorFlow only
    # computes the ones a step needs (no input gradient into D in the D step, no weight
    # gradients of D in the G step), so the graph count comes out lower (0.80 here).
    assert 0.7 < ratio < 1.1
    assert result["achieved_gflops_per_s"] > 0
    table = bench.markdown_table(saved).splitlines()
    assert len(table) == 3 and table[2].startswith("| dcgan | mixed_bfloat16 | off | as shipped | 4 |")


def test_configurations_skip_xla_for_the_classifier_and_honour_filters(bench):
    args = bench._parse(["--models", "dcgan,wrn", "--model-iterations", "wrn=2"])
    runs = bench.configurations(args)
    assert ("wrn", "float32", True, 2) not in runs
    assert ("wrn", "mixed_bfloat16", False, 2) in runs
    assert ("dcgan", "float32", True, 10) in runs
    assert len(runs) == 4 + 2


@pytest.mark.parametrize("name", ["dcgan", "pix2pix"])
def test_keras_batch_norm_switch_builds_and_runs(bench, name):
    """``--batch-norm keras``: the networks' ``batch_norm="keras"`` argument (no patching)."""
    from benchmarks import subjects

    def norms(gan):
        return {type(layer) for net in (gan.generator, gan.discriminator)
                for layer in net._flatten_layers() if "Normalization" in type(layer).__name__}

    subject = subjects.build(name, tiny=True, batch_norm="keras")
    assert norms(subject["model"]) == {keras.layers.BatchNormalization}
    assert subject["model"].generator.get_config()["batch_norm"] == "keras"
    shipped = subjects.build(name, tiny=True)
    assert shipped["model"].generator.batch_norm == "fused"
    assert keras.layers.BatchNormalization not in norms(shipped["model"])  # nothing leaks
    result = bench.run_one(name, iterations=1, warmup=1, tiny=True, count_flops=False,
                           batch_norm="keras")
    assert result["batch_norm"] == "keras" and result["ms_per_iteration"] > 0
    assert result["parameters"] == {  # the same variables as the shipped networks
        key: subjects.parameter_count(net) for key, (net, _) in shipped["networks"].items()}


def test_bad_arguments_are_named(bench):
    with pytest.raises(ValueError, match="`name`"):
        bench.run_one("resnet")
    with pytest.raises(ValueError, match="`precision`"):
        bench.run_one("dcgan", precision="float16")
    with pytest.raises(SystemExit):
        bench._parse(["--models", "gpt"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pix2pix", "biggan", "wrn"])
def test_tiny_runs_of_the_other_models(bench, name):
    result = bench.run_one(name, iterations=1, warmup=1, tiny=True)
    assert result["ms_per_iteration"] > 0 and result["flops_per_iteration"] > 0
    steps = 2 if name == "biggan" else 1
    assert result["images_per_iteration"] == result["batch_size"] * steps
    assert 0.7 < result["flops_per_iteration"] / result["analytic_flops_per_iteration"] < 1.3


@pytest.mark.slow
def test_profile_breaks_the_step_down_by_op_type(bench, tmp_path):
    result = bench.run_one("dcgan", iterations=1, warmup=1, tiny=True, count_flops=False,
                           profile_dir=str(tmp_path))
    shares = result["profile"]["op_type_share"]
    assert shares and abs(sum(shares.values()) - 1.0) < 0.5
    assert any("Conv2D" in name for name in shares)  # oneDNN: _MklNativeConv2D...


# ----------------------------------------------------------------------------- the Adam switch


def test_optimizer_switch_gives_fused_or_keras_adam(bench):
    from ascendgan.models import dcgan
    from ascendgan.optimizers import FusedAdam

    gan = dcgan("mnist", base_filters=4)
    settings = get_family("dcgan").preset("mnist").optimizer  # the preset's optimizer section
    assert gan.default_optimizers == settings
    assert bench.gan_optimizers(settings, "default") == {}  # GAN.compile's default: FusedAdam
    gan.compile(**bench.gan_optimizers(settings, "default"))
    assert type(gan.generator_optimizer) is FusedAdam
    plain = bench.gan_optimizers(settings, "keras_adam")
    for which, optimizer in plain.items():
        assert type(optimizer) is keras.optimizers.Adam
        rate = getattr(settings, which.replace("optimizer", "learning_rate"))
        assert np.isclose(float(np.asarray(optimizer.learning_rate)), rate)
        assert float(optimizer.beta_1) == settings.beta_1
        assert np.isclose(float(optimizer.beta_2), settings.beta_2)
    with pytest.raises(ValueError, match="`optimizer` must be one of \\('default', 'keras_adam'\\)"):
        bench.run_one("dcgan", optimizer="fused_adam")
