"""Who may call which API route, and the dependency that enforces it on every route of the app.

``RULES`` maps every route (method and path template) to what it needs:

- ``public``: anyone (health, the share links of reports, sign-in, accepting an invite);
- ``user``: any signed-in user (catalogue, estimates, own account and tokens);
- ``admin``: a site administrator (invites, the user list);
- ``viewer`` / ``editor`` / ``owner``: that role or higher in the workspace of the resource the path names
  (``poc_id``, ``run_id``, ``dataset_id``, ``workspace_id``), else in the request's active workspace
  (header ``X-Zopoc-Workspace``, default: the user's first workspace).

The app refuses to start while a route has no rule (``bind_rules``), and the
permission test walks ``app.routes``, so a new route cannot ship without a decision.

Credentials: ``Authorization: Bearer <API token>`` for scripts, or the ``zopoc_session`` cookie for the
browser. CSRF: a cookie-authenticated request with an unsafe method must carry ``X-CSRF-Token`` equal to
the ``zopoc_csrf`` cookie's value, which is an HMAC of the session token (double-submit, bound to the
session). Another site can make the browser send the cookies (SameSite=Lax already stops that for
cross-site POSTs in modern browsers) but cannot read the CSRF cookie to copy it into the header. Bearer
requests need no CSRF token: browsers never add that header by themselves.

A resource in another workspace answers 404, exactly like a missing one, so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from fastapi import HTTPException, Request, status
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from backend.auth import accounts
from backend.auth.limits import hit
from backend.auth.secrets import csrf_token, same
from backend.core.config import Settings
from backend.db.models import Dataset, Membership, Poc, Run, User, Workspace

Level = Literal["public", "user", "admin", "viewer", "editor", "owner"]
SESSION_COOKIE = "zopoc_session"
CSRF_COOKIE = "zopoc_csrf"
CSRF_HEADER = "X-CSRF-Token"
WORKSPACE_HEADER = "X-Zopoc-Workspace"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Rule:
    level: Level
    # "launch": the route also counts against the per-user launch rate limit.
    rate: str | None = None


R = Rule
RULES: dict[tuple[str, str], Rule] = {
    # health and share links: no login
    ("GET", "/api/health"): R("public"),
    ("GET", "/api/ready"): R("public"),
    ("GET", "/api/reports/assets/plotly.min.js"): R("public"),
    ("GET", "/api/reports/{token}"): R("public"),
    ("GET", "/api/reports/{token}.html"): R("public"),
    ("GET", "/api/reports/{token}.pdf"): R("public"),
    ("GET", "/api/reports/{token}.png"): R("public"),
    ("GET", "/r/{token}"): R("public"),
    # accounts
    ("POST", "/api/auth/login"): R("public"),
    ("POST", "/api/auth/invites/accept"): R("public"),
    ("POST", "/api/auth/logout"): R("user"),
    ("POST", "/api/auth/password"): R("user"),
    ("POST", "/api/admin/users/{user_id}/password"): R("admin"),
    ("GET", "/api/auth/me"): R("user"),
    ("GET", "/api/auth/tokens"): R("user"),
    ("POST", "/api/auth/tokens"): R("user"),
    ("DELETE", "/api/auth/tokens/{token_id}"): R("user"),
    ("POST", "/api/admin/invites"): R("admin"),
    ("GET", "/api/admin/invites"): R("admin"),
    ("DELETE", "/api/admin/invites/{invite_id}"): R("admin"),
    ("GET", "/api/admin/users"): R("admin"),
    ("PATCH", "/api/admin/users/{user_id}"): R("admin"),
    ("GET", "/api/admin/workspaces"): R("admin"),
    ("GET", "/api/workspaces"): R("user"),
    ("POST", "/api/workspaces"): R("admin"),
    ("GET", "/api/workspaces/{workspace_id}/members"): R("viewer"),
    ("POST", "/api/workspaces/{workspace_id}/members"): R("owner"),
    ("PUT", "/api/workspaces/{workspace_id}/members/{user_id}"): R("owner"),
    ("DELETE", "/api/workspaces/{workspace_id}/members/{user_id}"): R("owner"),
    ("POST", "/api/workspaces/{workspace_id}/invites"): R("owner"),
    ("GET", "/api/workspaces/{workspace_id}/invites"): R("owner"),
    ("DELETE", "/api/workspaces/{workspace_id}/invites/{invite_id}"): R("owner"),
    # catalogue and estimates: the same for everyone signed in
    ("GET", "/api/models"): R("user"),
    ("POST", "/api/models/check"): R("user"),
    ("GET", "/api/methods"): R("user"),
    ("GET", "/api/limits"): R("viewer"),  # the budget caps are the caller's role's in the active workspace
    ("GET", "/api/prompts"): R("user"),
    ("POST", "/api/prompts/preview"): R("viewer"),  # reads a dataset of the active workspace (or a built-in)
    ("GET", "/api/gpus"): R("user"),
    ("GET", "/api/workers"): R("user"),
    ("GET", "/api/estimates/models"): R("user"),
    ("PUT", "/api/gpus/{gpu_id}/price"): R("admin"),
    ("DELETE", "/api/gpus/{gpu_id}/price"): R("admin"),
    ("GET", "/api/estimates/detectable"): R("user"),
    ("POST", "/api/estimates/memory"): R("user"),
    # datasets (built-in ones: every signed-in user; uploads: their workspace)
    ("GET", "/api/datasets"): R("viewer"),
    ("GET", "/api/datasets/{dataset_id}"): R("viewer"),
    ("GET", "/api/datasets/{dataset_id}/rendered"): R("viewer"),
    ("POST", "/api/datasets"): R("editor"),
    # PoCs, runs, metrics, events, reports
    ("GET", "/api/pocs"): R("viewer"),
    ("POST", "/api/pocs"): R("editor", rate="launch"),
    ("GET", "/api/pocs/{poc_id}"): R("viewer"),
    ("DELETE", "/api/pocs/{poc_id}"): R("owner"),
    ("GET", "/api/pocs/{poc_id}/runs"): R("viewer"),
    ("GET", "/api/pocs/{poc_id}/metrics"): R("viewer"),
    ("GET", "/api/pocs/{poc_id}/events"): R("viewer"),
    ("GET", "/api/pocs/{poc_id}/roi"): R("viewer"),
    ("GET", "/api/pocs/{poc_id}/reports"): R("viewer"),
    ("POST", "/api/pocs/{poc_id}/reports"): R("editor"),
    ("DELETE", "/api/pocs/{poc_id}/reports/{report_ref}"): R("editor"),
    ("GET", "/api/runs/{run_id}"): R("viewer"),
    ("GET", "/api/runs/{run_id}/metrics.csv"): R("viewer"),
    ("POST", "/api/runs/{run_id}/cancel"): R("editor"),
    ("POST", "/api/runs/{run_id}/retry"): R("editor", rate="launch"),
    ("GET", "/api/runs/{run_id}/steplog"): R("viewer"),
    ("GET", "/api/runs/{run_id}/steplog/info"): R("viewer"),
    ("GET", "/api/runs/{run_id}/export"): R("viewer"),
    ("POST", "/api/runs/{run_id}/export"): R("editor"),
    ("GET", "/api/runs/{run_id}/export/download"): R("viewer"),
}

# Documentation routes of FastAPI itself (not APIRoutes): public.
_DOC_PATHS = ("/api/openapi.json", "/api/docs", "/api/docs/oauth2-redirect")


@dataclass(frozen=True)
class RouteInfo:
    """One API route as the app serves it: full path template, methods, and the route object."""

    path: str
    methods: frozenset[str]
    route: APIRoute


def api_routes(app) -> list[RouteInfo]:
    """Every APIRoute of ``app`` with its full path (FastAPI >= 0.16x nests included routers)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes with full paths
        contexts = [(r.path, r.methods, r) for r in app.routes]
    else:
        contexts = [(c.path, c.methods, c.original_route) for c in iter_route_contexts(app.routes)]
    return [
        RouteInfo(path, frozenset(methods - {"HEAD", "OPTIONS"}), route)
        for path, methods, route in contexts
        if isinstance(route, APIRoute)
    ]


