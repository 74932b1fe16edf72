"""Estimates API: the GPU catalogue, pre-launch memory forecasts and fit, a PoC's ROI.

- ``GET /api/gpus``                       the catalogue (prices are settings: ``ZOPOC_GPU_CATALOG``)
- ``GET /api/estimates/models``           models whose shapes ship with the product (forecast offline)
- ``POST /api/estimates/memory``          bytes per term per method, calibration, fit on a chosen GPU
- ``GET /api/estimates/detectable``       what an evaluation size can tell apart (McNemar), before launch
- ``GET /api/pocs/{id}/roi?target=…``     per method: GPU, cost, memory saved, accuracy, verdict
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from backend.api.deps import AccessDep, PocDep, SessionDep, SettingsDep
from backend.api.errors import INVALID
from backend.auth.accounts import memberships_of
from backend.catalog import local_model_folder, unknown_model
from backend import gpu_prices
from backend.errors import Invalid, Problem
from backend.estimates import gpus, memory, records, shapes, stats
from backend.estimates.schemas import (
    DetectablePublic,
    GpuPriceChange,
    GpuPublic,
    GpusPublic,
    KnownModelsPublic,
    MemoryEstimatePublic,
    MemoryEstimateRequest,
    RoiPublic,
    RoiTarget,
)
from backend.schemas import Message

router = APIRouter(tags=["estimates"])


def _catalog(session, settings, currency: str | None = None) -> list[gpus.Gpu]:
    """The GPU catalogue with the administrators' prices, in ``currency`` when one is asked for (422 for
    one without a rate)."""
    if currency is not None and currency not in settings.currency_rates:
        known = ", ".join(sorted(settings.currency_rates))
        raise Invalid([Problem("currency", f"no exchange rate for {currency!r}; known: {known}")])
    try:
        return gpu_prices.catalog(session, settings, currency)
    except gpus.CatalogError as exc:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, detail=str(exc)) from exc


CurrencyQuery = Annotated[
    str | None,
    Query(
        min_length=3,
        max_length=3,
        description="show prices and costs in this currency (ZOPOC_CURRENCY_RATES); default: the catalogue's",
    ),
]


def _shape(model: str, settings) -> shapes.ModelShape:
    # A name that looks like a path is read only as a folder under the model roots (backend.catalog).
    if model.startswith(("/", "~", ".")) or "\\" in model:
        folder = local_model_folder(model, settings.model_roots)
        if folder is None:
            raise Invalid([Problem("model", str(unknown_model(model, settings.model_roots)))])
        model = str(folder)
    try:
        return shapes.model_shape(model)
    except shapes.UnknownModel as exc:
        raise Invalid([Problem("model", str(exc))]) from exc


@router.get("/gpus", response_model=GpusPublic, summary="The GPU catalogue with memory and hourly prices")
def list_gpus(session: SessionDep, settings: SettingsDep, currency: CurrencyQuery = None) -> dict:
    data = [g.model_dump() for g in _catalog(session, settings, currency)]
    return {"data": data, "count": len(data)}


@router.put(
    "/gpus/{gpu_id}/price",
    response_model=GpuPublic,
    responses={404: {"model": Message, "description": "no such GPU in the catalogue"}, **INVALID},
    summary="Set a GPU's hourly price (administrators): every estimate, ROI and new report uses it",
)
def set_gpu_price(
    gpu_id: str, body: GpuPriceChange, session: SessionDep, settings: SettingsDep, access: AccessDep
) -> dict:
    if gpus.find_gpu(gpus.load_catalog(settings.gpu_catalog or ""), gpu_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no GPU {gpu_id!r} in the catalogue")
    by = access.user.email if access.user else None  # None on a server without accounts
    gpu = gpu_prices.set_price(session, settings, gpu_id, body.hourly_price, body.currency, by)
    session.commit()
    return gpu.model_dump()


@router.delete(
    "/gpus/{gpu_id}/price",
    response_model=GpuPublic,
    responses={404: {"model": Message}},
    summary="Drop an administrator's price: the catalogue's applies again (administrators)",
)
def clear_gpu_price(gpu_id: str, session: SessionDep, settings: SettingsDep) -> dict:
    gpu = gpu_prices.clear_price(session, settings, gpu_id)
    if gpu is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no GPU {gpu_id!r} in the catalogue")
    session.commit()
    return gpu.model_dump()


@router.get(
    "/estimates/detectable",
    response_model=DetectablePublic,
    summary="Before launch: which accuracy difference an evaluation of this size can detect",
    description="McNemar's test at the verdict's level (5 %) with 80 % power (Connor 1987), the methods' "
    "errors assumed independent (safe side). `rows_needed`: evaluation examples for `difference`; "
    "`detectable_difference`: the smallest gain `eval_rows` examples detect.",
)
def detectable(
    eval_rows: Annotated[int, Query(ge=1, le=10_000_000, description="evaluation examples planned")],
    accuracy: Annotated[
        float, Query(ge=0.0, lt=1.0, description="expected accuracy of the weaker method")
    ] = 0.8,
    difference: Annotated[
        float, Query(gt=0.0, le=1.0, description="accuracy gain to detect, as a fraction (0.05 = 5 points)")
    ] = 0.05,
) -> DetectablePublic:
    if accuracy + difference > 1:
        raise Invalid([Problem("difference", "accuracy + difference must not exceed 1")])
    return DetectablePublic(
        accuracy=accuracy,
        eval_rows=eval_rows,
        detectable_difference=stats.detectable_difference(eval_rows, accuracy),
        difference=difference,
        rows_needed=stats.eval_rows_needed(accuracy, difference),
        alpha=stats.ALPHA,
        power=stats.POWER,
    )


@router.get(
    "/estimates/models",
    response_model=KnownModelsPublic,
    summary="Models whose shapes ship with zopoc: what-if forecasts for them work offline",
)
def list_known_models() -> dict:
    data = []
    for known in shapes.known_models().values():
        shape = shapes.model_shape(known.id)
        data.append(
            {
                "id": known.id,
                "name": known.name,
                "family": known.family,
                "languages": list(known.languages),
                "n_params": shape.n_params,
                "kind": shape.kind,
            }
        )
    return {"data": data, "count": len(data)}


@router.post(
    "/estimates/memory",
    response_model=MemoryEstimatePublic,
    responses={404: {"model": Message}},
    summary="Memory per optimizer before launch, and fit on a GPU",
)
def estimate_memory(
    body: MemoryEstimateRequest, session: SessionDep, settings: SettingsDep, access: AccessDep
) -> dict:
    unknown = [m for m in body.methods if m not in memory.estimable_methods()]
    if unknown:
        raise Invalid(
            [
                Problem(
                    f"methods[{body.methods.index(m)}]",
                    f"unknown method {m!r}; choose from {', '.join(memory.estimable_methods())}",
                )
                for m in unknown
            ]
        )
    shape = _shape(body.model, settings)
    kind = body.device or ("cuda" if body.gpu_id else "cpu")
    gpu = None
    if body.gpu_id is not None:
        gpu = gpus.find_gpu(_catalog(session, settings), body.gpu_id)
        if gpu is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"GPU {body.gpu_id} not in the catalogue")
    work = memory.Workload(
        dtype=body.dtype,
        batch_size=body.batch_size,
        seq_len=body.seq_len,
        rank=body.rank,
        device_kind=kind,
        max_new_tokens=body.max_new_tokens,
    )
    # Calibrated by the runs of the caller's own workspaces only.
    own_workspaces = [m.workspace_id for m in memberships_of(session, access.signed_in.id)]
    calib = records.calibration(session, kind, own_workspaces)
    rows = []
    for est in memory.estimate_all(shape, body.methods, work):
        expected = est.total * (calib.ratio if calib else 1.0)
        fit, headroom = gpus.fit_state(int(expected), gpu, body.gpu_count) if gpu else (None, None)
        rows.append(
            {
                "method": est.method,
                "bytes": est.bytes,
                "total_gb": round(est.total_gb, 3),
                "calibrated_total_gb": round(expected / 1e9, 3) if calib else None,
                "calibration": calib.public() if calib else None,
                "fit": fit,
                "headroom_gb": round(headroom, 3) if headroom is not None else None,
            }
        )
    return {"model": shape.public(), "device_kind": kind, "tight_fraction": gpus.TIGHT_FRACTION, "data": rows}


@router.get(
    "/pocs/{poc_id}/roi",
    response_model=RoiPublic,
    responses={404: {"model": Message}},
    summary="Cost, memory and verdict of a PoC for a target model size",
)
def poc_roi(
    poc: PocDep,
    session: SessionDep,
    settings: SettingsDep,
    target: Annotated[RoiTarget, Query()] = "poc",
    dtype: Annotated[
        Literal["float32", "float16", "bfloat16"] | None,
        Query(description="precision of the projection; default: bf16 for 1B+ targets, else the PoC's"),
    ] = None,
    recipe: Annotated[
        Literal["pure", "mixed", "8bit"] | None,
        Query(description="optimizer precision of backprop methods; default: mixed for 16-bit weights"),
    ] = None,
    currency: CurrencyQuery = None,
    language: Annotated[
        Literal["en", "ja"] | None,
        Query(
            description="the reader's language: its currency (ZOPOC_CURRENCY_BY_LANGUAGE) when none is named"
        ),
    ] = None,
) -> dict:
    if currency is None and language is not None:
        currency = settings.currency_by_language.get(language)
    catalog = _catalog(session, settings, currency)
    try:
        return records.poc_roi(session, poc, target, catalog, dtype=dtype, recipe=recipe)
    except shapes.UnknownModel as exc:
        raise Invalid([Problem("model", str(exc))]) from exc
