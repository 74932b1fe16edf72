"""How the service's resources look from outside: the HTTP API's bodies (docs/CONTRACTS.md section 2) and
the payloads of the live event stream, which carries the same ``RunPublic``.

Families per resource: ``XCreate`` (request), ``XPublic`` (one), ``XsPublic{data, count}`` (a list).
Run settings and method hyperparameters are not redefined here: ``PocCreate`` inherits
``common.runspec.RunSettings`` and methods come from ``common.methods``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from common.memory_kinds import MemoryKind, added_mb
from common.memory_kinds import memory_metric as metric_of_memory
from common.limits import METHODS_PER_POC_MAX, MODEL_NAME_MAX_LENGTH, POC_NAME_MAX_LENGTH
from common.methods import DEFAULT_METHODS, MethodKind, get_method
from common.genfiles import DatasetKind
from common.pairs import PairLayout
from common.reasons import parse as parse_reason
from common.runspec import RunSettings

RunState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ExportState = Literal["queued", "running", "ready", "failed"]
PocState = Literal["queued", "running", "succeeded", "failed", "cancelled", "mixed"]
XAxis = Literal["step", "elapsed_s", "forward_passes"]


class Message(BaseModel):
    detail: str


class ProblemItem(BaseModel):
    row: int | None = Field(description="1-based line of the file in an editor; null: the whole input")
    field: str
    problem: str
    code: str | None = Field(
        default=None, description="a stable name of the problem, for wording it in another language"
    )
    params: dict[str, Any] | None = Field(default=None, description="what fills the code's message")


class ValidationDetail(BaseModel):
    message: str
    errors: list[ProblemItem]


class ValidationProblem(BaseModel):
    """A 4xx with one problem per offending row or field."""

    detail: ValidationDetail


# --- health ------------------------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class WorkerPublic(BaseModel):
    name: str
    device_kinds: list[str] = Field(description="the device kinds whose queues it consumes: cpu, gpu")
    slots: int = Field(description="runs it trains at once (ZOPOC_WORKER_SLOTS)")
    started_at: dt.datetime
    last_seen_at: dt.datetime


class WorkersPublic(BaseModel):
    """The workers online now, and per device kind how many serve it (a kind with none: launches wait)."""

    served: dict[str, int] = Field(description="device kind -> live workers consuming its queue")
    slots: dict[str, int] = Field(
        description="device kind -> runs the live workers consuming its queue train at once (their slots)"
    )
    data: list[WorkerPublic]


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
    licence: str | None = Field(None, description="the weights' licence (built-in models)")
    description: str | None = None
    installed: bool = Field(
        True, description="false: an optional built-in model not installed on this server"
    )
    languages: list[str] = Field(default_factory=list, description="languages its prompts are made for")


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int
    first_poc: str | None = Field(
        None, description="the built-in model the launch form proposes for a first PoC (installed here)"
    )


class ModelCheck(BaseModel):
    model: str = Field(
        min_length=1,
        max_length=MODEL_NAME_MAX_LENGTH,
        description="a built-in id, a Hugging Face id 'org/name' or a folder under the "
        "server's model folders",
    )


class MethodPublic(BaseModel):
    method: str = Field(description="the id used in PoCs, runs and metric series")
    label: str
    kind: MethodKind
    zeroth_order: bool
    description: str
    color: str = Field(description="the method's colour on every chart, badge and report ('#rrggbb')")
    order: int = Field(description="display order: lower first")
    defaults: dict[str, Any] = Field(description="hyperparameter -> default (null: chosen by the engine)")
    ranges: dict[str, tuple[float, float]] = Field(description="hyperparameter -> [lowest, highest] accepted")
    integer_params: list[str] = Field(description="hyperparameters that take whole numbers")


class MethodsPublic(BaseModel):
    data: list[MethodPublic]
    count: int


class PromptKindPublic(BaseModel):
    kind: str
    label: dict[str, str] = Field(description="language -> the kind's name")
    fields: list[str] = Field(
        description="the template's text placeholders, e.g. ['text'] or ['text_a', 'text_b']"
    )
    templates: dict[str, str] = Field(description="language -> default template")


class PromptsPublic(BaseModel):
    """Prompt-based classification: the task kinds with their default templates, languages, calibrations."""

    kinds: list[PromptKindPublic]
    languages: list[str]
    calibrations: list[str]


class PromptPreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(max_length=64)
    task_kind: str | None = Field(None, max_length=32)
    language: str | None = Field(None, max_length=8)
    template: str | None = Field(None, max_length=2000)
    label_words: list[str] | None = Field(None, max_length=64)


class PromptPreview(BaseModel):
    """The prompt a run on this dataset would use (defaults filled in as the engine fills them) and one
    example of the dataset as the model reads it."""

    task_kind: str
    language: str
    template: str
    label_words: list[str]
    label_names: list[str]
    example: str = Field(description="the dataset's first row")
    prompt: str = Field(description="what the model reads before the label word")
    completions: list[str] = Field(description="the prompt completed by each label word, in label order")
    masked: str = Field(description="the template filled with the example, the label word left blank")


class FieldLimit(BaseModel):
    """What a setting accepts (read from the engine's own field definition)."""

    type: Literal["integer", "number", "string", "string_list", "boolean"]
    default: Any
    nullable: bool
    minimum: float | None
    maximum: float | None
    exclusive_minimum: bool
    exclusive_maximum: bool
    choices: list[str] | None
    description: str
    generation_default: Any = Field(
        None, description="a generation PoC's default, where it differs (else null)"
    )


class LimitsPublic(BaseModel):
    """Every limit a PoC meets, for the caller: the run settings (budgets capped by the caller's role in the
    active workspace), names, methods per PoC, uploads and concurrent runs."""

    role: str | None = Field(description="the caller's role in the active workspace")
    run_settings: dict[str, FieldLimit]
    poc_name_max_length: int
    model_name_max_length: int
    methods_per_poc_max: int
    max_upload_mb: float
    max_upload_rows: int
    max_active_runs_per_user: int


# --- datasets ----------------------------------------------------------------------------------------


class PreviewRow(BaseModel):
    text: str
    label: str


class PreviewPair(BaseModel):
    prompt: str
    completion: str


class Preview(BaseModel):
    rows: list[PreviewRow] = Field(description="a labelled dataset's first rows (empty for generation)")
    pairs: list[PreviewPair] = Field(
        default_factory=list, description="a generation dataset's first pairs (empty for labelled ones)"
    )


class DatasetPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    builtin: bool
    kind: DatasetKind
    layout: PairLayout | None = Field(description="a generation file's layout; null for labelled datasets")
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


class RenderedPair(BaseModel):
    prompt: str = Field(description="what the model is given, up to where its answer starts")
    text: str = Field(description="the whole example the model is trained on: prompt and completion")


class RenderedPreview(BaseModel):
    """A generation dataset's first pairs as a model sees them."""

    model: str
    templated: bool = Field(description="true: rendered with the model's chat template; false: plain text")
    pairs: list[RenderedPair]


# --- runs --------------------------------------------------------------------------------------------


class GenerationExample(BaseModel):
    """One evaluation prompt with the model's greedy answer and how it scored against the reference."""

    prompt: str
    reference: str
    generated: str
    exact_match: bool
    f1: float


class ExamplesAt(BaseModel):
    step: int
    examples: list[GenerationExample]


class RunExamples(BaseModel):
    """A generation run's example answers at its first and its last evaluation (the same prompts)."""

    start: ExamplesAt | None = None
    end: ExamplesAt | None = None


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
    peak_memory_mb: float | None = Field(description="peak of training, of the kind memory_kind")
    baseline_memory_mb: float | None = Field(
        description="memory after the model loaded (weights resident), of the kind memory_kind"
    )
    memory_kind: MemoryKind | None = Field(
        default=None,
        description="what baseline and peak measure: host_rss (CPU runs), cuda_allocated (GPU runs), "
        "cuda_reserved or nvml_process (the run's own process, never the whole device)",
    )
    final_metrics: dict[str, Any] | None
    error: str | None
    # A code the service stored with the reason (the resumption's); else it is read back from the text
    stored_error_code: str | None = Field(default=None, validation_alias="error_code", exclude=True)
    stored_error_params: dict[str, Any] | None = Field(
        default=None, validation_alias="error_params", exclude=True
    )
    resumes: int = Field(
        default=0,
        description="how often the run went back to the queue after losing its worker or training process",
    )
    resumed_at_steps: list[int] = Field(
        default_factory=list, description="the step each resumption continued from (a mark on the charts)"
    )
    checkpoint_bytes: int | None = Field(
        default=None, description="size of the latest checkpoint a resumption continues from (AdamW/SGD)"
    )
    export_state: ExportState | None = Field(default=None, description="the model folder's preparation")
    export_bytes: int | None = Field(default=None, description="size of the model folder's zip")
    examples: RunExamples | None = Field(
        default=None, description="a generation run's example answers at its first and last evaluation"
    )

    @computed_field(description="what training added: peak − baseline, both of memory_kind")  # type: ignore[prop-decorator]
    @property
    def memory_added_mb(self) -> float | None:
        return added_mb(self.peak_memory_mb, self.baseline_memory_mb) if self.memory_kind else None

    @computed_field(description="the live metric that plots this run's memory (its kind's running peak)")  # type: ignore[prop-decorator]
    @property
    def memory_metric(self) -> str:
        return metric_of_memory(self.memory_kind, self.device)

    @computed_field(  # type: ignore[prop-decorator]
        description="the stable code of `error` (common.reasons), for wording it in another language; "
        "null when the text is not one of the known reasons (then show `error` as it is)"
    )
    @property
    def error_code(self) -> str | None:
        if self.stored_error_code:
            return self.stored_error_code
        parsed = parse_reason(self.error)
        return parsed[0] if parsed else None

    @computed_field(description="what fills `error_code`'s sentence, e.g. {'step': '12'}")  # type: ignore[prop-decorator]
    @property
    def error_params(self) -> dict[str, Any]:
        if self.stored_error_code:
            return dict(self.stored_error_params or {})
        parsed = parse_reason(self.error)
        return dict(parsed[1]) if parsed else {}


class StepLogPublic(BaseModel):
    """A ZO run's step log: what ``GET /api/runs/{id}/steplog`` sends, and how to rebuild the weights."""

    run_id: str
    steps: int = Field(description="steps recorded")
    bytes: int = Field(description="size of the binary log")
    filename: str
    rebuild_command: str = Field(description="rebuilds the weights as a model folder from the log")


class ExportPublic(BaseModel):
    """The model folder (zip) of a run's final weights."""

    run_id: str
    state: ExportState | None = Field(description="None: never requested")
    bytes: int | None
    error: str | None


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


# --- pocs --------------------------------------------------------------------------------------------


class MethodChoice(BaseModel):
    """One method of a PoC; omitted hyperparameters take the method's defaults (GET /api/methods)."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field(max_length=64, description="a method id of GET /api/methods")

    @field_validator("method")
    @classmethod
    def _registered(cls, value: str) -> str:
        get_method(value)  # UnknownMethodError (a ValueError) names the methods there are
        return value

    lr: float | None = None
    zo_eps: float | None = None
    rank: int | None = None
    nu: int | None = None
    beta: float | None = None
    weight_decay: float | None = None
    lora_rank: int | None = None
    lora_alpha: int | None = None


def _default_methods() -> list[MethodChoice]:
    return [MethodChoice(method=name) for name in DEFAULT_METHODS]


class PocCreate(RunSettings):
    """A PoC: what to compare (model, data, methods) and the run settings all its runs share."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=POC_NAME_MAX_LENGTH)
    model: str = Field("minilm", min_length=1, max_length=MODEL_NAME_MAX_LENGTH)
    dataset_id: str = Field(max_length=64)
    methods: list[MethodChoice] = Field(
        default_factory=_default_methods, min_length=1, max_length=METHODS_PER_POC_MAX
    )
    device: Literal["cpu", "gpu"] = Field("cpu", description="which workers run it: CPU or GPU machines")


class RunTiming(BaseModel):
    """When a run should end, from its own measured pace (backend.timing)."""

    s_per_step: float | None = Field(
        description="seconds per step measured so far (training clock, evaluations included); null before "
        "its first step. A queued run: the mean of this PoC's measured runs, if any"
    )
    eta_s: float | None = Field(description="seconds left: a running run's remaining steps at its own pace")
    queue_position: int | None = Field(
        description="1 = next to start among every queued run of its queue (oldest first); null unless queued"
    )


class PocTiming(BaseModel):
    """The PoC's remaining time; runs waiting in a queue make it sequential (each starts when a worker slot
    is free: one of the PoC's running runs ends), then the queued runs' times add to the slots they take;
    otherwise it is the longest run's time (``backend.timing``)."""

    runs: dict[str, RunTiming] = Field(description="run id -> its timing (unfinished runs only)")
    remaining_s: float | None = Field(description="null when finished or when a run's pace is not known yet")
    sequential: bool = Field(
        description="some runs wait while others run: every worker slot of their queue is busy"
    )


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
    last_event_seq: int = Field(
        0,
        description="newest event id of the PoC: start its event stream "
        "with ?after=<this> to skip what this answer already shows",
    )
    timing: PocTiming | None = Field(None, description="ETA and queue positions while runs are unfinished")


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
