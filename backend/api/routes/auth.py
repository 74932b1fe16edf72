"""Accounts: sign in and out, who am I, personal API tokens, invites, workspaces and their members.

Which role each route needs is in ``backend.auth.policy.RULES`` (enforced for every route by the app).
"""

from __future__ import annotations

import secrets
from typing import cast

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse

from backend.api.deps import AccessDep, SessionDep, SettingsDep
from backend.api.errors import Responses, coded_answer, field_problem
from backend.auth import accounts, limits
from backend.auth.bootstrap import forget_first_password
from backend.auth.policy import CSRF_COOKIE, SESSION_COOKIE
from backend.auth.schemas import (
    InviteAccept,
    InviteCreate,
    InviteCreated,
    InvitePublic,
    InviteRefusal,
    InvitesPublic,
    Login,
    Me,
    Member,
    MemberAdd,
    MembersPublic,
    PasswordChange,
    PasswordReset,
    Role,
    RoleChange,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    TokensPublic,
    UserChange,
    UserPublic,
    UsersPublic,
    WorkspaceCreate,
    WorkspaceInvite,
    WorkspaceRole,
    WorkspacesPublic,
    WorkspaceSummaries,
    WorkspaceSummary,
)
from backend.auth.secrets import csrf_token, verify_password
from backend.core.config import Settings
from backend.db.models import ApiToken, Invite, Membership, Poc, User, Workspace

router = APIRouter(tags=["auth"])

UNAUTHORIZED: Responses = {401: {"description": "not signed in"}}
TOO_MANY: Responses = {429: {"description": "rate limit: see Retry-After"}}


def _workspaces(session, user: User) -> list[WorkspaceRole]:
    return [
        WorkspaceRole(id=m.workspace_id, name=m.workspace.name, role=cast(Role, m.role))
        for m in accounts.memberships_of(session, user.id)
    ]


def _me(session, user: User, csrf: str | None = None) -> Me:
    return Me(
        id=user.id,
        email=user.email,
        name=user.name,
        is_admin=user.is_admin,
        workspaces=_workspaces(session, user),
        csrf_token=csrf,
        must_change_password=user.must_change_password,
    )


def _secure(request: Request, settings: Settings) -> bool:
    """Secure cookies: always in production, else on HTTPS (a trusted proxy's X-Forwarded-Proto counts:
    ``trusted_proxies``), unless ``cookie_secure`` says otherwise."""
    if settings.environment == "production":
        return True
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https"


def client_address(request: Request) -> str:
    """The caller's address (a trusted proxy's X-Forwarded-For already applied, ``trusted_proxies``)."""
    return request.client.host if request.client else "unknown"


def _sign_in_failure_keys(settings: Settings, email: str, client: str) -> list[tuple[str, str, str]]:
    """(rate, key, what) of the failure counts a sign-in is held to: one account from one client, and one
    client over all accounts. Counting failures per client, never per account alone, means that a
    stranger guessing at an address cannot lock its owner out: the owner signs in from elsewhere."""
    return [
        (
            settings.login_rate_limit,
            f"account:{email}|client:{client}",
            "failed sign-ins to this account from your address",
        ),
        (settings.login_ip_rate_limit, f"client:{client}", "failed sign-ins from your address"),
    ]


