"""The dashboard in real Chromium against the real server and worker."""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import subprocess

import pytest
import sqlalchemy as sa

from backend.datasets import builtin_dataset_id
from backend.db import models
from backend.db.models import Poc, Run
from backend.ingest import Point, write_points
from tests.browser.conftest import FRONTEND, SCREENSHOTS, run_node

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The checks dashboard.mjs must report (each printed as "ok - ..."): a script that stopped early or
# skipped a step cannot pass.
EXPECTED_CHECKS = [
    "LOZO is checked by default",
    "row errors are shown in place",
    "the uploaded file's preview is shown",
    "the uploaded dataset is selected",
    "the live stream is connected",
    "without a reload",
    "both runs succeeded",
    "loss chart: one drawn trace per method",
    "accuracy chart: one drawn trace per method",
    "memory chart: one drawn trace per method",
    "each method keeps its colour in every chart",
    "the ROI table follows the target selector",
    "the share link opens a page",
    "the HTML download answers",
    "the first Tab reaches the skip link",
    "the x-axis switch works from the keyboard",
    "forward-pass axis",
    "wall-clock axis in seconds on every chart",
    "Japanese label shown: 学習の推移",
    "the memory ratio sentence is Japanese",
    "the language choice is remembered after a reload",
    "after the reload the charts are drawn again with Japanese axis titles",
    "?lang=en in the URL wins",
    'the cancelled run is marked "Cancelled"',
    "the list filters by search",
    "no errors in the browser console",
]


