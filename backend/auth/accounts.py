"""Accounts in the database: users, workspaces, memberships, browser sessions, API tokens, invites.

Functions take an open SQLAlchemy session and commit themselves when they change something, so routes,
the bootstrap and test fixtures share one way of creating users and credentials.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.secrets import digest, hash_password, new_token, verify_password
from backend.db.models import ROLES, ApiToken, AuthSession, Invite, Membership, User, Workspace, utcnow

SESSION_PREFIX = "zps"
API_TOKEN_PREFIX = "zpt"
INVITE_PREFIX = "zpi"


def role_rank(role: str | None) -> int:
    """0 for no role, then viewer < editor < owner."""
    return ROLES.index(role) + 1 if role in ROLES else 0


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session, email: str, password: str, *, name: str = "", is_admin: bool = False
) -> User:
    """A new user with an argon2 password hash (committed)."""
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        password_hash=hash_password(password),
        is_admin=is_admin,
    )
    session.add(user)
    session.commit()
    return user


def create_workspace(session: Session, name: str, owner: User | None = None) -> Workspace:
    """A new workspace, with ``owner`` as its owner when given (committed)."""
    workspace = Workspace(name=name.strip())
    session.add(workspace)
    session.flush()
    if owner is not None:
        session.add(Membership(workspace_id=workspace.id, user_id=owner.id, role="owner"))
    session.commit()
    return workspace


def set_role(session: Session, workspace_id: str, user_id: str, role: str) -> Membership:
    """Give ``user_id`` ``role`` in the workspace (adds or changes the membership; committed)."""
    membership = session.get(Membership, (workspace_id, user_id))
    if membership is None:
        membership = Membership(workspace_id=workspace_id, user_id=user_id, role=role)
        session.add(membership)
    membership.role = role
    session.commit()
    return membership


def role_in(session: Session, user_id: str, workspace_id: str) -> str | None:
    """The user's role in the workspace, or None when not a member."""
    return session.scalar(
        sa.select(Membership.role).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user_id
        )
    )


def memberships_of(session: Session, user_id: str) -> list[Membership]:
    """The user's workspaces, oldest membership first (the first is the default workspace)."""
    return list(
        session.scalars(
            sa.select(Membership)
            .where(Membership.user_id == user_id)
            .order_by(Membership.created_at, Membership.workspace_id)
        )
    )


def user_by_email(session: Session, email: str) -> User | None:
    """The user with this e-mail address (any case, surrounding spaces ignored), or None."""
    return session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def check_password(session: Session, email: str, password: str) -> User | None:
    """The enabled user with this e-mail and password, or None (same work either way)."""
    user = session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or user.disabled_at is not None:
        return None
    return user


def set_disabled(session: Session, user: User, disabled: bool) -> User:
    """Disable (or enable again) ``user`` (committed). A disabled user's sessions are deleted, and their
    API tokens and any session cookie they still hold are refused from the next request on."""
    _apply_disabled(session, user, disabled)
    session.commit()
    return user


def _apply_disabled(session: Session, user: User, disabled: bool) -> None:
    if disabled:
        user.disabled_at = user.disabled_at or utcnow()
        session.execute(sa.delete(AuthSession).where(AuthSession.user_id == user.id))
    else:
        user.disabled_at = None


class NoAdministratorLeft(Exception):
    """The change would leave zopoc without an enabled administrator."""