@router.post(
    "/auth/login",
    response_model=Me,
    responses={**UNAUTHORIZED, **TOO_MANY},
    summary="Sign in with e-mail and password (sets the session and CSRF cookies)",
)
def login(
    body: Login, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> Me:
    failure_keys = _sign_in_failure_keys(
        settings, accounts.normalise_email(body.email), client_address(request)
    )
    for rate, key, what in failure_keys:  # before the password is checked: a guesser learns nothing more
        limits.refuse_when_over(settings, "login", rate, key, what)
    user = accounts.check_password(session, body.email, body.password)
    if user is None:
        for rate, key, _what in failure_keys:
            limits.count(settings, "login", rate, key)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong e-mail or password")
    token = accounts.start_session(session, user, settings.session_days)
    csrf = csrf_token(settings.secret_key, token)
    max_age, secure = int(settings.session_days * 86400), _secure(request, settings)
    for name, value, http_only in (
        (SESSION_COOKIE, token, True),
        # Readable by the page's script (not HttpOnly): it copies it into the X-CSRF-Token header.
        (CSRF_COOKIE, csrf, False),
    ):
        response.set_cookie(
            name, value, max_age=max_age, secure=secure, httponly=http_only, samesite="lax", path="/"
        )
    return _me(session, user, csrf)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out (ends the session)")
def logout(request: Request, session: SessionDep) -> Response:
    if token := request.cookies.get(SESSION_COOKIE):
        accounts.end_session(session, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get(
    "/auth/me",
    response_model=Me,
    responses=UNAUTHORIZED,
    summary="The signed-in user and their workspaces with roles",
)
def me(access: AccessDep, request: Request, session: SessionDep, settings: SettingsDep) -> Me:
    cookie = request.cookies.get(SESSION_COOKIE) if access.via == "session" else None
    return _me(session, access.signed_in, csrf_token(settings.secret_key, cookie) if cookie else None)


@router.post(
    "/auth/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=TOO_MANY,
    summary="Change my password (my other browser sessions end; this one stays)",
)
def change_password(
    body: PasswordChange, access: AccessDep, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    user = session.get(User, access.signed_in.id)
    if user is None:  # the account was removed after the access check
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="sign in first")
    failure_keys = _sign_in_failure_keys(settings, user.email, client_address(request))
    for rate, key, what in failure_keys:  # a stolen session cannot guess the password at leisure
        limits.refuse_when_over(settings, "login", rate, key, what)
    if not verify_password(user.password_hash, body.current_password):
        for rate, key, _what in failure_keys:
            limits.count(settings, "login", rate, key)
        raise field_problem("current_password", "this is not your current password")
    if body.new_password == body.current_password:
        raise field_problem("new_password", "choose a password different from the current one")
    keep = request.cookies.get(SESSION_COOKIE) if access.via == "session" else None
    accounts.set_password(session, user, body.new_password, keep_session=keep)
    forget_first_password(settings, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _token_public(row: ApiToken) -> TokenPublic:
    return TokenPublic.model_validate(row, from_attributes=True)


@router.get(
    "/auth/tokens", response_model=TokensPublic, summary="My API tokens (never the tokens themselves)"
)
def list_tokens(access: AccessDep, session: SessionDep) -> TokensPublic:
    rows = session.scalars(
        sa.select(ApiToken)
        .where(ApiToken.user_id == access.signed_in.id)
        .order_by(ApiToken.created_at.desc())
    ).all()
    return TokensPublic(data=[_token_public(r) for r in rows], count=len(rows))


@router.post(
    "/auth/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    summary="Create a personal API token (shown once) for Authorization: Bearer",
)
def create_token(body: TokenCreate, access: AccessDep, session: SessionDep) -> TokenCreated:
    new = accounts.create_api_token(session, access.signed_in, body.name)
    return TokenCreated(**_token_public(new.row).model_dump(), token=new.token)


@router.delete(
    "/auth/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "no such token of yours"}},
    summary="Revoke one of my API tokens (at once)",
)
def revoke_token(token_id: str, access: AccessDep, session: SessionDep) -> Response:
    if not accounts.revoke_api_token(session, access.signed_in, token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"token {token_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _invite(
    session,
    settings: Settings,
    inviter: User,
    email: str,
    workspace_id: str | None,
    role: str,
    is_admin: bool,
) -> InviteCreated:
    if session.scalar(sa.select(User.id).where(User.email == accounts.normalise_email(email))):
        raise field_problem(
            "email",
            f"{email} already has an account; add them to the workspace instead",
            status.HTTP_409_CONFLICT,
        )
    invite, token = accounts.create_invite(
        session,
        inviter,
        email,
        workspace_id=workspace_id,
        role=role,
        is_admin=is_admin,
        days=settings.invite_days,
    )
    return InviteCreated(
        email=invite.email,
        role=cast(Role, invite.role),
        workspace_id=invite.workspace_id,
        expires_at=invite.expires_at,
        token=token,
        url=f"/invite#{token}",
    )


@router.post(
    "/admin/invites",
    status_code=status.HTTP_201_CREATED,
    response_model=InviteCreated,
    summary="Invite a person to zopoc (administrators)",
)
def admin_invite(
    body: InviteCreate, access: AccessDep, session: SessionDep, settings: SettingsDep
) -> InviteCreated:
    if body.workspace_id is not None and session.get(Workspace, body.workspace_id) is None:
        raise field_problem("workspace_id", f"no workspace {body.workspace_id}")
    return _invite(
        session, settings, access.signed_in, body.email, body.workspace_id, body.role, body.is_admin
    )


@router.post(
    "/workspaces/{workspace_id}/invites",
    status_code=status.HTTP_201_CREATED,
    response_model=InviteCreated,
    responses={404: {"description": "no such workspace of yours"}},
    summary="Invite a person into this workspace (owners)",
)
def workspace_invite(
    workspace_id: str, body: WorkspaceInvite, access: AccessDep, session: SessionDep, settings: SettingsDep
) -> InviteCreated:
    # Administrators pass the owner rule for any id: a workspace that does not exist is a 404, not a
    # foreign-key error from the database.
    if session.get(Workspace, workspace_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"workspace {workspace_id} not found")
    return _invite(session, settings, access.signed_in, body.email, workspace_id, body.role, False)


def _pending_invites(session, workspace_id: str | None = None) -> InvitesPublic:
    """Pending invitations (into ``workspace_id`` when given), newest first, with workspace and inviter."""
    query = (
        sa.select(Invite, Workspace.name, User.email)
        .outerjoin(Workspace, Workspace.id == Invite.workspace_id)
        .outerjoin(User, User.id == Invite.created_by)
        .where(accounts.invite_is_pending())
    )
    if workspace_id is not None:
        query = query.where(Invite.workspace_id == workspace_id)
    data = [
        InvitePublic(
            id=invite.id,
            email=invite.email,
            role=invite.role,
            workspace_id=invite.workspace_id,
            workspace_name=workspace_name,
            is_admin=invite.is_admin,
            invited_by=inviter,
            created_at=invite.created_at,
            expires_at=invite.expires_at,
        )
        for invite, workspace_name, inviter in session.execute(
            query.order_by(Invite.created_at.desc(), Invite.id)
        )
    ]
    return InvitesPublic(data=data, count=len(data))


def _cancel_invite(session, invite: Invite | None, invite_id: str) -> Response:
    if invite is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"invitation {invite_id} not found")
    if invite.accepted_at is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"{invite.email} already accepted this invitation and has an account",
        )
    accounts.revoke_invite(session, invite)  # cancelling twice, or an expired one, changes nothing more
    return Response(status_code=status.HTTP_204_NO_CONTENT)


CANCEL_RESPONSES: Responses = {
    404: {"description": "no such invitation"},
    409: {"description": "the invitation was already accepted"},
}


@router.get(
    "/admin/invites",
    response_model=InvitesPublic,
    summary="Every pending invitation (administrators; never the links)",
)
def list_all_invites(session: SessionDep) -> InvitesPublic:
    return _pending_invites(session)


@router.delete(
    "/admin/invites/{invite_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=CANCEL_RESPONSES,
    summary="Cancel an invitation (administrators): its link is refused from now on",
)
def cancel_any_invite(invite_id: str, session: SessionDep) -> Response:
    return _cancel_invite(session, session.get(Invite, invite_id), invite_id)


@router.get(
    "/workspaces/{workspace_id}/invites",
    response_model=InvitesPublic,
    responses={404: {"description": "no such workspace of yours"}},
    summary="Pending invitations into this workspace (owners; never the links)",
)
def list_workspace_invites(workspace_id: str, session: SessionDep) -> InvitesPublic:
    if session.get(Workspace, workspace_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"workspace {workspace_id} not found")
    return _pending_invites(session, workspace_id)


@router.delete(
    "/workspaces/{workspace_id}/invites/{invite_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=CANCEL_RESPONSES,
    summary="Cancel an invitation into this workspace (owners): its link is refused from now on",
)
def cancel_workspace_invite(workspace_id: str, invite_id: str, session: SessionDep) -> Response:
    invite = session.get(Invite, invite_id)
    if invite is not None and invite.workspace_id != workspace_id:
        invite = None  # another workspace's invitation looks missing
    return _cancel_invite(session, invite, invite_id)


INVITE_REFUSED: Responses = {
    400: {
        "model": InviteRefusal,
        "description": "the invitation cannot be used; `code` says why (invite_unknown, "
        "invite_used, invite_cancelled, invite_expired, "
        "invite_account_exists) and `detail` says it in English",
    }
}


@router.post(
    "/auth/invites/accept",
    response_model=Me,
    status_code=status.HTTP_201_CREATED,
    responses={**INVITE_REFUSED, **TOO_MANY},
    summary="Accept an invitation: choose a password, get an account",
)
def accept_invite(
    body: InviteAccept, request: Request, session: SessionDep, settings: SettingsDep
) -> Me | JSONResponse:
    client = f"client:{client_address(request)}"
    limits.refuse_when_over(
        settings, "login", settings.login_ip_rate_limit, client, "failed attempts from your address"
    )
    try:
        user = accounts.accept_invite(session, body.token, body.password, body.name)
    except accounts.InviteProblem as exc:
        limits.count(settings, "login", settings.login_ip_rate_limit, client)
        return coded_answer(status.HTTP_400_BAD_REQUEST, exc.code, str(exc))
    return _me(session, user)


@router.get("/admin/users", response_model=UsersPublic, summary="Every user (administrators)")
def list_users(session: SessionDep) -> UsersPublic:
    users = session.scalars(sa.select(User).order_by(User.created_at)).all()
    return UsersPublic(
        data=[UserPublic.model_validate(u, from_attributes=True) for u in users], count=len(users)
    )


@router.patch(
    "/admin/users/{user_id}",
    response_model=UserPublic,
    responses={
        404: {"description": "no such user"},
        409: {
            "description": "administrators cannot disable themselves or withdraw "
            "their own rights; zopoc keeps an enabled administrator"
        },
    },
    summary="Disable or enable a user, grant or withdraw administrator rights (administrators); "
    "disabling signs them out everywhere",
)
def change_user(user_id: str, body: UserChange, access: AccessDep, session: SessionDep) -> UserPublic:
    if session.get(User, user_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"user {user_id} not found")
    if user_id == access.signed_in.id:
        if body.disabled:
            raise HTTPException(
                status.HTTP_409_CONFLICT, detail="you cannot disable yourself; ask another administrator"
            )
        if body.is_admin is False:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                detail="you cannot withdraw your own administrator rights; ask another administrator",
            )
    try:
        user = accounts.change_user(session, user_id, disabled=body.disabled, is_admin=body.is_admin)
    except accounts.NoAdministratorLeft as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    if user is None:  # deleted meanwhile
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"user {user_id} not found")
    return UserPublic.model_validate(user, from_attributes=True)


