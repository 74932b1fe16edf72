"""Datasets on the server side: built-in ones registered as rows, uploads validated and stored.

Parsing and validation are the engine's (``worker.train.datafiles``, pure Python): the API accepts
exactly what a run will be able to read. Uploaded files are stored under ``settings.data_dir`` with a
generated name (never the user's); ``Dataset.path`` holds that path relative to ``data_dir``. For
built-in datasets ``path`` is the built-in's name, which the engine's ``--dataset`` understands.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.db.models import Dataset

PREVIEW_ROWS = 10
# Extensions an upload may have, and the one its stored copy gets (the engine reads by extension).
UPLOAD_KINDS = {".csv": ".csv", ".tsv": ".tsv", ".tab": ".tsv", ".jsonl": ".jsonl", ".ndjson": ".jsonl",
                ".json": ".jsonl"}
_BUILTIN_NAMESPACE = uuid.UUID("6f1b7d1e-9a0c-4c57-8f0e-3f3c1d2b7a10")


def builtin_dataset_id(name: str) -> str:
    """The fixed id of a built-in dataset: the same on every installation."""
    return str(uuid.uuid5(_BUILTIN_NAMESPACE, name))


def _builtins() -> list[dict[str, Any]]:
    try:
        from worker.train.data import list_builtin_datasets
    except ImportError:  # the engine's data module is not installed: no built-ins
        return []
    return list_builtin_datasets()


def _builtin_preview(name: str) -> list[dict[str, str]]:
    from worker.train import data

    if name == "demo-sentiment":
        parsed = data.demo_sentiment()
    elif name == "sst2" and data.sst2_dir() is not None:
        train = data.sst2_dir() / "train.tsv"
        with train.open("rb") as handle:
            head = b"".join(handle.readline() for _ in range(PREVIEW_ROWS + 1))
        from worker.train.datafiles import parse_dataset_bytes

        parsed = parse_dataset_bytes(head, train.name)
    else:
        return []
    return preview_rows(parsed.texts, parsed.labels, parsed.label_names)


def preview_rows(texts: list[str], labels: list[int], label_names: list[str]) -> list[dict[str, str]]:
    """The first rows as ``{"text", "label"}`` with the label's name."""
    first = zip(texts[:PREVIEW_ROWS], labels[:PREVIEW_ROWS], strict=True)
    return [{"text": t, "label": label_names[y]} for t, y in first]


def ensure_builtin_datasets(session: Session) -> bool:
    """Register the built-in datasets of this machine as rows (idempotent). True if any was added."""
    added = False
    for item in _builtins():
        dataset_id = builtin_dataset_id(item["name"])
        if session.get(Dataset, dataset_id) is not None:
            continue
        session.add(Dataset(
            id=dataset_id, name=item["name"], builtin=True, path=item["name"], n_rows=int(item["n_rows"]),
            labels=[str(label) for label in item["labels"]], text_column="text", label_column="label",
            size_bytes=None, sha256=None, preview=_builtin_preview(item["name"]),
        ))
        added = True
    if not added:
        return False
    try:
        session.commit()
    except IntegrityError:  # another request registered them at the same moment
        session.rollback()
    return True


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
