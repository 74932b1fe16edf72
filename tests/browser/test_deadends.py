"""The dashboard's former dead ends in real Chromium, in Japanese, against the real API and worker: cancel
asks and shows "stopping…", retries are numbered, the list counts how a partial PoC's runs ended, share
links are listed (found again after a reload, revoked), and an owner deletes a PoC."""

from __future__ import annotations

import pytest

from backend.datasets import builtin_dataset_id
from tests.browser.conftest import SCREENSHOTS, run_node

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The checks deadends.mjs must report (each printed as "ok - ..."): a script that stopped early or skipped
# a step cannot pass.
CHECKS = [
    "the manager owns the workspace",
    "cancelling asks first, in Japanese",
    'the run showed "停止処理中…" with its actions disabled',
    "then the worker ended it and the row says 中止",
    "the retried method's rows say 1 回目 and 2 回目",
    "every run of the long PoC ended as 中止",
    "LOZO and AdamW finished, MeZO was cancelled",
    "the list says how the partial PoC's runs ended (3 件中 2 件が完了、1 件を中止)",
    "its state reads 結果が混在, with no percentage or bar once nothing trains",
    "the retried PoC counts the newest attempt of each method (2 件中 0 件が完了、2 件を中止)",
    "the PoC starts without share links",
    "each new link is added to the list at once",
    "after a reload both links are still listed",
    "created and valid until in Tokyo time",
    "its address is shown again and opens the report",
    "the HTML download answers",
    "the PDF download is offered",
    "revoking asks first, in Japanese",
    "the revoked link is listed as 無効化済み, without actions",
    "the revoked link no longer opens; the other one still does",
    "deleting asks first and says that runs, metrics and share links go",
    "after deleting, the list is shown without the PoC",
    "the deleted PoC and its remaining share link are gone (404)",
    "no errors in the browser console",
]


def test_dead_ends_in_japanese_cancel_retry_list_share_links_and_delete(dashboard_stack):
    output = run_node(
        "deadends.mjs", dashboard_stack, timeout_s=480, DATASET_ID=builtin_dataset_id("demo-sentiment")
    )
    passed = [line for line in output.splitlines() if line.startswith("ok - ")]
    for check in CHECKS:
        assert any(check in line for line in passed), f"check not reported: {check}\n{output}"
    # both links of the reload step were checked, each with its own line
    assert sum("its address is shown again and opens the report" in line for line in passed) == 2, output
    for name in ("deadends-attempts-ja.png", "deadends-list-ja.png", "deadends-share-ja.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, name
