"""Refusals of the service layer, in words for a person and free of HTTP.

Services raise these; the API maps each kind to its status code and body in one place
(``backend.api.errors.domain_error_handler``). ``code`` (optional) is a stable name a program, or the
dashboard's translations, can tell refusals apart by; ``params`` fills its message in another language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: a field (``methods[0].rank``) or a row of an uploaded file."""

    field: str
    problem: str
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "problem": self.problem}


class DomainError(Exception):
    """Base of the service's refusals; ``message`` is the English sentence shown to people."""

    def __init__(
        self, message: str, *, code: str | None = None, params: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.params = params or {}


class NotFound(DomainError):
    """The resource does not exist, or the caller may not know that it does."""


class Conflict(DomainError):
    """Not possible in the resource's current state (cancel a finished run, retry a running one)."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class Invalid(DomainError):
    """The input is wrong; every problem is listed (nothing was written)."""

    def __init__(
        self,
        problems: Iterable[Problem],
        message: str | None = None,
        *,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.problems = list(problems)
        if message is None:
            message = "; ".join(f"{p.field}: {p.problem}" for p in self.problems[:3]) or "invalid input"
        super().__init__(message, code=code, params=params)


class LimitReached(DomainError):
    """A limit of the deployment (a rate, concurrent runs); ``retry_after_s`` when waiting helps."""

    def __init__(
        self,
        limit: str,
        message: str,
        retry_after_s: float | None = None,
        *,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, params=params)
        self.limit = limit
        self.retry_after_s = retry_after_s
