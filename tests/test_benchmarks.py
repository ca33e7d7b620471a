"""Tests for benchmarks/train_throughput.py: the CPU smoke run of the issue, and its parts."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from transconv.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "train_throughput.py"
SMOKE = [
    "--device",
    "cpu",
    "--batch-size",
    "2",
    "--crop",
    "64",
    "96",
    "--steps",
    "2",
    "--repeats",
    "3",
]
CONFIGS = ("d2l_step", "fast_step", "fast_epoch")


def load_benchmark():
    spec = importlib.util.spec_from_file_location("train_throughput", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """The issue's CPU command, writing its JSON to a temporary file (not docs/results/)."""
    out = tmp_path_factory.mktemp("bench") / "benchmark.json"
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "TRANSCONV_COMMIT": "0123abc",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *SMOKE, "--write", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


@pytest.mark.slow
def test_smoke_reports_median_and_spread_of_each_configuration(smoke):
    saved, _ = smoke
    for key in CONFIGS:
        entry = saved[key]
        samples = entry["img_per_s_samples"]
        assert len(samples) == 3 and all(s > 0 for s in samples)
        assert entry["img_per_s_min"] <= entry["img_per_s"] <= entry["img_per_s_max"]
        assert (entry["img_per_s_min"], entry["img_per_s_max"]) == (min(samples), max(samples))
        assert sorted(samples)[1] == entry["img_per_s"]  # the median of three
        assert entry["tflop_per_s"] > 0 and entry["gb_per_s"] > 0 and entry["gb_per_image"] > 0


def test_smoke_ratios_are_per_round_with_spread(smoke):
    saved, _ = smoke
    a, b, c = (saved[key]["img_per_s_samples"] for key in CONFIGS)
    for key, ratios in (
        ("b_over_a", [y / x for x, y in zip(a, b, strict=True)]),
        ("c_over_b", [y / x for x, y in zip(b, c, strict=True)]),
    ):
        spread = saved["ratios"][key]
        assert spread["samples"] == pytest.approx(ratios)
        assert spread["min"] <= spread["median"] <= spread["max"]
        assert spread["median"] == pytest.approx(sorted(ratios)[1])
    assert saved["targets_h100"] == {"b_over_a": 6.0, "c_over_b": 0.9}


def test_smoke_config_data_and_provenance(smoke):
    saved, _ = smoke
    config = saved["config"]
    assert (config["batch_size"], config["crop"], config["steps"], config["repeats"]) == (
        2,
        [64, 96],
        2,
        3,
    )
    assert config["gflop_per_image_fwd_bwd"] > 0 and config["compile"] is False
    assert config["cudnn_benchmark"] == {"d2l_step": False, "fast": False}  # off on a CPU
    epoch = saved["fast_epoch"]
    # the CPU default: 4 batches of synthetic images at VOC's 375x500 scaled to the crop
    assert (epoch["images"], epoch["dropped"], epoch["batches"]) == (8, 0, 4)
    assert "synthetic" in epoch["data"] and "8 images of 75x100" in epoch["data"]
    prov = saved["provenance"]
    assert prov["device"].startswith("cpu")
    assert (prov["commit"], prov["torch"]) == ("0123abc", torch.__version__)
    assert {"torchvision", "cuda", "date", "python", "platform"} <= set(prov)  # runs.provenance
    assert (prov["world_size"], prov["gpu_count"]) == (1, 0)
    assert config["loss"] == RECIPES["fast"].loss and config["upsample"] == "transposed"
    assert "profile" not in saved


def test_smoke_prints_gb_per_s_next_to_tflop_per_s(smoke):
    _, printed = smoke
    rows = [line for line in printed.splitlines() if line.startswith(("(a)", "(b)", "(c) t"))]
    assert len(rows) == 3
    assert all("img/s" in row and "TFLOP/s" in row and "GB/s" in row for row in rows)
    assert "b/a = " in printed and "c/b = " in printed


def test_byte_counter_counts_reads_and_writes_and_skips_views():
    bench = load_benchmark()
    x, y = torch.ones(10), torch.ones(10)
    with bench.ByteCounter() as counter:
        x + y  # reads 2 x 40 bytes, writes 40
    assert counter.nbytes == 120
    with bench.ByteCounter() as counter:
        x.view(2, 5).t()
    assert counter.nbytes == 0
    with bench.ByteCounter() as counter:
        x.add_(y)  # x read and written, y read
    assert counter.nbytes == 120


def test_spread_of_samples():
    bench = load_benchmark()
    assert bench.spread([3.0, 1.0, 2.0, 10.0]) == {
        "median": 2.5,
        "min": 1.0,
        "max": 10.0,
        "samples": [3.0, 1.0, 2.0, 10.0],
    }


def test_alternate_takes_turns():
    bench = load_benchmark()
    calls = []
    samples = bench.alternate(
        {"a": lambda: calls.append("a") or 1.0, "b": lambda: calls.append("b") or 2.0}, repeats=3
    )
    assert calls == ["a", "b"] * 3 and samples == {"a": [1.0] * 3, "b": [2.0] * 3}


def test_profile_writes_key_averages(tmp_path):
    bench = load_benchmark()
    x = torch.randn(64, 64)
    top = bench.profile_step(lambda: (x @ x).relu(), torch.device("cpu"), tmp_path / "p.txt")
    table = (tmp_path / "p.txt").read_text()
    assert "aten::mm" in table and "Self CPU" in table
    assert any(row["name"] == "aten::mm" and row["count"] == 1 for row in top)


@pytest.mark.parametrize("flag", ["--repeats", "--steps", "--batch-size"])
def test_counts_below_one_are_refused(flag, capsys):
    bench = load_benchmark()
    with pytest.raises(SystemExit):
        bench.parse_args([flag, "0"])
    assert "must be an int >= 1, got 0" in capsys.readouterr().err


def test_upsample_choice_for_the_fast_model():
    bench = load_benchmark()
    fast = RECIPES["fast"]
    assert bench.fast_upsample(bench.parse_args(["--upsample", "subpixel"]), fast) == "subpixel"
    default = getattr(fast, "upsample", None) or "transposed"
    assert bench.fast_upsample(bench.parse_args([]), fast) == default