@router.post(
    "/admin/users/{user_id}/password",
    response_model=PasswordReset,
    responses={
        404: {"description": "no such user"},
        409: {"description": "administrators change their own password instead"},
    },
    summary="Reset a user's password (administrators): a temporary one, shown once; the user is "
    "signed out everywhere and asked for a new password at sign-in",
)
def reset_password(user_id: str, access: AccessDep, session: SessionDep) -> PasswordReset:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"user {user_id} not found")
    if user.id == access.signed_in.id:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="change your own password with POST /api/auth/password"
        )
    temporary = secrets.token_urlsafe(12)
    accounts.set_password(session, user, temporary, must_change=True)
    return PasswordReset(password=temporary)


@router.get(
    "/admin/workspaces",
    response_model=WorkspaceSummaries,
    summary="Every workspace with its members, owners and PoCs (administrators)",
)
def list_all_workspaces(session: SessionDep) -> WorkspaceSummaries:
    members = dict(
        session.execute(
            sa.select(Membership.workspace_id, sa.func.count()).group_by(Membership.workspace_id)
        ).all()
    )
    pocs = dict(
        session.execute(
            sa.select(Poc.workspace_id, sa.func.count())
            .where(Poc.deleted_at.is_(None))
            .group_by(Poc.workspace_id)
        ).all()
    )
    owners: dict[str, list[str]] = {}
    for workspace_id, email in session.execute(
        sa.select(Membership.workspace_id, User.email)
        .join(User, User.id == Membership.user_id)
        .where(Membership.role == "owner")
        .order_by(User.email)
    ):
        owners.setdefault(workspace_id, []).append(email)
    data = [
        WorkspaceSummary(
            id=w.id,
            name=w.name,
            created_at=w.created_at,
            members=members.get(w.id, 0),
            owners=owners.get(w.id, []),
            pocs=pocs.get(w.id, 0),
        )
        for w in session.scalars(sa.select(Workspace).order_by(Workspace.created_at, Workspace.id))
    ]
    return WorkspaceSummaries(data=data, count=len(data))


