"""Reports API: freeze a PoC into a shareable report; read it by token as JSON, HTML or PDF.

Under the API prefix (``router``):
- ``POST   /api/pocs/{id}/reports``            201 ``{token, url, html_url, pdf_url, expires_at}``
- ``GET    /api/pocs/{id}/reports``            the PoC's reports (for the manager; never their links)
- ``DELETE /api/pocs/{id}/reports/{ref}``      revoke at once (204) by report id or token, in any state
- ``GET    /api/reports/{token}``              the frozen snapshot JSON
- ``GET    /api/reports/{token}.html``         self-contained HTML file (plotly inlined: opens offline)
- ``GET    /api/reports/{token}.pdf``          PDF printed by headless Chromium
- ``GET    /api/reports/{token}.png``          the three charts as one PNG image (headless Chromium)
At the root (``share_router``, mounted by the app without prefix):
- ``GET    /r/{token}``                        the read-only share page, no login, no SPA needed

Every route that takes only a token is a GET: a share token reads, it can change nothing. Unknown or revoked
tokens answer 404, expired ones 410 (a page saying so on ``/r/``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from fastapi.responses import FileResponse, HTMLResponse

from backend.api.deps import AnyStatePocDep, PocDep, SessionDep, SettingsDep
from backend.api.errors import INVALID, Responses
from backend.api.headers import report_page_policy
from backend.db.models import Report
from backend import gpu_prices
from backend.estimates.schemas import ReportCreate, ReportLinks, ReportPublic, ReportsPublic
from backend.reports import pdf, store
from backend.reports.render import plotly_js_path, render_html
from backend.reports.snapshot import share_view
from backend.schemas import Message

router = APIRouter(tags=["reports"])
share_router = APIRouter(tags=["share"])

Token = Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# The token is in the URL: keep it out of Referer headers and search engines.
PRIVATE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "private, no-cache",
}


def _links(report: Report, token: str) -> dict:
    """The links of a new report: only the answer that creates it has them (the token is not stored)."""
    return {
        "id": report.id,
        "token": token,
        "url": f"/r/{token}",
        "html_url": f"/api/reports/{token}.html",
        "pdf_url": f"/api/reports/{token}.pdf",
        "png_url": f"/api/reports/{token}.png",
        "expires_at": _expires(report),
        "language": report.language,
    }


def _live(session, token: str) -> Report:
    try:
        return store.get_report(session, token)
    except store.ReportExpired as exc:
        raise HTTPException(status.HTTP_410_GONE, detail="this report link has expired") from exc
    except store.ReportNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="report not found") from exc


def _language(report: Report, lang: str | None) -> str:
    return lang or report.language


def _expires(report: Report) -> str | None:
    # SQLite hands back naive datetimes; every timestamp stored is UTC, so say so in the ISO string
    return store.as_utc(report.expires_at).isoformat() if report.expires_at else None


NOT_FOUND: Responses = {404: {"model": Message}}
TOKEN_ANSWERS: Responses = {
    404: {"model": Message, "description": "unknown or revoked"},
    410: {"model": Message, "description": "the link has expired"},
}


@router.post(
    "/pocs/{poc_id}/reports",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportLinks,
    responses=NOT_FOUND,
    summary="Freeze a PoC into a report (its links are shown only here)",
)
def create_report(poc: PocDep, body: ReportCreate, session: SessionDep, settings: SettingsDep) -> dict:
    # money in the report's language's currency (yen in a Japanese report)
    catalog = gpu_prices.catalog(session, settings, settings.currency_by_language.get(body.language))
    report, token = store.create_report(
        session,
        poc,
        body.language,
        body.expires_in_days or settings.report_expiry_days,
        settings.data_dir,
        catalog,
        time_zone=body.time_zone,
    )
    return _links(report, token)


@router.get(
    "/pocs/{poc_id}/reports",
    response_model=ReportsPublic,
    responses=NOT_FOUND,
    summary="The reports of a PoC (never their links: only a hash of each token is kept)",
)
def list_reports(poc: PocDep, session: SessionDep) -> dict:
    now = dt.datetime.now(dt.UTC)
    data = []
    for report in store.list_reports(session, poc.id):
        expires = report.expires_at and store.as_utc(report.expires_at)
        state = "revoked" if report.revoked_at else "expired" if expires and expires <= now else "live"
        data.append(
            {
                "id": report.id,
                "token_prefix": report.token_prefix,
                "language": report.language,
                "expires_at": _expires(report),
                "state": state,
                "created_at": store.as_utc(report.created_at).isoformat(),
            }
        )
    return {"data": data, "count": len(data)}


@router.delete(
    "/pocs/{poc_id}/reports/{report_ref}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
    summary="Revoke a report link at once (by the report's id or its token; in any state, also "
    "after the PoC was deleted)",
)
def revoke_report(
    poc: AnyStatePocDep, report_ref: Annotated[str, Path(max_length=64)], session: SessionDep
) -> Response:
    report = store.find_poc_report(session, poc.id, report_ref)
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="report not found")
    store.revoke_report(session, report)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/reports/assets/plotly.min.js", include_in_schema=False)
def plotly_asset() -> FileResponse:
    return FileResponse(
        plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=604800"}
    )


@router.get(
    "/reports/{token}.html",
    response_class=HTMLResponse,
    responses=TOKEN_ANSWERS,
    summary="The report as a self-contained HTML file",
)
def report_html(
    token: Token, session: SessionDep, settings: SettingsDep, lang: Literal["en", "ja"] | None = Query(None)
) -> FileResponse:
    report = _live(session, token)
    language = _language(report, lang)
    # Made once and served from its file (5 MB with Plotly inlined): a slow reader holds one chunk of it
    # in memory at a time, never the whole page.
    path = pdf.cached_file(
        settings.data_dir / "reports" / f"{report.id}-{language}.html",
        lambda: render_html(
            report.snapshot, language, inline_plotly=True, expires_at=_expires(report)
        ).encode(),
    )
    name = f"zopoc-report-{token[:8]}.html"
    # A download, not a page: if a browser renders it anyway, it may run nothing (the file works offline).
    return FileResponse(
        path,
        media_type="text/html; charset=utf-8",
        headers=PRIVATE_HEADERS
        | {
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


def _printed(path, html, settings, image: bool = False):
    """The cached PDF (or PNG) at ``path``; a busy or missing Chromium answers 503."""
    try:
        return pdf.cached_pdf(
            path,
            html,
            settings.chromium_path,
            settings.pdf_timeout_s,
            settings.pdf_max_concurrent,
            image=image,
        )
    except pdf.PdfBusy as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=str(exc),
            headers={"Retry-After": str(int(exc.retry_after_s))},
        ) from exc
    except pdf.PdfUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc


PRINTED_ANSWERS: Responses = {
    503: {"model": Message, "description": "Chromium missing, or every printer busy"}
}


@router.get(
    "/reports/{token}.pdf",
    response_class=Response,
    summary="The report as PDF",
    responses=TOKEN_ANSWERS | PRINTED_ANSWERS | {200: {"content": {"application/pdf": {}}}},
)
def report_pdf(
    token: Token, session: SessionDep, settings: SettingsDep, lang: Literal["en", "ja"] | None = Query(None)
) -> Response:
    report = _live(session, token)
    language = _language(report, lang)
    path = _printed(
        settings.data_dir / "reports" / f"{report.id}-{language}.pdf",
        lambda: render_html(report.snapshot, language, expires_at=_expires(report)),
        settings,
    )
    name = f"zopoc-report-{token[:8]}.pdf"
    return FileResponse(
        path,
        media_type="application/pdf",
        headers=PRIVATE_HEADERS | {"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.get(
    "/reports/{token}.png",
    response_class=Response,
    summary="The report's three charts (loss, accuracy, memory) as one PNG image, for slides",
    responses=TOKEN_ANSWERS | PRINTED_ANSWERS | {200: {"content": {"image/png": {}}}},
)
def report_png(
    token: Token, session: SessionDep, settings: SettingsDep, lang: Literal["en", "ja"] | None = Query(None)
) -> Response:
    report = _live(session, token)
    language = _language(report, lang)
    path = _printed(
        settings.data_dir / "reports" / f"{report.id}-{language}-charts.png",
        lambda: render_html(report.snapshot, language, charts_only=True),
        settings,
        image=True,
    )
    name = f"zopoc-charts-{token[:8]}.png"
    return FileResponse(
        path,
        media_type="image/png",
        headers=PRIVATE_HEADERS | {"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.get(
    "/reports/{token}",
    response_model=ReportPublic,
    responses=TOKEN_ANSWERS,
    summary="The frozen snapshot of a report",
)
def report_snapshot(token: Token, session: SessionDep, response: Response) -> dict:
    report = _live(session, token)
    response.headers.update(PRIVATE_HEADERS)
    return {
        "token": token,
        "language": report.language,
        "expires_at": _expires(report),
        "created_at": store.as_utc(report.created_at).isoformat(),
        "snapshot": share_view(report.snapshot),
    }


GONE_PAGE = {
    "en": (
        "Report link expired",
        "This report link has expired. Ask the person who shared it for a new one.",
    ),
    "ja": (
        "レポートのリンクは期限切れです",
        "このレポートのリンクは有効期限が切れています。共有した方に新しいリンクを依頼してください。",
    ),
}
MISSING_PAGE = {
    "en": ("Report not found", "There is no report at this address (it may have been revoked)."),
    "ja": (
        "レポートが見つかりません",
        "このアドレスのレポートはありません（取り消された可能性があります）。",
    ),
}


def _message_page(code: int, page: dict, lang: str) -> HTMLResponse:  # no script: the app's policy fits
    from html import escape

    title, text = page.get(lang, page["en"])
    body = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title></head><body style=\"font-family:'Noto Sans CJK JP',sans-serif;"
        f'margin:3em"><h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>'
    )
    return HTMLResponse(body, status_code=code, headers=PRIVATE_HEADERS)


@share_router.get(
    "/r/{token}",
    response_class=HTMLResponse,
    summary="The read-only share page of a report",
    responses={
        **INVALID,
        404: {"description": "a page saying the link is unknown or revoked"},
        410: {"description": "a page saying the link has expired"},
    },
)
def share_page(
    token: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    lang: Literal["en", "ja"] | None = Query(None),
) -> HTMLResponse:
    try:
        report = store.get_report(session, token)
    except store.ReportExpired:
        return _message_page(status.HTTP_410_GONE, GONE_PAGE, lang or "en")
    except store.ReportNotFound:
        return _message_page(status.HTTP_404_NOT_FOUND, MISSING_PAGE, lang or "en")
    html = render_html(
        report.snapshot, _language(report, lang), inline_plotly=False, expires_at=_expires(report)
    )
    return HTMLResponse(html, headers=PRIVATE_HEADERS | {"Content-Security-Policy": report_page_policy(html)})
