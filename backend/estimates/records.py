"""Reading what the estimates need from the database: a PoC's finished runs, and past runs for calibration.

Kept apart from the arithmetic (``roi``, ``memory``) so that stays testable without a database.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.db.metrics import downsample
from backend.db.models import EvalResult, Poc, Run
from backend.estimates import gpus, memory, roi, shapes, stats
from backend.estimates.roi import PocResult, RunResult
from common.memory_kinds import device_kind as memory_device_kind
from common.memory_kinds import headline_kind
from common.runspec import RunSettings

# Points of a training-loss curve read for the convergence comparison (downsampled beyond this).
LOSS_CURVE_POINTS = 4000
# Calibration uses at most this many recent finished runs per device kind.
CALIBRATION_RUNS = 200


def device_kind(device: str | None) -> str:
    """ "cuda" for any CUDA device string ("cuda", "cuda:1"), else "cpu"."""
    return memory_device_kind(device)


def run_setting(run: Run, poc: Poc, name: str, default):
    """A run setting: the run's resolved hyperparameters first, then the PoC's settings, then ``default``."""
    for source in (run.hyperparams or {}, poc.settings or {}):
        if source.get(name) is not None:
            return source[name]
    return default


def is_generation(poc: Poc) -> bool:
    return poc.settings.get("task_type") == "generation"


def generation_budget(poc: Poc) -> int:
    """Tokens a generation PoC writes per prompt at evaluation (its KV cache); 0 for classification."""
    if not is_generation(poc):
        return 0
    return int(poc.settings.get("max_new_tokens") or RunSettings.model_fields["max_new_tokens"].default)


def workload(run: Run, poc: Poc, kind: str | None = None) -> memory.Workload:
    """The memory model's ``Workload`` for the settings ``run`` used."""
    return memory.Workload(
        dtype=run_setting(run, poc, "dtype", "float32"),
        batch_size=int(run_setting(run, poc, "batch_size", 16)),
        seq_len=int(run_setting(run, poc, "max_length", 64)),
        rank=int(run_setting(run, poc, "rank", 2)),
        lora_rank=int(run_setting(run, poc, "lora_rank", 8)),
        eval_batch_size=int(run_setting(run, poc, "eval_batch_size", 64)),
        device_kind=kind or device_kind(run.device),
        max_new_tokens=generation_budget(poc),
    )


def _final_eval(session: Session, run_id: str) -> tuple[EvalResult | None, EvalResult | None]:
    rows = session.scalars(
        sa.select(EvalResult).where(EvalResult.run_id == run_id).order_by(EvalResult.step)
    ).all()
    return (rows[0], rows[-1]) if rows else (None, None)


def run_result(session: Session, poc: Poc, run: Run) -> RunResult:
    """What ROI needs of one run, read from its rows, metric points and evaluation results."""
    curve = downsample(session.connection(), run.id, "train/loss", max_points=LOSS_CURVE_POINTS)
    first, last = _final_eval(session, run.id)
    final = run.final_metrics or {}
    acc_end = last.accuracy if last is not None else final.get("acc_end")
    acc_start = first.accuracy if first is not None and first.step == 0 else final.get("acc_start")
    correct = stats.unpack_correct(last.correct, last.n_eval) if last is not None and last.n_eval else None
    start = (
        stats.unpack_correct(first.correct, first.n_eval)
        if first is not None and first.step == 0 and first is not last and first.n_eval
        else None
    )
    return RunResult(
        method=run.method,
        state=run.state,
        steps=run.step,
        elapsed_s=curve[-1].elapsed_s if curve else 0.0,
        device=device_kind(run.device),
        peak_memory_mb=run.peak_memory_mb,
        rank=int(run_setting(run, poc, "rank", 2)),
        lora_rank=int(run_setting(run, poc, "lora_rank", 8)),
        loss_curve=[(p.step, p.value) for p in curve if p.value is not None],
        acc_start=acc_start,
        acc_end=acc_end,
        n_eval=last.n_eval if last is not None else final.get("n_eval"),
        correct=correct,
        correct_start=start,
    )


