"""A training run's settings: the `RunConfig`, its checks, and what `--resume` takes from a
checkpoint."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from transconv._validation import check_allocation
from transconv.data.labels import VOC_CLASSES

__all__ = ["NUM_CLASSES", "RunConfig", "check_values", "checkpoint_settings", "settle"]

NUM_CLASSES = len(VOC_CLASSES)  # background included; synthetic data uses the same labels
SYNTHETIC_SIZE = (352, 512)
MIN_SYNTHETIC_SIZE = 4  # make_synthetic_voc draws nothing smaller
BACKBONE_STRIDE = 32  # every model in MODELS downsamples by 32 before its last batch norm
SEED_LIMIT = 1 << 63  # torch.manual_seed and numpy's generators both take [0, 2**63)

# what --resume takes from the checkpoint; None = the default below when not resuming
RESUMED: dict[str, Any] = {
    "model": "fcn_resnet18",
    "recipe": "d2l",
    "lr": None,
    "momentum": None,
    "weight_decay": None,
    "crop": [320, 480],
    "batch_size": 32,
    "seed": 0,
    "upsample": "transposed",
    "num_train": 128,
    "num_val": 32,
    "image_size": None,
}


@dataclass(frozen=True)
class RunConfig:
    """Everything a training run needs, as `transconv train`'s flags name it.

    Each field is the flag of the same name (``batch_size`` is ``--batch-size``, ``out`` is
    ``--out``); ``transconv train --help`` says what each does and its default.

    Settings left at None (``model``, ``recipe``, ``lr``, ``crop``, ``batch_size``, ``seed``,
    ``upsample``, ``num_train``, ``num_val``, ``image_size`` ...) are filled by
    [`settle`][transconv.run.config.settle]: from the checkpoint when ``resume``, else from
    the defaults.

    Examples
    --------
    >>> config = settle(RunConfig(out=Path("runs/x"), crop=[64, 96]), None)
    >>> config.model, config.crop, config.batch_size, config.synthetic_size
    ('fcn_resnet18', [64, 96], 32, [352, 512])
    """

    out: Path
    data: str = "synthetic"
    data_root: Path | None = None
    num_train: int | None = None
    num_val: int | None = None
    image_size: list[int] | None = None
    epochs: int = 5
    batch_size: int | None = None
    crop: list[int] | None = None
    lr: float | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    device: str = "auto"
    model: str | None = None
    weights: str | None = None
    recipe: str | None = None
    compile: bool | None = None
    workers: int = 0
    seed: int | None = None
    upsample: str | None = None
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        if str(self.out).strip() == "":  # Path("") would silently mean the current folder
            raise ValueError("--out must name a directory, got ''; pass e.g. --out runs/first")
        object.__setattr__(self, "out", Path(self.out))
        if self.data_root is not None:
            object.__setattr__(self, "data_root", Path(self.data_root))

    @property
    def synthetic_size(self) -> list[int]:
        """The synthetic images' size: ``image_size``, or the default grown to fit the crop."""
        if self.image_size:
            return list(self.image_size)
        crop = self.crop or RESUMED["crop"]
        return [max(SYNTHETIC_SIZE[0], crop[0] + 32), max(SYNTHETIC_SIZE[1], crop[1] + 32)]

    @property
    def checkpoint(self) -> Path:
        """``out/checkpoint.pt``."""
        return self.out / "checkpoint.pt"

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain data (``args`` in the checkpoint and ``metrics.json``)."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """A config from keyword values, ignoring keys that are not settings (e.g. argparse's)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _shown(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _bad(path: Path, field: str, value: Any, rule: str) -> ValueError:
    return ValueError(
        f"checkpoint {path} config field `{field}` must be {rule}, got {value!r}; use a "
        "checkpoint written by `transconv train`"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def checkpoint_settings(config: Any, path: str | os.PathLike) -> dict[str, Any]:
    """Check the config `transconv train` stores in a checkpoint; return its run's settings.

    One validator for every reader (``predict`` and ``--resume``): a field of the wrong type or
    value is named with the file.

    Parameters
    ----------
    config : Any
        ``state["config"]`` of a checkpoint.
    path : str or os.PathLike
        The checkpoint file, for messages.

    Returns
    -------
    dict
        The keys of ``RESUMED`` and ``num_classes``; None where the checkpoint does not say.

    Raises
    ------
    ValueError
        Naming the file and the first field that is missing, of the wrong type or unknown.

    Examples
    --------
    >>> checkpoint_settings({"model": "fcn_resnet18", "num_classes": 21}, "c.pt")["crop"]
    >>> checkpoint_settings({"model": "fcn_resnet18", "num_classes": True}, "c.pt")
    Traceback (most recent call last):
    ...
    ValueError: checkpoint c.pt config field `num_classes` must be a positive int, got True; ...
    """
    from transconv.models import MODELS
    from transconv.recipes import RECIPES

    path = Path(path)
    if not isinstance(config, dict):
        raise _bad(path, "config", config, "a dict")
    if config.get("model") not in MODELS:
        raise _bad(path, "model", config.get("model"), f"one of {', '.join(MODELS)}")
    classes = config.get("num_classes")
    if not (_is_int(classes) and classes >= 1):
        raise _bad(path, "num_classes", classes, "a positive int")
    crop = config.get("crop")
    if crop is not None and not (
        isinstance(crop, (list, tuple))
        and len(crop) == 2
        and all(_is_int(c) and c >= 1 for c in crop)
    ):
        raise _bad(path, "crop", crop, "two positive ints [H, W]")
    if config.get("upsample", "transposed") not in ("transposed", "subpixel"):
        raise _bad(path, "upsample", config.get("upsample"), "'transposed' or 'subpixel'")
    recipe, args = config.get("recipe", {}), config.get("args", {})
    for field, value in (("recipe", recipe), ("args", args)):
        if not isinstance(value, dict):
            raise _bad(path, field, value, "a dict")
    if recipe and recipe.get("name") not in RECIPES:
        raise _bad(path, "recipe.name", recipe.get("name"), f"one of {', '.join(RECIPES)}")
    for key in ("lr", "momentum", "weight_decay"):
        if recipe.get(key) is not None and not _is_number(recipe[key]):
            raise _bad(path, f"recipe.{key}", recipe[key], "a finite number")
    for key in ("batch_size", "seed", "num_train", "num_val"):
        if args.get(key) is not None and not _is_int(args[key]):
            raise _bad(path, f"args.{key}", args[key], "an int")
    size = args.get("image_size")
    if size is not None and not (
        isinstance(size, list) and len(size) == 2 and all(map(_is_int, size))
    ):
        raise _bad(path, "args.image_size", size, "two ints [H, W] or null")
    return {
        "model": config["model"], "num_classes": classes, "recipe": recipe.get("name"),
        "lr": recipe.get("lr"), "momentum": recipe.get("momentum"),
        "weight_decay": recipe.get("weight_decay"), "crop": list(crop) if crop else None,
        "batch_size": args.get("batch_size"), "seed": args.get("seed"),
        "upsample": config.get("upsample"), "num_train": args.get("num_train"),
        "num_val": args.get("num_val"),
        "image_size": size or (RunConfig(Path(), crop=crop).synthetic_size if crop else None),
    }  # fmt: skip


def settle(config: RunConfig, state: dict[str, Any] | None) -> RunConfig:
    """Fill the run's settings: from the checkpoint when resuming, else the defaults.

    Parameters
    ----------
    config : RunConfig
        The settings asked for; None = not given.
    state : dict or None
        The checkpoint being resumed (as `load_checkpoint` returns it), or None.

    Returns
    -------
    RunConfig
        Every setting of ``RESUMED`` filled (``lr``, ``momentum``, ``weight_decay`` may stay
        None: the recipe's).

    Raises
    ------
    ValueError
        When resuming with a setting that differs from the checkpoint's, listing every
        difference; or when the checkpoint's config is malformed (naming the field).
    """
    if state is None:
        filled = {k: v for k, v in RESUMED.items() if getattr(config, k) is None}
        return replace(config, **filled)
    saved = checkpoint_settings(state.get("config"), config.checkpoint)
    asked = {k: getattr(config, k) for k in RESUMED if getattr(config, k) is not None}
    asked = {k: list(v) if isinstance(v, tuple) else v for k, v in asked.items()}
    changed = {k: v for k, v in asked.items() if saved.get(k) is not None and saved[k] != v}
    if changed:
        was = " ".join(f"{_flag(k)} {_shown(saved[k])}" for k in changed)
        now = " ".join(f"{_flag(k)} {_shown(v)}" for k, v in changed.items())
        raise ValueError(
            f"--resume must keep the checkpoint's settings, got {now} for a run trained with "
            f"{was} ({config.checkpoint}); drop these flags to continue as trained, "
            "or train into a new --out"
        )
    filled = {
        k: saved[k] if saved.get(k) is not None else default
        for k, default in RESUMED.items()
        if getattr(config, k) is None
    }
    return replace(config, **filled)


def check_values(config: RunConfig) -> None:
    """Refuse settings that cannot work, before any file is touched (one line each).

    Parameters
    ----------
    config : RunConfig
        Settled settings (see [`settle`][transconv.run.config.settle]).

    Raises
    ------
    ValueError
        For sizes out of range, a seed outside ``[0, 2**63)``, synthetic
        images smaller than the crop, a crop and batch that leave batch norm one value per
        channel, or sizes whose buffers would not fit in memory.
    """
    for key, values in (
        ("crop", config.crop),
        ("image_size", config.image_size or [1]),
        ("epochs", [config.epochs]),
        ("batch_size", [config.batch_size]),
        ("num_train", [config.num_train]),
        ("num_val", [config.num_val]),
    ):
        if min(values) < 1:
            raise ValueError(f"{_flag(key)} must be positive, got {_shown(values)}")
    if config.workers < 0:
        raise ValueError(f"--workers must be >= 0, got {config.workers}")
    if not 0 <= config.seed < SEED_LIMIT:
        raise ValueError(
            f"--seed must be in 0..2**63 - 1, got {config.seed}; pass a smaller non-negative seed"
        )
    (h, w), batch = config.crop, config.batch_size
    cells = batch * math.ceil(h / BACKBONE_STRIDE) * math.ceil(w / BACKBONE_STRIDE)
    if cells < 2:
        raise ValueError(
            f"--crop {h} {w} with --batch-size {batch} must give batch norm more than one value "
            f"per channel after the backbone's stride {BACKBONE_STRIDE}, got {cells}; pass "
            f"--batch-size 2 or more, or a --crop over {BACKBONE_STRIDE} on one side"
        )
    # Per image the step holds at least its float32 input (3 x 4 B/px), its int64 labels
    # (8 B/px) and the float32 logits with their gradient (2 x 21 classes x 4 B/px), 188 B/px;
    # the backbone's activations come on top, so this is a lower bound.
    check_allocation(
        batch * h * w * (12 + 8 + 2 * NUM_CLASSES * 4),
        f"--crop {h} {w} with --batch-size {batch}",
        "use a smaller --crop or --batch-size",
    )
    if config.data == "synthetic":
        _check_synthetic(config)


def _check_synthetic(config: RunConfig) -> None:
    ih, iw = config.synthetic_size
    if min(ih, iw) < MIN_SYNTHETIC_SIZE:
        raise ValueError(
            f"--image-size must be at least {MIN_SYNTHETIC_SIZE} {MIN_SYNTHETIC_SIZE}, got {ih} "
            f"{iw}; pass a larger --image-size"
        )
    (h, w) = config.crop
    if ih < h or iw < w:
        raise ValueError(
            f"--image-size must be at least the --crop ({h} {w}), got {ih} {iw}: every image "
            "would be dropped; pass a larger --image-size or a smaller --crop"
        )
    # the generator renders one image at a time: a float32 RGB image and its float32 noise
    # (2 x 12 B/px), a float64 wave (8 B/px), the uint8 image and label (4 B/px), 36 B/px
    check_allocation(ih * iw * 36, f"--image-size {ih} {iw}", "use a smaller --image-size")
    root = config.data_root
    if root is not None and Path(root).resolve() == Path(config.out).resolve():
        raise ValueError(
            f"--data-root must differ from --out, got {root} for both; leave --data-root out "
            "(the data goes to OUT/data) or pick another folder"
        )
