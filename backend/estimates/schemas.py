"""Request and response bodies of the estimates and reports API, so OpenAPI (and the TypeScript client
generated from it) types them. Names follow the API's families: ``XCreate``, ``XPublic``, ``XsPublic``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.reports.formatting import valid_zone

from common.methods import DEFAULT_METHODS

Fit = Literal["fits", "tight", "wont_fit"]
RoiTarget = Literal["poc", "1b", "7b", "13b", "70b"]


class GpuPublic(BaseModel):
    id: str
    name: str
    memory_gb: float
    hourly_price: float
    currency: str
    kind: Literal["cloud", "on_prem", "own"]
    tflops: float = Field(description="dense 16-bit throughput used to project GPU-hours")
    price_source: Literal["catalogue", "administrator"] = Field(
        "catalogue",
        description="catalogue: ZOPOC_GPU_CATALOG or the built-in table; administrator: set in the dashboard",
    )
    placeholder: bool = Field(
        False, description="an entry to be described by the operator: never recommended"
    )


class GpuPriceChange(BaseModel):
    """An administrator's hourly price for one catalogue GPU."""

    model_config = ConfigDict(extra="forbid")

    hourly_price: float = Field(ge=0, le=1_000_000, description="per GPU and hour")
    currency: str = Field(min_length=3, max_length=3, description="a currency of ZOPOC_CURRENCY_RATES")


class GpusPublic(BaseModel):
    data: list[GpuPublic]
    count: int


class KnownModelPublic(BaseModel):
    id: str = Field(description="Hugging Face id; pass it as `model` to POST /api/estimates/memory")
    name: str
    family: str
    languages: list[str] = Field(description="languages the model is known to read and write well")
    n_params: int = Field(description="parameters, counted from the shipped configuration")
    kind: str


class KnownModelsPublic(BaseModel):
    data: list[KnownModelPublic]
    count: int


class MemoryEstimateRequest(BaseModel):
    model: str = Field("minilm", max_length=500)
    methods: list[str] = Field(
        default_factory=lambda: list(DEFAULT_METHODS),
        min_length=1,
        max_length=16,
        description="'inference' or method ids of GET /api/methods",
    )
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    batch_size: int = Field(16, ge=1, le=4096)
    seq_len: int = Field(64, ge=1, le=131072)
    rank: int = Field(2, ge=1, le=64)
    max_new_tokens: int = Field(
        0,
        ge=0,
        le=512,
        description="generation PoCs: tokens written per prompt at evaluation (0: classification)",
    )
    gpu_id: str | None = None
    gpu_count: int = Field(1, ge=1, le=64)
    device: Literal["cpu", "cuda"] | None = Field(
        None,
        description="where the run would execute; default: cuda when a GPU is chosen, else cpu "
        "(cpu adds the process runtime to match the engine's peak RSS)",
    )


class ModelShapePublic(BaseModel):
    """The shape of a model as the memory forecast sees it."""

    id: str
    name: str
    n_params: int
    n_layers: int
    hidden_size: int
    kind: Literal["encoder", "decoder"]


class CalibrationPublic(BaseModel):
    ratio: float = Field(description="mean measured / estimated peak memory of finished runs")
    samples: int
    device_kind: Literal["cpu", "cuda"]


class MemoryBytes(BaseModel):
    weights: int
    gradients: int
    optimizer_states: int
    low_rank_factors: int
    noise: int
    step_workspace: int
    activations: int
    kv_cache: int = Field(0, description="generation PoCs: keys and values cached by greedy generation")
    runtime: int
    total: int


class MemoryEstimateRow(BaseModel):
    method: str
    bytes: MemoryBytes
    total_gb: float
    calibrated_total_gb: float | None
    calibration: CalibrationPublic | None
    fit: Fit | None
    headroom_gb: float | None


class MemoryEstimatePublic(BaseModel):
    model: ModelShapePublic
    device_kind: Literal["cpu", "cuda"]
    tight_fraction: float
    data: list[MemoryEstimateRow]


class GpuChoice(BaseModel):
    id: str
    name: str
    count: int


class AccuracyInterval(BaseModel):
    value: float
    low: float
    high: float


class RoiRow(BaseModel):
    method: str
    gpu: GpuChoice | None
    memory_bytes: int
    memory_gb: float
    memory_saved_pct: float | None
    steps: int
    steps_run: int
    steps_to_target: int | None
    steps_source: Literal["measured", "published", "poc_budget"] = Field(
        description="measured: the PoC reached the target loss; published: the papers' step budget; "
        "poc_budget: the steps the PoC ran (a lower bound)"
    )
    reached_target: bool | None
    gpu_hours: float | None
    gpu_hours_range: list[float] | None = Field(description="[low, high] over the utilisation range")
    cost: float | None
    cost_range: list[float] | None
    currency: str | None
    accuracy: AccuracyInterval | None
    accuracy_gain_points: float | None
    gain_p_value: float | None
    gain_significant: bool | None
    cost_per_point: float | None


