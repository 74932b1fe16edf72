"""Print a report page to PDF (or photograph its charts as PNG) with headless Chromium.

The page is written to a temporary file with plotly inlined (no network needed) and printed with
``--print-to-pdf``. ``--virtual-time-budget`` lets the page's scripts (the three Plotly charts) run to the
end before Chromium prints. Japanese text needs a CJK font on the machine: ``fonts-noto-cjk`` (installed by
``scripts/setup.sh``; the page asks for "Noto Sans CJK JP").
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--run-all-compositor-stages-before-draw",
    "--no-pdf-header-footer",
)
# Virtual milliseconds the page may use before printing; Plotly draws three small charts well within it.
VIRTUAL_TIME_BUDGET_MS = 20000


class PdfUnavailable(RuntimeError):
    """Chromium is missing or failed to print."""


def chromium_executable(configured: str = "chromium") -> str:
    """The Chromium binary (a path, or a name on the PATH); raises ``PdfUnavailable`` when absent."""
    found = shutil.which(configured) or next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )
    if not found:
        raise PdfUnavailable("Chromium is not installed: PDF reports need it (scripts/setup.sh installs it)")
    return found


def _print(html: str, chromium: str, timeout_s: float, suffix: str, output_flags) -> bytes:
    """Run headless Chromium on ``html`` (a self-contained page) and return the file it writes; the flags
    that make it write are ``output_flags(path)``."""
    exe = chromium_executable(chromium)
    with tempfile.TemporaryDirectory(prefix="zopoc-pdf-") as tmp:
        page, out, profile = Path(tmp) / "report.html", Path(tmp) / f"report.{suffix}", Path(tmp) / "profile"
        page.write_text(html, encoding="utf-8")
        cmd = [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
            *output_flags(out),
            page.as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PdfUnavailable(f"Chromium did not print within {timeout_s:.0f} s") from exc
        if not out.is_file() or out.stat().st_size == 0:
            # Its output names files and the machine: the log gets it, a share link's reader does not.
            log.error("Chromium failed to print a report (exit %s): %s", proc.returncode, proc.stderr[-2000:])
            raise PdfUnavailable(
                f"the {suffix.upper()} could not be made; try again later or download the HTML file"
            )
        return out.read_bytes()


def html_to_pdf(html: str, chromium: str = "chromium", timeout_s: float = 60.0) -> bytes:
    """The PDF Chromium prints for ``html`` (a self-contained page)."""
    return _print(html, chromium, timeout_s, "pdf", lambda out: [f"--print-to-pdf={out}"])


# The window the charts-only page (``render_html(..., charts_only=True)``) is photographed in: its body is
# 1500 px wide plus padding, the three charts 420 px high under the legend.
PNG_WINDOW = (1532, 520)


def html_to_png(html: str, chromium: str = "chromium", timeout_s: float = 60.0) -> bytes:
    """A PNG screenshot Chromium takes of ``html`` in a ``PNG_WINDOW`` window (the charts of a report)."""
    width, height = PNG_WINDOW
    return _print(
        html,
        chromium,
        timeout_s,
        "png",
        lambda out: [
            f"--screenshot={out}",
            f"--window-size={width},{height}",
            "--force-device-scale-factor=1",
        ],
    )


class PdfBusy(PdfUnavailable):
    """Every printer is busy: ask again in ``retry_after_s`` seconds."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


_printer_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()
# Seconds a request waits for a free printer before it is told to come back.
PRINTER_WAIT_S = 10.0


def _printers(count: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        return _printer_slots.setdefault(count, threading.BoundedSemaphore(count))


def cached_file(path: Path, make: Callable[[], bytes], wait_s: float = 60.0) -> Path:
    """``path``, made by ``make()`` the first time; one maker per path at a time, across processes.

    A report's snapshot is frozen, so is every file made from it: made once per language and kept. Two
    requests for a file not made yet do not both make it: the second waits for the first (a file lock
    beside it) and then reads what it wrote.
    """
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_name(path.name + ".lock"), timeout=wait_s):
        if path.is_file():  # made by whoever held the lock before
            return path
        body = make()
        partial = path.with_name(f"{path.name}.{os.getpid()}.part")
        partial.write_bytes(body)
        partial.replace(path)  # atomic: a reader sees the whole file or none
    return path


def cached_pdf(
    path: Path,
    html: Callable[[], str],
    chromium: str = "chromium",
    timeout_s: float = 60.0,
    max_printers: int = 2,
    image: bool = False,
) -> Path:
    """The PDF file at ``path`` (a PNG of the page with ``image``), printed from ``html()`` the first time
    (see ``cached_file``).

    Chromium takes seconds and a few hundred MB, and a share link needs no sign-in: one print per file at
    a time, and at most ``max_printers`` in this process at once; a request that finds every printer busy
    for ``PRINTER_WAIT_S`` gets ``PdfBusy`` (503 with Retry-After) instead of one more Chromium.
    """

    def printed() -> bytes:
        slots = _printers(max_printers)
        if not slots.acquire(timeout=PRINTER_WAIT_S):
            raise PdfBusy(
                f"every PDF printer is busy ({max_printers}); try again in a few seconds",
                retry_after_s=PRINTER_WAIT_S,
            )
        try:
            return (html_to_png if image else html_to_pdf)(html(), chromium, timeout_s)
        finally:
            slots.release()

    try:
        return cached_file(path, printed, wait_s=timeout_s + PRINTER_WAIT_S)
    except Timeout as exc:
        raise PdfBusy(
            "this report's PDF is being printed; try again in a few seconds", retry_after_s=PRINTER_WAIT_S
        ) from exc
