"""Shared helpers of the benchmarks: result rows as an aligned table or as JSON lines, phase memory peaks.

Run a benchmark from the repository root (``.venv/bin/python benchmarks/step_cost.py``); this module makes
the repository importable when the script is run by path.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def format_value(value: Any) -> str:
    """A table cell: floats with 3-4 significant digits, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0 or 0.01 <= abs(value) < 10_000:
            return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        return f"{value:.3g}"
    return str(value)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as a fixed-width text table with the given columns (missing values shown as '-')."""
    cells = [[format_value(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row_cells in cells:  # first column left-aligned, numbers right-aligned
        pairs = enumerate(zip(row_cells, widths, strict=True))
        lines.append("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in pairs))
    return "\n".join(lines)


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], as_json: bool, out=None) -> None:
    """Print rows: one JSON object per line with ``as_json``, else a table of ``columns``."""
    out = out or sys.stdout
    if as_json:
        for row in rows:
            print(json.dumps(row, sort_keys=False), file=out)
    else:
        print(format_table(rows, columns), file=out)
    out.flush()


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return float(statistics.median(values))


def run_isolated(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a fresh spawned process (its peak memory is its own); returns its result.

    ``fn`` must be a module-level function of a module the child can import (the script run as __main__
    counts: 'spawn' re-imports it).
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def make_weights_resident(model) -> None:
    """Copy every parameter and buffer into ordinary memory, so all of the weights count in the RSS.

    transformers maps the safetensors file: a weight's pages become resident only when touched. Inference
    reads only the embedding rows of the tokens it sees (on MiniLM, ~45 of the embedding's 47 MB stay out
    of the RSS), while any method that updates the weights writes every page. Without this, the inference
    reference would be smaller than the model and every training method would look ~9% heavier than it is.
    """
    import torch

    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            tensor.data = tensor.data.clone()
