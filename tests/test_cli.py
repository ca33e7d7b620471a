"""Tests for transconv.cli: a CPU training smoke test, resume, predict, and one-line errors."""

import csv
import json
import os
import sys
from datetime import datetime

import pytest
import torch
from PIL import Image

from transconv.cli import main
from transconv.data.voc import read_rgb, read_voc_label
from transconv.models import build_model
from transconv.train import load_checkpoint, predict

SMALL = [
    "--epochs",
    "1",
    "--batch-size",
    "2",
    "--crop",
    "64",
    "96",
    "--image-size",
    "72",
    "104",
    "--num-train",
    "4",
    "--num-val",
    "2",
    "--device",
    "cpu",
    "--quiet",
]


def train_args(out, data_root, *extra):
    return [
        "train",
        "--data",
        "synthetic",
        "--data-root",
        str(data_root),
        "--out",
        str(out),
        *SMALL,
        *extra,
    ]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One d2l-recipe run of one epoch on tiny synthetic data (shared by the tests below)."""
    tmp = tmp_path_factory.mktemp("cli")
    out = tmp / "run"
    assert main(train_args(out, tmp / "data")) == 0
    return out, tmp / "data"


@pytest.mark.slow
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
    monkeypatch.setattr("transconv.run.training.write_figures", lambda *args, **kwargs: [])


@pytest.mark.slow
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


def count_checkpoint_reads(monkeypatch):
    """Record the files torch.load reads (a checkpoint is read once per command)."""
    reads, real_load = [], torch.load

    def load(path, *args, **kwargs):
        reads.append(os.path.basename(path))
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    return reads


@pytest.mark.slow
def test_resume_and_predict_read_the_checkpoint_once(run, tmp_path, monkeypatch):
    no_figures(monkeypatch)
    out, data_root = run
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    (resumed / "checkpoint.pt").write_bytes((out / "checkpoint.pt").read_bytes())
    reads = count_checkpoint_reads(monkeypatch)
    assert main(train_args(resumed, data_root, "--epochs", "2", "--resume")) == 0
    assert reads == ["checkpoint.pt"]
    reads.clear()
    image = sorted((data_root / "VOCdevkit" / "VOC2012" / "JPEGImages").glob("*.jpg"))[0]
    args = ["predict", "--checkpoint", str(out / "checkpoint.pt"), "--image", str(image)]
    assert main([*args, "--out", str(tmp_path / "l.png"), "--tile", "48", "64"]) == 0
    assert reads == ["checkpoint.pt"]


def test_predict_never_replaces_a_file_unless_asked(run, capsys, tmp_path):
    out, data_root = run
    image = sorted((data_root / "VOCdevkit" / "VOC2012" / "JPEGImages").glob("*.jpg"))[0]
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"my own file")
    args = ["predict", "--checkpoint", str(out / "checkpoint.pt"), "--image", str(image)]
    err = one_line_error(capsys, [*args, "--out", str(mine), "--tile", "48", "64"])
    assert "--out must not exist" in err and "--overwrite" in err
    assert mine.read_bytes() == b"my own file"
    err = one_line_error(capsys, [*args, "--out", str(image), "--overwrite"])
    assert "--out must differ from --image" in err
    assert main([*args, "--out", str(mine), "--tile", "48", "64", "--overwrite"]) == 0
    assert mine.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_predict_writes_a_voc_palette_png(run, tmp_path):
    out, data_root = run
    image_path = sorted((data_root / "VOCdevkit" / "VOC2012" / "JPEGImages").glob("*.jpg"))[0]
    target = tmp_path / "labels.png"
    args = [
        "predict",
        "--checkpoint",
        str(out / "checkpoint.pt"),
        "--image",
        str(image_path),
        "--out",
        str(target),
        "--tile",
        "48",
        "64",
        "--device",
        "cpu",
    ]
    assert main(args) == 0
    written = read_voc_label(target)  # palette PNG: pixel values are the class indices
    net = build_model("fcn_resnet18", num_classes=21)
    load_checkpoint(out / "checkpoint.pt", net)
    image = read_rgb(image_path)
    assert written.shape == image.shape[1:]
    torch.testing.assert_close(written, predict(net, image, tile_size=(48, 64)))


@pytest.mark.slow
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
    err = one_line_error(
        capsys, ["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"), *SMALL]
    )
    assert "nowhere must exist, got no such folder" in err and "--data synthetic" in err


def test_incomplete_voc_tree(capsys, tmp_path):
    err = one_line_error(
        capsys, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "o"), *SMALL]
    )
    assert "JPEGImages missing" in err


@pytest.mark.parametrize(
    "crop, expected",
    [
        (["0", "96"], "--crop must be positive, got 0 96; pass a value of 1 or more"),
        (["-4", "8"], "--crop must be positive, got -4 8; pass a value of 1 or more"),
    ],
)
def test_non_positive_crop(capsys, tmp_path, crop, expected):
    err = one_line_error(capsys, ["train", "--out", str(tmp_path), *SMALL, "--crop", *crop])
    assert expected in err


@pytest.mark.parametrize(
    "recipe, expected",
    [
        (
            "d2l",
            "crop (80, 120) must keep at least 2 training image(s) (batch size x processes), "
            "got 0 of 4; ",
        ),
        ("fast", "must leave a full batch of 2 image(s) per process, got 0 of 4 images"),
    ],
)
def test_crop_larger_than_every_image(run, capsys, tmp_path, recipe, expected):
    _, data_root = run
    voc_dir = str(data_root / "VOCdevkit" / "VOC2012")  # a VOC tree: the loader's own check
    args = ["train", "--data", voc_dir, "--out", str(tmp_path), *SMALL, "--crop", "80", "120"]
    assert expected in one_line_error(capsys, [*args, "--recipe", recipe])
    args = train_args(tmp_path, data_root, "--crop", "80", "120")  # synthetic: before any work
    err = one_line_error(capsys, args)
    assert "--image-size must be at least the --crop (80 120), got 72 104" in err


def test_synthetic_data_root_never_overwrites_a_users_files(capsys, tmp_path):
    users = tmp_path / "mine" / "JPEGImages"
    users.mkdir(parents=True)
    (users / "2007_000032.jpg").write_bytes(b"my photo")
    err = one_line_error(capsys, train_args(tmp_path / "o", tmp_path / "mine"))
    assert err.startswith("transconv: error: --data-root ")
    assert "make_synthetic_voc never writes over files it did not make" in err
    assert (users / "2007_000032.jpg").read_bytes() == b"my photo"
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["JPEGImages"]


@pytest.mark.slow
def test_synthetic_data_is_reused_when_its_parameters_match(run, tmp_path):
    _, data_root = run
    image = sorted((data_root / "VOCdevkit" / "VOC2012" / "JPEGImages").glob("*.jpg"))[0]
    before = image.stat().st_mtime_ns
    assert main(train_args(tmp_path / "again", data_root)) == 0
    assert image.stat().st_mtime_ns == before


def test_unknown_model(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--out", str(tmp_path), "--model", "fcn_vgg16_4s"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --model: invalid choice: 'fcn_vgg16_4s'" in err and "fcn_resnet18" in err
    assert err.count("\n") == 1 and "usage:" not in err


def test_missing_checkpoint(capsys, tmp_path):
    err = one_line_error(
        capsys,
        [
            "predict",
            "--checkpoint",
            str(tmp_path / "none.pt"),
            "--image",
            "x.jpg",
            "--out",
            str(tmp_path / "y.png"),
        ],
    )
    assert "none.pt must exist, got no such file" in err


def test_resume_without_checkpoint(run, capsys, tmp_path):
    _, data_root = run
    err = one_line_error(capsys, train_args(tmp_path / "fresh", data_root, "--resume"))
    assert "checkpoint.pt must exist, got no such file" in err


def test_predict_missing_and_broken_image(run, capsys, tmp_path):
    out, _ = run
    base = [
        "predict",
        "--checkpoint",
        str(out / "checkpoint.pt"),
        "--out",
        str(tmp_path / "y.png"),
        "--device",
        "cpu",
        "--image",
    ]
    assert "missing.jpg must exist, got no such file" in one_line_error(
        capsys, [*base, str(tmp_path / "missing.jpg")]
    )
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    err = one_line_error(capsys, [*base, str(broken)])
    assert str(broken) in err and "must be a JPEG or PNG file Pillow can decode, got" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda(capsys, tmp_path):
    err = one_line_error(capsys, ["train", "--out", str(tmp_path), *SMALL, "--device", "cuda"])
    assert "--device cuda must name an available device, got torch.cuda.is_available() False" in err


def test_diverging_loss_exits_1(run, capsys, tmp_path, monkeypatch):
    from transconv.train import NonFiniteLossError

    def diverge(*args, **kwargs):  # the detection itself is tested in test_train.py
        raise NonFiniteLossError(
            "loss must be finite, got nan at epoch 1 step 2; lower --lr (now 1e+20)"
        )

    monkeypatch.setattr("transconv.run.training.train", diverge)
    _, data_root = run
    err = one_line_error(capsys, train_args(tmp_path, data_root, "--lr", "1e20"), code=1)
    expected = "loss must be finite, got nan at epoch 1 step 2; lower --lr (now 1e+20)"
    assert err == f"transconv: error: {expected}"


def test_help_texts(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--data",
        "--crop",
        "--recipe",
        "--resume",
        "--overwrite",
        "--compile",
        "--num-train",
    ):
        assert flag in text
    assert "different values are refused" in " ".join(text.split())


def test_python_dash_m(monkeypatch, capsys):
    import transconv.__main__ as entry  # importing must not run anything

    assert entry.main is main
    monkeypatch.setattr(sys, "argv", ["transconv", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        exec(compile(open(entry.__file__).read(), entry.__file__, "exec"), {"__name__": "__main__"})
    assert exit_info.value.code == 0
    assert "{train,predict}" in capsys.readouterr().out


def copy_run(run, target):
    """A copy of the shared run's results in ``target`` (tests must not change the original)."""
    out, _ = run
    target.mkdir()
    for name in ("checkpoint.pt", "metrics.json", "history.csv"):
        (target / name).write_bytes((out / name).read_bytes())
    return target


