"""Dependencies of the routes, as ``Annotated`` aliases so signatures read like prose."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from backend.auth.policy import Access, authorize
from backend.core.config import Settings, get_settings
from backend.db.models import Dataset, Poc, Run
from backend.db.session import make_sessionmaker


def get_session() -> Iterator[Session]:
    """One session per request, closed afterwards (routes commit explicitly)."""
    with make_sessionmaker()() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def load_poc(session: SessionDep, poc_id: Annotated[str, Path(max_length=64)]) -> Poc:
    """The PoC ``poc_id`` (not deleted), or 404."""
    poc = session.get(Poc, poc_id)
    if poc is None or poc.deleted_at is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"PoC {poc_id} not found")
    return poc


def load_poc_in_any_state(session: SessionDep, poc_id: Annotated[str, Path(max_length=64)]) -> Poc:
    """The PoC ``poc_id``, deleted or not, or 404: for what must work in every state (revoking its links)."""
    poc = session.get(Poc, poc_id)
    if poc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"PoC {poc_id} not found")
    return poc


def load_run(session: SessionDep, run_id: Annotated[str, Path(max_length=64)]) -> Run:
    """The run ``run_id`` of a PoC that is not deleted, or 404."""
    run = session.get(Run, run_id)
    if run is None or run.poc.deleted_at is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"run {run_id} not found")
    return run


def load_dataset(session: SessionDep, dataset_id: Annotated[str, Path(max_length=64)]) -> Dataset:
    """The dataset ``dataset_id`` (built-in ones are registered at start-up, ``backend.prestart``), or 404."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"dataset {dataset_id} not found")
    return dataset


def authorize_request(request: Request, session: SessionDep, settings: SettingsDep) -> Access:
    """Check the caller against the route's rule (``backend.auth.policy``); every API route depends on it."""
    access = authorize(request, session, settings)
    if _streams(request):
        # Hand the connection back to the pool now (objects stay readable: expire_on_commit=False).
        # FastAPI keeps a streaming route's dependencies open until the stream ends, so every open SSE
        # stream would otherwise hold one pooled connection: 50 dashboards exhausted the pool (30) and
        # every request waited 30 s and failed (benchmarks/load.py). Other routes keep the transaction:
        # a commit here would cost them a round trip and a second checkout.
        session.commit()
    return access


def _streams(request: Request) -> bool:
    route = request.scope.get("route")
    response_class = getattr(route, "response_class", None)
    return isinstance(response_class, type) and issubclass(response_class, StreamingResponse)


def current_access(request: Request) -> Access:
    """What ``authorize_request`` found for this request (user, workspace, role)."""
    return request.state.access


AccessDep = Annotated[Access, Depends(current_access)]

PocDep = Annotated[Poc, Depends(load_poc)]
AnyStatePocDep = Annotated[Poc, Depends(load_poc_in_any_state)]
RunDep = Annotated[Run, Depends(load_run)]
DatasetDep = Annotated[Dataset, Depends(load_dataset)]
