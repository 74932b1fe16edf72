"""The first administrator of a fresh install (run by ``python -m backend.prestart``).

With no users in the database, one admin is created from ``admin_email`` and ``admin_password``; when no
password is set a random one is generated and written to ``admin_password_file`` (readable by its owner
only; the log says where, never what). Either way the administrator is asked for a new password at first
sign-in (``must_change_password``), and the file is removed once they chose one. The admin owns the
"Default" workspace, which also holds PoCs and uploads from before accounts existed.
"""

from __future__ import annotations

import logging
import os
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.accounts import create_user
from backend.core.config import Settings
from backend.db.models import Membership, User, Workspace

log = logging.getLogger(__name__)


def ensure_admin(session: Session, settings: Settings) -> User | None:
    """Create the first admin if there is no user yet; return it (None when users already exist)."""
    if session.scalar(sa.select(sa.func.count()).select_from(User)):
        return None
    password = settings.admin_password or secrets.token_urlsafe(12)
    admin = create_user(session, settings.admin_email, password, name="Administrator", is_admin=True)
    admin.must_change_password = True
    workspaces = list(session.scalars(sa.select(Workspace)))
    if not workspaces:
        workspaces = [Workspace(name="Default")]
        session.add_all(workspaces)
        session.flush()
    for workspace in workspaces:  # from the migration: nobody owns them yet
        if session.get(Membership, (workspace.id, admin.id)) is None:
            session.add(Membership(workspace_id=workspace.id, user_id=admin.id, role="owner"))
    session.commit()
    if not settings.admin_password:
        write_secret_file(settings.admin_password_file, password + "\n")
        log.warning(
            "created the administrator %s; the first password is in %s (readable by this account "
            "only): sign in, choose a new password, and the file is removed",
            admin.email,
            settings.admin_password_file,
        )
    return admin


def write_secret_file(path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by the owner only (created that way, no window)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # an older file kept its mode through O_TRUNC


def forget_first_password(settings: Settings, user: User) -> None:
    """Remove the first administrator's password file once they chose their own password."""
    if user.email == settings.admin_email.strip().lower():
        try:
            settings.admin_password_file.unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove %s", settings.admin_password_file, exc_info=True)
