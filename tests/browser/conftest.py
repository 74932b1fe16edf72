"""Browser tests: real Chromium (Debian's, driven by the npm package playwright-core) against a live stack
(real database, broker, uvicorn serving the built dashboard, Celery worker) from tests.support.stack.

The Node scripts next to this file do the clicking; each test runs one and asserts on its exit code and on
what it printed. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import Stack, live_stack

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "frontend"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _newest_source_mtime() -> float:
    files = [p for p in (FRONTEND / "src").rglob("*") if p.is_file()]
    files += [
        FRONTEND / name for name in ("index.html", "package.json", "package-lock.json", "vite.config.ts")
    ]
    return max(p.stat().st_mtime for p in files if p.exists())


@pytest.fixture(scope="session")
def frontend_built() -> Path:
    """frontend/dist, built now if it is missing or older than the sources (the API serves it)."""
    npm = shutil.which("npm")
    assert npm, "npm is needed for the browser tests (scripts/setup.sh --dev installs Node packages)"
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (scripts/setup.sh --dev installs it)"
    if not (FRONTEND / "node_modules" / "playwright-core").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True, timeout=600)
    index = FRONTEND / "dist" / "index.html"
    if not index.exists() or index.stat().st_mtime < _newest_source_mtime():
        subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True, timeout=600)
    return index.parent


@pytest.fixture(scope="session")
def dashboard_stack(frontend_built: Path) -> Iterator[Stack]:
    """One live stack for the browser tests, started after the build so it serves the dashboard."""
    with live_stack() as stack:
        yield stack


def run_node(script: str, stack: Stack, timeout_s: float = 540, **env: str) -> str:
    """Run tests/browser/<script> with BASE_URL set; fail with its whole output unless it exits 0."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The stack's first administrator, for servers with accounts (the scripts sign in only when asked to).
    admin = {
        key: stack.env[f"ZOPOC_{key}"]
        for key in ("ADMIN_EMAIL", "ADMIN_PASSWORD")
        if f"ZOPOC_{key}" in stack.env
    }
    result = subprocess.run(
        ["node", str(Path(__file__).parent / script)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=os.environ
        | {"BASE_URL": stack.base_url, "SCREENSHOT_DIR": str(SCREENSHOTS), "CHROMIUM": CHROMIUM}
        | admin
        | env,
    )
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 0, (
        f"{script} failed ({result.returncode}):\n{output}\n--- API log ---\n"
        f"{stack.api_log()[-3000:]}\n--- worker log ---\n{stack.worker_log()[-3000:]}"
    )
    return output
