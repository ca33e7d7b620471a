"""The run layer: a training run and a prediction, callable without argparse.

`transconv train` and `transconv predict` are thin flag parsers over these functions, the way
torchvision's segmentation reference separates ``main`` from ``get_args_parser``; a page or a
test calls them directly:

* [`config`][transconv.run.config]: `RunConfig` (the run's settings), what ``--resume`` takes
  from a checkpoint, the checks made before any work;
* [`files`][transconv.run.files]: the run's file set (`RUN_FILES`), the lock on ``--out``,
  replacing an old run and writing the results as one set;
* [`training`][transconv.run.training]: `train_run`, data preparation, what a stopped run keeps;
* [`predicting`][transconv.run.predicting]: `predict_file`, its ``--out`` checks.

Examples
--------
>>> from pathlib import Path
>>> config = RunConfig(out=Path("runs/x"), crop=[64, 96], batch_size=2, epochs=1)
>>> config.checkpoint.as_posix()
'runs/x/checkpoint.pt'
"""

from transconv.run.config import NUM_CLASSES, RunConfig, checkpoint_settings, settle
from transconv.run.files import RUN_FILES, OutInUseError, lock_out
from transconv.run.predicting import NonFiniteLogitsError, check_label_out, predict_file
from transconv.run.training import (
    RunResult,
    RunStopped,
    prepare_data,
    resolve_device,
    sigterm_handler,
    train_run,
)

__all__ = [
    "NUM_CLASSES",
    "RUN_FILES",
    "NonFiniteLogitsError",
    "OutInUseError",
    "RunConfig",
    "RunResult",
    "RunStopped",
    "check_label_out",
    "checkpoint_settings",
    "lock_out",
    "predict_file",
    "prepare_data",
    "resolve_device",
    "sigterm_handler",
    "settle",
    "train_run",
]
