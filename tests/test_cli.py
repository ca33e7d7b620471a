"""Tests for transconv.cli: a CPU training smoke test, resume, predict, and one-line errors."""

import csv
import json
import sys
from datetime import datetime

import pytest
import torch
from PIL import Image

from transconv.cli import main
from transconv.data.voc import read_rgb, read_voc_label
from transconv.models import build_model
from transconv.train import load_checkpoint, predict

SMALL = ["--epochs", "1", "--batch-size", "2", "--crop", "64", "96", "--image-size", "72", "104",
         "--num-train", "4", "--num-val", "2", "--device", "cpu", "--quiet"]


def train_args(out, data_root, *extra):
    return ["train", "--data", "synthetic", "--data-root", str(data_root), "--out", str(out),
            *SMALL, *extra]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One d2l-recipe run of one epoch on tiny synthetic data (shared by the tests below)."""
    tmp = tmp_path_factory.mktemp("cli")
    out = tmp / "run"
    assert main(train_args(out, tmp / "data")) == 0
    return out, tmp / "data"


def test_train_writes_results(run):
    out, data_root = run
    for name in ("metrics.json", "history.csv", "checkpoint.pt", "predictions.png", "curves.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["final"]["pixel_acc"] <= 1.0 and len(metrics["final"]["iou"]) == 21
    assert [row["epoch"] for row in metrics["history"]] == [1]
    prov = metrics["provenance"]
    assert prov["torch"] == torch.__version__ and prov["device"].startswith("cpu")
    assert prov["data"]["kind"] == "synthetic" and prov["data"]["num_train"] == 4
    assert "commit" in prov and datetime.fromisoformat(prov["date"]).year >= 2024
    assert metrics["recipe"]["name"] == "d2l" and metrics["args"]["crop"] == [64, 96]
    rows = list(csv.DictReader(open(out / "history.csv")))
    assert len(rows) == 1 and rows[0]["epoch"] == "1" and "mean_iou" in rows[0]
    with Image.open(out / "curves.png") as fig:
        assert fig.size[0] > 100
    assert (data_root / "VOCdevkit" / "VOC2012" / "JPEGImages").is_dir()


def no_figures(monkeypatch):
    """Figures are checked once (test_train_writes_results); skip their ~1 s elsewhere."""
    monkeypatch.setattr("transconv.cli.write_figures", lambda *args, **kwargs: [])


def test_resume_keeps_the_finished_epoch(run, tmp_path, monkeypatch):
    no_figures(monkeypatch)
    out, data_root = run
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    (resumed / "checkpoint.pt").write_bytes((out / "checkpoint.pt").read_bytes())
    first = load_checkpoint(out / "checkpoint.pt")
    assert main(train_args(resumed, data_root, "--epochs", "2", "--resume")) == 0
    history = json.loads((resumed / "metrics.json").read_text())["history"]
    assert [row["epoch"] for row in history] == [1, 2]
    assert history[0]["train_loss"] == first["history"][0]["train_loss"]
    weights = load_checkpoint(resumed / "checkpoint.pt")["model"]
    assert not torch.equal(weights["final_conv.weight"], first["model"]["final_conv.weight"])


def test_predict_writes_a_voc_palette_png(run, tmp_path):
    out, data_root = run
    image_path = sorted((data_root / "VOCdevkit" / "VOC2012" / "JPEGImages").glob("*.jpg"))[0]
    target = tmp_path / "labels.png"
    args = ["predict", "--checkpoint", str(out / "checkpoint.pt"), "--image", str(image_path),
            "--out", str(target), "--tile", "48", "64", "--device", "cpu"]
    assert main(args) == 0
    written = read_voc_label(target)  # palette PNG: pixel values are the class indices
    net = build_model("fcn_resnet18", num_classes=21)
    load_checkpoint(out / "checkpoint.pt", net)
    image = read_rgb(image_path)
    assert written.shape == image.shape[1:]
    torch.testing.assert_close(written, predict(net, image, tile_size=(48, 64)))


def test_fast_recipe_runs_on_cpu(run, tmp_path, monkeypatch):
    no_figures(monkeypatch)
    _, data_root = run
    assert main(train_args(tmp_path / "fast", data_root, "--recipe", "fast", "--lr", "0.02")) == 0
    metrics = json.loads((tmp_path / "fast" / "metrics.json").read_text())
    assert metrics["recipe"]["loader"] == "device" and metrics["recipe"]["lr"] == 0.02
    assert metrics["recipe"]["amp_dtype"] is None  # bf16 autocast is for CUDA only


def one_line_error(capsys, args, code=2):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("transconv: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_missing_data_directory(capsys, tmp_path):
    err = one_line_error(capsys, ["train", "--data", str(tmp_path / "nowhere"), "--out",
                                  str(tmp_path / "o"), *SMALL])
    assert "nowhere not found" in err and "--data synthetic" in err


def test_incomplete_voc_tree(capsys, tmp_path):
    err = one_line_error(capsys, ["train", "--data", str(tmp_path), "--out",
                                  str(tmp_path / "o"), *SMALL])
    assert "JPEGImages not found" in err


@pytest.mark.parametrize("crop, expected", [(["0", "96"], "--crop must be positive, got 0 96"),
                                            (["-4", "8"], "--crop must be positive, got -4 8")])
def test_non_positive_crop(capsys, tmp_path, crop, expected):
    err = one_line_error(capsys, ["train", "--out", str(tmp_path), *SMALL, "--crop", *crop])
    assert expected in err


@pytest.mark.parametrize("recipe, expected", [("d2l", "crop 80x120 keeps 0 of 4 training"),
                                              ("fast", "no full batch of 2: 0 of 4 images")])
def test_crop_larger_than_every_image(run, capsys, tmp_path, recipe, expected):
    _, data_root = run
    args = train_args(tmp_path, data_root, "--crop", "80", "120", "--recipe", recipe)
    assert expected in one_line_error(capsys, args)


def test_unknown_model(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--out", str(tmp_path), "--model", "fcn_vgg16_4s"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --model: invalid choice: 'fcn_vgg16_4s'" in err and "fcn_resnet18" in err
    assert err.count("\n") == 1 and "usage:" not in err


def test_missing_checkpoint(capsys, tmp_path):
    err = one_line_error(capsys, ["predict", "--checkpoint", str(tmp_path / "none.pt"),
                                  "--image", "x.jpg", "--out", str(tmp_path / "y.png")])
    assert "none.pt not found" in err


def test_resume_without_checkpoint(run, capsys, tmp_path):
    _, data_root = run
    err = one_line_error(capsys, train_args(tmp_path / "fresh", data_root, "--resume"))
    assert "checkpoint.pt not found" in err


def test_predict_missing_and_broken_image(run, capsys, tmp_path):
    out, _ = run
    base = ["predict", "--checkpoint", str(out / "checkpoint.pt"), "--out",
            str(tmp_path / "y.png"), "--device", "cpu", "--image"]
    assert "missing.jpg not found" in one_line_error(capsys, [*base, str(tmp_path / "missing.jpg")])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    assert "cannot decode image" in one_line_error(capsys, [*base, str(broken)])


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda(capsys, tmp_path):
    err = one_line_error(capsys, ["train", "--out", str(tmp_path), *SMALL, "--device", "cuda"])
    assert "torch.cuda.is_available() is False" in err


def test_diverging_loss_exits_1(run, capsys, tmp_path, monkeypatch):
    from transconv.train import NonFiniteLossError

    def diverge(*args, **kwargs):  # the detection itself is tested in test_train.py
        raise NonFiniteLossError("loss is nan at epoch 1 step 2; lower --lr (now 1e+20)")

    monkeypatch.setattr("transconv.cli.train", diverge)
    _, data_root = run
    err = one_line_error(capsys, train_args(tmp_path, data_root, "--lr", "1e20"), code=1)
    assert err == "transconv: error: loss is nan at epoch 1 step 2; lower --lr (now 1e+20)"


def test_help_texts(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--data", "--crop", "--recipe", "--resume", "--compile", "--num-train"):
        assert flag in text


def test_python_dash_m(monkeypatch, capsys):
    import transconv.__main__ as entry  # importing must not run anything

    assert entry.main is main
    monkeypatch.setattr(sys, "argv", ["transconv", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        exec(compile(open(entry.__file__).read(), entry.__file__, "exec"), {"__name__": "__main__"})
    assert exit_info.value.code == 0
    assert "{train,predict}" in capsys.readouterr().out

