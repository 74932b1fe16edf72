"""A run's data: the training rows (k-shot sampling), the validation and evaluation rows, the batch order.

Pure Python (no torch). The datasets themselves are read by ``common.datafiles`` (files) and
``common.builtin_data`` (built-ins), the same code the API validates uploads with.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from common.builtin_data import builtin_dataset
from common.datafiles import DatasetFileError, Example, ParsedDataset, RowError, read_dataset_file
from common.prompts import default_label_words, infer_kind

SPLIT_SEED = (
    1234  # the held-out split does not depend on the run seed: every seed is evaluated on the same rows
)
HELD_OUT_FRACTION = 0.2
VALIDATION_SEED_OFFSET = 7919  # the validation sample of seed s is drawn with s + this, never like training's

# The papers' verbalizer for SST-2-like sentiment (MeZO / LM-BFF): "terrible" / "great".
SENTIMENT_WORDS = ("terrible", "great")


@dataclass
class Task:
    """What one run trains and evaluates on; the label ids index `label_names` (and `label_words`).

    A text is a string, or a (text_a, text_b) pair for pair tasks. The validation rows pick the best step
    and are never reported as the evaluation: they are disjoint from both training and evaluation rows.
    """

    name: str
    train_texts: list
    train_labels: list[int]
    eval_texts: list
    eval_labels: list[int]
    label_names: list[str]
    label_words: list[str]
    val_texts: list = field(default_factory=list)
    val_labels: list[int] = field(default_factory=list)

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    @property
    def n_train(self) -> int:
        return len(self.train_texts)

    @property
    def n_eval(self) -> int:
        return len(self.eval_texts)

    @property
    def n_val(self) -> int:
        return len(self.val_texts)


def _label_words(dataset_name: str, label_names: list[str]) -> list[str]:
    """Default English words a prompt-based classifier reads for each class (common/prompts.py)."""
    if dataset_name in ("sst2", "demo-sentiment") and len(label_names) == 2:
        return list(SENTIMENT_WORDS)
    return default_label_words(infer_kind(label_names, dataset_name), label_names, "en")


# --- sampling ------------------------------------------------------------------------------------------


def k_shot_indices(labels: list[int], k: int | None, seed: int) -> list[int]:
    """k examples of each class, drawn with `seed` (all of a class when it has fewer); sorted by position."""
    if k is None:
        return list(range(len(labels)))
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = {}
    for i, y in enumerate(labels):
        by_class.setdefault(y, []).append(i)
    chosen: list[int] = []
    for y in sorted(by_class):
        pool = by_class[y]
        chosen.extend(rng.sample(pool, min(k, len(pool))))
    return sorted(chosen)


def held_out_split(
    labels: list[int], fraction: float = HELD_OUT_FRACTION, seed: int = SPLIT_SEED
) -> tuple[list[int], list[int]]:
    """Stratified (train, eval) index lists; every class keeps at least one row on each side when it can."""
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = {}
    for i, y in enumerate(labels):
        by_class.setdefault(y, []).append(i)
    train, evaluation = [], []
    for y in sorted(by_class):
        pool = list(by_class[y])
        rng.shuffle(pool)
        n_eval = max(1, round(len(pool) * fraction)) if len(pool) > 1 else 0
        evaluation.extend(pool[:n_eval])
        train.extend(pool[n_eval:])
    return sorted(train), sorted(evaluation)


def _load(
    name_or_path: str, text_column: str | None, label_column: str | None, text_b_column: str | None = None
) -> tuple[ParsedDataset, ParsedDataset | None]:
    """A dataset and, for built-ins that have one, its own evaluation part."""
    builtin = builtin_dataset(name_or_path)
    if builtin is not None:
        return builtin.load_parts()
    parsed = read_dataset_file(name_or_path, text_column, label_column)
    if text_b_column is not None:
        parsed.texts = _pair_texts(name_or_path, parsed, text_b_column)
    return parsed, None


def _pair_texts(path: str, parsed: ParsedDataset, text_b_column: str) -> list[Example]:
    """(text_a, text_b) per row: the file read a second time with `text_b_column` as its text.

    Both reads are strict (any row missing a text or a label is an error), so their rows are the same rows.
    """
    if parsed.text_column == text_b_column:
        raise DatasetFileError(
            path,
            [
                RowError(
                    None,
                    "text_column",
                    f"give text_column as well: the first text was detected as {text_b_column!r}",
                )
            ],
        )
    second = read_dataset_file(path, text_b_column, parsed.label_column)
    if len(second.texts) != len(parsed.texts):
        raise DatasetFileError(
            path, [RowError(None, text_b_column, "the two text columns have different rows")]
        )
    return [(_single(a), _single(b)) for a, b in zip(parsed.texts, second.texts, strict=True)]


def _single(text: Example) -> str:
    """A text of a file read with one text column (always a single text)."""
    if not isinstance(text, str):
        raise TypeError("expected a single text, got a pair")
    return text


def _remap(parsed: ParsedDataset, label_names: list[str], source: str) -> list[int]:
    index = {n: i for i, n in enumerate(label_names)}
    unknown = sorted(set(parsed.label_names) - set(index))
    if unknown:
        raise DatasetFileError(
            source,
            [
                RowError(
                    None,
                    parsed.label_column or "label",
                    f"labels {unknown} do not occur in the training data",
                )
            ],
        )
    return [index[parsed.label_names[y]] for y in parsed.labels]


def build_task(
    dataset: str = "demo-sentiment",
    eval_dataset: str | None = None,
    k_shot: int | None = 16,
    eval_size: int | None = None,
    seed: int = 0,
    text_column: str | None = None,
    label_column: str | None = None,
    text_b_column: str | None = None,
    val_size: int | None = None,
) -> Task:
    """Resolve a run's data: k-shot training rows (by `seed`), validation rows, and the evaluation rows
    (fixed for every seed).

    Evaluation comes from `eval_dataset`, else the built-in's own evaluation file (sst2: dev.tsv), else a
    stratified held-out split of `dataset` made before k-shot sampling (so training never sees it).
    Validation (LM-BFF / MeZO's protocol): a second k-shot sample of the training pool, disjoint from the
    training rows, drawn with its own seed and capped at `val_size` rows (stratified); none when every row
    trains (`k_shot` null) or none is left.
    """
    train_part, builtin_eval = _load(dataset, text_column, label_column, text_b_column)
    label_names = train_part.label_names
    if eval_dataset is not None:
        eval_part, _ = _load(eval_dataset, text_column, label_column, text_b_column)
        eval_texts, eval_labels = eval_part.texts, _remap(eval_part, label_names, eval_dataset)
        pool = list(range(len(train_part)))
    elif builtin_eval is not None:
        eval_texts, eval_labels = builtin_eval.texts, _remap(builtin_eval, label_names, dataset)
        pool = list(range(len(train_part)))
    else:
        pool, held = held_out_split(train_part.labels)
        eval_texts = [train_part.texts[i] for i in held]
        eval_labels = [train_part.labels[i] for i in held]
    if eval_size is not None and eval_size < len(eval_texts):
        keep = sorted(random.Random(SPLIT_SEED).sample(range(len(eval_texts)), eval_size))
        eval_texts = [eval_texts[i] for i in keep]
        eval_labels = [eval_labels[i] for i in keep]

    pool_labels = [train_part.labels[i] for i in pool]
    chosen = [pool[i] for i in k_shot_indices(pool_labels, k_shot, seed)]
    validation: list[int] = []
    if k_shot is not None:
        taken = set(chosen)
        rest = [i for i in pool if i not in taken]
        per_class = k_shot if val_size is None else max(1, min(k_shot, val_size // len(label_names)))
        rest_labels = [train_part.labels[i] for i in rest]
        validation = [rest[i] for i in k_shot_indices(rest_labels, per_class, seed + VALIDATION_SEED_OFFSET)]
    name = dataset if builtin_dataset(dataset) is not None else Path(dataset).name
    return Task(
        name=name,
        train_texts=[train_part.texts[i] for i in chosen],
        train_labels=[train_part.labels[i] for i in chosen],
        eval_texts=eval_texts,
        eval_labels=eval_labels,
        label_names=label_names,
        label_words=_label_words(dataset, label_names),
        val_texts=[train_part.texts[i] for i in validation],
        val_labels=[train_part.labels[i] for i in validation],
    )


def iter_batches(n_examples: int, batch_size: int, seed: int) -> Iterator[list[int]]:
    """Endless index batches, reshuffled each epoch with `seed`: the same sequence for every method.

    A batch never spans two epochs; when the training set is smaller than a batch, the batch is the whole set.
    """
    rng = random.Random(seed)
    size = min(batch_size, n_examples)
    while True:
        perm = list(range(n_examples))
        rng.shuffle(perm)
        for start in range(0, n_examples - size + 1, size):
            yield perm[start : start + size]
