"""Tests for transconv.run: settings, checkpoint configs, a run's files and lock, predict_file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from transconv.checkpoint import save_checkpoint
from transconv.models import build_model
from transconv.run import (
    NUM_CLASSES,
    RUN_FILES,
    NonFiniteLogitsError,
    OutInUseError,
    RunConfig,
    check_label_out,
    checkpoint_settings,
    lock_out,
    predict_file,
    settle,
)
from transconv.run.config import check_values
from transconv.run.files import LOCK_FILE, file_mode, replacing_run, write_result_set


def test_num_classes_counts_the_voc_classes():
    from transconv.data import VOC_CLASSES

    assert NUM_CLASSES == len(VOC_CLASSES) == 21


def test_run_files_are_every_file_a_run_writes():
    assert RUN_FILES == (
        "checkpoint.pt",
        "metrics.json",
        "history.csv",
        "predictions.png",
        "curves.png",
    )


def settled(**changes):
    return settle(
        RunConfig(**{"out": Path("runs/x"), "crop": [64, 96], "batch_size": 2, **changes}), None
    )


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"seed": 2**70}, "--seed must be in 0..2**63 - 1, got 1180591620717411303424"),
        ({"seed": -1}, "--seed must be in 0..2**63 - 1, got -1"),
        ({"crop": [2, 2], "image_size": [3, 3]}, "--image-size must be at least 4 4, got 3 3"),
        ({"crop": [32, 32], "batch_size": 1}, "--crop 32 32 with --batch-size 1 must give batch"),
        ({"crop": [80, 120], "image_size": [72, 104]}, "--image-size must be at least the --crop"),
        ({"data_root": Path("runs/x")}, "--data-root must differ from --out, got runs/x"),
        ({"workers": -1}, "--workers must be >= 0, got -1"),
    ],
)
def test_settings_that_cannot_work_are_refused_before_any_work(changes, expected):
    with pytest.raises(ValueError) as info:
        check_values(settled(**changes))
    assert str(info.value).startswith(expected)


def test_an_empty_out_is_refused_not_read_as_the_current_folder():
    with pytest.raises(ValueError, match="--out must name a directory, got ''"):
        RunConfig(out="")


def test_crop_32_with_batch_2_is_enough_for_batch_norm():
    check_values(settled(crop=[32, 32], batch_size=2, image_size=[40, 40]))


CONFIG = {
    "model": "fcn_resnet18",
    "num_classes": 21,
    "crop": [64, 96],
    "upsample": "transposed",
    "recipe": {"name": "d2l", "lr": 0.001, "momentum": 0.0, "weight_decay": 0.0},
    "args": {"batch_size": 2, "seed": 0, "num_train": 4, "num_val": 2, "image_size": [72, 104]},
}


@pytest.mark.parametrize(
    "config, field",
    [
        (None, "config"),
        ("fcn_resnet18", "config"),
        ({**CONFIG, "model": "fcn_vgg16_4s"}, "model"),
        ({**CONFIG, "num_classes": True}, "num_classes"),
        ({**CONFIG, "crop": "64 96"}, "crop"),
        ({**CONFIG, "crop": [64]}, "crop"),
        ({**CONFIG, "recipe": {"name": "slow"}}, "recipe.name"),
        ({**CONFIG, "recipe": "d2l"}, "recipe"),
        ({**CONFIG, "args": {"seed": "0"}}, "args.seed"),
    ],
)
def test_one_validator_names_the_file_and_the_field(config, field):
    with pytest.raises(ValueError) as info:
        checkpoint_settings(config, "runs/x/checkpoint.pt")
    message = str(info.value)
    assert message.startswith(f"checkpoint runs/x/checkpoint.pt config field `{field}` must be")
    assert "\n" not in message


def test_resume_refuses_other_data_settings_listing_them():
    state = {"config": CONFIG, "epoch": 1}
    asked = RunConfig(out=Path("runs/x"), resume=True, num_train=8, image_size=[80, 120])
    with pytest.raises(ValueError) as info:
        settle(asked, state)
    assert "got --num-train 8 --image-size 80 120 for a run trained with --num-train 4 " in str(
        info.value
    )
    config = settle(RunConfig(out=Path("runs/x"), resume=True), state)
    assert (config.num_train, config.image_size, config.crop) == (4, [72, 104], [64, 96])


def test_lock_refuses_a_second_run_naming_the_holder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / LOCK_FILE).write_text(f"{holder.pid} {os.uname().nodename}\n")
        with pytest.raises(OutInUseError) as info:
            with lock_out(tmp_path):
                pass
        assert f"locked by pid {holder.pid} on " in str(info.value)
        assert (tmp_path / LOCK_FILE).is_file()  # the holder's lock is left alone
    finally:
        holder.kill()
        holder.wait()
    with lock_out(tmp_path) as lock:  # the holder is dead now: its lock is stale
        assert lock.read_text().split()[0] == str(os.getpid())
    assert not lock.exists()


def test_lock_is_released_on_every_way_out(tmp_path):
    for stop in (ValueError("bad"), KeyboardInterrupt()):
        with pytest.raises(type(stop)):
            with lock_out(tmp_path):
                raise stop
        assert not (tmp_path / LOCK_FILE).exists()


def test_overwrite_puts_the_old_run_back_when_the_new_one_fails_first(tmp_path):
    for name in RUN_FILES:
        (tmp_path / name).write_text(f"old {name}")
    with pytest.raises(KeyboardInterrupt):
        with replacing_run(tmp_path, True):
            (tmp_path / "checkpoint.pt").write_text("new, half made")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(RUN_FILES)
    assert all((tmp_path / n).read_text() == f"old {n}" for n in RUN_FILES)
    with pytest.raises(ValueError):
        with replacing_run(tmp_path, True) as commit:
            (tmp_path / "checkpoint.pt").write_text("new epoch 1")
            commit()  # the new run has a checkpoint: the old run goes
            raise ValueError("later failure")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_result_set_is_all_new_or_all_old(tmp_path):
    for name in ("metrics.json", "curves.png"):
        (tmp_path / name).write_text("epoch 1")

    def metrics(folder):
        (folder / "metrics.json").write_text("epoch 2")

    def figures(folder):
        raise KeyboardInterrupt  # SIGTERM while the figures are drawn

    with pytest.raises(KeyboardInterrupt):
        write_result_set(tmp_path, [metrics, figures])
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "metrics.json": "epoch 1",
        "curves.png": "epoch 1",
    }
    assert write_result_set(tmp_path, [metrics]) == ["metrics.json"]
    assert (tmp_path / "metrics.json").read_text() == "epoch 2"
    assert (tmp_path / "metrics.json").stat().st_mode & 0o777 == file_mode()


@pytest.fixture
def image(tmp_path):
    from PIL import Image

    path = tmp_path / "photo.jpg"
    Image.new("RGB", (40, 30), (90, 120, 150)).save(path)
    return path


@pytest.mark.parametrize(
    "name, expected",
    [
        ("folder", "--out must be a file, got the directory"),
        ("labels", "--out must end in .png"),
        ("labels.txt", "--out must end in .png"),
        ("labels.jpg", "--out must end in .png"),
        ("a-file/labels.png", "--out must be in a folder, got"),
    ],
)
def test_predict_out_is_checked_before_the_model_is_read(tmp_path, image, name, expected):
    (tmp_path / "folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ValueError) as info:  # the checkpoint does not even exist
        predict_file(tmp_path / "none.pt", image, tmp_path / name)
    assert str(info.value).startswith(expected)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_predict_out_in_an_unwritable_folder(tmp_path, image):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ValueError, match="--out must be in a writable folder"):
        check_label_out(locked / "labels.png", image)


def test_a_hard_link_to_the_image_is_the_image(tmp_path, image):
    link = tmp_path / "link.png"
    os.link(image, link)
    before = image.read_bytes()
    with pytest.raises(ValueError, match="--out must differ from --image"):
        predict_file(tmp_path / "none.pt", image, link, overwrite=True)
    assert image.read_bytes() == before


def tiny_checkpoint(path, fill=None):
    torch.manual_seed(0)
    net = build_model("fcn_resnet18", num_classes=21)
    if fill is not None:
        with torch.no_grad():
            net.final_conv.weight.fill_(fill)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    return save_checkpoint(path, net, optimizer, epoch=1, history=[], config=CONFIG)


def test_predict_refuses_logits_that_are_not_finite(tmp_path, image):
    checkpoint = tiny_checkpoint(tmp_path / "huge.pt", fill=3e38)  # finite weights, inf logits
    with pytest.raises(NonFiniteLogitsError, match="logits must be finite, got NaN or infinity"):
        predict_file(checkpoint, image, tmp_path / "labels.png", tile=[32, 32])
    assert not (tmp_path / "labels.png").exists()


def test_predict_file_writes_a_voc_label_png(tmp_path, image):
    from transconv.data import read_voc_label

    checkpoint = tiny_checkpoint(tmp_path / "ok.pt")
    labels = predict_file(checkpoint, image, tmp_path / "sub" / "labels.png", tile=[32, 32])
    assert torch.equal(read_voc_label(tmp_path / "sub" / "labels.png"), labels)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["labels.png"]