@pytest.mark.slow
def test_an_out_holding_a_run_is_refused_without_resume_or_overwrite(
    run, capsys, tmp_path, monkeypatch
):
    no_figures(monkeypatch)
    _, data_root = run
    out = copy_run(run, tmp_path / "old")
    before = (out / "checkpoint.pt").read_bytes()
    err = one_line_error(capsys, train_args(out, data_root, "--lr", "1e6"))
    assert err == (
        f"transconv: error: --out must not hold another run, got {out} with "
        "checkpoint.pt, metrics.json, history.csv; pass --resume to continue it, "
        "--overwrite to replace it, or another --out"
    )
    assert (out / "checkpoint.pt").read_bytes() == before
    assert main(train_args(out, data_root, "--overwrite", "--seed", "4")) == 0
    assert load_checkpoint(out / "checkpoint.pt")["config"]["args"]["seed"] == 4
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["args"]["seed"] == 4 and not (out / "predictions.png").exists()


def test_resume_and_overwrite_exclude_each_other(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--out", str(tmp_path), "--resume", "--overwrite"])
    assert exit_info.value.code == 2
    assert "argument --overwrite: not allowed with argument --resume" in capsys.readouterr().err


def test_resume_refuses_changed_settings_listing_them(run, capsys, tmp_path):
    _, data_root = run
    out = copy_run(run, tmp_path / "old")
    before = (out / "checkpoint.pt").read_bytes()
    args = train_args(
        out,
        data_root,
        "--epochs",
        "2",
        "--resume",
        "--lr",
        "0.5",
        "--crop",
        "48",
        "80",
        "--recipe",
        "fast",
    )
    err = one_line_error(capsys, args)
    assert err == (
        "transconv: error: --resume must keep the checkpoint's settings, got --recipe fast "
        "--lr 0.5 --crop 48 80 for a run trained with --recipe d2l --lr 0.001 --crop 64 96 "
        f"({out / 'checkpoint.pt'}); drop these flags to continue as trained, or train into a "
        "new --out"
    )
    assert (out / "checkpoint.pt").read_bytes() == before


@pytest.mark.slow
def test_resume_takes_unspecified_settings_from_the_checkpoint(run, tmp_path, monkeypatch):
    no_figures(monkeypatch)
    _, data_root = run
    out = tmp_path / "lr"
    first = train_args(out, data_root, "--lr", "0.004", "--momentum", "0.5", "--seed", "3")
    assert main(first) == 0
    resumed = [
        "train",
        "--data",
        "synthetic",
        "--data-root",
        str(data_root),
        "--out",
        str(out),
        "--epochs",
        "2",
        "--num-train",
        "4",
        "--num-val",
        "2",
        "--image-size",
        "72",
        "104",
        "--device",
        "cpu",
        "--quiet",
        "--resume",
    ]  # no --lr, --crop, --seed ...
    assert main(resumed) == 0
    state = load_checkpoint(out / "checkpoint.pt")
    recipe, args = state["config"]["recipe"], state["config"]["args"]
    assert (recipe["lr"], recipe["momentum"], args["seed"], args["crop"]) == (
        0.004,
        0.5,
        3,
        [64, 96],
    )
    assert state["epoch"] == 2


@pytest.mark.slow
def test_partial_checkpoints_are_removed_at_start(run, capsys, tmp_path, monkeypatch):
    no_figures(monkeypatch)
    _, data_root = run
    out = copy_run(run, tmp_path / "killed")
    for tag in ("a1b2", "c3d4"):
        (out / f".checkpoint.pt.{tag}.tmp").write_bytes(b"x" * 100)
    assert main(train_args(out, data_root, "--epochs", "2", "--resume")) == 0
    assert not list(out.glob(".checkpoint.pt.*.tmp"))
    assert "removed 2 partial checkpoint file(s)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "checkpoint.pt must not be empty, got 0 bytes"),
        (
            b"PK\x03\x04 not really a zip",
            "checkpoint.pt must be readable, got a truncated file or not a checkpoint",
        ),
    ],
)
def test_bad_checkpoint_in_resume_and_predict(run, capsys, tmp_path, content, expected):
    _, data_root = run
    out = tmp_path / "bad"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(content)
    err = one_line_error(capsys, train_args(out, data_root, "--epochs", "2", "--resume"))
    assert f"checkpoint {out / 'checkpoint.pt'}" in err and expected in err
    err = one_line_error(
        capsys,
        [
            "predict",
            "--checkpoint",
            str(out / "checkpoint.pt"),
            "--image",
            "x.jpg",
            "--out",
            str(tmp_path / "y.png"),
        ],
    )
    assert expected in err