@router.get("/workspaces", response_model=WorkspacesPublic, summary="My workspaces with my role in each")
def list_workspaces(access: AccessDep, session: SessionDep) -> WorkspacesPublic:
    data = _workspaces(session, access.signed_in)
    return WorkspacesPublic(data=data, count=len(data))


@router.post(
    "/workspaces",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkspaceRole,
    summary="Create a workspace (administrators; they become its owner)",
)
def create_workspace(body: WorkspaceCreate, access: AccessDep, session: SessionDep) -> WorkspaceRole:
    workspace = accounts.create_workspace(session, body.name, owner=access.signed_in)
    return WorkspaceRole(id=workspace.id, name=workspace.name, role="owner")


def _members(session, workspace_id: str) -> MembersPublic:
    rows = session.scalars(
        sa.select(Membership).where(Membership.workspace_id == workspace_id).order_by(Membership.created_at)
    ).all()
    data = [Member(user_id=m.user_id, email=m.user.email, name=m.user.name, role=m.role) for m in rows]
    return MembersPublic(data=data, count=len(data))


@router.get(
    "/workspaces/{workspace_id}/members",
    response_model=MembersPublic,
    responses={404: {"description": "no such workspace of yours"}},
    summary="Members and roles",
)
def list_members(workspace_id: str, session: SessionDep) -> MembersPublic:
    if session.get(Workspace, workspace_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"workspace {workspace_id} not found")
    return _members(session, workspace_id)