def poc_result(session: Session, poc: Poc) -> PocResult:
    """The ``PocResult`` of a PoC (every run; ROI itself keeps only the succeeded ones)."""
    runs = list(poc.runs)
    sample = runs[0] if runs else None
    return PocResult(
        model=poc.model,
        runs=[run_result(session, poc, run) for run in runs],
        batch_size=int(run_setting(sample, poc, "batch_size", 16)) if sample else 16,
        seq_len=int(run_setting(sample, poc, "max_length", 64)) if sample else 64,
        dtype=run_setting(sample, poc, "dtype", "float32") if sample else "float32",
        eval_cap=poc.settings.get("eval_size"),
        score="exact_match" if is_generation(poc) else "accuracy",
        max_new_tokens=generation_budget(poc),
    )


@dataclass(frozen=True)
class Calibration:
    """Mean measured/estimated peak-memory ratio of finished runs on one device kind."""

    ratio: float
    samples: int
    device_kind: str

    def public(self) -> dict:
        return {"ratio": round(self.ratio, 3), "samples": self.samples, "device_kind": self.device_kind}


def calibration(
    session: Session, kind: str, workspace_ids: Collection[str], method: str | None = None
) -> Calibration | None:
    """Measured/estimated ratio over recent succeeded runs on ``kind`` ("cpu" | "cuda") of the PoCs in
    ``workspace_ids`` (the caller's: other workspaces' runs are none of their business, not even as an
    average), optionally one method.

    Each run is compared with the estimate for its own model and settings; runs whose model can no longer
    be resolved are skipped. None when no run qualifies. Only runs whose peak is of the kind the estimate
    forecasts count (host RSS on CPU, CUDA allocation on a GPU; common/memory_kinds.py): a peak of another
    kind would skew the ratio.
    """
    if not workspace_ids:
        return None
    query = (
        sa.select(Run, Poc)
        .join(Poc, Run.poc_id == Poc.id)
        .where(
            Run.state == "succeeded",
            Run.peak_memory_mb.is_not(None),
            Run.memory_kind == headline_kind(kind),
            Poc.workspace_id.in_(list(workspace_ids)),
        )
        .order_by(Run.finished_at.desc())
        .limit(CALIBRATION_RUNS)
    )
    if method:
        query = query.where(Run.method == method)
    ratios = []
    for run, poc in session.execute(query).all():
        if device_kind(run.device) != kind or run.method not in memory.estimable_methods():
            continue
        try:
            shape = shapes.model_shape(poc.model)
            estimate = memory.estimate(shape, run.method, workload(run, poc, kind)).total
        except (shapes.UnknownModel, ValueError):
            continue
        ratios.append((run.peak_memory_mb or 0.0) * 2**20 / estimate)  # the query keeps non-null peaks
    if not ratios:
        return None
    return Calibration(sum(ratios) / len(ratios), len(ratios), kind)


def poc_roi(
    session: Session,
    poc: Poc,
    target: str,
    catalog: list[gpus.Gpu],
    dtype: str | None = None,
    recipe: str | None = None,
) -> dict:
    """The projection of ``poc`` to ``target``, as every page shows it (the API's ROI, the dashboard, the
    report): the PoC's measured results, the memory model calibrated by the workspace's own GPU runs, and the
    precision rule of ``roi.projection_precision``. Raises ``shapes.UnknownModel``."""
    calib = calibration(session, "cuda", [poc.workspace_id])
    result = roi.compute_roi(
        poc_result(session, poc),
        target,
        catalog=catalog,
        calibration=calib.ratio if calib else None,
        dtype=dtype,
        recipe=recipe,
    )
    result["calibration"] = calib.public() if calib else None
    return result
