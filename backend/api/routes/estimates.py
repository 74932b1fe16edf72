"""Estimates API (issue 5): the GPU catalogue, pre-launch memory forecasts and fit, a PoC's ROI.

- ``GET /api/gpus``                       the catalogue (prices are settings: ``ZOPOC_GPU_CATALOG``)
- ``POST /api/estimates/memory``          bytes per term per method, calibration, fit on a chosen GPU
- ``GET /api/pocs/{id}/roi?target=…``     per method: GPU, cost, memory saved, accuracy, verdict
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from backend.api.deps import PocDep, SessionDep, SettingsDep
from backend.estimates import gpus, memory, records, roi, shapes

router = APIRouter(tags=["estimates"])

Method = Literal["inference", "mezo", "lozo", "lozo_m", "adamw", "sgd"]


class MemoryEstimateRequest(BaseModel):
    model: str = Field("minilm", max_length=500)
    methods: list[Method] = Field(default_factory=lambda: ["lozo", "adamw"], min_length=1)
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    batch_size: int = Field(16, ge=1, le=4096)
    seq_len: int = Field(64, ge=1, le=131072)
    rank: int = Field(2, ge=1, le=64)
    gpu_id: str | None = None
    gpu_count: int = Field(1, ge=1, le=64)
    # Where the run would execute; default: "cuda" when a GPU is chosen, else "cpu" (adds the process runtime).
    device: Literal["cpu", "cuda"] | None = None


def _catalog(settings) -> list[gpus.Gpu]:
    try:
        return gpus.load_catalog(settings.gpu_catalog or "")
    except gpus.CatalogError as exc:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, detail=str(exc)) from exc


def _shape(model: str) -> shapes.ModelShape:
    try:
        return shapes.model_shape(model)
    except shapes.UnknownModel as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc


@router.get("/gpus", summary="The GPU catalogue with memory and hourly prices")
def list_gpus(settings: SettingsDep) -> dict:
    data = [g.model_dump() for g in _catalog(settings)]
    return {"data": data, "count": len(data)}


@router.post("/estimates/memory", summary="Memory per optimizer before launch, and fit on a GPU")
def estimate_memory(body: MemoryEstimateRequest, session: SessionDep, settings: SettingsDep) -> dict:
    shape = _shape(body.model)
    kind = body.device or ("cuda" if body.gpu_id else "cpu")
    gpu = None
    if body.gpu_id is not None:
        gpu = gpus.find_gpu(_catalog(settings), body.gpu_id)
        if gpu is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"GPU {body.gpu_id} not in the catalogue")
    work = memory.Workload(dtype=body.dtype, batch_size=body.batch_size, seq_len=body.seq_len, rank=body.rank,
                           device_kind=kind)
    calib = records.calibration(session, kind)
    rows = []
    for est in memory.estimate_all(shape, body.methods, work):
        expected = est.total * (calib.ratio if calib else 1.0)
        fit, headroom = gpus.fit_state(int(expected), gpu, body.gpu_count) if gpu else (None, None)
        rows.append({
            "method": est.method, "bytes": est.bytes, "total_gb": round(est.total_gb, 3),
            "calibrated_total_gb": round(expected / 1e9, 3) if calib else None,
            "calibration": calib.public() if calib else None,
            "fit": fit, "headroom_gb": round(headroom, 3) if headroom is not None else None,
        })
    return {"model": shape.public(), "device_kind": kind, "tight_fraction": gpus.TIGHT_FRACTION, "data": rows}


@router.get("/pocs/{poc_id}/roi", summary="Cost, memory and verdict of a PoC for a target model size")
def poc_roi(poc: PocDep, session: SessionDep, settings: SettingsDep,
            target: Literal["poc", "1b", "7b", "13b", "70b"] = Query("poc")) -> dict:
    calib = records.calibration(session, "cuda")
    try:
        result = roi.compute_roi(records.poc_result(session, poc), target, catalog=_catalog(settings),
                                 calibration=calib.ratio if calib else None)
    except shapes.UnknownModel as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    result["calibration"] = calib.public() if calib else None
    return result