def test_checkpoint_of_another_model_in_predict(run, capsys, tmp_path):
    out, _ = run
    state = load_checkpoint(out / "checkpoint.pt")
    state["config"]["num_classes"] = 5  # as if trained on 5 classes: the weights say 21
    torch.save(state, tmp_path / "five.pt")
    err = one_line_error(
        capsys,
        [
            "predict",
            "--checkpoint",
            str(tmp_path / "five.pt"),
            "--image",
            "x.jpg",
            "--out",
            str(tmp_path / "y.png"),
        ],
    )
    assert "five.pt must fit this model, got " in err and "num_classes 5" in err


def test_truncated_and_garbage_images(run, capsys, tmp_path):
    out, data_root = run
    image = sorted((data_root / "VOCdevkit" / "VOC2012" / "JPEGImages").glob("*.jpg"))[0]
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(image.read_bytes()[:600])
    base = [
        "predict",
        "--checkpoint",
        str(out / "checkpoint.pt"),
        "--out",
        str(tmp_path / "y.png"),
        "--device",
        "cpu",
        "--image",
    ]
    err = one_line_error(capsys, [*base, str(truncated)])
    assert str(truncated) in err and "must be a file Pillow can decode, got a truncated" in err


def test_unwritable_out_fails_before_any_work(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    err = one_line_error(capsys, ["train", "--out", str(blocker / "run"), *SMALL])
    assert err.startswith(
        f"transconv: error: --out must be a writable directory, got {blocker / 'run'} ("
    )
    assert err.endswith("; pick another --out")


def test_sizes_that_cannot_fit_fail_before_any_work(capsys, tmp_path):
    args = ["train", "--out", str(tmp_path / "big"), *SMALL, "--crop", "30000", "30000"]
    err = one_line_error(capsys, args)
    assert "--crop 30000 30000 with --batch-size 2 must fit in memory" in err
    assert "use a smaller --crop or --batch-size" in err
    assert not (tmp_path / "big").exists()  # nothing generated, nothing written
    args = ["train", "--out", str(tmp_path / "big"), *SMALL, "--image-size", "100000", "100000"]
    assert "--image-size 100000 100000 must fit in memory" in one_line_error(capsys, args)


def test_predict_tile_that_cannot_fit(run, capsys, tmp_path):
    out, data_root = run
    image = sorted((data_root / "VOCdevkit" / "VOC2012" / "JPEGImages").glob("*.jpg"))[0]
    err = one_line_error(
        capsys,
        [
            "predict",
            "--checkpoint",
            str(out / "checkpoint.pt"),
            "--image",
            str(image),
            "--out",
            str(tmp_path / "y.png"),
            "--device",
            "cpu",
            "--tile",
            "100000",
            "100000",
        ],
    )
    assert "tile_size=(100000, 100000)" in err and "must fit in memory" in err


@pytest.mark.slow
def test_sigterm_stops_cleanly_keeping_the_last_checkpoint(run, tmp_path):
    import os
    import signal
    import subprocess
    import time
    from pathlib import Path

    _, data_root = run
    out = tmp_path / "term"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "transconv", *train_args(out, data_root, "--epochs", "500")]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, cwd=root)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (out / "checkpoint.pt").exists(), "no epoch finished in time"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    epoch = load_checkpoint(out / "checkpoint.pt")["epoch"]
    assert epoch >= 1
    assert lines[0].startswith("transconv: error: stopped by SIGTERM; ")
    assert lines[0].endswith(f"checkpoint.pt holds epoch {epoch}; continue with --resume")
    assert not list(out.glob(".checkpoint.pt.*.tmp"))


