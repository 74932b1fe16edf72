"""Limits: request rates (sign-in, launch), queued/running runs per user, PoC budget caps per role.

Rates use the ``limits`` library's moving window: in Redis (keys under ``redis_prefix``) when Redis is
configured, so every API process counts together; in memory otherwise (the embedded single process).
Every refusal says which limit was hit and what to do; rate refusals carry ``Retry-After``.
"""

from __future__ import annotations

import functools
import logging
import math
import time

import sqlalchemy as sa
from limits import parse
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.db.models import Run, User
from backend.errors import Invalid, LimitReached, Problem

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def _limiter(redis_url: str | None, prefix: str) -> MovingWindowRateLimiter:
    storage = RedisStorage(redis_url, key_prefix=f"{prefix}limits") if redis_url else MemoryStorage()
    return MovingWindowRateLimiter(storage)


def _rate_state(settings: Settings, limit_name: str, rate: str, key: str, *, count: bool) -> float | None:
    """Seconds to wait when ``key`` is over ``rate`` (None when not); with ``count`` this request counts."""
    item = parse(rate)
    limiter = _limiter(settings.redis_url, settings.redis_prefix)
    try:
        allowed = limiter.hit(item, limit_name, key) if count else limiter.test(item, limit_name, key)
        if allowed:
            return None
        reset_at, _remaining = limiter.get_window_stats(item, limit_name, key)
    except Exception:  # Redis away (restarting): a rate limit protects, it must not take the API down
        log.warning("rate limit %s not checked: its storage does not answer", limit_name, exc_info=True)
        return None
    return max(1.0, reset_at - time.time())


def hit(settings: Settings, limit_name: str, rate: str, key: str) -> None:
    """Count one request against ``rate`` for ``key``; raise LimitReached (429) once it is over."""
    wait = _rate_state(settings, limit_name, rate, key, count=True)
    if wait is not None:
        raise LimitReached(
            limit_name,
            f"too many {limit_name} requests: the limit is {rate}; try again in {math.ceil(wait)} s",
            wait,
        )


def refuse_when_over(settings: Settings, limit_name: str, rate: str, key: str, what: str) -> None:
    """LimitReached (429) when ``key`` already used up ``rate`` (nothing is counted here)."""
    wait = _rate_state(settings, limit_name, rate, key, count=False)
    if wait is not None:
        raise LimitReached(
            limit_name, f"too many {what}: the limit is {rate}; try again in {math.ceil(wait)} s", wait
        )


def count(settings: Settings, limit_name: str, rate: str, key: str) -> None:
    """Count one event (a failed sign-in) against ``rate`` for ``key``; never refuses by itself."""
    _rate_state(settings, limit_name, rate, key, count=True)


def active_runs(session: Session, user_id: str) -> int:
    """Queued and running runs that ``user_id`` launched (created, or retried), in every workspace."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Run)
            .where(Run.launched_by == user_id, Run.state.in_(("queued", "running")))
        )
        or 0
    )


def reserve_runs(session: Session, settings: Settings, user_id: str, new_runs: int) -> None:
    """Hold the launcher's lock (until the caller's commit) and refuse (LimitReached, 429) when ``new_runs``
    more would take the user over ``max_active_runs_per_user``.

    Check-then-insert without a lock let parallel launches all see room and all insert. The lock is a
    write to the user's row: on Postgres a row lock that the user's other launches wait for; on SQLite the
    database's write lock. It must be the transaction's first statement (SQLite cannot turn an older read
    snapshot into a write), so the reads before it are ended first.
    """
    session.commit()
    session.execute(
        sa.update(User)
        .where(User.id == user_id)
        .values(id=User.id)
        .execution_options(synchronize_session=False)
    )
    cap = settings.max_active_runs_per_user
    active = active_runs(session, user_id)
    if active + new_runs > cap:
        session.rollback()
        raise LimitReached(
            "concurrent_runs",
            f"concurrent-run limit: you have {active} run(s) queued or running and may have at most {cap}; "
            f"this would add {new_runs}. Wait for runs to finish or cancel some.",
        )


def check_budget(settings: Settings, role: str, steps: int | None, max_minutes: float | None) -> None:
    """Invalid (422) when a PoC's budget is over the caps of the launcher's role in the workspace."""
    problems = []
    step_cap = settings.max_steps_by_role.get(role)
    minute_cap = settings.max_minutes_by_role.get(role)
    if step_cap is not None and steps is not None and steps > step_cap:
        problems.append(
            Problem(
                "steps",
                f"the budget cap of the {role} role is {step_cap} steps; ask a "
                "workspace owner to launch a larger PoC",
            )
        )
    if minute_cap is not None and max_minutes is not None and max_minutes > minute_cap:
        problems.append(
            Problem(
                "max_minutes",
                f"the budget cap of the {role} role is {minute_cap:g} minutes; "
                "ask a workspace owner to launch a longer PoC",
            )
        )
    if problems:
        raise Invalid(problems)