@router.post(
    "/workspaces/{workspace_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=MembersPublic,
    responses={
        404: {"description": "no such workspace, or no account has this e-mail address"},
        409: {"description": "already a member"},
    },
    summary="Add a person who already has an account, by e-mail address (owners)",
)
def add_member(workspace_id: str, body: MemberAdd, session: SessionDep) -> MembersPublic:
    if session.get(Workspace, workspace_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"workspace {workspace_id} not found")
    user = accounts.user_by_email(session, body.email)
    if user is None:
        raise field_problem(
            "email",
            f"no account has the e-mail address {body.email}; invite them instead",
            status.HTTP_404_NOT_FOUND,
        )
    already = field_problem(
        "email",
        f"{user.email} is already a member of this workspace; change their role instead",
        status.HTTP_409_CONFLICT,
    )
    if accounts.role_in(session, user.id, workspace_id) is not None:
        raise already
    try:
        accounts.set_role(session, workspace_id, user.id, body.role)
    except sa.exc.IntegrityError as exc:  # added by someone else at the same moment
        session.rollback()
        raise already from exc
    return _members(session, workspace_id)


def _owners(session, workspace_id: str) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == workspace_id, Membership.role == "owner")
        )
        or 0
    )


@router.put(
    "/workspaces/{workspace_id}/members/{user_id}",
    response_model=MembersPublic,
    responses={404: {"description": "no such workspace or user"}},
    summary="Add an existing user to the workspace or change their role (owners)",
)
def set_member(workspace_id: str, user_id: str, body: RoleChange, session: SessionDep) -> MembersPublic:
    if session.get(Workspace, workspace_id) is None or session.get(User, user_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such workspace or user")
    current = accounts.role_in(session, user_id, workspace_id)
    if current == "owner" and body.role != "owner" and _owners(session, workspace_id) == 1:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="a workspace keeps at least one owner")
    accounts.set_role(session, workspace_id, user_id, body.role)
    return _members(session, workspace_id)


@router.delete(
    "/workspaces/{workspace_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "not a member"}},
    summary="Remove a member (owners)",
)
def remove_member(workspace_id: str, user_id: str, session: SessionDep) -> Response:
    membership = session.get(Membership, (workspace_id, user_id))
    if membership is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="not a member of this workspace")
    if membership.role == "owner" and _owners(session, workspace_id) == 1:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="a workspace keeps at least one owner")
    session.delete(membership)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