def test_resume_needs_more_epochs_than_done(run, capsys, tmp_path):
    _, data_root = run
    out = copy_run(run, tmp_path / "done")
    err = one_line_error(capsys, train_args(out, data_root, "--resume"))  # --epochs 1: done
    assert err == (
        f"transconv: error: --epochs must exceed the 1 epoch(s) {out / 'checkpoint.pt'}"
        " has finished to resume, got 1; pass --epochs 2 or more (the total)"
    )


@pytest.mark.slow
def test_upsample_subpixel_is_recorded_and_predicts_like_transposed(run, tmp_path, monkeypatch):
    no_figures(monkeypatch)
    _, data_root = run
    out = tmp_path / "sub"
    assert main(train_args(out, data_root, "--upsample", "subpixel")) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["upsample"] == "subpixel" and metrics["args"]["upsample"] == "subpixel"
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["config"]["upsample"] == "subpixel"
    image_path = sorted((data_root / "VOCdevkit" / "VOC2012" / "JPEGImages").glob("*.jpg"))[0]
    target = tmp_path / "labels.png"
    args = [
        "predict",
        "--checkpoint",
        str(out / "checkpoint.pt"),
        "--image",
        str(image_path),
        "--out",
        str(target),
        "--tile",
        "48",
        "64",
        "--device",
        "cpu",
    ]
    assert main(args) == 0
    transposed = build_model("fcn_resnet18", num_classes=21)  # the same weights, other form
    load_checkpoint(out / "checkpoint.pt", transposed)
    want = predict(transposed, read_rgb(image_path), tile_size=(48, 64))
    assert (read_voc_label(target) == want).float().mean() > 0.999  # float ties aside
    err = None
    try:
        main(train_args(out, data_root, "--epochs", "2", "--resume", "--upsample", "transposed"))
    except SystemExit as stop:
        err = stop.code
    assert err == 2  # resume keeps the checkpoint's --upsample