class Comparison(BaseModel):
    method_a: str
    method_b: str
    acc_gap: float
    p_value: float
    significant: bool
    test: Literal["mcnemar"]
    variant: str
    n: int
    only_a: int
    only_b: int
    needed_n: int | None
    score: Literal["accuracy", "exact_match"] = Field(
        "accuracy", description="what the paired bits score: accuracy, or a generation PoC's exact match"
    )


class Verdict(BaseModel):
    code: Literal["incomplete", "zo_better", "zo_worse", "no_significant_difference"]
    en: str
    ja: str


class GuidanceItem(BaseModel):
    """One next step that would make an inconclusive PoC conclusive (``backend/estimates/guidance.py``)."""

    code: Literal[
        "evaluation_cannot_separate", "raise_evaluation_cap", "add_evaluation_data", "more_training_steps"
    ]
    params: dict[str, Any] = Field(description="the numbers the sentence is worded from")
    en: str
    ja: str


class RoiAssumptions(BaseModel):
    """What the projection assumes, shown beside it."""

    gpu_utilisation: float = Field(description="share of the GPU's peak throughput: the central value")
    gpu_utilisation_range: list[float] = Field(description="[low, high]: the range times are given over")
    step_cost_in_forwards: dict[str, float]
    batch_size: int
    seq_len: int


class Sentence(BaseModel):
    en: str
    ja: str


class MeasuredSentence(Sentence):
    kind: str


class Headline(BaseModel):
    """One-line conclusions worded by the statistics (``backend.estimates.headline``): the dashboard's
    summary and the report's headline show the same sentences."""

    code: Literal["incomplete", "zo_better", "zo_worse", "no_significant_difference"]
    accuracy: Sentence
    memory_measured: MeasuredSentence | None
    memory_projected: Sentence | None


class RoiPublic(BaseModel):
    target: RoiTarget
    target_model: str
    target_params: int
    dtype: str
    recipe: str = Field(description="optimizer precision of backprop methods: pure, mixed or 8bit")
    target_loss: float | None
    assumptions: RoiAssumptions
    rows: list[RoiRow]
    comparison: Comparison | None
    verdict: Verdict
    guidance: list[GuidanceItem] = Field(
        description="what would make an inconclusive PoC conclusive; empty when the comparison is decided "
        "or not yet possible"
    )
    headline: Headline
    calibration: CalibrationPublic | None


class ReportCreate(BaseModel):
    language: Literal["en", "ja"] = "en"
    expires_in_days: int | None = Field(None, ge=1, le=365, description="default: ZOPOC_REPORT_EXPIRY_DAYS")
    time_zone: str | None = Field(
        None,
        max_length=64,
        description="the reader's IANA time zone (the browser's, e.g. Asia/Tokyo): the report shows its times "
        "in it; default UTC, labelled as such",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and not valid_zone(value):
            raise ValueError(f"unknown time zone {value!r}")
        return value


class ReportLinks(BaseModel):
    """A new report's links: shown only in the answer that creates it (only a hash of the token is kept)."""

    id: str
    token: str
    url: str
    html_url: str
    pdf_url: str
    png_url: str
    expires_at: str | None
    language: Literal["en", "ja"]


class ReportListItem(BaseModel):
    """A report in a PoC's list: never its link (revoke it by ``id``)."""

    id: str
    token_prefix: str = Field(description="the first characters of the token, to tell links apart")
    language: Literal["en", "ja"]
    expires_at: str | None
    state: Literal["live", "expired", "revoked"]
    created_at: str


class ReportsPublic(BaseModel):
    data: list[ReportListItem]
    count: int


class ReportPublic(BaseModel):
    token: str
    language: Literal["en", "ja"]
    expires_at: str | None
    created_at: str
    snapshot: dict[str, Any]


class DetectablePublic(BaseModel):
    """What an evaluation of a given size can tell apart (McNemar on paired examples; planning figures that
    assume the methods' errors are independent, which errs on the safe side)."""

    accuracy: float = Field(description="the accuracy assumed for the weaker method")
    eval_rows: int = Field(description="evaluation examples of the plan")
    detectable_difference: float | None = Field(
        description="smallest accuracy gain (a fraction) these rows detect; null: none within 100 %"
    )
    difference: float = Field(description="the gain asked about")
    rows_needed: int | None = Field(description="evaluation examples needed to detect `difference`")
    alpha: float
    power: float