def change_user(
    session: Session, user_id: str, *, disabled: bool | None = None, is_admin: bool | None = None
) -> User | None:
    """Disable or enable ``user_id`` and/or grant or withdraw administrator rights (committed); None when
    there is no such user. Raises NoAdministratorLeft (changing nothing) when no enabled administrator
    would remain.

    The target and every enabled administrator are locked (in id order) while deciding, so two
    administrators withdrawing each other's rights at the same moment cannot both succeed.
    """
    rows = session.scalars(
        sa.select(User)
        .where(sa.or_(User.id == user_id, sa.and_(User.is_admin, User.disabled_at.is_(None))))
        .order_by(User.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    user = next((u for u in rows if u.id == user_id), None)
    if user is None:
        session.rollback()
        return None
    stays_admin = (user.is_admin if is_admin is None else is_admin) and (
        user.disabled_at is None if disabled is None else not disabled
    )
    if not stays_admin and not any(u.id != user_id for u in rows):
        session.rollback()
        raise NoAdministratorLeft("zopoc keeps at least one enabled administrator")
    if is_admin is not None:
        user.is_admin = is_admin
    if disabled is not None:
        _apply_disabled(session, user, disabled)
    session.commit()
    return user


# --- browser sessions -----------------------------------------------------------------------------


def start_session(session: Session, user: User, days: float) -> str:
    """A new browser session for ``user``; returns the token for the cookie (only its hash is stored)."""
    token = new_token(SESSION_PREFIX)
    now = utcnow()
    # Sessions that expired are useless (session_user refuses them): forget them whenever someone signs
    # in, so the table holds live sessions only, without a scheduler.
    session.execute(sa.delete(AuthSession).where(AuthSession.expires_at <= now))
    session.add(
        AuthSession(token_hash=digest(token), user_id=user.id, expires_at=now + dt.timedelta(days=days))
    )
    session.commit()
    return token


def session_user(session: Session, token: str) -> User | None:
    """The user of a live browser session token, or None (unknown, expired, user disabled)."""
    # One round trip for both rows: this runs on every request of a browser.
    found = session.execute(
        sa.select(AuthSession.expires_at, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.token_hash == digest(token))
    ).first()
    if found is None or found.expires_at <= utcnow():
        return None
    return found.User if found.User.disabled_at is None else None


def set_password(
    session: Session, user: User, password: str, *, keep_session: str | None = None, must_change: bool = False
) -> None:
    """Give ``user`` a new password (committed) and end their browser sessions, all but ``keep_session``
    (the cookie token of the request that changed it). ``must_change``: the password was chosen by someone
    else (an administrator's reset), the user is asked for their own at sign-in."""
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    ended = sa.delete(AuthSession).where(AuthSession.user_id == user.id)
    if keep_session is not None:
        ended = ended.where(AuthSession.token_hash != digest(keep_session))
    session.execute(ended)
    session.commit()


def end_session(session: Session, token: str) -> None:
    """Forget a browser session (logout): the cookie stops working at once."""
    session.execute(sa.delete(AuthSession).where(AuthSession.token_hash == digest(token)))
    session.commit()


# --- API tokens -----------------------------------------------------------------------------------


@dataclass
class NewToken:
    row: ApiToken
    token: str  # shown once, never stored


def create_api_token(session: Session, user: User, name: str) -> NewToken:
    """A personal API token for ``user`` (committed); the plain token is only in the return value."""
    token = new_token(API_TOKEN_PREFIX)
    row = ApiToken(user_id=user.id, name=name.strip() or "token", token_hash=digest(token), prefix=token[:8])
    session.add(row)
    session.commit()
    return NewToken(row, token)


def token_user(session: Session, token: str) -> User | None:
    """The user of a live (not revoked) API token, or None; notes when it was last used."""
    # One round trip for both rows: this runs on every request of a script.
    found = session.execute(
        sa.select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest(token))
    ).first()
    if found is None:
        return None
    row, user = found.ApiToken, found.User
    if row.revoked_at is not None or user.disabled_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        row.last_used_at = now  # at most once a minute: no write on every request
        session.commit()
    return user


def revoke_api_token(session: Session, user: User, token_id: str) -> bool:
    """Revoke one of ``user``'s tokens; False when there is no such token of theirs."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        return False
    row.revoked_at = row.revoked_at or utcnow()
    session.commit()
    return True


# --- invites --------------------------------------------------------------------------------------


def create_invite(
    session: Session,
    inviter: User,
    email: str,
    *,
    workspace_id: str | None,
    role: str,
    is_admin: bool,
    days: float,
) -> tuple[Invite, str]:
    """A one-time invitation; returns the row and the plain token for the link (committed)."""
    token = new_token(INVITE_PREFIX)
    invite = Invite(
        token_hash=digest(token),
        email=normalise_email(email),
        workspace_id=workspace_id,
        role=role,
        is_admin=is_admin,
        created_by=inviter.id,
        expires_at=utcnow() + dt.timedelta(days=days),
    )
    session.add(invite)
    session.commit()
    return invite, token


def invite_is_pending() -> sa.ColumnElement[bool]:
    """The condition of an invitation that can still be accepted: not used, not cancelled, not expired."""
    return sa.and_(Invite.accepted_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at > utcnow())


def revoke_invite(session: Session, invite: Invite) -> Invite:
    """Cancel an invitation that was not used yet (committed): its link is refused from now on."""
    invite.revoked_at = invite.revoked_at or utcnow()
    session.commit()
    return invite


class InviteProblem(Exception):
    """The invitation cannot be used (unknown, used, cancelled, expired, or the e-mail already has an
    account). ``code`` names the reason for programs (``schemas.InviteProblemCode``; the dashboard words
    it in the reader's language); the message is the English sentence for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def accept_invite(session: Session, token: str, password: str, name: str = "") -> User:
    """Create the invited user (or raise InviteProblem); gives the invited role in the workspace."""
    invite = session.scalar(sa.select(Invite).where(Invite.token_hash == digest(token)))
    if invite is None:
        raise InviteProblem("invite_unknown", "this invitation is unknown or was already used")
    if invite.accepted_at is not None:
        raise InviteProblem("invite_used", "this invitation is unknown or was already used")
    if invite.revoked_at is not None:
        raise InviteProblem(
            "invite_cancelled", "this invitation was cancelled; ask the person who invited you for a new one"
        )
    if invite.expires_at <= utcnow():
        raise InviteProblem("invite_expired", "this invitation has expired; ask for a new one")
    if session.scalar(sa.select(User.id).where(User.email == invite.email)) is not None:
        raise InviteProblem(
            "invite_account_exists", f"{invite.email} already has an account; sign in instead"
        )
    invite.accepted_at = utcnow()
    user = User(
        email=invite.email, name=name.strip(), password_hash=hash_password(password), is_admin=invite.is_admin
    )
    session.add(user)
    session.flush()
    if invite.workspace_id is not None:
        session.add(Membership(workspace_id=invite.workspace_id, user_id=user.id, role=invite.role))
    else:
        # Invited to the site without a workspace: a personal one, so the user can start at once.
        workspace = Workspace(name=f"{user.email}'s workspace")
        session.add(workspace)
        session.flush()
        session.add(Membership(workspace_id=workspace.id, user_id=user.id, role="owner"))
    session.commit()
    return user
