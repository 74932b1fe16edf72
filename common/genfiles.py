"""Read generation files (prompt -> completion pairs) and say exactly what is wrong with them.

Pure Python (the web backend validates uploads with it, the engine reads its data with it). Three layouts,
told apart by their columns (JSONL keys):

- ``prompt`` / ``completion`` columns (CSV, TSV or JSONL);
- the instruction layout: ``instruction``, an optional ``input``, ``output``; the prompt is the instruction
  with the input as a paragraph of its own when there is one;
- chat JSONL: ``messages``, a list of ``{"role", "content"}`` turns (system, then user and assistant in
  turn); the last turn is the assistant's answer, the completion, and the turns before it the prompt.

Decoding (UTF-8 or Shift_JIS), the file kinds, the size and row limits and the problem list are those of
``common.datafiles``; so are row numbers: 1-based lines of the file as a person sees it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from common.datafiles import (
    MAX_BYTES,
    MAX_ROWS,
    DatasetFileError,
    Problems,
    Rows,
    as_text,
    read_rows,
    shown_columns,
)
from common.pairs import Pair, PairLayout, ParsedPairs
from common.reasons import Reason

DatasetKind = Literal["classification", "generation"]
CHAT_ROLES = ("system", "user", "assistant")

# The columns each layout needs (lower case; a file's own spelling is kept when reading).
_LAYOUT_COLUMNS: dict[PairLayout, tuple[str, ...]] = {
    "chat": ("messages",),
    "instruction": ("instruction", "output"),
    "prompt_completion": ("prompt", "completion"),
}
# A column only a generation file has: its presence makes the file one, even when its layout is incomplete
# (a "prompt" column without "completion" is a generation file with a missing column, not a labelled one).
_GENERATION_ONLY = ("prompt", "completion", "instruction", "messages")
ACCEPTED_LAYOUTS = "prompt + completion; instruction (+ input) + output; messages (chat JSONL)"

# The problems of a generation file: a stable code, its English sentence and the parameters that fill it
# (the dashboard words each code in the reader's language).
PROBLEMS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason(
            "no_pair_layout",
            "no generation layout in the columns {columns}; accepted: {accepted}",
        ),
        Reason("empty_prompt", "the prompt is empty"),
        Reason("empty_completion", "the completion is empty"),
        Reason("chat_not_a_list", "messages must be a non-empty list of turns, each with a role and content"),
        Reason("chat_bad_turn", "turn {turn} is not an object with a text role and content"),
        Reason("chat_unknown_role", "turn {turn} has the role {role}; roles are system, user and assistant"),
        Reason("chat_role_order", "turn {turn} is {role} where {expected} was expected"),
        Reason("chat_no_assistant", "the chat has no assistant turn to learn from"),
        Reason("chat_ends_with_user", "the chat ends with a user turn: the last turn must be the answer"),
        Reason("chat_empty_turn", "turn {turn} ({role}) is empty"),
    )
}


def _add(problems: Problems, row: int | None, where: str, code: str, **params: Any) -> None:
    problems.add(row, where, PROBLEMS[code].format(params), code, params)


def pair_layout(columns: list[str]) -> PairLayout | None:
    """The layout a file's columns make, or None; chat first (a chat file may carry other keys)."""
    names = {c.lower() for c in columns}
    for layout, needed in _LAYOUT_COLUMNS.items():
        if all(n in names for n in needed):
            return layout
    return None


def detect_dataset_kind(columns: list[str]) -> DatasetKind:
    """ "generation" when a column only generation files have is there, else "classification"."""
    names = {c.lower() for c in columns}
    return "generation" if any(n in names for n in _GENERATION_ONLY) else "classification"


def _column(columns: list[str], name: str) -> str | None:
    """The file's own spelling of a column name (``Prompt``), matched without regard to case."""
    return next((c for c in columns if c.lower() == name), None)


def chat_as_text(turns: tuple[tuple[str, str], ...]) -> str:
    """Chat turns as one plain prompt, for models without a chat template: a lone question as it is,
    otherwise each turn after its role, a paragraph each."""
    if len(turns) == 1 and turns[0][0] == "user":
        return turns[0][1]
    return "\n\n".join(f"{role.capitalize()}: {content}" for role, content in turns)


