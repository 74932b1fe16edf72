"""Print a report page to PDF with headless Chromium.

The page is written to a temporary file with plotly inlined (no network needed) and printed with
``--print-to-pdf``. ``--virtual-time-budget`` lets the page's scripts (the three Plotly charts) run to the
end before Chromium prints. Japanese text needs a CJK font on the machine: ``fonts-noto-cjk`` (installed by
``scripts/setup.sh``; the page asks for "Noto Sans CJK JP").
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--hide-scrollbars", "--run-all-compositor-stages-before-draw",
                  "--no-pdf-header-footer")
# Virtual milliseconds the page may use before printing; Plotly draws three small charts well within it.
VIRTUAL_TIME_BUDGET_MS = 20000


class PdfUnavailable(RuntimeError):
    """Chromium is missing or failed to print."""


def chromium_executable(configured: str = "chromium") -> str:
    """The Chromium binary (a path, or a name on the PATH); raises ``PdfUnavailable`` when absent."""
    found = shutil.which(configured) or next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if not found:
        raise PdfUnavailable("Chromium is not installed: PDF reports need it (scripts/setup.sh installs it)")
    return found


def html_to_pdf(html: str, chromium: str = "chromium", timeout_s: float = 60.0) -> bytes:
    """The PDF Chromium prints for ``html`` (a self-contained page)."""
    exe = chromium_executable(chromium)
    with tempfile.TemporaryDirectory(prefix="zopoc-pdf-") as tmp:
        page, out, profile = Path(tmp) / "report.html", Path(tmp) / "report.pdf", Path(tmp) / "profile"
        page.write_text(html, encoding="utf-8")
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
               f"--print-to-pdf={out}", page.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PdfUnavailable(f"Chromium did not print within {timeout_s:.0f} s") from exc
        if not out.is_file() or out.stat().st_size == 0:
            raise PdfUnavailable(f"Chromium failed to print (exit {proc.returncode}): {proc.stderr[-500:]}")
        return out.read_bytes()


def cached_pdf(path: Path, html: Callable[[], str], chromium: str = "chromium", timeout_s: float = 60.0) -> bytes:
    """The PDF at ``path``, printed from ``html()`` the first time.

    A report's snapshot is frozen, so its PDF is too: printed once per language and kept (Chromium takes
    seconds and a few hundred MB; a public link must not make the server print on every request).
    """
    if path.is_file():
        return path.read_bytes()
    body = html_to_pdf(html(), chromium, timeout_s)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{id(body)}.part")
    partial.write_bytes(body)
    partial.replace(path)  # atomic: a concurrent reader sees the whole file or none
    return body
