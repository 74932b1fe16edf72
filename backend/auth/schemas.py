"""Request and answer bodies of the account routes."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.auth.secrets import MIN_PASSWORD_LENGTH

Role = Literal["viewer", "editor", "owner"]


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1000)


class WorkspaceRole(BaseModel):
    id: str
    name: str
    role: Role


class Me(BaseModel):
    id: str
    email: str
    name: str
    is_admin: bool
    workspaces: list[WorkspaceRole]
    # The CSRF token to send as X-CSRF-Token (browser sessions only; also in the zopoc_csrf cookie).
    csrf_token: str | None = None
    must_change_password: bool = Field(
        False,
        description="the password was generated or set by an administrator: ask the user to choose their own",
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1000)


class PasswordReset(BaseModel):
    password: str = Field(
        description="a new temporary password for the user: shown only in this answer; "
        "they are asked to change it at sign-in"
    )


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class TokenPublic(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="the token itself: shown only in this answer, never again")


class TokensPublic(BaseModel):
    data: list[TokenPublic]
    count: int


class InviteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Role = "viewer"
    # Site invites only (admin): the workspace to join; none gives the new user a workspace of their own.
    workspace_id: str | None = Field(None, max_length=64)
    is_admin: bool = False


class WorkspaceInvite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Role = "viewer"


class InviteCreated(BaseModel):
    email: str
    role: Role
    workspace_id: str | None
    expires_at: dt.datetime
    token: str = Field(description="the one-time invitation token: shown only in this answer")
    url: str = Field(description="the link to send to the invited person")


class InvitePublic(BaseModel):
    """A pending invitation as owners and administrators see it: never its token (only its hash is kept)."""

    id: str
    email: str
    role: Role
    workspace_id: str | None
    workspace_name: str | None = Field(description="null: the invited person gets a workspace of their own")
    is_admin: bool
    invited_by: str | None = Field(description="e-mail address of who invited (null: that account is gone)")
    created_at: dt.datetime
    expires_at: dt.datetime


class InvitesPublic(BaseModel):
    data: list[InvitePublic]
    count: int


class InviteAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1000)
    name: str = Field("", max_length=200)


class UserPublic(BaseModel):
    id: str
    email: str
    name: str
    is_admin: bool
    created_at: dt.datetime
    disabled_at: dt.datetime | None = Field(
        description="when an administrator disabled the account (it can then neither sign in nor use its "
        "sessions and tokens); null while enabled"
    )


class UserChange(BaseModel):
    """What to change: ``disabled``, ``is_admin`` or both (at least one)."""

    model_config = ConfigDict(extra="forbid")

    disabled: bool | None = Field(
        None, description="true: sign the user out everywhere and refuse them; false: enable"
    )
    is_admin: bool | None = Field(
        None,
        description="true: grant administrator rights; false: withdraw them "
        "(both take effect at the user's next request)",
    )

    @model_validator(mode="after")
    def _something(self) -> UserChange:
        if self.disabled is None and self.is_admin is None:
            raise ValueError("give disabled, is_admin or both")
        return self


InviteProblemCode = Literal[
    "invite_unknown", "invite_used", "invite_cancelled", "invite_expired", "invite_account_exists"
]


class InviteRefusal(BaseModel):
    """Why an invitation cannot be accepted: ``detail`` for people (English), ``code`` for programs."""

    detail: str
    code: InviteProblemCode = Field(
        description="invite_unknown: no such invitation; invite_used: already accepted; invite_cancelled: "
        "cancelled by an owner or administrator; invite_expired: past its expiry; "
        "invite_account_exists: the invited address has an account already"
    )


class WorkspaceSummary(BaseModel):
    id: str
    name: str
    created_at: dt.datetime
    members: int
    owners: list[str] = Field(description="e-mail addresses of the owners")
    pocs: int = Field(description="PoCs in the workspace (deleted ones not counted)")


class WorkspaceSummaries(BaseModel):
    data: list[WorkspaceSummary]
    count: int


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


class WorkspaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class WorkspacesPublic(BaseModel):
    data: list[WorkspaceRole]
    count: int


class Member(BaseModel):
    user_id: str
    email: str
    name: str
    role: Role


class MembersPublic(BaseModel):
    data: list[Member]
    count: int


class MemberAdd(BaseModel):
    """Add a person who already has an account, by their e-mail address (owners cannot list users)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Role = "viewer"


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
