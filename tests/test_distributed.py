"""Tests for transconv.distributed: one plain process, and two gloo processes on the CPU that
train, agree on a NaN, and evaluate each validation crop once with rank 0's BatchNorm buffers."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from transconv.data.loaders import make_loaders
from transconv.distributed import (
    any_rank,
    broadcast_buffers,
    get_rank,
    get_world_size,
    is_distributed,
    setup_distributed,
    unwrap_model,
    wrap_ddp,
)
from transconv.recipes import RECIPES
from transconv.train import evaluate

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--device",
    "cpu",
    "--epochs",
    "1",
    "--batch-size",
    "1",
    "--crop",
    "64",
    "96",
    "--image-size",
    "72",
    "104",
    "--num-train",
    "4",
    "--num-val",
    "3",
    "--quiet",
]


def test_single_process_is_plain(monkeypatch):
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    assert setup_distributed("cpu") == (0, 1, 0)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert setup_distributed("cpu") == (0, 1, 0)
    net = nn.Conv2d(3, 2, 1)
    assert wrap_ddp(net, "cpu") is net and unwrap_model(net) is net
    assert not torch.distributed.is_initialized() and not is_distributed()
    assert (get_rank(), get_world_size(), any_rank(True), any_rank(False)) == (0, 1, True, False)
    broadcast_buffers(nn.BatchNorm2d(2))  # nothing to agree with


@pytest.fixture(scope="module")
def voc(tmp_path_factory):
    from transconv.data.synthetic import make_synthetic_voc

    root = tmp_path_factory.mktemp("ddp")
    make_synthetic_voc(root / "data", num_train=4, num_val=3, size=(72, 104), seed=0)
    return root


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(rank=None, world_size=2, port=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    if rank is not None:  # what torchrun sets for each process
        env.update(
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(world_size),
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
        )
    return env


@pytest.mark.slow
def test_torchrun_trains_on_two_cpu_processes(voc):
    out = voc / "run"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "transconv",
        "train",
        "--data-root",
        str(voc / "data"),
        "--out",
        str(out),
        *TINY,
    ]
    done = subprocess.run(cmd, env=env_for(), cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["provenance"]["world_size"] == 2 and len(metrics["history"]) == 1
    assert metrics["history"][0]["img_per_s"] > 0
    assert (out / "checkpoint.pt").is_file()


@pytest.mark.slow
def test_both_ranks_stop_on_a_nan_with_the_same_one_line_error(voc):
    """A NaN on one rank spreads to the others' weights through the gradient all-reduce one
    step later; every rank must raise at the same check and exit 1, none left waiting."""
    port = free_port()
    procs = []
    for rank in range(2):
        cmd = [
            sys.executable,
            "-m",
            "transconv",
            "train",
            "--data-root",
            str(voc / "data"),
            "--out",
            str(voc / "nan"),
            *TINY,
            "--epochs",
            "3",
            "--lr",
            "1e30",
        ]
        procs.append(
            subprocess.Popen(
                cmd,
                env=env_for(rank, 2, port),
                cwd=ROOT,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    try:
        results = [(p.wait(timeout=180), p.stderr.read()) for p in procs]
    finally:
        for p in procs:
            p.kill()
    errors = [err.strip().splitlines() for _, err in results]
    assert [code for code, _ in results] == [1, 1], errors
    assert all(len(lines) == 1 for lines in errors), errors
    assert errors[0] == errors[1]
    assert errors[0][0].startswith(
        "transconv: error: loss must be finite, got nan at epoch 1 step "
    )
    assert " on rank " in errors[0][0] and " of 2; lower --lr (now 1e+30)" in errors[0][0]
    assert not (voc / "nan" / "checkpoint.pt").exists()  # nothing saved from a diverging epoch


def _evaluate_on_rank(rank, world_size, init_file, voc_dir, result):
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size
    )
    try:
        found = {}
        for recipe in ("d2l", "fast"):  # both loader paths in one launch
            net = bn_net()
            with torch.no_grad():
                net[1].running_mean.fill_(float(rank))  # the ranks' statistics disagree
            _, test_iter = make_loaders(
                voc_dir,
                RECIPES[recipe],
                batch_size=2,
                crop_size=(48, 64),
                device="cpu",
                seed=1,
                rank=rank,
                world_size=world_size,
            )
            scores = evaluate(wrap_ddp(net, "cpu"), test_iter, num_classes=21, device="cpu")
            counts = torch.tensor([sum(int(Y.numel()) for _, Y in test_iter)])
            dist.all_reduce(counts)
            found[recipe] = {"scores": scores, "pixels": int(counts), "mean": net[1].running_mean}
        if rank == 1:
            torch.save(found, result)
    finally:
        dist.destroy_process_group()


def bn_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8), nn.Conv2d(8, 21, 1))


@pytest.mark.slow
def test_ddp_evaluation_counts_each_crop_once_with_rank_0_buffers(voc, tmp_path):
    voc_dir = voc / "data" / "VOCdevkit" / "VOC2012"
    result = tmp_path / "result.pt"
    mp.spawn(
        _evaluate_on_rank,
        args=(2, str(tmp_path / "init"), voc_dir, str(result)),
        nprocs=2,
        join=True,
    )
    found = torch.load(result)
    for recipe, got in found.items():
        _, test_iter = make_loaders(
            voc_dir, RECIPES[recipe], batch_size=2, crop_size=(48, 64), device="cpu", seed=1
        )
        want = evaluate(bn_net(), test_iter, num_classes=21, device="cpu")  # running_mean 0
        assert got["pixels"] == 3 * 48 * 64, recipe  # 3 validation crops, none counted twice
        assert torch.equal(got["mean"], torch.zeros(8)), recipe  # rank 1 got rank 0's buffers
        assert got["scores"]["pixel_acc"] == want["pixel_acc"], recipe
        torch.testing.assert_close(
            torch.tensor(got["scores"]["iou"]),
            torch.tensor(want["iou"]),
            rtol=0,
            atol=0,
            equal_nan=True,
        )


def _torchrun_env(monkeypatch, **values):
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    for var, value in values.items():
        monkeypatch.setenv(var, value)


LOCAL = dict(MASTER_ADDR="127.0.0.1", MASTER_PORT="29500")


@pytest.mark.parametrize(
    ("env", "match"),
    [
        (
            dict(WORLD_SIZE="abc"),
            r"^WORLD_SIZE must be an int >= 1 \(torchrun sets it\), got 'abc'",
        ),
        (dict(WORLD_SIZE="0"), r"^WORLD_SIZE must be an int >= 1 .*got '0'"),
        (dict(WORLD_SIZE="2", **LOCAL), r"^RANK must be set when WORLD_SIZE=2 .*got none"),
        (dict(WORLD_SIZE="2", RANK="x", **LOCAL), r"^RANK must be an int >= 0 .*got 'x'"),
        (dict(WORLD_SIZE="2", RANK="2", **LOCAL), r"^RANK must be below WORLD_SIZE=2, got 2"),
        (dict(WORLD_SIZE="2", RANK="1", LOCAL_RANK="-1", **LOCAL), r"^LOCAL_RANK must be an int"),
        (dict(WORLD_SIZE="2", RANK="1"), r"^MASTER_ADDR must be set when WORLD_SIZE=2"),
        (
            dict(WORLD_SIZE="2", RANK="1", MASTER_ADDR="h", MASTER_PORT="http"),
            r"^MASTER_PORT must be an int >= 1 .*got 'http'",
        ),
        (
            dict(WORLD_SIZE="2", RANK="1", MASTER_ADDR="h", MASTER_PORT="70000"),
            r"^MASTER_PORT must be a port in 1\.\.65535, got 70000",
        ),
    ],
)
def test_torchrun_variables_are_checked_in_one_line(monkeypatch, env, match):
    # issue 16: WORLD_SIZE=abc gave "invalid literal for int()", a missing RANK a KeyError
    _torchrun_env(monkeypatch, **env)
    with pytest.raises(ValueError, match=match) as info:
        setup_distributed("cpu")
    assert "\n" not in str(info.value) and str(info.value).endswith("run one process")
    assert not dist.is_initialized()


def test_a_rendezvous_nobody_joins_times_out_naming_the_variables(monkeypatch):
    # issue 16: a stray WORLD_SIZE=2 RANK=1 waited for rank 0 (30 minutes, ignoring SIGTERM)
    _torchrun_env(
        monkeypatch, WORLD_SIZE="2", RANK="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port())
    )
    match = r"^rank 1 of WORLD_SIZE=2 must reach the other processes at MASTER_ADDR:MASTER_PORT="
    with pytest.raises(TimeoutError, match=match + r"127\.0\.0\.1:\d+ within 1 s, got "):
        setup_distributed("cpu", timeout=1)
    assert not dist.is_initialized()


@pytest.mark.slow
def test_sigterm_ends_a_waiting_rendezvous_despite_a_python_handler():
    # the CLI installs a Python SIGTERM handler, which cannot run while C++ waits in the
    # rendezvous: the process ignored SIGTERM until the rendezvous timed out
    import signal
    import time

    code = (
        "import signal, sys\n"
        "from transconv.distributed import setup_distributed\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))\n"
        "print('waiting', flush=True)\n"
        "setup_distributed('cpu', timeout=600)\n"
    )
    env = env_for(rank=1, port=free_port())
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"waiting\n"
        time.sleep(1)  # inside the rendezvous by now
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == -signal.SIGTERM
    finally:
        proc.kill()
