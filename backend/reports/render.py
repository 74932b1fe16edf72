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
from backend.estimates.headline import p_text
from backend.reports import formatting
from backend.reports.i18n import HYPERPARAMETER_EXPLANATIONS_JA, texts
from backend.reports.snapshot import share_view
from common.methods import all_methods, get_method, is_method, method_color

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


def method_colors(snapshot: dict) -> dict[str, str]:
    """One colour per method, in the legend and the charts alike: the dashboard's (``common.methods``),
    as frozen in the snapshot when it has them."""
    return {run["method"]: run.get("color") or method_color(run["method"]) for run in snapshot["runs"]}


def method_labels(snapshot: dict) -> dict[str, str]:
    return {run["method"]: run["label"] for run in snapshot["runs"]}


# The y axis of each chart: accuracy on its whole scale (0 to 100 %), loss and memory from zero, so that a
# difference of a few points is not drawn as a cliff.
AXES: dict[str, dict] = {
    "loss": {"rangemode": "tozero"},
    "accuracy": {"range": [0, 1], "tickformat": ".0%"},
    "memory": {"rangemode": "tozero", "tickformat": ",d"},
}


def task_type(snapshot: dict) -> str:
    """The PoC's task: "generation" or "classification" (a snapshot from before the field: classification)."""
    return ((snapshot.get("poc") or {}).get("settings") or {}).get("task_type") or "classification"


def example_rows(snapshot: dict) -> list[dict]:
    """A generation report's example table: per prompt its reference and its answers: the start's (every
    method starts from the same weights: the first run's), then each run's at the end, in the order of the
    runs that have examples (the table's columns)."""
    runs = [r for r in snapshot.get("runs") or [] if r.get("examples")]
    if not runs:
        return []
    first = runs[0]["examples"]
    prompts = (first.get("start") or first.get("end") or {}).get("examples") or []
    rows = []
    for i, example in enumerate(prompts):
        start = ((first.get("start") or {}).get("examples") or [])[i : i + 1]
        answers = [start[0] if start else None]
        for run in runs:
            at_end = (run["examples"].get("end") or {}).get("examples") or []
            answers.append(at_end[i] if i < len(at_end) else None)
        rows.append(
            {"prompt": example.get("prompt"), "reference": example.get("reference"), "answers": answers}
        )
    return rows


def chart_data(snapshot: dict, language: str) -> dict:
    """What the page's script plots: per run its label, method and the three series (x = step), and each
    chart's y axis (``AXES``, with its title)."""
    t = texts(language, task_type(snapshot))
    titles = {"loss": t["loss_axis"], "accuracy": t["accuracy_axis"], "memory": t["memory_axis"]}
    return {
        "x_title": t["step"],
        "no_data": t["no_data"],
        "colors": method_colors(snapshot),
        "axes": {chart: {**axis, "title": {"text": titles[chart]}} for chart, axis in AXES.items()},
        "runs": [
            {"method": r["method"], "label": r["label"], "series": r["series"]} for r in snapshot["runs"]
        ],
    }


# The PoC-wide settings a report lists, in this order (the rest are details of the engine).
COMMON_SETTINGS = (
    "steps",
    "batch_size",
    "max_length",
    "k_shot",
    "eval_every",
    "eval_size",
    "seed",
    "dtype",
    "device",
)


def _explanation(description: str, language: str) -> str:
    return HYPERPARAMETER_EXPLANATIONS_JA.get(description, description) if language == "ja" else description


def settings_view(snapshot: dict, language: str) -> dict:
    """The settings in words: the PoC-wide ones once, then per run only its own method's hyperparameters
    (``common.methods``: no ZO setting under AdamW), named and explained in ``language``."""
    t = texts(language)
    poc_settings = snapshot["poc"].get("settings") or {}
    common = [
        (
            t[f"setting_{key}"],
            t.get(f"device_{poc_settings[key]}", poc_settings[key])
            if key == "device"
            else formatting.setting_value(poc_settings[key]),
        )
        for key in COMMON_SETTINGS
        if poc_settings.get(key) is not None
    ]
    runs, glossary = [], {}
    for run in snapshot["runs"]:
        hyper = run.get("hyperparams") or {}
        items = []
        method = get_method(run["method"]) if is_method(run["method"]) else None
        for parameter in method.hyperparameters if method else ():
            name = t.get(f"hp_{parameter.name}", parameter.name)
            value = hyper.get(parameter.name)
            if value is None and parameter.name != "lr":
                value = parameter.default
            note = ""
            if parameter.name == "lr":
                source = hyper.get("lr_source")
                note = t.get(f"lr_{source}", "") if source else ""
            items.append((name, formatting.setting_value(value), note))
            explanation = _explanation(parameter.description, language)
            # an explanation that only repeats the name ("perturbation scale ε", "学習率") says nothing more
            if explanation and not (
                explanation.lower().startswith(name.lower()) or name.lower().startswith(explanation.lower())
            ):
                glossary[name] = explanation
        runs.append({"label": run["label"], "method": run["method"], "items": items})
    return {"common": common, "runs": runs, "glossary": sorted(glossary.items())}


def downloads_view(snapshot: dict, language: str) -> list[str]:
    """One sentence per finished run: what can be taken away from it and how big it is."""
    t = texts(language)
    lines = []
    for run in snapshot["runs"]:
        download = run.get("download")
        if not download:
            continue
        size = formatting.size_bytes(download.get("bytes"))
        if download["kind"] == "step_log":
            line = t["download_step_log"].format(
                label=run["label"], size=size, steps=formatting.number(download.get("steps"))
            )
        elif download.get("bytes"):
            line = t["download_model_folder_size"].format(label=run["label"], size=size)
        else:
            line = t["download_model_folder"].format(label=run["label"])
        lines.append(line)
    return lines


def render_html(
    snapshot: dict,
    language: str,
    inline_plotly: bool = True,
    expires_at: str | None = None,
    charts_only: bool = False,
) -> str:
    """The report page of ``snapshot`` in ``language`` ("en" | "ja"): what ``share_view`` keeps of it.

    ``charts_only``: the legend and the three charts alone (the PNG export).
    """
    snapshot = share_view(snapshot)
    poc_roi = (snapshot.get("roi") or {}).get("poc") or {}
    time_zone = (snapshot.get("reader") or {}).get("time_zone")
    zone_name = formatting.zone(time_zone).key
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            s=snapshot,
            lang=language,
            t=texts(language, task_type(snapshot)),
            generation=task_type(snapshot) == "generation",
            examples=example_rows(snapshot),
            charts_only=charts_only,
            generated=formatting.date_time(snapshot.get("generated_at"), language, time_zone),
            expires=formatting.date_time(expires_at, language, time_zone) if expires_at else None,
            zone_name=zone_name,
            poc_rows={row["method"]: row for row in poc_roi.get("rows", [])},
            memory_rows={row["method"]: row for row in snapshot.get("memory", [])},
            labels={m.name: m.label for m in all_methods()} | method_labels(snapshot),
            settings=settings_view(snapshot, language),
            downloads=downloads_view(snapshot, language),
            colors=method_colors(snapshot),
            utilisation=roi.GPU_UTILISATION,
            chart_data=chart_data(snapshot, language),
            # a literal "</script" inside the inlined library would end the element early: escape it
            plotly_inline=plotly_js().replace("</script", "<\\/script") if inline_plotly else None,
            plotly_src=PLOTLY_URL,
            pct=formatting.percent,
            num=formatting.number,
            money=formatting.money,
            duration=lambda hours: formatting.duration_hours(hours, language),
            params=formatting.parameters,
            p_text=p_text,
        )
    )
