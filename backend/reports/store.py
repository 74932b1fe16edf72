"""Report rows: created with an unguessable token and an expiry, looked up by token, revoked.

A token is 32 random bytes from ``secrets`` (URL-safe base64, 43 characters): guessing one is hopeless, so
the token alone is the read permission. It grants nothing else: every route that takes only a token reads.
Only its SHA-256 is stored (like API tokens): the link is in the answer that creates the report, and a
copy of the database holds no working link. A report of a deleted PoC is no longer served, and deleting a
PoC revokes its reports (``revoke_poc_reports``).
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.secrets import digest
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


def create_report(
    session: Session,
    poc: Poc,
    language: str,
    expires_in_days: int,
    data_dir,
    catalog: list[gpus.Gpu],
    now: dt.datetime | None = None,
    time_zone: str | None = None,
) -> tuple[Report, str]:
    """Freeze ``poc`` into a new report row (committed); return it and its token (not stored)."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ValueError(f"expires_in_days must lie in [1, {MAX_EXPIRY_DAYS}]")
    now = now or dt.datetime.now(dt.UTC)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    report = Report(
        poc_id=poc.id,
        token_hash=digest(token),
        token_prefix=token[:8],
        language=language,
        snapshot=build_snapshot(session, poc, data_dir, catalog, now=now, time_zone=time_zone),
        created_at=now,
        expires_at=now + dt.timedelta(days=expires_in_days),
    )
    session.add(report)
    session.commit()
    return report, token


def get_report(session: Session, token: str, now: dt.datetime | None = None) -> Report:
    """The live report with ``token``; raises ``ReportNotFound`` (unknown, revoked, its PoC deleted) or
    ``ReportExpired``."""
    found = session.execute(
        sa.select(Report, Poc.deleted_at)
        .outerjoin(Poc, Poc.id == Report.poc_id)
        .where(Report.token_hash == digest(token))
    ).first()
    if found is None:
        raise ReportNotFound(token)
    report, poc_deleted_at = found
    if report.revoked_at is not None or report.poc_id is None or poc_deleted_at is not None:
        raise ReportNotFound(token)
    now = now or dt.datetime.now(dt.UTC)
    if report.expires_at is not None and as_utc(report.expires_at) <= now:
        raise ReportExpired(token)
    return report


def find_poc_report(session: Session, poc_id: str, reference: str) -> Report | None:
    """The report of PoC ``poc_id`` named by its id or by its token (any state), or None."""
    return session.scalar(
        sa.select(Report).where(
            Report.poc_id == poc_id, sa.or_(Report.id == reference, Report.token_hash == digest(reference))
        )
    )


def revoke_report(session: Session, report: Report) -> Report:
    """Revoke ``report`` at once (committed); revoking a revoked or expired report changes nothing more."""
    report.revoked_at = report.revoked_at or dt.datetime.now(dt.UTC)
    session.commit()
    return report


def revoke_poc_reports(session: Session, poc_id: str) -> None:
    """Revoke every live report of a PoC, in the caller's transaction (the PoC is being deleted)."""
    session.execute(
        sa.update(Report)
        .where(Report.poc_id == poc_id, Report.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )


def list_reports(session: Session, poc_id: str) -> list[Report]:
    """The reports of a PoC, newest first (revoked and expired included, for the manager's overview)."""
    return list(
        session.scalars(sa.select(Report).where(Report.poc_id == poc_id).order_by(Report.created_at.desc()))
    )