def test_version(capsys):
    from transconv import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"transconv {__version__}"


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--seed", str(2**70)], "--seed must be in 0..2**63 - 1, got 1180591620717411303424"),
        (["--seed", "-1"], "--seed must be in 0..2**63 - 1, got -1"),
        (["--crop", "2", "2", "--image-size", "3", "3"], "--image-size must be at least 4 4"),
        (["--crop", "32", "32", "--batch-size", "1"], "--crop 32 32 with --batch-size 1 must"),
    ],
)
def test_settings_that_cannot_work_fail_before_any_work(capsys, tmp_path, extra, expected):
    err = one_line_error(capsys, ["train", "--out", str(tmp_path / "o"), *SMALL, *extra])
    assert err.startswith(f"transconv: error: {expected}")
    assert not (tmp_path / "o").exists()


def test_an_empty_out_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--out", "", *SMALL])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert (
        "error: argument --out: the path must not be empty, got ''; " in err
        and err.count("\n") == 1
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["predictions.png", "curves.png", "history.csv"])
def test_a_users_own_file_in_out_is_never_replaced(capsys, tmp_path, name):
    out = tmp_path / "mine"
    out.mkdir()
    (out / name).write_bytes(b"my own figure")
    err = one_line_error(capsys, train_args(out, tmp_path / "data"))
    assert f"--out must not hold another run, got {out} with {name};" in err
    assert (out / name).read_bytes() == b"my own figure"
    assert not (tmp_path / "data").exists()  # refused before any work