def rule_for(info: RouteInfo) -> Rule | None:
    """The rule of a route (all its methods must agree), or None when it has none."""
    rules = {RULES.get((method, info.path)) for method in info.methods}
    return rules.pop() if len(rules) == 1 else None


def bind_rules(app) -> list[str]:
    """Attach each route's rule to ``app.state``; return "METHOD path" of routes without one."""
    bound: dict[int, Rule] = {}
    missing = []
    for info in api_routes(app):
        rule = rule_for(info)
        if rule is None:
            missing.append(f"{','.join(sorted(info.methods))} {info.path}")
        else:
            bound[id(info.route)] = rule
    app.state.access_rules = bound
    return missing


@dataclass
class Access:
    """What ``authorize`` found: stored on ``request.state.access`` for the route."""

    user: User | None
    workspace_id: str | None = None
    role: str | None = None
    via: str | None = None  # "session" | "token"
    # The PoC / run / dataset / workspace the path names, as the check loaded it. Holding it here keeps
    # it in the session's (weak) identity map, so the route's own lookup of it costs no query.
    resource: object | None = None

    @property
    def signed_in(self) -> User:
        """The signed-in user, for a route whose rule needs one (the access check has then already found
        one; a route that reaches this without a user is a rule set wrongly, answered as not signed in)."""
        if self.user is None:
            raise _unauthenticated()
        return self.user

    @property
    def workspace(self) -> str:
        """The workspace a workspace-scoped route acts in (the access check resolved it)."""
        if self.workspace_id is None:
            raise _unauthenticated()
        return self.workspace_id


def _unauthenticated() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="sign in first (session cookie) or send Authorization: Bearer <API token>",
        headers={"WWW-Authenticate": "Bearer"},
    )


