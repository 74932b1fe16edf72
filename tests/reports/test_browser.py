"""A browser opens the share link and the downloaded HTML file in real Chromium (playwright-core)."""

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import uvicorn

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "reports"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(api_env, database_url):
    """The real app served by uvicorn on a free port, in this process (the session's database)."""
    from backend.api.main import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.browser
@pytest.mark.slow
def test_share_page_and_html_file_in_chromium(client, anonymous, finished_poc, live_server):
    links = client.post(f"/api/pocs/{finished_poc}/reports", json={"language": "en"}).json()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    html_file = ARTIFACTS / "report-en.html"
    html_file.write_bytes(anonymous.get(links["html_url"]).content)
    env = dict(
        os.environ,
        REPORT_URL=live_server + links["url"],
        HTML_FILE=str(html_file),
        EXPECT_VERDICT="This PoC cannot tell LOZO and AdamW apart",
        EXPECT_CONCLUSION="No detectable difference in accuracy between LOZO and AdamW (p = ",
        SCREENSHOT_DIR=str(ARTIFACTS),
    )
    proc = subprocess.run(
        ["node", str(REPO / "tests" / "reports" / "report_browser.mjs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("ok - ") >= 16
    assert (ARTIFACTS / "share-page-en.png").stat().st_size > 10_000