@pytest.mark.parametrize("bad", ["data", "data-root"])
def test_overwrite_keeps_the_old_run_when_the_new_inputs_are_bad(run, capsys, tmp_path, bad):
    _, data_root = run
    out = copy_run(run, tmp_path / "old")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    if bad == "data":
        args = ["train", "--data", str(tmp_path / "typo"), "--out", str(out), *SMALL]
        expected = "typo must exist, got no such folder"
    else:
        args = train_args(out, out)
        expected = "--data-root must differ from --out"
    assert expected in one_line_error(capsys, [*args, "--overwrite"])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_overwrite_restores_the_old_run_when_the_new_one_diverges(
    run, capsys, tmp_path, monkeypatch
):
    from transconv.train import NonFiniteLossError

    def diverge(*args, **kwargs):
        raise NonFiniteLossError(
            "loss must be finite, got nan at epoch 1 step 1; lower --lr (now 1e+20)"
        )

    monkeypatch.setattr("transconv.run.training.train", diverge)
    _, data_root = run
    out = copy_run(run, tmp_path / "old")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    one_line_error(capsys, train_args(out, data_root, "--overwrite"), code=1)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_second_run_into_a_locked_out_is_refused(run, capsys, tmp_path):
    import subprocess

    _, data_root = run
    out = tmp_path / "busy"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".transconv.lock").write_text(f"{holder.pid} {os.uname().nodename}\n")
        err = one_line_error(capsys, train_args(out, data_root))
        assert (
            f"--out must not be in use by another run, got {out} locked by pid {holder.pid}" in err
        )
    finally:
        holder.kill()
        holder.wait()
    assert sorted(p.name for p in out.iterdir()) == [".transconv.lock"]


