"""``benchmarks/run.py --peers`` (issue 15): the plan, the summary arithmetic, the machine
peak, the plain-Keras peer, and the command end to end at ``--tiny`` size.

Independent references: ratios, medians and fractions written out by hand from fabricated
results; FLOPs per cycle from the vendors' published pipe widths; the plain-Keras peer's
parameter counts from ascendgan's DCGAN-64 (and by hand: 3,576,704 / 2,765,568).
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import peak, side_by_side
from benchmarks.peers import keras_dcgan64, timing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAVE_TORCH = importlib.util.find_spec("torch") is not None
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
RUN = os.path.join(ROOT, "benchmarks", "run.py")


# ----------------------------------------------------------------------------- the plan


def test_plan_interleaves_subjects_and_alternates_their_order():
    schedule = side_by_side.plan(["dcgan", "biggan"], ["float32"], {"dcgan": 3, "biggan": 1})
    assert len(schedule) == 3
    for jobs in schedule:  # every round measures the peak first
        assert [j["kind"] for j in jobs[:len(peak.FRAMEWORKS)]] == ["peak"] * len(peak.FRAMEWORKS)
    first = [(j["model"], j["subject"]) for j in schedule[0] if j["kind"] == "train"]
    second = [(j["model"], j["subject"]) for j in schedule[1] if j["kind"] == "train"]
    assert first == [("dcgan", "ours"), ("dcgan", "torch"), ("dcgan", "keras"),
                     ("biggan", "ours"), ("biggan", "torch")]
    assert second == [("dcgan", "keras"), ("dcgan", "torch"), ("dcgan", "ours")]  # biggan: 1 round
    flops = [(j["round"], j["subject"]) for jobs in schedule for j in jobs
             if j["kind"] == "train" and j["count_flops"]]
    assert flops == [(0, "ours"), (0, "ours")]  # counted once per model, on ascendgan's step


def test_tiny_plan_is_one_round_of_one_iteration_at_a_tiny_batch():
    schedule = side_by_side.plan(["dcgan"], ["float32"], tiny=True)
    assert len(schedule) == 1
    trains = [j for j in schedule[0] if j["kind"] == "train"]
    assert {(j["iterations"], j["warmup"], j["batch_size"]) for j in trains} == {
        (1, 1, side_by_side.TINY_BATCH)}


# ----------------------------------------------------------------------------- the summary


def _result(subject, model, precision, ms, rnd, flops=None, rss=(500.0, 300.0), images=64):
    result = {"subject": subject, "model": model, "precision": precision, "round": rnd,
              "ms_per_iteration": ms, "images_per_iteration": images,
              "peak_rss_mib": rss[0], "rss_after_import_mib": rss[1]}
    if flops:
        result["flops_per_iteration"] = flops
    return result


def _peaks(fp32, bf16):
    return {"tensorflow": {"float32": {"2048": fp32 - 10}, "mixed_bfloat16": {"2048": bf16}},
            "torch": {"float32": {"2048": fp32}, "mixed_bfloat16": {"2048": bf16 - 50}}}


def test_summary_ratios_fractions_and_targets_by_hand():
    flops = 100e9
    results = [
        _result("ours", "dcgan", "float32", 700.0, 0, flops, rss=(900.0, 600.0)),
        _result("torch", "dcgan", "float32", 1000.0, 0, rss=(450.0, 200.0)),
        _result("keras", "dcgan", "float32", 760.0, 0),
        _result("ours", "dcgan", "float32", 600.0, 1, rss=(900.0, 600.0)),
        _result("torch", "dcgan", "float32", 1200.0, 1, rss=(450.0, 200.0)),
        _result("keras", "dcgan", "float32", 740.0, 1),
        _result("ours", "dcgan", "float32", 650.0, 2, rss=(900.0, 600.0)),
        _result("torch", "dcgan", "float32", 1100.0, 2, rss=(450.0, 200.0)),
        _result("keras", "dcgan", "float32", 750.0, 2),
    ]
    peaks = [_peaks(200.0, 400.0), _peaks(180.0, 380.0), _peaks(190.0, 420.0)]
    summary = side_by_side.summarize(results, peaks, {"float32": 150.0, "mixed_bfloat16": 300.0})
    assert summary["peak_gflops"] == {"float32": 190.0, "mixed_bfloat16": 400.0}  # medians
    row, = summary["rows"]
    ours, torch_, keras_ = row["ours"], row["torch"], row["keras"]
    assert ours["ms"] == 650.0 and torch_["ms"] == 1100.0 and keras_["ms"] == 750.0
    assert torch_["ratio"] == pytest.approx(1100 / 650, abs=1e-3)
    assert keras_["ratio"] == pytest.approx(750 / 650, abs=1e-3)
    achieved = 100e9 / 0.65 / 1e9  # 153.8 GFLOP/s
    assert ours["achieved_gflops"] == pytest.approx(achieved, abs=0.1)
    assert ours["fraction_of_peak"] == pytest.approx(achieved / 190.0, abs=1e-3)
    assert ours["fraction_of_nominal"] == pytest.approx(achieved / 150.0, abs=1e-3)
    # 1100 / 1.5 = 733 ms is above 100 GFLOP / 190 GFLOP/s = 526 ms: the ratio target holds
    assert torch_["target"] == {"kind": "ratio", "value": 1.5}
    assert torch_["met"] is True  # 1.69x
    assert torch_["memory_ratio"] == pytest.approx(900 / 450, abs=1e-3)
    assert torch_["memory_above_import_ratio"] == pytest.approx(300 / 250, abs=1e-3)
    assert ours["images_per_s"] == pytest.approx(64 / 0.65, abs=0.01)


def test_target_falls_back_to_the_peak_where_one_and_a_half_times_is_beyond_the_machine():
    # 150 GFLOP at 195 GFLOP/s takes at least 769 ms; 1,057 / 1.5 = 705 ms is out of reach
    assert side_by_side.target_for(1057.0, 150e9, 195.0) == ("peak", 0.9)
    assert side_by_side.target_for(1500.0, 150e9, 195.0) == ("ratio", 1.5)
    results = [_result("ours", "biggan", "mixed_bfloat16", 1000.0, 0, 300e9),
               _result("torch", "biggan", "mixed_bfloat16", 1100.0, 0)]
    row, = side_by_side.summarize(results, [_peaks(200.0, 400.0)], {})["rows"]
    assert row["torch"]["target"]["kind"] == "peak"
    assert row["ours"]["fraction_of_peak"] == pytest.approx(0.75)
    assert row["torch"]["met"] is False  # 75% < 90%
    assert row["ours"]["bf16_target"] == 0.8 and row["ours"]["bf16_target_met"] is False


def test_scaling_summary_reports_time_per_image_and_its_spread():
    results = [
        {"subject": "ours", "model": "dcgan", "round": "scaling", "scaling": "batch",
         "batch_size": b, "ms_per_iteration": ms, "images_per_iteration": b}
        for b, ms in ((16, 200.0), (32, 320.0), (64, 600.0), (256, 2560.0))
    ] + [{"kind": "sampling", "format": "keras", "batch_size": 8, "ms_per_batch": 4.0,
          "images_per_s": 2000.0, "precision": "float32"}]
    scaling = side_by_side.scaling_summary(results)
    rows = {r["batch_size"]: r for r in scaling["batch"]}
    assert rows[16]["ms_per_image"] == 12.5 and rows[32]["ms_per_image"] == 10.0
    assert "spread_from_best" not in rows[16]  # the flatness target starts at batch 32
    assert rows[32]["spread_from_best"] == pytest.approx(10.0 / 9.375 - 1, abs=1e-3)
    assert rows[256]["spread_from_best"] == pytest.approx(0.0667, abs=1e-3)
    assert scaling["sampling"][0]["images_per_s"] == 2000.0


# ----------------------------------------------------------------------------- the peak


@pytest.mark.parametrize("vendor,family,flags,expected", [
    ("AuthenticAMD", 25, " avx2 fma avx512f avx512_bf16 ", (32, 64)),    # Zen 4: 256-bit pipes
    ("GenuineIntel", 6, " avx2 fma avx512f ", (64, 64)),                # two 512-bit FMA pipes
    ("GenuineIntel", 6, " avx2 fma avx512f avx512_bf16 amx_bf16 ", (64, 1024)),
    ("AuthenticAMD", 23, " avx2 fma ", (32, 32)),
    ("Other", 0, " sse2 ", (16, 16)),
])
def test_flops_per_cycle_follow_the_vector_units(vendor, family, flags, expected):
    assert peak.flops_per_cycle(vendor, family, flags) == expected


def test_best_takes_the_fastest_product_of_any_framework_and_size():
    best = peak.best({"tensorflow": {"float32": {"1024": 150.0, "2048": 190.0}},
                      "torch": {"float32": {"1024": 200.0}, "mixed_bfloat16": {"512": 420.0}}})
    assert best == {"float32": {"gflops": 200.0, "framework": "torch", "size": 1024},
                    "mixed_bfloat16": {"gflops": 420.0, "framework": "torch", "size": 512}}


def test_measured_tensorflow_product_rate_is_plausible():
    rates = peak.measure("tensorflow", "float32", sizes=(256,), repeats=2)
    assert set(rates) == {"256"}
    nominal = peak.nominal_peak()
    assert 0.5 < rates["256"] < 4 * max(nominal["float32"], 1.0)  # GFLOP/s, not FLOP/s
    with pytest.raises(ValueError, match="framework"):
        peak.measure("jax", "float32")


# ----------------------------------------------------------------------------- the peers


def test_plain_keras_peer_has_ascendgans_dcgan64_parameter_counts_and_trains():
    import ascendgan

    generator, discriminator, step = keras_dcgan64.build(2, "float32", seed=0)
    assert keras_dcgan64.parameter_counts(generator, discriminator) == (3_576_704, 2_765_568)
    gan = ascendgan.models.dcgan("celeba")
    gan.build_models((64, 64, 3))
    ours = tuple(int(sum(np.prod(v.shape) for v in m.trainable_variables))
                 for m in (gan.generator, gan.discriminator))
    assert ours == (3_576_704, 2_765_568)
    before = [v.numpy().copy() for v in (generator.trainable_variables[0],
                                         discriminator.trainable_variables[0])]
    images = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)
    d_loss, g_loss = step(images)
    # the discriminator's loss is taken before its update, near chance: 2 ln 2; the
    # generator's after it, through the updated discriminator, which now calls the same
    # fakes more fake (Adam's first step moves every weight by about the learning rate)
    assert abs(float(d_loss) - 2 * np.log(2)) < 0.5
    assert np.log(2) < float(g_loss) < np.inf
    after = (generator.trainable_variables[0], discriminator.trainable_variables[0])
    assert all(not np.allclose(b, a.numpy()) for b, a in zip(before, after))


def test_peer_timing_rejects_bad_arguments_by_name():
    with pytest.raises(ValueError, match="peer"):
        timing.run_peer("keras", "pix2pix", "float32")
    with pytest.raises(ValueError, match="precision"):
        timing.run_peer("torch", "dcgan", "float16")


# ----------------------------------------------------------------------------- end to end


def test_peers_command_at_tiny_size_writes_the_documented_json(tmp_path):
    output, plot = tmp_path / "peers.json", tmp_path / "peers.png"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run(
        [sys.executable, RUN, "--peers", "--tiny", "--models", "dcgan", "--precisions", "float32",
         "--scaling", "--scaling-precision", "float32", "--output", str(output)]
        + (["--plot", str(plot)] if HAVE_MATPLOTLIB else []),
        capture_output=True, text=True, env=env, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(output.read_text())
    assert report["kind"] == "peers" and report["machine"]["cores"] == os.cpu_count()
    assert report["peaks_per_round"][0]["tensorflow"]["float32"]
    row, = report["summary"]["rows"]
    ours, keras_ = row["ours"], row["keras"]
    assert keras_["ratio"] == pytest.approx(keras_["ms"] / ours["ms"], abs=2e-3)
    assert ours["achieved_gflops"] == pytest.approx(row["flops"] / ours["ms"] / 1e6, rel=1e-2)
    assert ours["peak_rss_mib"] > ours["rss_after_import_mib"] > 0
    if HAVE_TORCH:
        assert "ratio" in row["torch"]
    else:
        assert report["skipped"]["torch not installed"]
        assert "torch" not in row
    assert {r["format"] for r in report["scaling"]["sampling"]} == set(side_by_side.SAMPLING_FORMATS)
    assert report["scaling"]["resolution"][0]["flops"] > 0
    if HAVE_MATPLOTLIB:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| dcgan | fp32 |" in completed.stdout


@pytest.mark.skipif(HAVE_MATPLOTLIB, reason="matplotlib is installed")
def test_plot_without_matplotlib_is_refused_before_the_run(tmp_path):
    completed = subprocess.run(
        [sys.executable, RUN, "--peers", "--tiny", "--plot", str(tmp_path / "p.png")],
        capture_output=True, text=True, cwd=ROOT)
    assert completed.returncode == 2
    assert "--plot" in completed.stderr and "matplotlib" in completed.stderr


def test_bad_peers_arguments_are_named():
    for arguments, name in ((["--rounds", "dcgan=0"], "--rounds"),
                            (["--models", "wrn"], "--models"),
                            (["--scaling-precision", "float16"], "--scaling-precision")):
        completed = subprocess.run([sys.executable, RUN, "--peers", *arguments],
                                   capture_output=True, text=True, cwd=ROOT)
        assert completed.returncode == 2, arguments
        assert name in completed.stderr.splitlines()[-1], completed.stderr
