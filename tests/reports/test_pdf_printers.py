"""PDF printing is bounded: one print per report file at a time, and at most ``pdf_max_concurrent``
printers at once, whatever the number of requests (share links need no sign-in).

The printer is a stand-in executable given as ``ZOPOC_CHROMIUM_PATH`` that records when each print starts
and ends and takes a second: these tests are about how many printers run, not about the PDF itself
(``test_pdf.py`` prints with the real Chromium).
"""

from __future__ import annotations

import stat
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import pytest
from fastapi.testclient import TestClient

from backend.core.config import get_settings

PRINT_SECONDS = 1.0


@pytest.fixture
def printer(tmp_path) -> tuple[Path, Path]:
    """A stand-in for Chromium: writes a small PDF to --print-to-pdf=…, logging start and end times."""
    log = tmp_path / "prints.log"
    script = tmp_path / "fake-chromium"
    script.write_text(
        textwrap.dedent(f"""\
        #!/usr/bin/env python3
        import sys, time, os
        out = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--print-to-pdf="))
        with open({str(log)!r}, "a") as log:
            log.write(f"start {{time.monotonic()}} {{os.getpid()}}\\n")
        time.sleep({PRINT_SECONDS})
        open(out, "wb").write(b"%PDF-1.4 stand-in")
        with open({str(log)!r}, "a") as log:
            log.write(f"end {{time.monotonic()}} {{os.getpid()}}\\n")
    """)
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def _most_at_once(log: Path) -> tuple[int, int]:
    """(prints started, the most that ran at the same time) from the printer's log."""
    events = sorted(
        (float(t), 1 if kind == "start" else -1)
        for kind, t, _pid in (line.split() for line in log.read_text().splitlines())
    )
    running = most = 0
    for _t, change in events:
        running += change
        most = max(most, running)
    return sum(1 for _t, c in events if c == 1), most


def _in_parallel(app, paths: list[str]) -> list:
    start = Barrier(len(paths))

    def get(path: str):
        with TestClient(app) as reader:  # share links need no credentials
            start.wait()
            return reader.get(path)

    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(get, paths))


def test_many_readers_of_one_report_make_one_print(client, finished_poc, settings, printer):
    script, log = printer
    client.app.dependency_overrides[get_settings] = lambda: settings.model_copy(
        update={"chromium_path": str(script)}
    )
    try:
        shared = client.post(f"/api/pocs/{finished_poc}/reports", json={}).json()
        answers = _in_parallel(client.app, [shared["pdf_url"]] * 8)
    finally:
        client.app.dependency_overrides.clear()
    assert [a.status_code for a in answers] == [200] * 8
    assert all(a.content == b"%PDF-1.4 stand-in" for a in answers)
    assert _most_at_once(log) == (1, 1)


def test_printers_at_once_are_limited_across_reports(client, finished_poc, settings, printer):
    script, log = printer
    limited = settings.model_copy(update={"chromium_path": str(script), "pdf_max_concurrent": 2})
    client.app.dependency_overrides[get_settings] = lambda: limited
    try:
        links = [
            client.post(f"/api/pocs/{finished_poc}/reports", json={}).json()["pdf_url"] for _ in range(6)
        ]
        started = time.monotonic()
        answers = _in_parallel(client.app, links)
    finally:
        client.app.dependency_overrides.clear()
    printed, most = _most_at_once(log)
    assert most <= 2, f"{most} printers ran at once"
    for answer in answers:  # printed, or told to come back: never a seventh Chromium
        assert answer.status_code == 200 or (answer.status_code == 503 and answer.headers["retry-after"]), (
            answer
        )
    assert printed == sum(a.status_code == 200 for a in answers) >= 2
    assert time.monotonic() - started >= PRINT_SECONDS * printed / 2