@pytest.mark.slow
def test_a_stale_lock_of_a_dead_process_is_taken_over(run, tmp_path, monkeypatch):
    no_figures(monkeypatch)
    _, data_root = run
    out = tmp_path / "stale"
    out.mkdir()
    (out / ".transconv.lock").write_text(f"{2**22 + 12345} {os.uname().nodename}\n")  # no such pid
    assert main(train_args(out, data_root)) == 0
    assert not (out / ".transconv.lock").exists()
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir() if p.is_file()}
    assert len(set(modes.values())) == 1, modes  # one mode for every file of the run


def nan_checkpoint(run, target):
    out, _ = run
    state = load_checkpoint(out / "checkpoint.pt")
    state["model"]["final_conv.weight"].view(-1)[3] = float("nan")
    torch.save(state, target)
    return target


def test_predict_refuses_a_checkpoint_with_nan_weights(run, capsys, tmp_path):
    _, data_root = run
    checkpoint = nan_checkpoint(run, tmp_path / "nan.pt")
    image = sorted((data_root / "VOCdevkit" / "VOC2012" / "JPEGImages").glob("*.jpg"))[0]
    args = ["predict", "--checkpoint", str(checkpoint), "--image", str(image)]
    err = one_line_error(capsys, [*args, "--out", str(tmp_path / "y.png"), "--tile", "48", "64"])
    assert f"checkpoint {checkpoint} must hold finite weights" in err
    assert "in final_conv.weight (the first such tensor)" in err
    assert not (tmp_path / "y.png").exists()


@pytest.mark.slow
def test_resume_refuses_a_checkpoint_with_nan_weights_naming_it(run, capsys, tmp_path):
    _, data_root = run
    out = copy_run(run, tmp_path / "nan")
    nan_checkpoint(run, out / "checkpoint.pt")
    err = one_line_error(capsys, train_args(out, data_root, "--epochs", "2", "--resume"))
    assert f"checkpoint {out / 'checkpoint.pt'} must hold finite weights" in err


@pytest.mark.slow
def test_resume_refuses_other_synthetic_data(run, capsys, tmp_path):
    _, data_root = run
    out = copy_run(run, tmp_path / "old")
    args = train_args(out, data_root, "--epochs", "2", "--resume", "--num-train", "6")
    err = one_line_error(capsys, args)
    assert "got --num-train 6 for a run trained with --num-train 4" in err
    args = train_args(out, data_root, "--epochs", "2", "--resume", "--image-size", "80", "112")
    assert "got --image-size 80 112 for a run trained with --image-size 72 104" in (
        one_line_error(capsys, args)
    )


def test_predict_out_is_checked_before_the_checkpoint_is_read(capsys, tmp_path):
    (tmp_path / "a-file").write_text("x")
    base = ["predict", "--checkpoint", str(tmp_path / "none.pt"), "--image", "x.jpg", "--out"]
    for out, expected in (
        (tmp_path, "--out must be a file, got the directory"),
        (tmp_path / "labels.jpg", "--out must end in .png"),
        (tmp_path / "a-file" / "labels.png", "--out must be in a folder, got"),
    ):
        assert f"transconv: error: {expected}" in one_line_error(capsys, [*base, str(out)])


@pytest.mark.slow
def test_a_full_disk_while_saving_the_checkpoint_is_one_line(run, capsys, tmp_path, monkeypatch):
    _, data_root = run

    def full(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full)
    out = tmp_path / "full"
    err = one_line_error(capsys, train_args(out, data_root), code=1)
    assert err.startswith(f"transconv: error: checkpoint {out / 'checkpoint.pt'} must be writable")
    assert "unexpected pos 64 vs 0; free space or pick another --out" in err


