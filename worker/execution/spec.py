"""Build the engine's RunSpec (docs/CONTRACTS.md section 1) from a run's database rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.core.config import Settings
from backend.db.models import Run
from common.methods import get_method
from common.runspec import run_settings_fields

# The PoC's device kind (its Celery queue) as the engine's device.
DEVICES = {"cpu": "cpu", "gpu": "cuda"}


def dataset_argument(run: Run, settings: Settings) -> str:
    """What the engine's ``dataset`` field gets: a built-in's name, or the uploaded file's full path."""
    dataset = run.poc.dataset
    if dataset.builtin:
        return dataset.path
    path = Path(dataset.path)
    return str(path if path.is_absolute() else settings.data_dir / path)


def build_spec(run: Run, settings: Settings) -> dict[str, Any]:
    """The RunSpec of ``run``: the PoC's run settings, the method's hyperparameters, the dataset.

    Every ``RunSettings`` field the PoC stored passes through unchanged (a PoC made before a field existed
    gets the field's default from the engine); of the run's hyperparameters, those its method takes.
    """
    poc = run.poc
    spec: dict[str, Any] = {
        "method": run.method,
        "model": poc.model,
        "dataset": dataset_argument(run, settings),
    }
    spec.update({key: poc.settings[key] for key in run_settings_fields() if key in poc.settings})
    method = get_method(run.method)
    if not method.zeroth_order:
        # The PoC's ZO objective and bound are for its zeroth-order runs; a gradient method follows the loss.
        spec.pop("zo_objective", None)
        spec.pop("zo_clip", None)
    for key, value in run.hyperparams.items():
        if method.hyperparameter(key) is not None and value is not None:
            spec[key] = value
    dataset = poc.dataset
    if not dataset.builtin and dataset.kind != "generation":
        spec["text_column"] = dataset.text_column
        spec["label_column"] = dataset.label_column
    spec["device"] = DEVICES.get(str(poc.settings.get("device") or run.queue), "auto")
    return spec
