"""Old import paths that keep working, loudly: one-line shims for names that moved.

A module whose names moved elsewhere ends with::

    __getattr__ = moved_names(__name__, {"make_loaders": "transconv.data.loaders"})

and ``from transconv.train import make_loaders`` still works, with a ``FutureWarning`` that
names the new home (the way accelerate retires its old paths).

Examples
--------
>>> import warnings
>>> getattr_ = moved_names("pkg.old", {"seeded": "transconv._validation"})
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     getattr_("seeded").__name__
'seeded'
>>> str(caught[0].message)
'pkg.old.seeded moved: import it from transconv._validation'
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def moved_names(module: str, moves: dict[str, str]) -> Callable[[str], Any]:
    """Build a module-level ``__getattr__`` (PEP 562) that forwards moved names.

    Parameters
    ----------
    module : str
        The old module's ``__name__``, used in the warning and the ``AttributeError``.
    moves : dict of str to str
        Each moved name mapped to the module that defines it now.

    Returns
    -------
    callable
        ``__getattr__(name)``: imports the new home on first use and returns the name, with a
        ``FutureWarning``; unknown names raise ``AttributeError`` as Python would.
    """

    def __getattr__(name: str) -> Any:
        home = moves.get(name)
        if home is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(f"{module}.{name} moved: import it from {home}", FutureWarning, stacklevel=2)
        return getattr(importlib.import_module(home), name)

    return __getattr__
