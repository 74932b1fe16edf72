"""Request and response bodies of the HTTP API (docs/CONTRACTS.md section 2).

Families per resource: ``XCreate`` (request), ``XPublic`` (one), ``XsPublic{data, count}`` (a list).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
PocState = Literal["queued", "running", "succeeded", "failed", "cancelled", "mixed"]
MethodName = Literal["lozo", "lozo_m", "mezo", "adamw", "sgd"]
XAxis = Literal["step", "elapsed_s", "forward_passes"]


class Message(BaseModel):
    detail: str


class ProblemItem(BaseModel):
    row: int | None = Field(description="1-based line of the file in an editor; null: the whole input")
    field: str
    problem: str


class ValidationDetail(BaseModel):
    message: str
    errors: list[ProblemItem]


class ValidationProblem(BaseModel):
    """A 4xx with one problem per offending row or field."""

    detail: ValidationDetail


# --- health ------------------------------------------------------------------------------------------

class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    database: str
    broker: str


# --- models and methods ------------------------------------------------------------------------------

class ModelPublic(BaseModel):
    id: str
    name: str
    n_params: int | None
    builtin: bool
    kind: str | None = None
    min_layer_dim: int | None = Field(None, description="the largest LOZO rank this model accepts")


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int


class ModelCheck(BaseModel):
    model: str = Field(description="a built-in id, a Hugging Face id 'org/name' or a folder on the server")


class MethodPublic(BaseModel):
    method: MethodName
    label: str
    zeroth_order: bool
    description: str
    defaults: dict[str, Any]
    ranges: dict[str, tuple[float, float]]


class MethodsPublic(BaseModel):
    data: list[MethodPublic]
    count: int


# --- datasets ----------------------------------------------------------------------------------------

class PreviewRow(BaseModel):
    text: str
    label: str


class Preview(BaseModel):
    rows: list[PreviewRow]


class DatasetPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    builtin: bool
    n_rows: int
    labels: list[str]
    text_column: str | None
    label_column: str | None
    size_bytes: int | None
    sha256: str | None
    created_at: dt.datetime
    preview: Preview


class DatasetsPublic(BaseModel):
    data: list[DatasetPublic]
    count: int


# --- runs --------------------------------------------------------------------------------------------

class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    poc_id: str
    method: str
    hyperparams: dict[str, Any]
    state: RunState
    cancel_requested: bool
    progress: float
    step: int
    total_steps: int | None
    forward_passes: int
    attempt: int
    queue: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    worker: str | None
    device: str | None
    peak_memory_mb: float | None
    baseline_memory_mb: float | None
    final_metrics: dict[str, Any] | None
    error: str | None


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


# --- pocs --------------------------------------------------------------------------------------------

class MethodChoice(BaseModel):
    """One method of a PoC; omitted hyperparameters take the method's defaults (GET /api/methods)."""

    model_config = ConfigDict(extra="forbid")

    method: MethodName
    lr: float | None = None
    zo_eps: float | None = None
    rank: int | None = None
    nu: int | None = None
    beta: float | None = None
    weight_decay: float | None = None


def _default_methods() -> list[MethodChoice]:
    return [MethodChoice(method="lozo"), MethodChoice(method="adamw")]


class PocCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    model: str = Field("minilm", min_length=1, max_length=500)
    dataset_id: str
    methods: list[MethodChoice] = Field(default_factory=_default_methods, min_length=1, max_length=8)
    steps: int | None = Field(100, ge=1, le=10_000_000)
    max_minutes: float | None = Field(None, gt=0, le=7 * 24 * 60)
    batch_size: int = Field(16, ge=1, le=4096)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    k_shot: int | None = Field(16, ge=1, le=1_000_000)
    eval_every: int = Field(50, ge=1, le=10_000_000)
    device: Literal["cpu", "gpu"] = "cpu"


class PocPublic(BaseModel):
    id: str
    name: str
    model: str
    dataset_id: str
    dataset_name: str
    state: PocState
    created_at: dt.datetime
    created_by: str
    settings: dict[str, Any]
    runs: list[RunPublic]
    last_event_seq: int = Field(0, description="newest event id of the PoC: start its event stream "
                                               "with ?after=<this> to skip what this answer already shows")


class PocsPublic(BaseModel):
    data: list[PocPublic]
    count: int


# --- metrics -----------------------------------------------------------------------------------------

class Series(BaseModel):
    x: list[int | float] = Field(description="steps and forward passes are integers, elapsed_s seconds")
    y: list[float | None]


class MetricsPublic(BaseModel):
    x: XAxis
    runs: dict[str, dict[str, Series]] = Field(description="run id -> metric name -> series")
