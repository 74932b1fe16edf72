"""Read labelled text files (CSV, TSV, JSONL) and tell the user exactly what is wrong with them.

Pure Python on purpose (no torch, no numpy): the web backend validates uploads with this module.

Row numbers in errors are 1-based line numbers of the file as a person sees it in an editor
(for CSV/TSV the header is line 1, so the first data row is line 2; for JSONL every line is a record).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
# Reading stops at this many problems: a file of a million bad lines costs as much as one of 50, and the
# answer that lists them stays small.
MAX_ERRORS = 50
# Columns a file may have (a JSONL line can name any number of keys); more is refused, not tracked.
MAX_COLUMNS = 1000
# Column names shown in a message about columns; the rest is counted.
_SHOWN_COLUMNS = 20

TEXT_COLUMN_NAMES = ("text", "sentence", "content", "review", "document", "utterance", "question", "input")
LABEL_COLUMN_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y", "output")


@dataclass(frozen=True)
class RowError:
    """One problem in an uploaded file; `row` is None for problems of the whole file.

    ``code`` and ``params`` (optional) name the problem for readers in another language; ``problem`` stays
    the English sentence, the fallback for problems without a code.
    """

    row: int | None
    field: str
    problem: str
    code: str | None = None
    params: dict[str, Any] | None = None

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"row": self.row, "field": self.field, "problem": self.problem}
        if self.code:
            out["code"] = self.code
            out["params"] = self.params or {}
        return out


# One input: a text, or (text_a, text_b) for a task on a pair of texts (NLI, paraphrase).
Example = str | tuple[str, str]


@dataclass
class ParsedDataset:
    """Texts with integer labels; label i is `label_names[i]` (names sorted, numerically when all numbers)."""

    texts: list[Example] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    label_names: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    text_column: str | None = None
    label_column: str | None = None
    errors: list[RowError] = field(default_factory=list)
    # True when reading stopped at MAX_ERRORS problems: there may be more.
    stopped: bool = False
    # The text encoding the file was read in: "utf-8" or "cp932" (Shift_JIS as Windows writes it).
    encoding: str = "utf-8"

    @property
    def ok(self) -> bool:
        return not self.errors

    def __len__(self) -> int:
        return len(self.texts)


class DatasetFileError(ValueError):
    """Raised by `read_dataset_file(..., strict=True)`; carries the row errors."""

    def __init__(self, source: str, errors: list[RowError]):
        self.errors = errors
        lines = [
            f"line {e.row}: {e.field}: {e.problem}" if e.row else f"{e.field}: {e.problem}" for e in errors
        ]
        super().__init__(f"{source}: " + "; ".join(lines[:5]) + (" …" if len(lines) > 5 else ""))


class Problems:
    """The problems found so far, at most ``MAX_ERRORS``; ``full`` tells the reader to stop."""

    def __init__(self, limit: int = MAX_ERRORS) -> None:
        self.items: list[RowError] = []
        self.limit = limit

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limit

    def add(
        self,
        row: int | None,
        where: str,
        problem: str,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        if not self.full:
            self.items.append(RowError(row, where, problem, code, params))

    def append(self, error: RowError) -> None:
        if not self.full:
            self.items.append(error)


def shown_columns(columns: list[str]) -> str:
    """Column names for a message: the first few, then how many more."""
    more = len(columns) - _SHOWN_COLUMNS
    names = [name[:100] for name in columns[:_SHOWN_COLUMNS]]
    return f"{names}" + (f" and {more} more" if more > 0 else "")


def sort_label_names(names) -> list[str]:
    """Stable label order: numeric order when every name is an integer, else alphabetical."""
    names = set(names)
    try:
        return sorted(names, key=lambda s: (int(s), s))
    except ValueError:
        return sorted(names)


def file_kind(filename: str, head: str) -> str:
    lower = filename.lower()
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lower.endswith(".tsv") or lower.endswith(".tab"):
        return "tsv"
    if lower.endswith(".csv"):
        return "csv"
    # unknown extension: guess from the first line
    first = head.splitlines()[0] if head else ""
    if first.lstrip().startswith("{"):
        return "jsonl"
    return "tsv" if first.count("\t") > first.count(",") else "csv"


def read_table(
    text: str, kind: str, max_rows: int, problems: Problems
) -> tuple[list[str], list[tuple[int, dict]]]:
    """Rows of a CSV/TSV with their line numbers; the first line is the header.

    Every data line counts toward ``max_rows``, good or bad; reading stops at the row limit or when
    ``problems`` is full.
    """
    if kind == "tsv":
        # GLUE-style TSV has no quoting: a quote character is part of the text
        reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        problems.add(None, "file", "the file has no header line")
        return [], []
    except csv.Error as exc:
        problems.add(1, "file", f"unreadable header: {exc}")
        return [], []
    header = [h.strip() for h in header]
    if len(header) > MAX_COLUMNS:
        problems.add(1, "header", f"{len(header)} columns; at most {MAX_COLUMNS} are read")
        return [], []
    if len(set(header)) != len(header):
        problems.add(1, "header", f"duplicate column names in {shown_columns(header)}")
    rows: list[tuple[int, dict]] = []
    data_lines = 0
    try:
        for values in reader:
            line = reader.line_num
            if not values or all(not v.strip() for v in values):
                continue  # blank lines are not data
            data_lines += 1
            if data_lines > max_rows:
                problems.add(line, "file", f"more than {max_rows} rows (the limit)")
                break
            if len(values) != len(header):
                problems.add(line, "row", f"has {len(values)} fields, the header has {len(header)}")
            else:
                rows.append((line, dict(zip(header, values))))
            if problems.full:
                break
    except csv.Error as exc:
        problems.add(reader.line_num, "row", f"unreadable: {exc}")
    return header, rows


def read_jsonl(text: str, max_rows: int, problems: Problems) -> tuple[list[str], list[tuple[int, dict]]]:
    """Records of a JSONL file with their line numbers, values as JSON gave them; the same limits as
    ``read_table``."""
    rows: list[tuple[int, dict]] = []
    columns: dict[str, None] = {}  # insertion-ordered, O(1) membership
    data_lines = 0
    for line_no, line in enumerate(io.StringIO(text), start=1):
        if problems.full:
            break
        if not line.strip():
            continue
        data_lines += 1
        if data_lines > max_rows:
            problems.add(line_no, "file", f"more than {max_rows} rows (the limit)")
            break
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add(line_no, "row", f"not valid JSON: {exc.msg}", "not_json", {"detail": exc.msg})
            continue
        if not isinstance(record, dict):
            problems.add(line_no, "row", "is not a JSON object", "not_json_object")
            continue
        columns.update(dict.fromkeys(record))
        if len(columns) > MAX_COLUMNS:
            problems.add(line_no, "row", f"the records name more than {MAX_COLUMNS} different keys")
            break
        rows.append((line_no, record))
    return list(columns), rows


def _detect_label_column(columns: list[str], rows: list[tuple[int, dict]], exclude: str | None) -> str | None:
    candidates = [c for c in columns if c != exclude]
    for name in LABEL_COLUMN_NAMES:
        for c in candidates:
            if c.lower() == name:
                return c
    # otherwise: the column with the fewest distinct values (labels repeat, texts do not)
    sample = rows[:2000]
    best, best_distinct = None, None
    for c in candidates:
        distinct = len({r.get(c, "") for _, r in sample})
        if (
            distinct >= 2
            and distinct <= max(2, len(sample) // 2)
            and (best_distinct is None or distinct < best_distinct)
        ):
            best, best_distinct = c, distinct
    return best


def _detect_text_column(columns: list[str], rows: list[tuple[int, dict]], exclude: str | None) -> str | None:
    candidates = [c for c in columns if c != exclude]
    for name in TEXT_COLUMN_NAMES:
        for c in candidates:
            if c.lower() == name:
                return c
    # otherwise: the column whose values are longest on average and mostly not numbers
    sample = rows[:2000]
    best, best_len = None, 0.0
    for c in candidates:
        values = [r.get(c, "") for _, r in sample]
        if not values:
            continue
        numeric = sum(1 for v in values if _is_number(v))
        mean_len = sum(len(v) for v in values) / len(values)
        if numeric < len(values) / 2 and mean_len > best_len:
            best, best_len = c, mean_len
    return best


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# What Japanese Excel saves a CSV in by default: Windows' Shift_JIS (CP932, a superset of Shift_JIS).
JAPANESE_WINDOWS_ENCODING = "cp932"


def decode_upload(data: bytes) -> tuple[str, str] | RowError:
    """(text, encoding) of an uploaded file, or the problem with it.

    UTF-8 (with or without a byte-order mark) first. Otherwise the file is read as CP932 only when
    charset-normalizer finds that the likeliest reading of its bytes: a strict CP932 decode alone accepts
    many non-Japanese files (it maps most byte pairs to some character), so the decode is not the test.
    """
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    from charset_normalizer import from_bytes  # only for files that are not UTF-8

    guess = from_bytes(data, cp_isolation=["utf_8", JAPANESE_WINDOWS_ENCODING, "cp1252"]).best()
    if guess is not None and guess.encoding in (JAPANESE_WINDOWS_ENCODING, "shift_jis"):
        try:
            return data.decode(JAPANESE_WINDOWS_ENCODING), JAPANESE_WINDOWS_ENCODING
        except UnicodeDecodeError:
            pass
    line = data[:first_bad].count(b"\n") + 1
    looks_like = f" (it looks like {guess.encoding})" if guess is not None else ""
    return RowError(
        line,
        "file",
        f"bytes that are neither UTF-8 nor Shift_JIS at byte {first_bad}{looks_like}: "
        "save the file as UTF-8 (CSV UTF-8 in Excel)",
    )


@dataclass
class Rows:
    """A file's records before any kind-specific check: what every dataset reader starts from.

    ``rows`` are (line, record) pairs; a CSV/TSV record maps columns to text, a JSONL record holds the values
    as JSON gave them (a chat's ``messages`` stays a list). ``problems`` holds what reading found.
    """

    columns: list[str] = field(default_factory=list)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    encoding: str = "utf-8"
    problems: Problems = field(default_factory=Problems)


def read_rows(data: bytes, filename: str, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES) -> Rows:
    """Decode an uploaded file and split it into records, holding it to the size and row limits.

    `filename` decides the format by extension (.csv, .tsv, .jsonl); unknown extensions are sniffed. Never
    raises for bad content: when reading fails, ``rows`` is empty and ``problems`` says why.
    """
    result = Rows()
    if len(data) > max_bytes:
        result.problems.add(None, "file", f"{len(data)} bytes is over the limit of {max_bytes} bytes")
        return result
    decoded = decode_upload(data)
    if isinstance(decoded, RowError):
        result.problems.append(decoded)
        return result
    text, result.encoding = decoded
    if not text.strip():
        result.problems.add(None, "file", "the file is empty")
        return result
    kind = file_kind(filename, text[:4096])
    if kind == "jsonl":
        result.columns, result.rows = read_jsonl(text, max_rows, result.problems)
    else:
        result.columns, result.rows = read_table(text, kind, max_rows, result.problems)
    if not result.rows and not result.problems.items:
        result.problems.add(None, "file", "the file has a header but no data rows")
    return result


def as_text(value: Any) -> str:
    """A record's value as the text a column of a labelled file holds (JSON null is empty)."""
    return "" if value is None else str(value)


def parse_dataset_bytes(
    data: bytes,
    filename: str,
    text_column: str | None = None,
    label_column: str | None = None,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_BYTES,
    min_classes: int = 2,
) -> ParsedDataset:
    """Parse an uploaded file; never raises for bad content, the problems are in `.errors`.

    `filename` decides the format by extension (.csv, .tsv, .jsonl); unknown extensions are sniffed.
    The text and label columns are detected unless given. String labels map to ids in sorted order.
    """
    return labelled_rows(
        read_rows(data, filename, max_rows, max_bytes), text_column, label_column, min_classes
    )


def labelled_rows(
    read: Rows, text_column: str | None = None, label_column: str | None = None, min_classes: int = 2
) -> ParsedDataset:
    """The texts and labels of records ``read_rows`` read (the problems it found are kept)."""
    result = ParsedDataset(columns=read.columns, encoding=read.encoding)
    problems = read.problems
    if read.rows and not problems.full:
        rows = [(line, {k: as_text(v) for k, v in record.items()}) for line, record in read.rows]
        _check_rows(result, rows, read.columns, text_column, label_column, min_classes, problems)
    result.errors = problems.items
    result.stopped = problems.full
    return result


def _check_rows(
    result: ParsedDataset,
    rows: list[tuple[int, dict]],
    columns: list[str],
    text_column: str | None,
    label_column: str | None,
    min_classes: int,
    problems: Problems,
) -> None:
    """Find the text and label columns and read every row's text and label into ``result``."""
    if text_column is not None and text_column not in columns:
        problems.add(
            None, "text_column", f"no column named {text_column[:100]!r} (columns: {shown_columns(columns)})"
        )
        return
    if label_column is not None and label_column not in columns:
        problems.add(
            None,
            "label_column",
            f"no column named {label_column[:100]!r} (columns: {shown_columns(columns)})",
        )
        return
    text_col = text_column or _detect_text_column(columns, rows, exclude=label_column)
    if text_col is None:
        problems.add(None, "text_column", f"no text column found among {shown_columns(columns)}")
        return
    label_col = label_column or _detect_label_column(columns, rows, exclude=text_col)
    if label_col is None:
        problems.add(None, "label_column", f"no label column found among {shown_columns(columns)}")
        return
    result.text_column, result.label_column = text_col, label_col

    raw_labels: list[str] = []
    for line, row in rows:
        if problems.full:
            return
        text_value = row.get(text_col, "").strip()
        label_value = row.get(label_col, "").strip()
        if not text_value:
            problems.add(line, text_col, "the text is missing")
        if not label_value:
            problems.add(line, label_col, "the label is missing")
        if text_value and label_value:
            result.texts.append(text_value)
            raw_labels.append(label_value)

    names = sort_label_names(raw_labels)
    if raw_labels and len(names) < min_classes:
        problems.add(
            None,
            label_col,
            f"only {len(names)} class ({names[0][:100]!r}); at least {min_classes} are needed",
        )
    result.label_names = names
    index = {name: i for i, name in enumerate(names)}
    result.labels = [index[v] for v in raw_labels]


def read_dataset_file(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    strict: bool = True,
    **limits,
) -> ParsedDataset:
    """Read a dataset file from disk; with `strict` a file with any error raises DatasetFileError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset file not found: {path}")
    size = path.stat().st_size
    max_bytes = limits.get("max_bytes", MAX_BYTES)
    if size > max_bytes:
        parsed = ParsedDataset(
            errors=[RowError(None, "file", f"{size} bytes is over the limit of {max_bytes} bytes")]
        )
    else:
        parsed = parse_dataset_bytes(path.read_bytes(), path.name, text_column, label_column, **limits)
    if strict and parsed.errors:
        raise DatasetFileError(str(path), parsed.errors)
    return parsed
