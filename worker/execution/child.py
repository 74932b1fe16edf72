"""The training child process: start it in its own process group, read its JSONL events, end it.

The child is ``python -m worker.train --spec-file F --events-out -`` (docs/CONTRACTS.md section 1). It gets
its own session and process group (so a cancel reaches everything it started, and its niceness counts
against the API's processes, see ``_child_setup``) and a parent-death signal (so it dies
with the worker process that reads it instead of training on unobserved). Its exit is collected with
``os.wait4`` for the exit status and the kernel's account of its peak memory (``ru_maxrss``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.reasons import describe

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_prctl = _libc.prctl

_EOF = object()


def _child_setup(parent_pid: int, nice: int) -> None:
    # Runs in the forked child before exec: async-signal-safe calls only (everything was loaded before).
    # A session of its own is also a process group of its own (a cancel signals the whole group).
    os.setsid()
    if nice:
        os.nice(nice)
        # On kernels with autogroup scheduling (most desktop and many server distributions) a nice value
        # only counts against processes of the same session: against the API, Postgres and everything
        # else, each session's *autogroup* competes at its own nice. So the new session's autogroup gets
        # the niceness too; without it the API waited for training processes as if they had none
        # (benchmarks/load.py). Best effort: the file is missing without autogroup.
        try:
            fd = os.open("/proc/self/autogroup", os.O_WRONLY)
            try:
                os.write(fd, str(nice).encode())
            finally:
                os.close(fd)
        except OSError:
            pass
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)


@dataclass(frozen=True)
class ExitInfo:
    """How the child ended: exit code (negative = killed by that signal) and peak RSS from the kernel."""

    returncode: int
    max_rss_mb: float

    @property
    def signal_name(self) -> str | None:
        if self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"


def cgroup_oom_kills() -> int | None:
    """The number of OOM kills the kernel counted in this process's cgroup (None when unreadable)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/sys/fs/cgroup/memory.events").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    return None


class TrainingProcess:
    """One running training child and a thread that reads its stdout into a queue of events."""

    def __init__(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, stderr_path: Path, nice: int = 0
    ) -> None:
        self.stderr_path = stderr_path
        self.oom_kills_before = cgroup_oom_kills()
        parent = os.getpid()
        with stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                preexec_fn=lambda: _child_setup(parent, nice),
            )
        self.pid = self.process.pid
        self.signalled: str | None = None
        self._lines: queue.Queue[Any] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"events-{self.pid}", daemon=True)
        self._reader.start()
        self.eof = False

    def _read(self) -> None:
        assert self.process.stdout is not None  # started with stdout=PIPE
        try:
            for raw in self.process.stdout:
                self._lines.put(raw)
        finally:
            self._lines.put(_EOF)

    def events(self, timeout_s: float) -> list[dict[str, Any]]:
        """The events that arrive within ``timeout_s`` (returns early once some came); [] at the end.

        Lines that are not JSON objects (stray prints of libraries) are skipped.
        """
        deadline = time.monotonic() + timeout_s
        out: list[dict[str, Any]] = []
        while not self.eof:
            wait = deadline - time.monotonic()
            try:
                item = (
                    self._lines.get(timeout=max(0.0, wait))
                    if wait > 0 and not out
                    else self._lines.get_nowait()
                )
            except queue.Empty:
                break
            if item is _EOF:
                self.eof = True
                break
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                event = json.loads(item)
                if isinstance(event, dict) and "event" in event:
                    out.append(event)
            if len(out) >= 10_000:
                break
        return out

    def send(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the child's whole process group (no error if it is gone)."""
        self.signalled = sig.name
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def wait(self) -> ExitInfo:
        """Reap the child (however long it takes); return its exit status and kernel-measured peak RSS."""
        while (exit_info := self.wait_for(60.0)) is None:
            pass
        return exit_info

    def wait_for(self, timeout_s: float) -> ExitInfo | None:
        """Reap the child if it exits within ``timeout_s``; None when it is still running then."""
        deadline = time.monotonic() + timeout_s
        while True:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        self._reader.join(timeout=5)
        with contextlib.suppress(OSError):  # the group may hold leftovers the child started
            os.killpg(self.pid, signal.SIGKILL)
        return ExitInfo(self.process.returncode, usage.ru_maxrss / 1024.0)  # Linux: KiB

    def stderr_tail(self, n_lines: int = 5) -> str:
        """The last lines the child wrote to stderr (for failure messages)."""
        with contextlib.suppress(OSError):
            lines = [ln for ln in self.stderr_path.read_text(errors="replace").splitlines() if ln.strip()]
            return "\n".join(lines[-n_lines:])
        return ""

    def oom_killed(self) -> bool:
        """True when the kernel's OOM killer struck in this cgroup while the child ran."""
        after = cgroup_oom_kills()
        return after is not None and self.oom_kills_before is not None and after > self.oom_kills_before


def describe_death(exit_info: ExitInfo, oom_killed: bool, stderr_tail: str) -> str:
    """A reason a person understands for a child that ended without its ``finished`` event."""
    sig = exit_info.signal_name
    peak = f"{exit_info.max_rss_mb:.0f}" if exit_info.max_rss_mb else None
    output = stderr_tail or None
    if sig == "SIGKILL":
        return describe("killed_by_oom_killer" if oom_killed else "killed", peak_mb=peak)
    if sig is not None:
        return describe("ended_by_signal", signal=sig, peak_mb=peak, output=output)
    return describe("exited_without_finishing", exit_code=exit_info.returncode, peak_mb=peak, output=output)
