"""Models and methods a PoC can use."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from backend.api.errors import INVALID, field_problem
from backend.api.schemas import MethodPublic, MethodsPublic, ModelCheck, ModelPublic, ModelsPublic
from backend.catalog import BUILTIN_MODELS, METHODS, ModelInfo, UnknownModelError, resolve_model

router = APIRouter(tags=["catalog"])


def _model_public(info: ModelInfo) -> ModelPublic:
    return ModelPublic(id=info.id, name=info.name, n_params=info.n_params, builtin=info.builtin,
                       kind=info.kind, min_layer_dim=info.min_layer_dim)


@router.get("/models", response_model=ModelsPublic, summary="The built-in models")
def list_models() -> ModelsPublic:
    data = [_model_public(m) for m in BUILTIN_MODELS]
    return ModelsPublic(data=data, count=len(data))


@router.post("/models/check", response_model=ModelPublic, responses=INVALID,
             summary="Check a model id or folder without loading it")
async def check_model(body: ModelCheck) -> ModelPublic:
    try:
        info = await run_in_threadpool(resolve_model, body.model)  # may read a config.json from disk
    except UnknownModelError as exc:
        raise field_problem("model", str(exc)) from exc
    return _model_public(info)


@router.get("/methods", response_model=MethodsPublic, summary="Methods with their defaults and valid ranges")
def list_methods() -> MethodsPublic:
    data = [MethodPublic(method=m.method, label=m.label, zeroth_order=m.zeroth_order,
                         description=m.description, defaults=m.defaults, ranges=m.ranges) for m in METHODS]
    return MethodsPublic(data=data, count=len(data))
