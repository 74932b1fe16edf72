"""A method added by a test-only plug-in, end to end in real Chromium: the registry is the only place it is
described (tests/support/extra_method.py), and the API, the launch form, the engine, the comparison chart's
legend, the badges and the share report all show it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import SCREENSHOTS, run_node
from tests.support.stack import Stack, live_stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PLUGIN = "tests.support.extra_method"

CHECKS = [
    "the API lists the plug-in's method",
    "the launch form offers ZO-Sign in its colour (rgb(18, 52, 86)), unchecked",
    "the plug-in's hyperparameters are offered from the registry",
    "the advanced settings reached the PoC (eval_every=3, eval_size=64)",
    "both runs succeeded, the plug-in's method trained by the engine",
    "the runs table badges it ZO-Sign in rgb(18, 52, 86)",
    "the loss chart's legend shows ZO-Sign in its colour",
    "the summary compares it with the baseline",
    "the report's legend shows ZO-Sign in its colour",
    "no errors in the browser console",
]


@pytest.fixture(scope="module")
def plugin_stack(frontend_built: Path) -> Iterator[Stack]:
    """A live stack whose API, worker and training processes load the plug-in."""
    with live_stack(extra_env={"ZOPOC_METHOD_PLUGINS": PLUGIN}) as stack:
        yield stack


def test_a_plugin_method_appears_everywhere_and_trains(plugin_stack):
    output = run_node("extra_method.mjs", plugin_stack)
    passed = [line for line in output.splitlines() if line.startswith("ok - ")]
    for check in CHECKS:
        assert any(check in line for line in passed), f"check not reported: {check}\n{output}"
    for name in ("plugin-method-form.png", "plugin-method-comparison.png", "plugin-method-report.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, name
