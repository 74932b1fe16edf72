"""The frozen snapshot of a PoC's comparison: everything a report shows, as plain JSON, taken once.

A report renders from its snapshot only, never from the live PoC: a later change to the PoC (a retried run,
a deleted PoC) does not change a shared report. Internal ids (PoC, runs, datasets) are left out: a share
link's reader learns nothing that would address the live system.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path, PurePath

from sqlalchemy.orm import Session

from backend.db.metrics import downsample
from backend import artifacts
from backend.db.models import Poc, Run
from backend.estimates import gpus, headline, memory, records, roi, shapes
from common.builtin_data import builtin_dataset, file_sha256
from common.memory_kinds import added_mb, memory_metric
from common.methods import BASELINE_METHOD, get_method, method_color, zeroth_order_names

SNAPSHOT_VERSION = 1
# The three comparison charts of the dashboard, and the metric each plots (memory: the metric of the run's
# memory kind, common/memory_kinds.py: host RSS on CPU, allocated tensor memory on CUDA).
CHARTS = {
    "loss": ("train/loss",),
    "accuracy": ("eval/accuracy", "eval/exact_match"),  # a generation run's headline score: exact match
    "memory": (),
}
CHART_POINTS = 300  # per series: enough for a one-page chart, small enough for a JSON snapshot
# The PoC's own model as it ran, and a 7B model as it would be fine-tuned (roi.projection_precision).
ROI_TARGETS = ("poc", "7b")
FINAL_METRICS = ("acc_start", "acc_end", "final_train_loss", "s_per_step", "lr", "f1_start", "f1_end")
# A generation run's example answers a report carries (at its first and last evaluation).
REPORT_EXAMPLES = 3
# The hyperparameters a report shows per run.
HYPER_KEYS = (
    "lr",
    "lr_source",
    "zo_eps",
    "rank",
    "nu",
    "beta",
    "weight_decay",
    "batch_size",
    "max_length",
    "k_shot",
    "seed",
    "dtype",
)


def builtin_dataset_sha256(name: str) -> str | None:
    """Fingerprint of a built-in dataset (its files' bytes, or its generated rows); None when absent."""
    builtin = builtin_dataset(name)
    if builtin is None or not builtin.available():
        return None
    return builtin.fingerprint()


def _dataset_fingerprint(poc: Poc, data_dir: Path) -> dict:
    ds = poc.dataset
    sha = ds.sha256
    if sha is None and ds.builtin:
        sha = builtin_dataset_sha256(ds.name)
    elif sha is None:
        path = Path(ds.path)
        path = path if path.is_absolute() else data_dir / path
        sha = file_sha256(path) if path.is_file() else None
    return {"name": ds.name, "builtin": ds.builtin, "n_rows": ds.n_rows, "sha256": sha}


def _model_fingerprint(model: str) -> dict:
    try:
        shape = shapes.model_shape(model)
    except shapes.UnknownModel:
        return {"name": model, "n_params": None, "config_sha256": None}
    return {"name": shape.name, "id": model, "n_params": shape.n_params, "config_sha256": shape.config_sha256}


def _series(session: Session, run) -> dict:
    out = {}
    run_id = run.id
    for chart, names in CHARTS.items():
        if chart == "memory":
            names = (memory_metric(run.memory_kind, run.device),)
        for name in names:
            points = downsample(session.connection(), run_id, name, max_points=CHART_POINTS)
            if points:
                out[chart] = {
                    "metric": name,
                    "step": [p.step for p in points],
                    "elapsed_s": [p.elapsed_s for p in points],
                    "forward_passes": [p.forward_passes for p in points],
                    "value": [p.value for p in points],
                    **({"memory_kind": run.memory_kind} if chart == "memory" else {}),
                }
                break
    return out


def _memory_rows(session: Session, poc: Poc) -> list[dict]:
    """Per run: the measured peak next to the estimate for its own settings and device."""
    rows = []
    for run in poc.runs:
        if run.method not in memory.estimable_methods():
            continue
        kind = records.device_kind(run.device)
        try:
            est = memory.estimate(shapes.model_shape(poc.model), run.method, records.workload(run, poc, kind))
        except (shapes.UnknownModel, ValueError):
            est = None
        rows.append(
            {
                "method": run.method,
                "device_kind": kind,
                "measured_mb": run.peak_memory_mb,
                "baseline_mb": run.baseline_memory_mb,
                "memory_kind": run.memory_kind,
                "estimated_mb": round(est.total / 2**20, 1) if est else None,
                "bytes": est.bytes if est else None,
            }
        )
    return rows


def build_snapshot(
    session: Session,
    poc: Poc,
    data_dir: Path,
    catalog: list[gpus.Gpu],
    now: dt.datetime | None = None,
    time_zone: str | None = None,
) -> dict:
    """The JSON snapshot of ``poc`` as it is now (see module docstring)."""
    now = now or dt.datetime.now(dt.UTC)
    roi_by_target: dict[str, dict | None] = {}
    for target in ROI_TARGETS:
        try:
            roi_by_target[target] = records.poc_roi(session, poc, target, catalog)
        except shapes.UnknownModel:
            roi_by_target[target] = None
    runs = []
    for run in poc.runs:
        final = run.final_metrics or {}
        runs.append(
            {
                "method": run.method,
                "label": roi.method_label(run.method),
                "color": method_color(run.method),
                "state": run.state,
                "hyperparams": run.hyperparams,
                "step": run.step,
                "forward_passes": run.forward_passes,
                "device": run.device,
                "peak_memory_mb": run.peak_memory_mb,
                "baseline_memory_mb": run.baseline_memory_mb,
                "memory_kind": run.memory_kind,
                "memory_added_mb": added_mb(run.peak_memory_mb, run.baseline_memory_mb)
                if run.memory_kind
                else None,
                "error": run.error,
                "started_at": run.started_at.isoformat() if run.started_at else None,
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "final_metrics": {k: final.get(k) for k in FINAL_METRICS},
                "download": _download(session, run),
                "series": _series(session, run),
                "examples": _examples(run),
            }
        )
    verdict = (roi_by_target.get("poc") or {}).get("verdict") or {
        "code": "incomplete",
        "en": "No verdict: the PoC's model could not be resolved.",
        "ja": "判定できません。PoCのモデルを解決できませんでした。",
    }
    return {
        "version": SNAPSHOT_VERSION,
        "generated_at": now.isoformat(),
        # the time zone of whoever made the report (their browser's): the page shows times in it
        "reader": {"time_zone": time_zone},
        "poc": {
            "name": poc.name,
            "model": poc.model,
            "dataset": poc.dataset.name,
            "created_at": poc.created_at.isoformat() if poc.created_at else None,
            "created_by": poc.created_by,
            "settings": poc.settings,
        },
        "runs": runs,
        "memory": _memory_rows(session, poc),
        "roi": roi_by_target,
        "verdict": verdict,
        "fingerprints": {
            "model": _model_fingerprint(poc.model),
            "dataset": _dataset_fingerprint(poc, data_dir),
        },
    }


def _examples(run: Run) -> dict | None:
    """A generation run's first REPORT_EXAMPLES example answers at its first and last evaluation."""
    if not run.examples:
        return None
    return {
        when: {"step": at.get("step"), "examples": list(at.get("examples") or [])[:REPORT_EXAMPLES]}
        for when, at in run.examples.items()
        if when in ("start", "end") and isinstance(at, dict)
    }


def _download(session: Session, run: Run) -> dict | None:
    """What a finished run leaves to take away, and how big it is: a ZO run its step log (a few bytes a step,
    on top of the base model), any other run a model folder prepared on demand (its size once prepared)."""
    if run.state != "succeeded":
        return None
    if run.steplog_header and get_method(run.method).zeroth_order:
        info = artifacts.steplog_info(session, run)
        return {"kind": "step_log", "bytes": info.bytes, "steps": info.steps}
    return {"kind": "model_folder", "bytes": run.export_bytes}


def _shown_model_name(name: str | None) -> str | None:
    """A model as a share link names it: a server folder by its last part only, never its path."""
    if name and name.startswith(("/", "~", ".")):
        return PurePath(name).name
    return name


def report_headline(snapshot: dict) -> dict:
    """The report's one-line conclusions (``backend.estimates.headline``, as the dashboard's summary shows
    them): the PoC's own comparison, its measured peaks by memory kind, the memory model's projection."""
    poc_roi = (snapshot.get("roi") or {}).get("poc") or {}
    measured = {
        run["method"]: (run.get("peak_memory_mb"), run.get("memory_kind"))
        for run in snapshot.get("runs") or []
    }
    zo = next((m for m in zeroth_order_names() if m in measured), zeroth_order_names()[0])
    return headline.headline(
        poc_roi.get("comparison"),
        poc_roi.get("rows") or [],
        poc_roi.get("target_model") or "",
        poc_roi.get("dtype") or "",
        measured=measured,
        method_a=zo,
        method_b=BASELINE_METHOD,
    )


def share_view(snapshot: dict) -> dict:
    """What a share link shows of a snapshot, as JSON and as the page alike: exactly what the page renders.

    Left out, though the stored snapshot may hold it (older snapshots do): who made the PoC, the model's
    server path, run errors (engine messages, possibly with tracebacks and file paths), devices and times.
    """
    poc = snapshot.get("poc") or {}
    fingerprints = snapshot.get("fingerprints") or {}
    model, dataset = fingerprints.get("model") or {}, fingerprints.get("dataset") or {}
    runs = []
    for run in snapshot.get("runs") or []:
        hyperparams = run.get("hyperparams") or {}
        final = run.get("final_metrics") or {}
        runs.append(
            {
                **{
                    key: run.get(key)
                    for key in (
                        "method",
                        "label",
                        "color",
                        "state",
                        "step",
                        "peak_memory_mb",
                        "memory_kind",
                        "memory_added_mb",
                        "download",
                    )
                },
                "hyperparams": {key: hyperparams[key] for key in HYPER_KEYS if key in hyperparams},
                "final_metrics": {key: final.get(key) for key in FINAL_METRICS},
                "series": run.get("series") or {},
                "examples": run.get("examples"),
            }
        )
    return {
        "version": snapshot.get("version"),
        "generated_at": snapshot.get("generated_at"),
        "reader": {"time_zone": (snapshot.get("reader") or {}).get("time_zone")},
        "headline": report_headline(snapshot),
        "poc": {
            "name": poc.get("name"),
            "dataset": poc.get("dataset"),
            "settings": poc.get("settings") or {},
        },
        "runs": runs,
        "memory": [
            {
                key: row.get(key)
                for key in ("method", "device_kind", "memory_kind", "measured_mb", "estimated_mb")
            }
            for row in snapshot.get("memory") or []
        ],
        "roi": snapshot.get("roi") or {},
        "verdict": snapshot.get("verdict"),
        "fingerprints": {
            "model": {
                "name": _shown_model_name(model.get("name")),
                "n_params": model.get("n_params"),
                "config_sha256": model.get("config_sha256"),
            },
            "dataset": {"name": dataset.get("name"), "sha256": dataset.get("sha256")},
        },
    }