def test_launch_watch_compare_switch_language_and_cancel(dashboard_stack):
    output = run_node("dashboard.mjs", dashboard_stack)
    passed = [line for line in output.splitlines() if line.startswith("ok - ")]
    for check in EXPECTED_CHECKS:
        assert any(check in line for line in passed), f"check not reported: {check}\n{output}"
    for name in ("launch-form.png", "live-comparison.png", "finished-comparison.png", "cancelled.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, name


# The checks accounts.mjs must report: the account screens against the real API.
ACCOUNT_CHECKS = [
    "signed in as the administrator",
    "the user menu leads to /account/tokens",
    "you will not see it again",
    "the copy button puts the token on the clipboard",
    "the token shown works as Authorization: Bearer (200",
    "once dismissed, the token is nowhere on the page",
    "the owner sees the role controls",
    "the full invitation link is shown",
    "the new invitation is listed as pending",
    "the shown link opens the invitation page",
    "the invited person created an account and signed in",
    "the person's own token works (200",
    "an editor sees the members without role controls",
    "an accepted invitation is no longer pending",
    "the server's 409 (already has an account) is shown in words",
    "adding someone who is already a member is refused in words",
    "the administrator is not offered to disable themselves",
    "a new administrator's token reaches the administration at once (200",
    "withdrawn administrator rights are refused at once (403",
    "the user is shown as disabled",
    "the API refuses the disabled user's token (401)",
    "the administrator's token still works",
    "the disabled user's browser session is over",
    "the administration screen is in Japanese",
    "a used invitation is refused wholly in Japanese",
    "no errors in the browser console",
]


def test_account_screens_token_invite_and_disable(dashboard_stack):
    output = run_node("accounts.mjs", dashboard_stack, timeout_s=180)
    passed = [line for line in output.splitlines() if line.startswith("ok - ")]
    for check in ACCOUNT_CHECKS:
        assert any(check in line for line in passed), f"check not reported: {check}\n{output}"
    for name in ("account-tokens.png", "workspace-members.png", "administration.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, name


def _admin_workspace(session, stack) -> dict:
    """``{"workspace_id": …}`` of the stack's administrator once PoCs belong to workspaces (accounts)."""
    if not hasattr(models, "Workspace"):
        return {}
    admin_email = stack.env.get("ZOPOC_ADMIN_EMAIL")
    admin = session.scalar(sa.select(models.User).where(models.User.email == admin_email))
    if admin is not None:
        membership = session.scalar(sa.select(models.Membership).where(models.Membership.user_id == admin.id))
        if membership is not None:
            return {"workspace_id": membership.workspace_id}
    workspace = session.scalar(sa.select(models.Workspace).order_by(models.Workspace.created_at))
    if workspace is None:
        workspace = models.Workspace(name="Default")
        session.add(workspace)
        session.flush()
    return {"workspace_id": workspace.id}


def _seed_large_poc(stack, steps: int = 100_000) -> str:
    """A finished PoC with LOZO, AdamW and MeZO runs of ``steps`` steps each, written through the worker's
    ingestion code (backend.ingest.write_points), as if the runs had really happened."""
    now = dt.datetime.now(dt.UTC)
    shapes = {"lozo": (0.55, 2, 410.0, 0.86), "adamw": (0.35, 1, 870.0, 0.89), "mezo": (0.7, 2, 415.0, 0.84)}
    with stack.session() as session:
        poc = Poc(
            name="Large PoC (3 × 100,000 steps)",
            model="minilm",
            dataset_id=builtin_dataset_id("demo-sentiment"),
            settings={"steps": steps, "batch_size": 16, "seed": 0},
            created_by="perf-test",
            state="succeeded",
            **_admin_workspace(session, stack),
        )
        session.add(poc)
        runs = {}
        for method, (floor, passes, peak, acc) in shapes.items():
            runs[method] = Run(
                poc=poc,
                method=method,
                hyperparams={},
                state="succeeded",
                step=steps,
                forward_passes=passes * steps,
                total_steps=steps,
                progress=1.0,
                started_at=now,
                finished_at=now,
                device="cpu",
                queue="cpu",
                peak_memory_mb=peak,
                baseline_memory_mb=380.0,
                memory_kind="host_rss",
                final_metrics={"eval/accuracy": acc, "acc_start": 0.5},
            )
        session.add_all(runs.values())
        session.commit()
        rng = random.Random(0)
        for method, (floor, passes, peak, acc) in shapes.items():
            run_id = runs[method].id
            batch: list[Point] = []
            for step in range(1, steps + 1):
                elapsed = step * (0.2 if passes == 2 else 0.75)
                loss = floor + 0.7 * math.exp(-step / 20_000) + rng.uniform(-0.05, 0.05)
                batch.append(Point("train/loss", step, elapsed, passes * step, loss))
                if step % 10 == 0:
                    batch.append(Point("memory/peak_rss_mb", step, elapsed, passes * step, peak))
                if step % 1000 == 0:
                    batch.append(
                        Point(
                            "eval/accuracy",
                            step,
                            elapsed,
                            passes * step,
                            acc - 0.3 * math.exp(-step / 15_000),
                        )
                    )
                if len(batch) >= 20_000:
                    write_points(session, run_id, batch)
                    session.commit()
                    batch = []
            write_points(session, run_id, batch)
            session.commit()
        return poc.id


def test_comparison_renders_3_runs_of_100k_steps_fast(dashboard_stack):
    poc_id = _seed_large_poc(dashboard_stack)
    output = run_node("perf.mjs", dashboard_stack, POC_ID=poc_id, PERF_STEPS="100000")
    render_ms = float(re.search(r"render_ms=(\d+)", output).group(1))
    print(f"\nCOMPARISON VIEW RENDER (3 runs x 100,000 steps): {render_ms:.0f} ms after the data arrived")
    assert render_ms < 1500, output


def test_bundle_size_is_reported_and_the_first_load_stays_small(frontend_built):
    output = subprocess.run(
        ["node", "scripts/bundle-size.mjs"], cwd=FRONTEND, capture_output=True, text=True, check=True
    ).stdout
    print(output)
    initial_kib = float(re.search(r"loaded before any chart: ([\d.]+) KiB gzip", output).group(1))
    # Plotly must stay out of the first load: it comes only with a chart.
    assert initial_kib < 400, output
    assert re.search(r"PlotlyChart.*\(lazy: charts\)", output), output


def test_launch_form_what_if_for_a_model_nobody_downloaded(dashboard_stack):
    """Llama 2 7B is neither on the machine nor in a Hugging Face cache: the form suggests it from the shipped
    catalogue and forecasts LOZO and AdamW on one A100 80GB."""
    output = run_node("whatif.mjs", dashboard_stack, timeout_s=120)
    passed = [line for line in output.splitlines() if line.startswith("ok - ")]
    for check in (
        "the form suggests the models known offline",
        "a 7B what-if on one A100 80GB: LOZO",
        "a model it cannot estimate gets the reason",
        "no errors in the browser console",
    ):
        assert any(check in line for line in passed), f"check not reported: {check}\n{output}"
    assert (SCREENSHOTS / "launch-whatif-llama2-7b.png").stat().st_size > 10_000
