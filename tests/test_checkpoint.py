"""Tests for transconv.checkpoint: atomic writes, wrappers stripped, clear errors on bad files."""

import pytest
import torch
from torch import nn

from tests.tiny_nets import tiny_fcn
from transconv.checkpoint import load_checkpoint, remove_partial_checkpoints, save_checkpoint
from transconv.distributed import unwrap_model


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    net = tiny_fcn()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, net, opt, epoch=1, history=[{"epoch": 1}])

    def crash(obj, f, *args, **kwargs):
        with open(f, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, net, opt, epoch=2, history=[])
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]  # no temp left


@pytest.mark.slow
def test_checkpoint_strips_a_real_torch_compile_wrapper(tmp_path):
    net = tiny_fcn()
    compiled = torch.compile(net)  # compiles lazily, at the first call: none here
    assert any(k.startswith("_orig_mod.") for k in compiled.state_dict())
    path = save_checkpoint(
        tmp_path / "c.pt", compiled, torch.optim.SGD(net.parameters(), lr=1), epoch=1, history=[]
    )
    assert list(load_checkpoint(path)["model"]) == list(net.state_dict())
    fresh = tiny_fcn(seed=1)
    load_checkpoint(path, torch.compile(fresh))  # loads through the wrapper too
    assert all(
        torch.equal(a, b)
        for a, b in zip(fresh.state_dict().values(), net.state_dict().values(), strict=True)
    )


def test_checkpoint_strips_compile_and_ddp_wrappers(tmp_path):
    class Compiled(nn.Module):  # what torch.compile returns keeps the model as _orig_mod
        def __init__(self, inner):
            super().__init__()
            self._orig_mod = inner

    net = tiny_fcn()
    path = save_checkpoint(
        tmp_path / "c.pt",
        Compiled(net),
        torch.optim.SGD(net.parameters(), lr=1),
        epoch=0,
        history=[],
    )
    assert list(load_checkpoint(path)["model"]) == list(net.state_dict())
    assert unwrap_model(net) is net


def test_missing_checkpoint_error(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"checkpoint .*nope.pt must exist, got no such file; "
    ):
        load_checkpoint(tmp_path / "nope.pt")


def test_partial_checkpoints_of_a_killed_run_are_removed(tmp_path):
    net = tiny_fcn()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    path = save_checkpoint(tmp_path / "checkpoint.pt", net, opt, epoch=1, history=[])
    leftovers = [tmp_path / ".checkpoint.pt.abc123.tmp", tmp_path / ".checkpoint.pt.x.tmp"]
    for leftover in leftovers:
        leftover.write_bytes(b"half a checkpoint")
    keep = [tmp_path / "notes.tmp", tmp_path / ".other.pt.abc.tmp"]  # not ours: left alone
    for other in keep:
        other.write_bytes(b"user data")
    assert remove_partial_checkpoints(path) == sorted(leftovers)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["checkpoint.pt", "notes.tmp", ".other.pt.abc.tmp"]
    )
    assert load_checkpoint(path)["epoch"] == 1


def _good(tmp_path):
    net = tiny_fcn()
    return save_checkpoint(
        tmp_path / "good.pt",
        net,
        torch.optim.SGD(net.parameters(), lr=0.1),
        epoch=1,
        history=[],
        config={"model": "tiny", "num_classes": 4},
    )


@pytest.mark.parametrize(
    "content, match",
    [
        (
            b"",
            r"checkpoint .*bad.pt must not be empty, got 0 bytes; pass a checkpoint.pt written by",
        ),
        (
            b"garbage" * 50,
            r"checkpoint .*bad.pt must be readable, got a truncated file or not a checkpoint",
        ),
        ("half", r"checkpoint .*bad.pt must be readable, got a truncated file or not a checkpoint"),
        (
            b"hello\n",
            r"checkpoint .*bad.pt must be readable, got a truncated file or not a checkpoint",
        ),
    ],
)
def test_unreadable_checkpoint_is_one_clear_error(tmp_path, content, match):
    bad = tmp_path / "bad.pt"
    if content == "half":
        whole = _good(tmp_path).read_bytes()
        content = whole[: len(whole) // 2]
    bad.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        load_checkpoint(bad)
    assert "\n" not in str(info.value)


def test_a_tensor_file_that_is_no_checkpoint(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(
        ValueError,
        match=r"other.pt must have the entries model, optimizer, epoch, history, config, got "
        r"none for model, optimizer, epoch, history, config; pass a checkpoint.pt",
    ):
        load_checkpoint(tmp_path / "other.pt")


def test_checkpoint_of_another_model_or_class_count(tmp_path):
    path = _good(tmp_path)
    other_classes = tiny_fcn(num_classes=21, seed=3)
    before = {k: v.clone() for k, v in other_classes.state_dict().items()}
    expected = (
        r"good.pt must fit this model, got \d+ shape \(e.g. 3.weight \(4, 8, 1, 1\) vs "
        r"\(21, 8, 1, 1\)\); it was written for tiny with num_classes 4"
    )
    with pytest.raises(ValueError, match=expected):
        load_checkpoint(path, other_classes)
    assert all(torch.equal(before[k], v) for k, v in other_classes.state_dict().items())
    with pytest.raises(
        ValueError,
        match=r"must fit this model, got 1 missing \(e.g. weight\), "
        r"\d+ unexpected \(e.g. 0.weight\)",
    ):
        load_checkpoint(path, nn.Conv2d(3, 2, 1, bias=False))


@pytest.mark.parametrize(
    "failure",
    [
        OSError(28, "No space left on device"),
        RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0"),
    ],
)
def test_a_full_disk_names_the_checkpoint_and_keeps_the_previous(tmp_path, monkeypatch, failure):
    from transconv.checkpoint import CheckpointWriteError

    net = tiny_fcn()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    path = save_checkpoint(tmp_path / "checkpoint.pt", net, opt, epoch=1, history=[])

    def full(*args, **kwargs):
        raise failure

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(CheckpointWriteError) as info:
        save_checkpoint(path, net, opt, epoch=2, history=[])
    assert str(info.value).startswith(f"checkpoint {path} must be writable, got ")
    assert "\n" not in str(info.value) and isinstance(info.value, OSError)
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1


def test_checkpoint_has_the_mode_of_the_runs_other_files(tmp_path):
    net = tiny_fcn()
    path = save_checkpoint(
        tmp_path / "c.pt", net, torch.optim.SGD(net.parameters(), lr=1), epoch=1, history=[]
    )
    (tmp_path / "metrics.json").write_text("{}")  # written by open(): 0o666 less the umask
    assert path.stat().st_mode & 0o777 == (tmp_path / "metrics.json").stat().st_mode & 0o777


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_checkpoint_with_non_finite_weights_is_refused_naming_the_tensor(tmp_path, bad):
    net = tiny_fcn()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    name = next(k for k, v in net.state_dict().items() if v.is_floating_point() and v.numel() > 1)
    with torch.no_grad():
        net.state_dict()[name].view(-1)[1] = bad
    path = save_checkpoint(tmp_path / "checkpoint.pt", net, opt, epoch=1, history=[])
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    assert str(info.value).startswith(f"checkpoint {path} must hold finite weights, got 1 NaN")
    assert f" in {name} (the first such tensor)" in str(info.value)
