"""What a PoC can be made of: models, methods (``common.methods``), prompts (``common.prompts``) and the
limits of its settings."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from backend.api.deps import AccessDep, SessionDep, SettingsDep
from backend.api.errors import INVALID, NOT_FOUND
from backend.catalog import ModelInfo, UnknownModelError, builtin_models, resolve_model
from backend.db.models import Dataset
from backend.errors import Invalid, NotFound, Problem
from backend.schemas import (
    FieldLimit,
    LimitsPublic,
    MethodPublic,
    MethodsPublic,
    ModelCheck,
    ModelPublic,
    ModelsPublic,
    PromptPreview,
    PromptPreviewRequest,
    PromptsPublic,
)
from common import prompts
from common.limits import METHODS_PER_POC_MAX, MODEL_NAME_MAX_LENGTH, POC_NAME_MAX_LENGTH
from common.methods import MethodInfo, all_methods
from common.models import first_poc_model
from common.runspec import RunSettings, field_limits

router = APIRouter(tags=["catalog"])


def _model_public(info: ModelInfo) -> ModelPublic:
    return ModelPublic(
        id=info.id,
        name=info.name,
        n_params=info.n_params,
        builtin=info.builtin,
        kind=info.kind,
        min_layer_dim=info.min_layer_dim,
        licence=info.licence,
        description=info.description,
        installed=info.installed,
        languages=list(info.languages),
    )


def method_public(info: MethodInfo) -> MethodPublic:
    return MethodPublic(
        method=info.name,
        label=info.label,
        kind=info.kind,
        zeroth_order=info.zeroth_order,
        description=info.description,
        color=info.color,
        order=info.order,
        defaults=info.defaults,
        ranges=info.ranges,
        integer_params=[h.name for h in info.hyperparameters if h.integer],
    )


@router.get("/models", response_model=ModelsPublic, summary="The built-in models")
def list_models() -> ModelsPublic:
    data = [_model_public(m) for m in builtin_models()]
    return ModelsPublic(data=data, count=len(data), first_poc=first_poc_model())


@router.post(
    "/models/check",
    response_model=ModelPublic,
    responses=INVALID,
    summary="Check a model id or folder without loading it",
)
async def check_model(body: ModelCheck, settings: SettingsDep) -> ModelPublic:
    try:  # may read a config.json from disk (only under the model roots)
        info = await run_in_threadpool(resolve_model, body.model, settings.model_roots)
    except UnknownModelError as exc:
        raise Invalid([Problem("model", str(exc))]) from exc
    return _model_public(info)


@router.get(
    "/methods",
    response_model=MethodsPublic,
    summary="Methods with their defaults, valid ranges, colours and display order",
)
def list_methods() -> MethodsPublic:
    data = [method_public(m) for m in all_methods()]
    return MethodsPublic(data=data, count=len(data))


@router.get("/limits", response_model=LimitsPublic, summary="The limits of a PoC's settings, for the caller")
def get_limits(access: AccessDep, settings: SettingsDep) -> LimitsPublic:
    run_settings = field_limits(RunSettings)
    caps = {
        "steps": settings.max_steps_by_role.get(access.role or ""),
        "max_minutes": settings.max_minutes_by_role.get(access.role or ""),
    }
    for name, cap in caps.items():
        if cap is not None and run_settings[name]["maximum"] is not None:
            run_settings[name]["maximum"] = min(run_settings[name]["maximum"], cap)
    return LimitsPublic(
        role=access.role,
        run_settings={k: FieldLimit(**v) for k, v in run_settings.items()},
        poc_name_max_length=POC_NAME_MAX_LENGTH,
        model_name_max_length=MODEL_NAME_MAX_LENGTH,
        methods_per_poc_max=METHODS_PER_POC_MAX,
        max_upload_mb=settings.max_upload_mb,
        max_upload_rows=settings.max_upload_rows,
        max_active_runs_per_user=settings.max_active_runs_per_user,
    )


@router.get(
    "/prompts",
    response_model=PromptsPublic,
    summary="Prompt-based classification: task kinds, default templates, languages, calibrations",
)
def list_prompts() -> PromptsPublic:
    return PromptsPublic.model_validate(prompts.registry())


@router.post(
    "/prompts/preview",
    response_model=PromptPreview,
    responses={**INVALID, **NOT_FOUND},
    summary="The prompt a PoC on this dataset would use, filled with one of its rows",
)
def preview_prompt(body: PromptPreviewRequest, session: SessionDep, access: AccessDep) -> PromptPreview:
    dataset = session.get(Dataset, body.dataset_id)
    if dataset is None or dataset.workspace_id not in (None, access.workspace_id):
        raise NotFound(f"dataset {body.dataset_id} not found")
    rows = dataset.preview or []
    texts = [row["text"] for row in rows] or [""]
    label_names = [str(label) for label in dataset.labels]
    try:
        prompt = prompts.resolve_prompt(
            body.task_kind, body.language, body.template, body.label_words, label_names, dataset.name, texts
        )
        shown = prompts.preview(
            prompt.template, prompt.kind, prompt.label_words, prompts.example_fields(texts[0])
        )
    except prompts.PromptError as exc:
        raise Invalid([Problem("template", str(exc))]) from exc
    return PromptPreview(
        task_kind=prompt.kind,
        language=prompt.language,
        template=prompt.template,
        label_words=prompt.label_words,
        label_names=label_names,
        example=texts[0],
        **shown,
    )
