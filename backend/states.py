"""A PoC's state, derived from its runs and stored on its row whenever one of them changes.

Stored (``pocs.state``) so that lists filter by it in SQL, and announced (a ``poc`` event) so the dashboard
shows the server's answer instead of working it out again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.db.models import Poc, Run

POC_STATES = ("queued", "running", "succeeded", "failed", "cancelled", "mixed")


def latest_runs(runs: Sequence[Run]) -> list[Run]:
    """The newest attempt of each method (a retry replaces the run it retries), in creation order."""
    newest: dict[str, Run] = {}
    for run in sorted(runs, key=lambda r: (r.created_at, r.attempt)):
        newest[run.method] = run
    return list(newest.values())


def poc_state(runs: Sequence[Run]) -> str:
    """One state for the PoC, from the newest attempt of each method.

    All runs in one state: that state. Some still queued or running: "running" (or "queued" if nothing
    started). All finished but differently: "mixed".
    """
    states = {run.state for run in latest_runs(runs)}
    if not states:
        return "queued"
    if len(states) == 1:
        return states.pop()
    if states & {"running", "queued"}:
        return "running"
    return "mixed"


def refresh_poc_state(session: Session, poc_id: str) -> str | None:
    """Recompute the PoC's state from its runs and store it; returns the new state when it changed."""
    session.flush()
    runs = session.scalars(sa.select(Run).where(Run.poc_id == poc_id)).all()
    state = poc_state(runs)
    poc = session.get(Poc, poc_id)
    if poc is None or poc.state == state:
        return None
    poc.state = state
    return state
