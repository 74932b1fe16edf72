"""Datasets: the built-in ones and uploads (CSV, TSV, JSONL) validated row by row.

An upload is a labelled text file (classification) or a file of prompt -> completion pairs (generation); its
columns tell which (``common.genfiles.detect_dataset_kind``), unless text or label columns are named.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status

from backend.api.deps import AccessDep, DatasetDep, SessionDep, SettingsDep
from backend.api.errors import INVALID, NOT_FOUND, field_problem, problem
from backend.datasets import UPLOAD_KINDS, pairs_preview, rendered_preview, store_upload
from backend.db.models import Dataset
from backend.schemas import DatasetPublic, DatasetsPublic, Message, RenderedPreview
from common.builtin_data import preview_rows
from common.datafiles import RowError, labelled_rows, read_rows
from common.genfiles import detect_dataset_kind, pairs_from_rows
from common.limits import MODEL_NAME_MAX_LENGTH

router = APIRouter(prefix="/datasets", tags=["datasets"])

_CHUNK = 1 << 20


def dataset_public(dataset: Dataset) -> DatasetPublic:
    return DatasetPublic.model_validate(
        {
            **{
                c: getattr(dataset, c)
                for c in (
                    "id",
                    "name",
                    "builtin",
                    "kind",
                    "layout",
                    "n_rows",
                    "text_column",
                    "label_column",
                    "size_bytes",
                    "sha256",
                    "created_at",
                )
            },
            "labels": [str(label) for label in dataset.labels],
            "preview": _preview(dataset),
        }
    )


def _preview(dataset: Dataset) -> dict:
    rows = dataset.preview or []
    if dataset.kind == "generation":
        return {"rows": [], "pairs": [{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]}
    return {"rows": rows, "pairs": []}


@router.get(
    "",
    response_model=DatasetsPublic,
    summary="Built-in and uploaded datasets, built-in first then newest first (a page of them)",
)
def list_datasets(
    session: SessionDep,
    access: AccessDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1, description="rows to skip (a BIGINT in SQL)")] = 0,
) -> DatasetsPublic:
    visible = sa.or_(Dataset.workspace_id.is_(None), Dataset.workspace_id == access.workspace_id)
    # Built-in datasets first, the labelled ones before the generation ones (a first PoC classifies); then
    # uploads, newest first.
    builtin_kind = sa.case((Dataset.builtin, Dataset.kind), else_=sa.literal(""))
    newest_first = (
        sa.select(Dataset)
        .where(visible)
        .order_by(Dataset.builtin.desc(), builtin_kind, Dataset.created_at.desc(), Dataset.id)
    )
    count = session.scalar(sa.select(sa.func.count()).select_from(Dataset).where(visible)) or 0
    rows = session.scalars(newest_first.limit(limit).offset(offset)).all()
    return DatasetsPublic(data=[dataset_public(d) for d in rows], count=count)


@router.get("/{dataset_id}", response_model=DatasetPublic, responses=NOT_FOUND, summary="One dataset")
def get_dataset(dataset: DatasetDep) -> DatasetPublic:
    return dataset_public(dataset)


@router.get(
    "/{dataset_id}/rendered",
    response_model=RenderedPreview,
    responses={**NOT_FOUND, **INVALID},
    summary="A generation dataset's preview pairs as a model will see them",
    description="Rendered with the model's chat template (tokenizer_config.json or chat_template.jinja in "
    "its folder) when it has one, else as the prompt and the completion on the next line.",
)
def render_dataset(
    dataset: DatasetDep,
    settings: SettingsDep,
    model: Annotated[str, Query(min_length=1, max_length=MODEL_NAME_MAX_LENGTH)],
) -> RenderedPreview:
    return RenderedPreview.model_validate(rendered_preview(dataset, model.strip(), settings.model_roots))


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, detail=f"the file is larger than the limit of {limit / 2**20:g} MB"
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetPublic,
    responses={**INVALID, 413: {"model": Message, "description": "the file is over the size limit"}},
    summary="Upload a labelled text file or a file of prompt -> completion pairs (CSV, TSV or JSONL)",
    description="A file with prompt/completion, instruction/output or messages (chat JSONL) columns is a "
    "generation dataset; any other is a labelled one, whose text and label columns are detected unless named "
    "(naming one makes the file a labelled one). Every problem is reported with the line of the file it is "
    "on; nothing is stored unless the whole file is valid.",
)
def upload_dataset(
    session: SessionDep,
    settings: SettingsDep,
    access: AccessDep,
    file: Annotated[UploadFile, File(description="the dataset file")],
    name: Annotated[str | None, Form(max_length=200)] = None,
    text_column: Annotated[str | None, Form(max_length=200)] = None,
    label_column: Annotated[str | None, Form(max_length=200)] = None,
) -> DatasetPublic:
    # The whole body was already held to the upload limit (plus multipart framing) by backend.api.guard,
    # before anything was read; the file itself must fit the limit.
    limit = settings.max_upload_bytes
    filename = PurePath(file.filename or "").name
    suffix = UPLOAD_KINDS.get(PurePath(filename).suffix.lower())
    if suffix is None:
        raise field_problem("file", f"{filename or 'the file'!r} is not a .csv, .tsv or .jsonl file")
    chunks, size = [], 0
    while chunk := file.file.read(_CHUNK):  # sync route: runs in the threadpool
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    data = b"".join(chunks)

    read = read_rows(data, filename, max_rows=settings.max_upload_rows, max_bytes=limit)
    labelled = bool(text_column or label_column) or detect_dataset_kind(read.columns) == "classification"
    if labelled:
        parsed = labelled_rows(read, text_column or None, label_column or None)
        _refuse_if_invalid(filename, parsed.errors, parsed.stopped)
        fields: dict[str, Any] = {
            "kind": "classification",
            "n_rows": len(parsed),
            "labels": parsed.label_names,
            "text_column": parsed.text_column,
            "label_column": parsed.label_column,
            "preview": preview_rows(parsed.texts, parsed.labels, parsed.label_names),
        }
    else:
        pairs = pairs_from_rows(read)
        _refuse_if_invalid(filename, pairs.errors, pairs.stopped)
        fields = {
            "kind": "generation",
            "n_rows": len(pairs),
            "layout": pairs.layout,
            "labels": [],
            "preview": pairs_preview(pairs.pairs),
        }

    stored = store_upload(data, suffix, settings)
    dataset = Dataset(
        name=(name or "").strip() or PurePath(filename).stem,
        builtin=False,
        path=stored.path,
        workspace_id=access.workspace_id,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        **fields,
    )
    session.add(dataset)
    session.commit()
    return dataset_public(dataset)


def _refuse_if_invalid(filename: str, errors: list[RowError], stopped: bool) -> None:
    """422 listing every problem of the file (reading stops at MAX_ERRORS of them): nothing is stored."""
    if not errors:
        return
    n = len(errors)
    found = (
        f"reading stopped at {n} problems (fix these first)"
        if stopped
        else f"{n} problem{'s' if n > 1 else ''} found"
    )
    raise problem(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        f"{filename}: {found}; nothing was stored",
        [e.as_dict() for e in errors],
    )
