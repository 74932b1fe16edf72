"""Datasets on the server side: built-in ones registered as rows, uploads validated and stored.

Parsing and validation are ``common.datafiles`` (pure Python), the code the engine reads files with: the
API accepts exactly what a run will be able to read. Uploaded files are stored under ``settings.data_dir``
with a generated name (never the user's); ``Dataset.path`` holds that path relative to ``data_dir``. For
built-in datasets ``path`` is the built-in's name, which the engine's ``--dataset`` understands.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.catalog import local_model_folder
from backend.core.config import Settings
from backend.db.models import Dataset
from backend.errors import Invalid, Problem
from common.builtin_data import PREVIEW_ROWS, available_builtin_datasets
from common.builtin_generation import available_builtin_generation_datasets
from common.chat_templates import ChatTemplateError, read_chat_template, render_pair
from common.models import builtin as builtin_model
from common.pairs import Pair

# Extensions an upload may have, and the one its stored copy gets (the engine reads by extension).
UPLOAD_KINDS = {
    ".csv": ".csv",
    ".tsv": ".tsv",
    ".tab": ".tsv",
    ".jsonl": ".jsonl",
    ".ndjson": ".jsonl",
    ".json": ".jsonl",
}
_BUILTIN_NAMESPACE = uuid.UUID("6f1b7d1e-9a0c-4c57-8f0e-3f3c1d2b7a10")


def builtin_dataset_id(name: str) -> str:
    """The fixed id of a built-in dataset: the same on every installation."""
    return str(uuid.uuid5(_BUILTIN_NAMESPACE, name))


def register_builtin_datasets(session: Session) -> list[str]:
    """Register the built-in datasets of this machine as rows (idempotent); returns the names added.

    Called at start-up (``backend.prestart``), before the API serves: requests never write these rows.
    """
    rows = [
        Dataset(
            id=builtin_dataset_id(builtin.name),
            name=builtin.name,
            builtin=True,
            path=builtin.name,
            n_rows=builtin.n_rows,
            labels=list(builtin.labels),
            text_column="text",
            label_column="label",
            size_bytes=None,
            sha256=None,
            preview=builtin.preview(),
        )
        for builtin in available_builtin_datasets()
    ]
    rows += [
        Dataset(
            id=builtin_dataset_id(builtin.name),
            name=builtin.name,
            builtin=True,
            path=builtin.name,
            kind="generation",
            layout="prompt_completion",
            n_rows=builtin.n_rows,
            labels=[],
            text_column=None,
            label_column=None,
            size_bytes=None,
            sha256=None,
            preview=builtin.preview(),
        )
        for builtin in available_builtin_generation_datasets()
    ]
    added = []
    for row in rows:
        if session.get(Dataset, row.id) is None:
            session.add(row)
            added.append(row.name)
    if added:
        try:
            session.commit()
        except IntegrityError:  # another process registered them at the same moment
            session.rollback()
    return added


@dataclass
class StoredUpload:
    path: str
    size_bytes: int
    sha256: str


def store_upload(data: bytes, suffix: str, settings: Settings) -> StoredUpload:
    """Write validated upload bytes under ``data_dir/uploads`` with a generated name."""
    folder = settings.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    relative = Path("uploads") / f"{uuid.uuid4()}{suffix}"
    target = settings.data_dir / relative
    temporary = target.with_suffix(target.suffix + ".part")
    temporary.write_bytes(data)
    temporary.replace(target)  # atomic: a worker never sees half a file
    return StoredUpload(str(relative), len(data), hashlib.sha256(data).hexdigest())


def pairs_preview(pairs: list[Pair]) -> list[dict[str, Any]]:
    """The first pairs as stored in ``Dataset.preview``: a chat pair keeps its turns, for rendering."""
    out: list[dict[str, Any]] = []
    for pair in pairs[:PREVIEW_ROWS]:
        row: dict[str, Any] = {"prompt": pair.prompt, "completion": pair.completion}
        if pair.messages is not None:
            row["messages"] = [list(turn) for turn in pair.messages]
        out.append(row)
    return out


def _stored_pair(row: dict[str, Any]) -> Pair:
    messages = row.get("messages")
    turns = tuple((str(role), str(content)) for role, content in messages) if messages else None
    return Pair(str(row.get("prompt", "")), str(row.get("completion", "")), turns)


def model_folder(model: str, roots: Sequence[Path]) -> Path | None:
    """The folder of ``model`` on this machine: a built-in's converted folder or a folder under ``roots``.

    None for a model with no folder here (a Hub id, a random test model): it is shown without a template.
    """
    known = builtin_model(model)
    if known is not None:
        return known.folder()
    return local_model_folder(model, roots)


def rendered_preview(dataset: Dataset, model: str, roots: Sequence[Path]) -> dict[str, Any]:
    """A generation dataset's preview pairs as ``model`` will see them (``schemas.RenderedPreview``)."""
    if dataset.kind != "generation":
        raise Invalid(
            [Problem("dataset_id", "only a generation dataset has pairs to render")],
            code="not_a_generation_dataset",
        )
    folder = model_folder(model, roots)
    try:
        template = read_chat_template(folder) if folder is not None and folder.is_dir() else None
        rendered = [render_pair(_stored_pair(row), template) for row in dataset.preview or []]
    except ChatTemplateError as exc:
        raise Invalid(
            [Problem("model", str(exc))], code="chat_template_failed", params={"detail": str(exc)}
        ) from exc
    return {
        "model": model,
        "templated": template is not None,
        "pairs": [{"prompt": r.prompt, "text": r.text} for r in rendered],
    }