def _chat_pair(line: int, where: str, messages: Any, problems: Problems) -> Pair | None:
    """The pair one chat record makes, or None after recording why it makes none."""
    if not isinstance(messages, list) or not messages:
        _add(problems, line, where, "chat_not_a_list")
        return None
    turns: list[tuple[str, str]] = []
    for number, turn in enumerate(messages, start=1):
        if not (isinstance(turn, dict) and isinstance(turn.get("role"), str)):
            _add(problems, line, where, "chat_bad_turn", turn=number)
            return None
        content = turn.get("content")
        if not isinstance(content, str):
            _add(problems, line, where, "chat_bad_turn", turn=number)
            return None
        role = turn["role"].strip().lower()
        if role not in CHAT_ROLES:
            _add(problems, line, where, "chat_unknown_role", turn=number, role=turn["role"][:50])
            return None
        turns.append((role, content))
    if not any(role == "assistant" for role, _ in turns):
        _add(problems, line, where, "chat_no_assistant")
        return None
    # The order a chat template expects: an optional system turn, then user and assistant in turn.
    start = 1 if turns[0][0] == "system" else 0
    for index, (role, _) in enumerate(turns[start:], start=start):
        expected = "user" if (index - start) % 2 == 0 else "assistant"
        if role != expected:
            _add(problems, line, where, "chat_role_order", turn=index + 1, role=role, expected=expected)
            return None
    if turns[-1][0] != "assistant":
        _add(problems, line, where, "chat_ends_with_user")
        return None
    for number, (role, content) in enumerate(turns[:-1], start=1):
        if not content.strip():
            _add(problems, line, where, "chat_empty_turn", turn=number, role=role)
            return None
    answer = turns[-1][1].strip()
    if not answer:
        _add(problems, line, where, "empty_completion")
        return None
    before = tuple(turns[:-1])
    return Pair(prompt=chat_as_text(before), completion=answer, messages=before)


def _text_pair(
    line: int, prompt: str, completion: str, columns: tuple[str, str], problems: Problems
) -> Pair | None:
    ok = True
    if not prompt.strip():
        _add(problems, line, columns[0], "empty_prompt")
        ok = False
    if not completion.strip():
        _add(problems, line, columns[1], "empty_completion")
        ok = False
    return Pair(prompt=prompt.strip(), completion=completion.strip()) if ok else None


def pairs_from_rows(read: Rows) -> ParsedPairs:
    """The pairs of records ``common.datafiles.read_rows`` read (the problems it found are kept)."""
    result = ParsedPairs(columns=read.columns, encoding=read.encoding)
    problems = read.problems
    if read.rows and not problems.full:
        result.layout = pair_layout(read.columns)
        if result.layout is None:
            _add(
                problems,
                None,
                "file",
                "no_pair_layout",
                columns=shown_columns(read.columns),
                accepted=ACCEPTED_LAYOUTS,
            )
        else:
            _read_pairs(result, read, problems)
    result.errors = problems.items
    result.stopped = problems.full
    return result


def _read_pairs(result: ParsedPairs, read: Rows, problems: Problems) -> None:
    layout, columns = result.layout, read.columns
    if layout == "chat":
        where = _column(columns, "messages") or "messages"
    elif layout == "instruction":
        instruction, output = _column(columns, "instruction"), _column(columns, "output")
        extra = _column(columns, "input")
    else:
        prompt_col, completion_col = _column(columns, "prompt"), _column(columns, "completion")
    for line, record in read.rows:
        if problems.full:
            return
        if layout == "chat":
            pair = _chat_pair(line, where, record.get(where), problems)
        elif layout == "instruction":
            assert instruction is not None and output is not None
            prompt = as_text(record.get(instruction)).strip()
            given = as_text(record.get(extra)).strip() if extra else ""
            if prompt and given:
                prompt = f"{prompt}\n\n{given}"
            pair = _text_pair(line, prompt, as_text(record.get(output)), (instruction, output), problems)
        else:
            assert prompt_col is not None and completion_col is not None
            pair = _text_pair(
                line,
                as_text(record.get(prompt_col)),
                as_text(record.get(completion_col)),
                (prompt_col, completion_col),
                problems,
            )
        if pair is not None:
            result.pairs.append(pair)


def parse_pairs_bytes(
    data: bytes, filename: str, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES
) -> ParsedPairs:
    """Parse an uploaded generation file; never raises for bad content, the problems are in `.errors`."""
    return pairs_from_rows(read_rows(data, filename, max_rows, max_bytes))


def read_pairs_file(path: str | Path, strict: bool = True, **limits: int) -> ParsedPairs:
    """Read a generation file from disk; with `strict` a file with any problem raises DatasetFileError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset file not found: {path}")
    # The size check before reading: a file far over the limit is never loaded into memory.
    max_bytes = limits.get("max_bytes", MAX_BYTES)
    size = path.stat().st_size
    if size > max_bytes:
        problems = Problems()
        problems.add(None, "file", f"{size} bytes is over the limit of {max_bytes} bytes")
        parsed = ParsedPairs(errors=problems.items)
    else:
        parsed = parse_pairs_bytes(path.read_bytes(), path.name, **limits)
    if strict and parsed.errors:
        raise DatasetFileError(str(path), parsed.errors)
    return parsed
