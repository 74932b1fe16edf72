"""The first administrator of a fresh install (run by ``python -m backend.prestart``).

With no users in the database, one admin is created from ``admin_email`` and ``admin_password``; when no
password is set a random one is generated and printed once to stderr (never a fixed default). The admin
owns the "Default" workspace, which also holds PoCs and uploads from before accounts existed.
"""

from __future__ import annotations

import secrets
import sys

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.accounts import create_user
from backend.core.config import Settings
from backend.db.models import Membership, User, Workspace


def ensure_admin(session: Session, settings: Settings) -> User | None:
    """Create the first admin if there is no user yet; return it (None when users already exist)."""
    if session.scalar(sa.select(sa.func.count()).select_from(User)):
        return None
    password = settings.admin_password or secrets.token_urlsafe(12)
    admin = create_user(session, settings.admin_email, password, name="Administrator", is_admin=True)
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
        print(f"\nzopoc: created the administrator {admin.email} with the password\n\n    {password}\n\n"
              "It is shown only this once: sign in and keep it safe.\n", file=sys.stderr, flush=True)
    return admin
