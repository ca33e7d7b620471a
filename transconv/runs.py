"""Results files and their provenance: what a run leaves behind for a results page.

A training run (`transconv train`) and the throughput benchmark
(`benchmarks/train_throughput.py`) write their figures through this module, so both record the
same provenance fields and the same file formats:

- `metrics.json`: plain JSON ([`write_metrics`][transconv.runs.write_metrics]; NaN and infinity
  become `null`, paths strings, tuples lists);
- `history.csv`: one row per epoch ([`write_history_csv`][transconv.runs.write_history_csv]);
- `predictions.png` and `curves.png` ([`write_figures`][transconv.runs.write_figures]).

Examples
--------
>>> import tempfile, json
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = write_metrics(tmp, {"final": {"loss": float("nan")}, "out": Path("runs/x")})
...     json.loads(path.read_text())
{'final': {'loss': None}, 'out': 'runs/x'}
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "git_commit",
    "jsonable",
    "provenance",
    "published_results",
    "summarize_runs",
    "write_figures",
    "write_history_csv",
    "write_metrics",
]

_PACKAGE = Path(__file__).resolve().parent


def git_commit(paths: Sequence[str] = ("transconv",)) -> str | None:
    """The commit the code runs from: ``$TRANSCONV_COMMIT`` if set, else git's ``HEAD``.

    Parameters
    ----------
    paths : sequence of str, optional
        Folders, relative to the repository root, whose uncommitted changes mark the commit
        ``+dirty``; default ``("transconv",)``, the package.

    Returns
    -------
    str or None
        e.g. ``"1a2b3c...+dirty"``; None outside a git checkout or without git.

    Examples
    --------
    >>> os.environ["TRANSCONV_COMMIT"] = "abc123"  # a copied tree without .git (the GPU machine)
    >>> git_commit()
    'abc123'
    >>> del os.environ["TRANSCONV_COMMIT"]
    """
    if os.environ.get("TRANSCONV_COMMIT"):
        return os.environ["TRANSCONV_COMMIT"]
    pathspecs = [f":(top){p}" for p in paths]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=_PACKAGE,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", *pathspecs],
            cwd=_PACKAGE,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip() if head.returncode == 0 else ""
    return (commit + ("+dirty" if dirty.returncode == 1 else "")) or None


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()})"


def provenance(
    device: str | torch.device,
    *,
    world_size: int | None = None,
    commit_paths: Sequence[str] = ("transconv",),
    **extra: Any,
) -> dict[str, Any]:
    """Where, when and with what a result was made: the fields a results page shows up front.

    Parameters
    ----------
    device : str or torch.device
        The device the work ran on; CUDA devices are named by their model.
    world_size : int, optional
        Processes that took part; default: the process group's size, else 1.
    commit_paths : sequence of str, optional
        Passed to [`git_commit`][transconv.runs.git_commit] as ``paths``.
    **extra : Any
        Further fields (e.g. ``data=...``), added last.

    Returns
    -------
    dict
        ``device``, ``world_size``, ``gpu_count``, ``torch``, ``torchvision``, ``cuda``,
        ``cudnn``, ``python``, ``platform``, ``commit``, ``date`` (UTC, ISO 8601), then
        ``extra``.

    Examples
    --------
    >>> prov = provenance("cpu", data={"kind": "synthetic"})
    >>> prov["device"].startswith("cpu"), prov["world_size"], prov["data"]
    (True, 1, {'kind': 'synthetic'})
    """
    import torchvision

    device = torch.device(device)
    cuda = device.type == "cuda"
    if world_size is None:
        dist = torch.distributed
        world_size = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
    return {
        "device": _device_name(device),
        "world_size": world_size,
        "gpu_count": torch.cuda.device_count() if cuda else 0,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": git_commit(commit_paths),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def jsonable(value: Any) -> Any:
    """Plain JSON data: paths as strings, tuples as lists, NaN and infinity as None.

    Parameters
    ----------
    value : Any
        Nested dicts, lists, tuples, numbers, strings and paths.

    Returns
    -------
    Any
        The same structure, which ``json.dumps`` writes as standard JSON.

    Examples
    --------
    >>> jsonable({"crop": (64, 96), "loss": float("inf"), 1: Path("a")})
    {'crop': [64, 96], 'loss': None, '1': 'a'}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_metrics(
    out: str | os.PathLike, metrics: dict[str, Any], name: str = "metrics.json"
) -> Path:
    """Write ``metrics`` as indented standard JSON to ``out/name``.

    Parameters
    ----------
    out : str or os.PathLike
        The results directory (made if missing).
    metrics : dict
        Anything [`jsonable`][transconv.runs.jsonable] accepts.
    name : str, optional
        File name; default ``"metrics.json"``.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(out) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(metrics), indent=2) + "\n")
    return path


#: Where the site's published runs live in the repository (relative to its root).
PUBLISHED_RESULTS = "docs/results"


def published_results(folder: str | os.PathLike | None = None) -> Path | None:
    """The folder of the site's published runs, or None, with a printed note, where it is absent.

    The published runs (``metrics.json``, ``predictions.png``, ``references.json``, the GPU
    runs) are files of the repository, not of the package: a results page finds them when it
    runs from the repository's root, as the site build does, and a notebook downloaded from the
    site, run elsewhere, shows the note instead of failing.

    Parameters
    ----------
    folder : str or os.PathLike, optional
        Where to look; default ``$TRANSCONV_RESULTS`` if set, else ``docs/results`` under the
        current directory.

    Returns
    -------
    Path or None
        ``folder`` when it holds a ``metrics.json``; else None, after printing where the
        results were looked for and how to reach them.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     published_results(tmp) is None
    transconv: no published results here (no metrics.json in ...
    True
    """
    default = os.environ.get("TRANSCONV_RESULTS") or PUBLISHED_RESULTS
    path = Path(default if folder is None else folder)
    if (path / "metrics.json").is_file():
        return path
    print(
        f"transconv: no published results here (no metrics.json in {path.resolve()}). They are "
        f"files of the transconv repository ({PUBLISHED_RESULTS}/), not of the package: run "
        f"this notebook from a clone's root, or set TRANSCONV_RESULTS to that folder. The "
        f"cells that show them are skipped."
    )
    return None


def summarize_runs(
    results: str | os.PathLike, names: Sequence[str] = ("d2l", "fast")
) -> list[dict[str, Any]]:
    """One summary row per published run found under ``results/<name>/metrics.json``.

    The GPU workflow publishes each recipe's run into its own folder; a results page lists the
    runs side by side with the facts a reader compares them by (data, weights, device).

    Parameters
    ----------
    results : str or os.PathLike
        The results directory, e.g. ``docs/results``.
    names : sequence of str, optional
        Sub-folders to look in, in the order of the rows; missing ones are skipped.

    Returns
    -------
    list of dict
        ``run``, ``model``, ``recipe``, ``weights`` (``None``: random initialisation),
        ``data``, ``device``, ``epochs``, ``pixel_acc``, ``mean_iou``, ``commit``, ``date``.

    Raises
    ------
    ValueError
        If a ``metrics.json`` is not one that `transconv train` writes: not UTF-8 JSON, or a
        field missing or of the wrong type (the message names the file and the field).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     summarize_runs(tmp)
    []
    """
    return [_summary_row(name, path) for name, path in _metrics_files(results, names)]


def _metrics_files(results: str | os.PathLike, names: Sequence[str]) -> list[tuple[str, Path]]:
    found = [(name, Path(results) / name / "metrics.json") for name in names]
    return [(name, path) for name, path in found if path.is_file()]


def _field(path: Path, data: Any, dotted: str, kind: type | tuple[type, ...]) -> Any:
    """``data["a"]["b"]`` for ``dotted="a.b"``, checked to be a ``kind``; the file and field
    named when it is not."""
    value = data
    for i, key in enumerate(dotted.split(".")):
        if not isinstance(value, dict):
            shown = repr(value)[:60]
            if not i:
                raise ValueError(
                    f"{path} must hold a JSON object at the top level, got {shown}; publish the "
                    "run's own metrics.json, as `transconv train` wrote it"
                )
            raise ValueError(
                f"{path} field `{'.'.join(dotted.split('.')[:i])}` must be a JSON object, got "
                f"{shown}; publish the run's own metrics.json, as `transconv train` wrote it"
            )
        if key not in value:
            raise ValueError(
                f"{path} must be a metrics.json written by `transconv train`, got one without "
                f"`{dotted}`; publish the run's own metrics.json"
            )
        value = value[key]
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ValueError(
            f"{path} field `{dotted}` must be {names}, got {value!r}; publish the run's own "
            "metrics.json, as `transconv train` wrote it"
        )
    return value


def _summary_row(name: str, path: Path) -> dict[str, Any]:
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path} must be UTF-8 JSON, got a byte {err.object[err.start]:#04x} at byte "
            f"{err.start}; publish the run's own metrics.json, as `transconv train` wrote it"
        ) from None
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path} must be complete JSON, got {err.msg.lower()} at line {err.lineno} column "
            f"{err.colno} (truncated or empty?); publish the run's own metrics.json again"
        ) from None
    number = (int, float, type(None))
    optional_str = (str, type(None))
    data = _field(path, metrics, "provenance.data", (dict, type(None))) or {}
    return {
        "run": name,
        "model": _field(path, metrics, "model", str),
        "recipe": _field(path, metrics, "recipe.name", str),
        "weights": _field(path, metrics, "args", dict).get("weights"),
        "data": data.get("kind"),
        "device": _field(path, metrics, "provenance.device", str),
        "epochs": _field(path, metrics, "final.epoch", int),
        "pixel_acc": _field(path, metrics, "final.pixel_acc", number),
        "mean_iou": _field(path, metrics, "final.mean_iou", number),
        "commit": _field(path, metrics, "provenance.commit", optional_str),
        "date": _field(path, metrics, "provenance.date", str),
    }


def write_history_csv(
    out: str | os.PathLike, history: Sequence[dict[str, Any]], name: str = "history.csv"
) -> Path | None:
    """Write one CSV row per epoch: the scalar columns of ``history`` (per-class lists left out).

    Parameters
    ----------
    out : str or os.PathLike
        The results directory (made if missing).
    history : sequence of dict
        Rows as [`train`][transconv.train.train] returns them.
    name : str, optional
        File name; default ``"history.csv"``.

    Returns
    -------
    Path or None
        The file written, or None for an empty history (nothing written).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_history_csv(tmp, [{"epoch": 1, "loss": 0.5, "iou": [0.1, 0.2]}])
    ...     path.read_text().splitlines()
    ['epoch,loss', '1,0.5']
    """
    if not history:
        return None
    path = Path(out) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [k for k in history[0] if not isinstance(history[0][k], (list, dict))]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(history)
    return path


def write_figures(
    out: str | os.PathLike,
    net: torch.nn.Module,
    examples: tuple[Sequence[torch.Tensor], Sequence[torch.Tensor]],
    history: Sequence[dict[str, Any]],
    *,
    tile_size: Sequence[int],
    device: str | torch.device,
) -> list[str]:
    """Write ``predictions.png`` (images, labels, predictions) and ``curves.png`` (history).

    Parameters
    ----------
    out : str or os.PathLike
        The results directory.
    net : torch.nn.Module
        The trained model, labelled through [`predict`][transconv.tiling.predict].
    examples : (list of Tensor, list of Tensor)
        uint8 images of shape ``(3, H, W)`` and their int64 labels of shape ``(H, W)``.
    history : sequence of dict
        Rows as [`train`][transconv.train.train] returns them.
    tile_size : (int, int)
        Tile height and width for ``predict``.
    device : str or torch.device
        Where ``predict`` runs.

    Returns
    -------
    list of str
        The names of the files written; empty (with a warning on stderr) where matplotlib is
        missing.
    """
    try:
        from transconv.viz import plot_history, plot_predictions
    except ImportError as err:
        print(f"transconv: warning: no figures ({err})", file=sys.stderr)
        return []
    from transconv.tiling import predict

    images, labels = examples
    preds = [predict(net, img, tile_size=tuple(tile_size), device=device) for img in images]
    written = []
    for name, fig in (
        ("predictions.png", plot_predictions(images, labels, preds)),
        ("curves.png", plot_history(list(history))),
    ):
        fig.savefig(Path(out) / name, dpi=100)
        written.append(name)
    return written
