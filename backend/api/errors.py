"""The API's error bodies: ``{"detail": "text"}`` or ``{"detail": {"message", "errors": [...]}}``; a refusal
that clients tell apart by reason adds a ``code`` beside the text: ``{"detail": "text", "code": "name"}``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from backend.api.schemas import Message, ValidationProblem


def problem(status_code: int, message: str, errors: Iterable[dict[str, Any]]) -> HTTPException:
    """An HTTPException whose body lists one ``{"row", "field", "problem"}`` per problem."""
    return HTTPException(status_code, detail={"message": message, "errors": list(errors)})


def field_problem(field: str, text: str,
                  status_code: int = status.HTTP_422_UNPROCESSABLE_CONTENT) -> HTTPException:
    """A validation error about one field of the request."""
    return problem(status_code, f"{field}: {text}", [{"row": None, "field": field, "problem": text}])


def coded_answer(status_code: int, code: str, text: str) -> JSONResponse:
    """``{"detail": text, "code": code}``: ``detail`` stays the English sentence for people and API users,
    ``code`` is stable for programs (the dashboard words each code in the reader's language)."""
    return JSONResponse(status_code=status_code, content={"detail": text, "code": code})


async def request_validation_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's own validation errors, reshaped to the contract's ``{message, errors}`` form."""
    errors = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
        field = ".".join(loc) or "request"
        errors.append({"row": None, "field": field, "problem": error.get("msg", "invalid")})
    message = "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:3]) or "invalid request"
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                        content={"detail": {"message": message, "errors": errors}})


async def database_unavailable_handler(_request: Request, _exc: Exception) -> JSONResponse:
    """503 + Retry-After when the database refuses or drops connections (a restart, a failover, a full
    pool): a passing condition the client should retry, not a server bug (500)."""
    return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"},
                        content={"detail": "the database is unavailable right now; retry in a few seconds"})


async def nul_character_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 for text with a NUL character, which Postgres cannot store (any field: names, ids, e-mails).

    Caught where the database refuses it, so every route is covered at once; any other DataError is a
    real server problem and stays a 500.
    """
    if "NUL (0x00)" not in str(exc):
        raise exc
    text = "text must not contain NUL (0x00) characters"
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                        content={"detail": {"message": text,
                                            "errors": [{"row": None, "field": "request", "problem": text}]}})


# OpenAPI: the error answers routes declare with ``responses=``.
NOT_FOUND = {404: {"model": Message, "description": "no such id"}}
INVALID = {422: {"model": ValidationProblem, "description": "invalid input, one entry per problem"}}
CONFLICT = {409: {"model": Message, "description": "not possible in the current state"}}
