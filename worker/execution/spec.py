"""Build the engine's RunSpec (docs/CONTRACTS.md section 1) from a run's database rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.core.config import Settings
from backend.db.models import Run

# RunSpec fields a run's hyperparameters may set (anything else in ``runs.hyperparams`` stays out of the
# spec, e.g. ``lr_source`` written back from the ``started`` event).
HYPERPARAM_FIELDS = ("lr", "zo_eps", "rank", "nu", "beta", "weight_decay", "max_length", "dtype",
                     "head_init", "eval_size", "batch_size")
# RunSpec fields taken from the PoC's settings.
POC_SETTING_FIELDS = ("steps", "max_minutes", "batch_size", "seed", "k_shot", "eval_every", "eval_size")
NULLABLE_FIELDS = ("steps", "max_minutes", "k_shot", "eval_size")
DEVICES = {"cpu": "cpu", "gpu": "cuda", "cuda": "cuda", "auto": "auto"}


def dataset_argument(run: Run, settings: Settings) -> str:
    """What the engine's ``dataset`` field gets: a built-in's name, or the uploaded file's full path."""
    dataset = run.poc.dataset
    if dataset.builtin:
        return dataset.path
    path = Path(dataset.path)
    return str(path if path.is_absolute() else settings.data_dir / path)


def build_spec(run: Run, settings: Settings) -> dict[str, Any]:
    """The RunSpec of ``run``: PoC settings, then the run's hyperparameters, then the dataset."""
    poc = run.poc
    spec: dict[str, Any] = {"method": run.method, "model": poc.model,
                            "dataset": dataset_argument(run, settings)}
    for key in POC_SETTING_FIELDS:
        # steps / max_minutes / k_shot / eval_size may be null on purpose (no budget, all examples).
        if key in poc.settings and (poc.settings[key] is not None or key in NULLABLE_FIELDS):
            spec[key] = poc.settings[key]
    for key in HYPERPARAM_FIELDS:
        if run.hyperparams.get(key) is not None:
            spec[key] = run.hyperparams[key]
    dataset = poc.dataset
    if not dataset.builtin:
        spec["text_column"] = dataset.text_column
        spec["label_column"] = dataset.label_column
    spec["device"] = DEVICES.get(str(poc.settings.get("device") or run.queue), "auto")
    return spec
