"""Render a report snapshot: one-page HTML (Jinja2, autoescaped) in English or Japanese, and PDF.

``render_html(..., inline_plotly=True)`` embeds plotly.min.js (from the ``plotly`` PyPI package) in the page:
the downloaded file opens offline. The share page links the same script from ``PLOTLY_URL`` instead, so a
browser fetches the 4.8 MB once and caches it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from backend.estimates import roi
from backend.reports.i18n import texts
from backend.reports.snapshot import HYPER_KEYS, share_view
from common.methods import all_methods, method_color

TEMPLATES = Path(__file__).with_name("templates")
PLOTLY_URL = "/api/reports/assets/plotly.min.js"


@functools.cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def plotly_js_path() -> Path:
    """The plotly.min.js bundled with the ``plotly`` Python package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@functools.cache
def plotly_js() -> str:
    return plotly_js_path().read_text(encoding="utf-8")


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if abs(value) >= 1 or digits == 0 else f"{value:.{digits}g}"


def _money(value, currency) -> str:
    if value is None:
        return "–"
    return f"{value:,.2f} {currency}" if value >= 0.01 else f"{value:.2g} {currency}"


def method_colors(snapshot: dict) -> dict[str, str]:
    """One colour per method, in the legend and the charts alike: the dashboard's (``common.methods``),
    as frozen in the snapshot when it has them."""
    return {run["method"]: run.get("color") or method_color(run["method"]) for run in snapshot["runs"]}


def method_labels(snapshot: dict) -> dict[str, str]:
    return {run["method"]: run["label"] for run in snapshot["runs"]}


def chart_data(snapshot: dict, language: str) -> dict:
    """What the page's script plots: per run its label, method and the three series (x = step)."""
    t = texts(language)
    return {
        "x_title": t["step"],
        "no_data": t["no_data"],
        "colors": method_colors(snapshot),
        "runs": [
            {"method": r["method"], "label": r["label"], "series": r["series"]} for r in snapshot["runs"]
        ],
    }


def render_html(
    snapshot: dict, language: str, inline_plotly: bool = True, expires_at: str | None = None
) -> str:
    """The report page of ``snapshot`` in ``language`` ("en" | "ja"): what ``share_view`` keeps of it."""
    snapshot = share_view(snapshot)
    poc_roi = (snapshot.get("roi") or {}).get("poc") or {}
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            s=snapshot,
            lang=language,
            t=texts(language),
            expires_at=expires_at,
            poc_rows={row["method"]: row for row in poc_roi.get("rows", [])},
            memory_rows={row["method"]: row for row in snapshot.get("memory", [])},
            labels={m.name: m.label for m in all_methods()} | method_labels(snapshot),
            hyper_keys=HYPER_KEYS,
            colors=method_colors(snapshot),
            utilisation=roi.GPU_UTILISATION,
            chart_data=chart_data(snapshot, language),
            # a literal "</script" inside the inlined library would end the element early: escape it
            plotly_inline=plotly_js().replace("</script", "<\\/script") if inline_plotly else None,
            plotly_src=PLOTLY_URL,
            pct=_pct,
            num=_num,
            money=_money,
        )
    )