@pytest.mark.slow
def test_sigterm_in_predict_exits_143(run, capsys, tmp_path, monkeypatch):
    import signal
    import time

    out, data_root = run

    def terminated(path):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends

    monkeypatch.setattr("transconv.data.read_rgb", terminated)
    image = sorted((data_root / "VOCdevkit" / "VOC2012" / "JPEGImages").glob("*.jpg"))[0]
    args = ["predict", "--checkpoint", str(out / "checkpoint.pt"), "--image", str(image)]
    err = one_line_error(capsys, [*args, "--out", str(tmp_path / "y.png")], code=143)
    assert err.startswith("transconv: error: stopped by SIGTERM")


@pytest.mark.slow
def test_sigterm_while_writing_results_leaves_the_old_set_and_says_so(
    run, capsys, tmp_path, monkeypatch
):
    import signal
    import time

    _, data_root = run
    out = copy_run(run, tmp_path / "term")
    before = (out / "metrics.json").read_bytes()

    def terminated(folder, *args, **kwargs):
        (folder / "predictions.png").write_bytes(b"half a figure")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)

    monkeypatch.setattr("transconv.run.training.write_figures", terminated)
    args = train_args(out, data_root, "--epochs", "2", "--resume")
    err = one_line_error(capsys, args, code=143)
    assert err == (
        f"transconv: error: stopped by SIGTERM; {out / 'checkpoint.pt'} holds all 2 epochs but "
        "the results files were not replaced; write them with --resume --epochs 2"
    )
    assert (out / "metrics.json").read_bytes() == before  # the epoch-1 set, whole
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.csv", "metrics.json"]
    no_figures(monkeypatch)
    assert main(train_args(out, data_root, "--epochs", "2", "--resume")) == 0  # as it said
    assert json.loads((out / "metrics.json").read_text())["final"]["epoch"] == 2


@pytest.mark.slow
def test_ctrl_c_to_the_process_group_with_workers_is_one_line(run, tmp_path):
    import signal
    import subprocess
    import time
    from pathlib import Path

    _, data_root = run
    out = tmp_path / "int"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    args = train_args(out, data_root, "--epochs", "500", "--workers", "2")
    proc = subprocess.Popen(
        [sys.executable, "-m", "transconv", *args],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
        start_new_session=True,  # its own process group, as a terminal makes one
    )
    try:
        deadline = time.monotonic() + 180
        while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (out / "checkpoint.pt").exists(), "no epoch finished in time"
        time.sleep(0.5)  # mid-epoch: the workers are busy
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("transconv: error: stopped by SIGINT; ")
    assert not (out / ".transconv.lock").exists()


def test_sigterm_kills_outright_while_joining_a_process_group(capsys, tmp_path, monkeypatch):
    import signal

    seen, before = [], signal.getsignal(signal.SIGTERM)

    def setup(device_type):  # a rendezvous blocks in C++, where a Python handler never runs
        seen.append(signal.getsignal(signal.SIGTERM))
        raise ValueError("WORLD_SIZE=2 but no rank 0 answers")

    monkeypatch.setattr("transconv.run.training.setup_distributed", setup)
    one_line_error(capsys, ["train", "--out", str(tmp_path / "o"), *SMALL])
    assert seen == [signal.SIG_DFL]
    assert signal.getsignal(signal.SIGTERM) == before  # and the handler is restored after


def test_num_classes_moved_to_the_run_layer_loudly():
    import transconv.cli
    from transconv.run import NUM_CLASSES

    with pytest.warns(FutureWarning, match="transconv.cli.NUM_CLASSES moved: import it from"):
        assert transconv.cli.NUM_CLASSES == NUM_CLASSES
