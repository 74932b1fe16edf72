"""(prompt, completion) pairs: what a generation PoC trains on and is scored against.

Pure Python (the web backend reads uploads with it, the engine trains on it). A pair keeps the chat turns
it came from, when it came from a chat file, so that a model with a chat template sees the conversation as
it was written rather than a flattened string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from common.datafiles import RowError

# The layouts a generation file may have: `prompt`/`completion` columns, the instruction layout
# (`instruction`, optional `input`, `output`), or chat JSONL (`messages` with `role` and `content`).
PairLayout = Literal["prompt_completion", "instruction", "chat"]


@dataclass(frozen=True)
class Pair:
    """One example: the prompt the model is given and the completion it should write.

    ``messages``: the chat turns before the answer (``{"role", "content"}`` dicts) when the pair came from a
    chat file; ``prompt`` is then those turns as plain text, for models without a chat template.
    """

    prompt: str
    completion: str
    messages: tuple[tuple[str, str], ...] | None = None  # (role, content), the answer excluded


@dataclass
class ParsedPairs:
    """A generation file read: its pairs in file order, or the problems that stop it being used."""

    pairs: list[Pair] = field(default_factory=list)
    layout: PairLayout | None = None
    columns: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    stopped: bool = False  # reading stopped at MAX_ERRORS problems: there may be more
    encoding: str = "utf-8"

    @property
    def ok(self) -> bool:
        return not self.errors

    def __len__(self) -> int:
        return len(self.pairs)
