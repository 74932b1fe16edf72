"""The API's error bodies: ``{"detail": "text"}`` or ``{"detail": {"message", "errors": [...]}}``; a refusal
that clients tell apart by reason adds a ``code`` beside the text: ``{"detail": "text", "code": "name"}``.

The service layer raises ``backend.errors`` refusals without knowing HTTP; ``domain_error_handler`` is the
one place they become status codes and bodies."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.errors import Conflict, DomainError, Forbidden, Invalid, LimitReached, NotFound
from backend.schemas import Message, ValidationProblem
from common.datafiles import MAX_ERRORS as MAX_PROBLEMS


def problem(status_code: int, message: str, errors: Iterable[dict[str, Any]]) -> HTTPException:
    """An HTTPException whose body lists one ``{"row", "field", "problem"}`` per problem."""
    return HTTPException(status_code, detail={"message": message, "errors": list(errors)})


def field_problem(
    field: str, text: str, status_code: int = status.HTTP_422_UNPROCESSABLE_CONTENT
) -> HTTPException:
    """A validation error about one field of the request."""
    return problem(status_code, f"{field}: {text}", [{"row": None, "field": field, "problem": text}])


def coded_answer(status_code: int, code: str, text: str) -> JSONResponse:
    """``{"detail": text, "code": code}``: ``detail`` stays the English sentence for people and API users,
    ``code`` is stable for programs (the dashboard words each code in the reader's language)."""
    return JSONResponse(status_code=status_code, content={"detail": text, "code": code})


def domain_error_response(exc: DomainError) -> JSONResponse:
    """The answer for a service refusal: its status by kind, its words, its code when it has one."""
    headers = None
    if isinstance(exc, Invalid):
        status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
        detail: Any = {"message": exc.message, "errors": [p.as_dict() for p in exc.problems]}
    elif isinstance(exc, LimitReached):
        status_code = status.HTTP_429_TOO_MANY_REQUESTS
        detail = {"message": exc.message, "limit": exc.limit, "errors": []}
        if exc.retry_after_s is not None:
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
    else:
        status_code = _STATUS_BY_KIND.get(type(exc), status.HTTP_400_BAD_REQUEST)
        detail = exc.message
    content: dict[str, Any] = {"detail": detail}
    if exc.code:
        content["code"] = exc.code
        if exc.params:
            content["params"] = exc.params
    return JSONResponse(status_code=status_code, content=content, headers=headers)


_STATUS_BY_KIND: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    Forbidden: status.HTTP_403_FORBIDDEN,
}


async def domain_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return domain_error_response(exc)


async def request_validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own validation errors, reshaped to the contract's ``{message, errors}`` form."""
    assert isinstance(exc, RequestValidationError)
    errors = []
    # At most MAX_PROBLEMS entries: a body can hold thousands of wrong keys, the answer stays small.
    for error in exc.errors()[:MAX_PROBLEMS]:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
        field = ".".join(loc) or "request"
        # pydantic words a validator's own ValueError "Value error, <text>": the text is what people need
        problem_text = str(error.get("msg", "invalid")).removeprefix("Value error, ")[:500]
        errors.append({"row": None, "field": field, "problem": problem_text})
    message = "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:3]) or "invalid request"
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": {"message": message, "errors": errors}},
    )


async def body_too_large_handler(request: Request, exc: Exception) -> Response:
    """413s: the body limit's own refusal (Starlette's "Content Too Large") reworded with the route's
    limit (``backend.api.guard``); a route's own 413 keeps its words."""
    from fastapi.exception_handlers import http_exception_handler

    from backend.api.guard import body_size_refusal

    assert isinstance(exc, StarletteHTTPException)
    if exc.detail != "Content Too Large":
        return await http_exception_handler(request, exc)
    return JSONResponse(
        status_code=status.HTTP_413_CONTENT_TOO_LARGE,
        content=body_size_refusal(request.scope),
        headers={"Connection": "close"},
    )


async def database_unavailable_handler(_request: Request, _exc: Exception) -> JSONResponse:
    """503 + Retry-After when the database refuses or drops connections (a restart, a failover, a full
    pool): a passing condition the client should retry, not a server bug (500)."""
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
        content={"detail": "the database is unavailable right now; retry in a few seconds"},
    )


async def nul_character_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 for text with a NUL character, which Postgres cannot store (any field: names, ids, e-mails).

    Caught where the database refuses it, so every route is covered at once; any other DataError is a
    real server problem and stays a 500.
    """
    if "NUL (0x00)" not in str(exc):
        raise exc
    text = "text must not contain NUL (0x00) characters"
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": {"message": text, "errors": [{"row": None, "field": "request", "problem": text}]}},
    )


# OpenAPI: the error answers routes declare with ``responses=``.
# The extra answers a route documents in OpenAPI (FastAPI's ``responses=``).
Responses = dict[int | str, dict[str, Any]]

NOT_FOUND: Responses = {404: {"model": Message, "description": "no such id"}}
INVALID: Responses = {
    422: {"model": ValidationProblem, "description": "invalid input, one entry per problem"}
}
CONFLICT: Responses = {409: {"model": Message, "description": "not possible in the current state"}}
