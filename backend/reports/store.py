"""Report rows: created with an unguessable token and an expiry, looked up by token, revoked.

A token is 32 random bytes from ``secrets`` (URL-safe base64, 43 characters): guessing one is hopeless, so
the token alone is the read permission. It grants nothing else: every route that takes only a token reads.
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.db.models import Poc, Report
from backend.estimates import gpus
from backend.reports.snapshot import build_snapshot

TOKEN_BYTES = 32
LANGUAGES = ("en", "ja")
MAX_EXPIRY_DAYS = 365


class ReportNotFound(LookupError):
    """No report with this token, or it was revoked: the same answer for both (404)."""


class ReportExpired(LookupError):
    """The report existed but its link has expired (410)."""


def as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite returns naive datetimes; every timestamp we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def create_report(session: Session, poc: Poc, language: str, expires_in_days: int, data_dir,
                  catalog: list[gpus.Gpu], now: dt.datetime | None = None) -> Report:
    """Freeze ``poc`` into a new report row (committed) and return it."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ValueError(f"expires_in_days must lie in [1, {MAX_EXPIRY_DAYS}]")
    now = now or dt.datetime.now(dt.UTC)
    report = Report(poc_id=poc.id, token=secrets.token_urlsafe(TOKEN_BYTES), language=language,
                    snapshot=build_snapshot(session, poc, data_dir, catalog, now=now), created_at=now,
                    expires_at=now + dt.timedelta(days=expires_in_days))
    session.add(report)
    session.commit()
    return report


def get_report(session: Session, token: str, now: dt.datetime | None = None) -> Report:
    """The live report with ``token``; raises ``ReportNotFound`` or ``ReportExpired``."""
    report = session.scalar(sa.select(Report).where(Report.token == token))
    if report is None or report.revoked_at is not None:
        raise ReportNotFound(token)
    now = now or dt.datetime.now(dt.UTC)
    if report.expires_at is not None and as_utc(report.expires_at) <= now:
        raise ReportExpired(token)
    return report


def revoke_report(session: Session, poc_id: str, token: str) -> bool:
    """Revoke the report ``token`` of PoC ``poc_id`` at once; False when there is no such live report."""
    report = session.scalar(sa.select(Report).where(Report.token == token, Report.poc_id == poc_id))
    if report is None or report.revoked_at is not None:
        return False
    report.revoked_at = dt.datetime.now(dt.UTC)
    session.commit()
    return True


def list_reports(session: Session, poc_id: str) -> list[Report]:
    """The reports of a PoC, newest first (revoked and expired included, for the manager's overview)."""
    return list(session.scalars(sa.select(Report).where(Report.poc_id == poc_id)
                                .order_by(Report.created_at.desc())))
