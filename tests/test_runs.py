"""Tests for transconv.runs: provenance, metrics.json, history.csv, figures."""

import csv
import json
import math
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import torch
from torch import nn

from transconv.runs import (
    git_commit,
    jsonable,
    provenance,
    published_results,
    summarize_runs,
    write_figures,
    write_history_csv,
    write_metrics,
)


def test_commit_comes_from_the_environment_when_set(monkeypatch):
    monkeypatch.setenv("TRANSCONV_COMMIT", "abc123")
    assert git_commit() == "abc123"
    assert provenance("cpu")["commit"] == "abc123"


def test_commit_is_git_head_with_dirty_marking(monkeypatch):
    monkeypatch.delenv("TRANSCONV_COMMIT", raising=False)
    root = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "transconv"], cwd=root)
    expected = head.stdout.strip() + ("+dirty" if dirty.returncode == 1 else "")
    assert git_commit() == expected


def test_provenance_fields():
    prov = provenance("cpu", world_size=2, data={"kind": "voc"})
    assert prov["torch"] == torch.__version__ and prov["world_size"] == 2
    assert prov["device"].startswith("cpu") and prov["gpu_count"] == 0 and prov["cudnn"] is None
    assert prov["data"] == {"kind": "voc"} and prov["python"].count(".") == 2
    assert datetime.fromisoformat(prov["date"]).utcoffset().total_seconds() == 0


def test_jsonable_and_metrics_round_trip(tmp_path):
    metrics = {"a": (1, 2.5), "nan": math.nan, "inf": -math.inf, "path": tmp_path, 3: [None]}
    path = write_metrics(tmp_path / "new", metrics)
    assert path == tmp_path / "new" / "metrics.json"
    expected = {"a": [1, 2.5], "nan": None, "inf": None, "path": str(tmp_path), "3": [None]}
    assert json.loads(path.read_text()) == expected == jsonable(metrics)
    assert "NaN" not in path.read_text()  # standard JSON, readable by a browser


def test_history_csv_keeps_scalar_columns(tmp_path):
    history = [
        {"epoch": 1, "train_loss": 0.5, "iou": [0.1]},
        {"epoch": 2, "train_loss": 0.25, "iou": [0.2]},
    ]
    path = write_history_csv(tmp_path, history)
    rows = list(csv.DictReader(open(path)))
    assert rows == [{"epoch": "1", "train_loss": "0.5"}, {"epoch": "2", "train_loss": "0.25"}]
    assert write_history_csv(tmp_path / "empty", []) is None
    assert not (tmp_path / "empty").exists()


def test_write_figures(tmp_path):
    pytest.importorskip("matplotlib")
    net = nn.Conv2d(3, 21, 1)
    images = [torch.randint(0, 256, (3, 20, 30), dtype=torch.uint8) for _ in range(2)]
    labels = [torch.zeros(20, 30, dtype=torch.long) for _ in range(2)]
    history = [
        {"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "pixel_acc": 0.5, "mean_iou": 0.1},
        {"epoch": 2, "train_loss": 0.5, "train_acc": 0.6, "pixel_acc": 0.6, "mean_iou": 0.2},
    ]
    written = write_figures(
        tmp_path, net, (images, labels), history, tile_size=(16, 16), device="cpu"
    )
    assert written == ["predictions.png", "curves.png"]
    assert all((tmp_path / name).stat().st_size > 1000 for name in written)


def _published(root, name, **changes):
    metrics = {
        "final": {"epoch": 30, "pixel_acc": 0.9, "mean_iou": 0.6},
        "provenance": {
            "device": "cuda (NVIDIA H100)",
            "commit": "abc",
            "date": "2026-11-24",
            "data": {"kind": "voc"},
        },
        "recipe": {"name": name},
        "model": "fcn_resnet18",
        "args": {"weights": "DEFAULT"},
    }
    metrics.update(changes)
    write_metrics(root / name, metrics)


def test_summarize_runs_lists_published_recipes_in_order(tmp_path) -> None:
    _published(tmp_path, "fast")
    _published(tmp_path, "d2l")
    rows = summarize_runs(tmp_path)
    assert [row["run"] for row in rows] == ["d2l", "fast"]
    assert rows[0]["weights"] == "DEFAULT" and rows[0]["data"] == "voc"
    assert rows[1]["mean_iou"] == 0.6 and rows[1]["epochs"] == 30


def test_summarize_runs_skips_missing_and_refuses_foreign_files(tmp_path) -> None:
    assert summarize_runs(tmp_path) == []
    _published(tmp_path, "fast", final={"epoch": 1})
    with pytest.raises(ValueError, match=r"fast/metrics.json must be a metrics.json written by"):
        summarize_runs(tmp_path)


def published(tmp_path, content: bytes) -> Path:
    (tmp_path / "d2l").mkdir()
    (tmp_path / "d2l" / "metrics.json").write_bytes(content)
    return tmp_path / "d2l" / "metrics.json"


GOOD = {
    "model": "fcn_resnet18",
    "recipe": {"name": "d2l"},
    "args": {"weights": None},
    "final": {"epoch": 2, "pixel_acc": 0.5, "mean_iou": 0.1},
    "provenance": {"device": "cpu", "commit": "abc", "date": "2026-01-01", "data": None},
}


@pytest.mark.parametrize(
    "content, expected",
    [
        (json.dumps(GOOD)[:40].encode(), "must be complete JSON, got "),
        (b"", "must be complete JSON, got expecting value at line 1 column 1"),
        ('{"model": "caf\xe9"}'.encode("latin-1"), "must be UTF-8 JSON, got a byte 0xe9"),
        (b"[1, 2]", "must hold a JSON object at the top level, got [1, 2]; "),
        (
            json.dumps({**GOOD, "final": None}).encode(),
            "field `final` must be a JSON object, got None; ",
        ),
        (
            json.dumps({**GOOD, "recipe": "d2l"}).encode(),
            "field `recipe` must be a JSON object, got 'd2l'; ",
        ),
        (json.dumps({**GOOD, "model": 3}).encode(), "field `model` must be str, got 3"),
    ],
)
def test_summarize_runs_names_the_file_and_field_of_a_bad_metrics_json(tmp_path, content, expected):
    path = published(tmp_path, content)
    with pytest.raises(ValueError) as info:
        summarize_runs(tmp_path)
    assert str(info.value).startswith(f"{path} ") and expected in str(info.value)
    assert "\n" not in str(info.value)


def test_summarize_runs_reads_a_null_data_description_as_unknown(tmp_path):
    published(tmp_path, json.dumps(GOOD).encode())
    assert summarize_runs(tmp_path)[0]["data"] is None


def test_published_results_are_found_from_the_repository_root_or_where_the_environment_says(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("TRANSCONV_RESULTS", raising=False)
    (tmp_path / "docs" / "results").mkdir(parents=True)
    (tmp_path / "docs" / "results" / "metrics.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert published_results() == Path("docs/results")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("TRANSCONV_RESULTS", str(tmp_path / "docs" / "results"))
    assert published_results() == tmp_path / "docs" / "results"
    assert capsys.readouterr().out == ""


def test_published_results_absent_print_where_they_were_looked_for_and_how_to_reach_them(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("TRANSCONV_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert published_results() is None
    note = capsys.readouterr().out
    assert str(tmp_path / "docs" / "results") in note
    assert "clone" in note and "TRANSCONV_RESULTS" in note
