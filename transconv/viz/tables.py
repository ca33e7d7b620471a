"""Markdown tables for the pages' computed numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["markdown_table"]


def _is_number(cell: Any) -> bool:
    return cell is None or (
        isinstance(cell, (int, float, np.number)) and not isinstance(cell, bool)
    )


def _cell(cell: Any, numbers: str) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, (float, np.floating)):
        return f"{cell:.3f}"
    if isinstance(cell, (int, np.integer)) and not isinstance(cell, bool):
        return numbers.format(cell)
    return str(cell)


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], *, numbers: str = "{:,}"
) -> str:
    """A Markdown table: text columns left-aligned, numeric columns right-aligned.

    The pages display it with ``IPython.display.Markdown``. A column is numeric when every
    cell in it is an int or float (ints are formatted with ``numbers``, floats with 3
    decimals; None shows as a dash).

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : sequence of sequences
        One sequence of cells per row, as long as ``header``.
    numbers : str, optional
        Format of int cells, default ``"{:,}"``.

    Returns
    -------
    str
        The table, one line per row.

    Raises
    ------
    ValueError
        If a row is not as long as ``header``.

    Examples
    --------
    >>> print(markdown_table(["model", "parameters", "mIoU"], [["a", 1200, 0.5], ["b", 7, None]]))
    | model | parameters | mIoU |
    |---|---:|---:|
    | a | 1,200 | 0.500 |
    | b | 7 | - |
    """
    bad = [index for index, row in enumerate(rows) if len(row) != len(header)]
    if bad:
        raise ValueError(
            f"every row must have {len(header)} cells (one per header), got row {bad[0]} with "
            f"{len(rows[bad[0]])}; pad or trim that row"
        )
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    lines += ["| " + " | ".join(_cell(cell, numbers) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
