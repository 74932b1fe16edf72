"""RunSpec: the one JSON object a run is started with (docs/CONTRACTS.md section 1), and its settable parts.

Three layers, each field defined once with its default and limits:

- ``RunSettings``: what a PoC fixes for all its runs and a product user may set (budget, batch, seed, data
  sampling, evaluation, precision, ...). ``PocCreate`` in the API inherits it, the PoC row stores it, and the
  worker passes it to the engine unchanged: a field added here is settable end to end.
- ``MethodHyperparameters``: per-method settings; defaults and the product's ranges come from the method
  registry (``common.methods``); here only what the engine itself can run with is checked.
- ``RunSpec``: both, plus what the service or a person running the engine by hand decides (method, model,
  dataset, device, files).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from common.limits import MAX_MINUTES, MAX_STEPS
from common.methods import (
    BETA,
    LORA_ALPHA,
    LORA_RANK,
    NU,
    RANK,
    WEIGHT_DECAY,
    ZO_EPS,
    get_method,
    is_method,
)
from common.models import builtin
from common.prompts import MASK

Dtype = Literal["float32", "bfloat16", "float16"]
HeadInit = Literal["prototype", "label_words", "random"]
Device = Literal["cpu", "cuda", "auto"]
TaskKind = Literal["sentiment", "topic", "pair", "yesno"]
Language = Literal["en", "ja"]
Calibration = Literal["content_free", "contextual", "none"]
TaskType = Literal["classification", "generation"]
ZoObjective = Literal["loss", "neg_f1"]
# Settings that only mean something for classification: a generation run ignores them.
CLASSIFICATION_ONLY = (
    "k_shot",
    "head_init",
    "task_kind",
    "template",
    "label_words",
    "calibration",
    "text_b_column",
    "text_column",
    "label_column",
)


# Where a generation PoC's default differs from a classification one's: a prompt through a chat template
# with its answer needs more tokens than a labelled sentence (the embedded decoder's template alone is ~25;
# demo-dates pairs take 62-96 tokens in SmolLM2's template).
GENERATION_DEFAULTS: dict[str, Any] = {"max_length": 128}


class RunSettings(BaseModel):
    """Settings a PoC fixes for every run it compares (same data, same budget, same start)."""

    model_config = ConfigDict(extra="forbid")

    task_type: TaskType = Field(
        "classification",
        description="classify texts, or write a completion for each prompt (generation: decoders only; "
        "the classification settings are then ignored)",
    )
    steps: int | None = Field(
        100, ge=1, le=MAX_STEPS, description="budget in optimizer steps (null: only the minutes budget)"
    )
    max_minutes: float | None = Field(
        None, gt=0, le=MAX_MINUTES, description="budget in minutes of training; whichever budget ends first"
    )
    batch_size: int = Field(16, ge=1, le=1024, description="training examples per step")
    seed: int = Field(
        0,
        ge=0,
        le=2**31 - 1,
        description="same seed: same training rows, start weights, batch order and noise",
    )
    k_shot: int | None = Field(
        16, ge=1, le=1_000_000, description="training examples per class (null: all rows)"
    )
    eval_every: int = Field(
        50, ge=1, le=MAX_STEPS, description="steps between evaluations (also at the start and the end)"
    )
    eval_size: int | None = Field(
        None, ge=1, le=1_000_000, description="cap on evaluation examples (null: all)"
    )
    max_length: int = Field(64, ge=8, le=8192, description="tokens per example (longer texts are cut)")
    dtype: Dtype = Field("float32", description="precision of the weights")
    head_init: HeadInit = Field("prototype", description="how an encoder's classifier head starts")
    # Prompt-based classification (decoders and masked LMs; an encoder with a head ignores these):
    task_kind: TaskKind | None = Field(None, description="the prompt's task kind (null: from the data)")
    language: Language | None = Field(
        None, description="the prompt's language (null: detected from the texts)"
    )
    template: str | None = Field(
        None,
        max_length=2000,
        description=f"the prompt, with {MASK} once where the label word goes "
        "(null: the kind's default in that language)",
    )
    label_words: list[str] | None = Field(
        None, min_length=2, max_length=64, description="one word per label, in label order (null: defaults)"
    )
    calibration: Calibration = Field(
        "content_free", description="fixed bias set at the start so no label is favoured"
    )
    text_b_column: str | None = Field(
        None, max_length=200, description="the second text of a pair task (a column of the file)"
    )
    val_size: int | None = Field(
        256, ge=1, le=1_000_000, description="validation rows that pick the best step (null: all)"
    )
    # Generation:
    max_new_tokens: int = Field(
        24, ge=1, le=512, description="generation: tokens the model may write per prompt when evaluated"
    )
    zo_objective: ZoObjective = Field(
        "loss",
        description="generation, zeroth-order methods: minimise the completion's loss, or −F1 of greedy "
        "generations on the batch (ZO needs no gradient, so it can optimise the metric itself)",
    )

    zo_clip: float | None = Field(
        None,
        ge=1,
        le=100,
        description="zeroth-order methods: bound each step's projected gradient by this multiple of the "
        "root mean square of the earlier ones, so one outlying estimate cannot throw the model (null: no "
        "bound; 2 is what the decoder benchmark runs)",
    )

    @field_validator("template")
    @classmethod
    def _one_mask(cls, value: str | None) -> str | None:
        if value is not None and value.count(MASK) != 1:
            raise ValueError(f"the template must contain {MASK} exactly once")
        return value

    @field_validator("label_words")
    @classmethod
    def _distinct_words(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if not all(isinstance(w, str) and w.strip() and len(w) <= 100 for w in value):
            raise ValueError("label words must be non-empty (at most 100 characters each)")
        if len({w.strip() for w in value}) != len(value):
            raise ValueError("label words must differ from one another")
        return value

    @model_validator(mode="after")
    def _objective_needs_generation(self) -> RunSettings:
        if self.zo_objective == "neg_f1" and self.task_type != "generation":
            raise ValueError("zo_objective 'neg_f1' scores generations: it needs task_type 'generation'")
        return self


class MethodHyperparameters(BaseModel):
    """A method's hyperparameters as the engine runs them (the product's ranges: ``common.methods``)."""

    model_config = ConfigDict(extra="forbid")

    lr: float | None = Field(None, gt=0, description="null: the method's default for the model size")
    zo_eps: float = Field(ZO_EPS.fixed_default, gt=0)
    rank: int = Field(int(RANK.fixed_default), ge=1)
    nu: int = Field(int(NU.fixed_default), ge=1)
    beta: float = Field(BETA.fixed_default, ge=0, lt=1)
    weight_decay: float = Field(WEIGHT_DECAY.fixed_default, ge=0)
    lora_rank: int = Field(int(LORA_RANK.fixed_default), ge=1)
    lora_alpha: int = Field(int(LORA_ALPHA.fixed_default), ge=1)


class RunSpec(RunSettings, MethodHyperparameters):
    """Everything one run needs; every field but ``method`` has a default.

    ``steps`` and ``max_minutes`` both null: the run trains until it is stopped (SIGTERM).
    """

    method: str
    model: str = "minilm"
    dataset: str = "demo-sentiment"
    eval_dataset: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    device: Device = "auto"
    checkpoint_dir: str | None = None
    checkpoint_every_min: float | None = Field(
        None,
        gt=0,
        description="write checkpoint_dir/resume.pt (weights, optimizer and RNG state, step) this often, "
        "atomically, so a run can continue from it (--resume-file)",
    )
    lr_probe: bool = Field(False, description="try lr ×0.1, ×0.3, ×1, ×3 for a few steps and keep the best")
    allow_download: bool = Field(False, description="a Hugging Face id may be downloaded")
    scale_by_rank: bool = Field(False, description="LOZO: the paper's unbiased 1/r scaling")
    eval_batch_size: int = Field(64, ge=1)

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if not is_method(value):
            get_method(value)  # raises UnknownMethodError with the list of methods
        return value

    @model_validator(mode="after")
    def _checkpoints_need_a_folder(self) -> RunSpec:
        if self.checkpoint_every_min is not None and not self.checkpoint_dir:
            raise ValueError("checkpoint_every_min needs checkpoint_dir (where resume.pt goes)")
        return self

    @model_validator(mode="after")
    def _generation_needs_a_decoder(self) -> RunSpec:
        if self.task_type == "generation":
            entry = builtin(self.model)
            if entry is not None and entry.kind != "decoder":
                raise ValueError(
                    f"generation needs a decoder model (a causal language model); {self.model} is an encoder"
                )
        return self

    @model_validator(mode="after")
    def _metric_objective_is_zeroth_order(self) -> RunSpec:
        if self.zo_objective == "neg_f1" and is_method(self.method) and not self.zeroth_order:
            raise ValueError(
                f"zo_objective 'neg_f1' is for zeroth-order methods: {self.method} follows the gradient of "
                "the loss, and greedy generation's F1 has none (use zo_objective 'loss')"
            )
        return self

    @property
    def zeroth_order(self) -> bool:
        return get_method(self.method).zeroth_order

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        """Validate ``data``; a ValueError lists every problem as ``field: problem``."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ValueError("invalid run spec: " + describe_validation_error(exc)) from None

    @classmethod
    def from_file(cls, path: str | Path) -> RunSpec:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, ``field: what is wrong`` (pydantic's own words)."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "spec"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def run_settings_fields() -> tuple[str, ...]:
    """The fields of ``RunSettings``: what a PoC stores and hands to each of its runs."""
    return tuple(RunSettings.model_fields)


def field_limits(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Each field of ``model`` with its type, default, bounds and choices, for forms that offer it.

    ``{"type": "integer" | "number" | "string" | "string_list" | "boolean", "default", "nullable", "minimum", "maximum",
    "exclusive_minimum", "exclusive_maximum", "choices", "description"}`` — read from the fields themselves,
    so a form's limits are the engine's.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, info in model.model_fields.items():
        members = get_args(info.annotation) or (info.annotation,)
        choices = [m for m in members if isinstance(m, str)]
        if any(get_origin(m) is Literal for m in members):
            literal = next(m for m in members if get_origin(m) is Literal)
            choices = [str(c) for c in get_args(literal)]
        kind = (
            "boolean"
            if bool in members
            else "integer"
            if int in members
            else "number"
            if float in members
            else "string_list"
            if any(get_origin(m) is list for m in members)
            else "string"
        )
        limits: dict[str, Any] = {
            "type": kind,
            "default": info.default,
            "nullable": type(None) in members,
            "minimum": None,
            "maximum": None,
            "exclusive_minimum": False,
            "exclusive_maximum": False,
            "choices": choices or None,
            "description": info.description or "",
            "generation_default": GENERATION_DEFAULTS.get(name) if model is RunSettings else None,
        }
        for bound in info.metadata:
            for attr, key, exclusive in (
                ("ge", "minimum", False),
                ("gt", "minimum", True),
                ("le", "maximum", False),
                ("lt", "maximum", True),
            ):
                value = getattr(bound, attr, None)
                if value is not None:
                    limits[key] = value
                    limits[f"exclusive_{key}"] = exclusive
        out[name] = limits
    return out