def authenticate(request: Request, session: Session, settings: Settings) -> tuple[User, str]:
    """The signed-in user and how (``token`` or ``session``); 401 when there is none, 403 on CSRF."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        user = accounts.token_user(session, token.strip()) if scheme.lower() == "bearer" and token else None
        if user is None:
            raise _unauthenticated()
        return user, "token"
    cookie = request.cookies.get(SESSION_COOKIE)
    user = accounts.session_user(session, cookie) if cookie else None
    if user is None or cookie is None:
        raise _unauthenticated()
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not same(sent, csrf_token(settings.secret_key, cookie)):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"missing or wrong {CSRF_HEADER} header: send the value of the "
                f"{CSRF_COOKIE} cookie with every change (reload the page)",
            )
    return user, "session"


@dataclass
class _Resource:
    """What the path names: its workspace ("" for a built-in dataset, None when there is no such thing),
    the caller's role there (None: not a member), the loaded row, and what to call it in a 404."""

    workspace_id: str | None = None
    role: str | None = None
    row: object | None = None
    what: str = ""


def _path_resource(session: Session, params: dict[str, str], user_id: str) -> _Resource | None:
    """The resource the path names, or None when it names none (then the active workspace counts).

    PoCs and runs, read on every dashboard request, come with the caller's membership in the same round
    trip; the route's own lookup then finds the row in the session.
    """

    def role_join(workspace_column):
        return sa.and_(Membership.workspace_id == workspace_column, Membership.user_id == user_id)

    if "poc_id" in params:
        what = f"PoC {params['poc_id']}"
        found = session.execute(
            sa.select(Poc, Membership.role)
            .outerjoin(Membership, role_join(Poc.workspace_id))
            .where(Poc.id == params["poc_id"])
        ).first()
        return (
            _Resource(what=what)
            if found is None
            else _Resource(found.Poc.workspace_id, found.role, found.Poc, what)
        )
    if "run_id" in params:
        what = f"run {params['run_id']}"
        found_run = session.execute(
            sa.select(Run, Poc.workspace_id, Membership.role)
            .join(Poc, Poc.id == Run.poc_id)
            .outerjoin(Membership, role_join(Poc.workspace_id))
            .where(Run.id == params["run_id"])
        ).first()
        return (
            _Resource(what=what)
            if found_run is None
            else _Resource(found_run.workspace_id, found_run.role, found_run.Run, what)
        )
    if "dataset_id" in params:
        what = f"dataset {params['dataset_id']}"
        dataset = session.get(Dataset, params["dataset_id"])
        if dataset is None:
            return _Resource(what=what)
        if dataset.workspace_id is None:
            return _Resource("", None, dataset, what)  # built-in: every signed-in user may read it
        return _Resource(
            dataset.workspace_id, accounts.role_in(session, user_id, dataset.workspace_id), dataset, what
        )
    if "workspace_id" in params:
        what = f"workspace {params['workspace_id']}"
        workspace = session.get(Workspace, params["workspace_id"])
        if workspace is None:
            return _Resource(what=what)
        return _Resource(workspace.id, accounts.role_in(session, user_id, workspace.id), workspace, what)
    return None


def active_workspace(request: Request, session: Session, user: User) -> tuple[str, str]:
    """(workspace id, role) of the request: the header's workspace, else the user's first one."""
    wanted = request.headers.get(WORKSPACE_HEADER)
    if wanted:
        role = accounts.role_in(session, user.id, wanted)
        if role is None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"you are not a member of workspace {wanted}"
            )
        return wanted, role
    memberships = accounts.memberships_of(session, user.id)
    if not memberships:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="you are not a member of any workspace; ask an owner to invite you",
        )
    return memberships[0].workspace_id, memberships[0].role


def authorize(request: Request, session: Session, settings: Settings) -> Access:
    """Enforce the route's rule; return (and store on ``request.state.access``) who is calling."""
    rule = request.app.state.access_rules.get(id(request.scope.get("route")))
    if rule is None:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, detail="this route has no access rule")
    access = Access(user=None)
    request.state.access = access
    if rule.level == "public":
        return access
    access.user, access.via = authenticate(request, session, settings)
    if rule.level == "admin" and not access.user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only an administrator may do this")
    if rule.level in ("user", "admin"):
        return access

    resource = _path_resource(session, dict(request.path_params), access.user.id)
    if resource is not None:
        access.resource = resource.row
        workspace_id, role = resource.workspace_id, resource.role
        if workspace_id is None:
            return access  # no such resource: the route answers its own 404
        if workspace_id == "":  # built-in dataset
            if rule.level != "viewer":
                raise HTTPException(status.HTTP_403_FORBIDDEN, detail="built-in datasets cannot be changed")
            return access
        if role is None:  # another workspace's: indistinguishable from a missing one
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{resource.what} not found")
    else:
        workspace_id, role = active_workspace(request, session, access.user)
    access.workspace_id, access.role = workspace_id, role
    if accounts.role_rank(role) < accounts.role_rank(rule.level):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"your role in this workspace is {role}; this needs {rule.level} or "
            "higher (ask a workspace owner)",
        )
    if rule.rate == "launch":
        hit(settings, "launch", settings.launch_rate_limit, f"user:{access.user.id}")
    return access
