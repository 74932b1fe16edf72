"""A generation PoC in real Chromium against the real server and worker: launch form, live charts of exact
match and F1, the examples table, and a share report with examples (tests/browser/generation.mjs)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SCREENSHOTS, run_node

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHECKS = [
    "choosing the date task shows the generation settings and switches the encoder to a decoder (smollm2-135m)",
    "the classification-only settings are hidden",
    "the PoC is a generation PoC with the form's budget (generation, 4)",
    "both runs succeeded",
    "loss chart: one drawn trace per method",
    "exact_match chart: one drawn trace per method",
    "f1 chart: one drawn trace per method",
    "eval_loss chart: one drawn trace per method",
    "no accuracy chart on a generation PoC",
    "F1 at every evaluation: steps 0, 3, 6 (3,3)",
    "the examples table shows each method's answer at the start and the end",
    "the examples table shows the references (ISO dates)",
    "the report carries the example answers",
    "the report charts exact match",
    "no errors in the browser console",
]


def test_a_generation_poc_from_the_launch_form_to_the_report(dashboard_stack):
    output = run_node("generation.mjs", dashboard_stack)
    passed = [line for line in output.splitlines() if line.startswith("ok - ")]
    for check in CHECKS:
        assert any(check in line for line in passed), f"check not reported: {check}\n{output}"
    for name in ("generation-form.png", "generation-comparison.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, name
