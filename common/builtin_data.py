"""The built-in datasets: a generated demo task that ships with zopoc, and SST-2 where its files are present.

The API registers them as dataset rows (at start-up) and shows their previews; the engine trains on them by
name. Both read them from here, so the two can never describe a built-in differently.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common.datafiles import (
    Example,
    ParsedDataset,
    parse_dataset_bytes,
    read_dataset_file,
    sort_label_names,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
PREVIEW_ROWS = 10


def sst2_dir() -> Path | None:
    """The shared SST-2 folder (ZOPOC_SST2_DIR or ../shared/data/sst2 beside the repository), if present."""
    env = os.environ.get("ZOPOC_SST2_DIR")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "sst2"
    return path if (path / "train.tsv").is_file() and (path / "dev.tsv").is_file() else None


# --- the generated demo task -------------------------------------------------------------------------

_DEMO_SUBJECTS = [
    "the film",
    "this movie",
    "the acting",
    "the story",
    "the soundtrack",
    "the ending",
    "the dialogue",
    "the cast",
    "the script",
    "the direction",
    "the plot",
    "this show",
]
_DEMO_POSITIVE = [
    "wonderful",
    "brilliant",
    "moving",
    "delightful",
    "superb",
    "charming",
    "gripping",
    "beautiful",
    "hilarious",
    "excellent",
]
_DEMO_NEGATIVE = [
    "dull",
    "awful",
    "boring",
    "clumsy",
    "tedious",
    "painful",
    "lifeless",
    "dreadful",
    "messy",
    "forgettable",
]
_DEMO_TEMPLATES = [
    "{s} was {a} .",
    "i thought {s} was {a} .",
    "honestly , {s} is {a} .",
    "{s} felt {a} from start to finish .",
    "all in all , {s} was {a} .",
]
_DEMO_NEGATED = ["{s} was not {a} at all .", "i would not call {s} {a} ."]


def demo_sentiment() -> ParsedDataset:
    """A deterministic, generated two-class sentiment task (a few hundred rows) so the product runs without files.

    Most rows state the sentiment with an adjective; some negate an adjective of the other class
    ("not boring" is positive), which a pretrained encoder gets partly wrong at the start and can learn.
    """
    rows: list[tuple[str, str]] = []
    for s in _DEMO_SUBJECTS:
        for t in _DEMO_TEMPLATES:
            for label, words in (("positive", _DEMO_POSITIVE), ("negative", _DEMO_NEGATIVE)):
                for a in words[:3]:
                    rows.append((t.format(s=s, a=a), label))
        for t in _DEMO_NEGATED:
            for a in _DEMO_NEGATIVE[3:7]:
                rows.append((t.format(s=s, a=a), "positive"))
            for a in _DEMO_POSITIVE[3:7]:
                rows.append((t.format(s=s, a=a), "negative"))
    random.Random(0).shuffle(rows)
    names = sort_label_names(label for _, label in rows)
    index = {n: i for i, n in enumerate(names)}
    return ParsedDataset(
        texts=[t for t, _ in rows],
        labels=[index[label] for _, label in rows],
        label_names=names,
        columns=["text", "label"],
        text_column="text",
        label_column="label",
    )


def _demo_parts() -> tuple[ParsedDataset, ParsedDataset | None]:
    return demo_sentiment(), None


def _demo_fingerprint() -> str:
    demo = demo_sentiment()
    rows = [[t, demo.label_names[y]] for t, y in zip(demo.texts, demo.labels, strict=True)]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def _demo_preview() -> ParsedDataset:
    return demo_sentiment()


# --- SST-2 from the shared folder --------------------------------------------------------------------


def _sst2_folder() -> Path:
    folder = sst2_dir()
    if folder is None:
        raise FileNotFoundError("the sst2 dataset is not on this machine (set ZOPOC_SST2_DIR)")
    return folder


def _sst2_parts() -> tuple[ParsedDataset, ParsedDataset | None]:
    folder = _sst2_folder()
    return read_dataset_file(folder / "train.tsv"), read_dataset_file(folder / "dev.tsv")


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sst2_fingerprint() -> str:
    folder = _sst2_folder()
    joined = "".join(file_sha256(folder / name) for name in ("train.tsv", "dev.tsv"))
    return hashlib.sha256(joined.encode()).hexdigest()


def _sst2_preview() -> ParsedDataset:
    train = _sst2_folder() / "train.tsv"
    with train.open("rb") as handle:  # the first rows only: the file has 67k
        head = b"".join(handle.readline() for _ in range(PREVIEW_ROWS + 1))
    return parse_dataset_bytes(head, train.name)


# --- the registry ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltinDataset:
    """A dataset that comes with zopoc: what the dataset list shows and how to read it."""

    name: str
    description: str
    n_rows: int
    labels: tuple[str, ...]
    eval_rows: int | None
    # Every function below may raise FileNotFoundError when ``available`` is False.
    available: Callable[[], bool]
    load_parts: Callable[[], tuple[ParsedDataset, ParsedDataset | None]]  # (training part, own eval part)
    fingerprint: Callable[[], str]  # sha256 of what the dataset is made of
    preview_source: Callable[[], ParsedDataset]  # at least the first PREVIEW_ROWS rows

    def preview(self) -> list[dict[str, str]]:
        """The first rows as ``{"text", "label"}`` with the label's name."""
        parsed = self.preview_source()
        return preview_rows(parsed.texts, parsed.labels, parsed.label_names)


def preview_rows(texts: list[Example], labels: list[int], label_names: list[str]) -> list[dict[str, str]]:
    """The first PREVIEW_ROWS rows as ``{"text", "label"}`` with the label's name (a pair as "a / b")."""
    first = zip(texts[:PREVIEW_ROWS], labels[:PREVIEW_ROWS], strict=True)
    return [{"text": t if isinstance(t, str) else " / ".join(t), "label": label_names[y]} for t, y in first]


BUILTIN_DATASETS: tuple[BuiltinDataset, ...] = (
    BuiltinDataset(
        name="demo-sentiment",
        description="generated movie-review sentences (positive/negative), built into zopoc",
        n_rows=len(demo_sentiment()),
        labels=("negative", "positive"),
        eval_rows=None,
        available=lambda: True,
        load_parts=_demo_parts,
        fingerprint=_demo_fingerprint,
        preview_source=_demo_preview,
    ),
    BuiltinDataset(
        name="sst2",
        description="SST-2 (GLUE): train.tsv for training, dev.tsv for evaluation",
        n_rows=67349,
        labels=("0", "1"),
        eval_rows=872,
        available=lambda: sst2_dir() is not None,
        load_parts=_sst2_parts,
        fingerprint=_sst2_fingerprint,
        preview_source=_sst2_preview,
    ),
)
_BY_NAME = {dataset.name: dataset for dataset in BUILTIN_DATASETS}


def available_builtin_datasets() -> list[BuiltinDataset]:
    """The built-in datasets whose data is on this machine."""
    return [dataset for dataset in BUILTIN_DATASETS if dataset.available()]


def builtin_dataset(name: str) -> BuiltinDataset | None:
    """The built-in dataset called ``name``, or None when there is none (available or not)."""
    return _BY_NAME.get(name)
