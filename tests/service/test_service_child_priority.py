"""A training process runs below the priority of the API and the worker that started it."""

from __future__ import annotations

import os
import sys

from worker.execution.child import TrainingProcess

_PRINT_NICENESS = 'import json, os; print(json.dumps({"event": "nice", "value": os.nice(0)}))'
_PRINT_SCHEDULING = """
import json, os
try:
    autogroup = open("/proc/self/autogroup").read()
except OSError:
    autogroup = None
print(json.dumps({"event": "scheduling", "pid": os.getpid(), "sid": os.getsid(0), "pgid": os.getpgid(0),
                  "autogroup": autogroup}))
"""


def _first_event_of_a_child(tmp_path, code: str, nice: int) -> dict:
    child = TrainingProcess(
        [sys.executable, "-c", code],
        env=dict(os.environ),
        cwd=tmp_path,
        stderr_path=tmp_path / "stderr.log",
        nice=nice,
    )
    events = []
    while not child.eof:
        events += child.events(timeout_s=10)
    assert child.wait().returncode == 0, child.stderr_tail()
    return events[0]


def _niceness_of_a_child(tmp_path, nice: int) -> int:
    return _first_event_of_a_child(tmp_path, _PRINT_NICENESS, nice)["value"]


def test_child_gets_the_configured_niceness_on_top_of_the_parents(tmp_path):
    own = os.nice(0)
    assert _niceness_of_a_child(tmp_path, 10) == min(own + 10, 19)
    assert _niceness_of_a_child(tmp_path, 0) == own


def test_the_default_setting_lowers_training_priority():
    from backend.core.config import Settings

    assert Settings().train_nice == 10


def test_child_leads_its_own_session_whose_autogroup_gets_the_niceness(tmp_path):
    # With autogroup scheduling a nice value only counts inside one session; the API and Postgres run in
    # other sessions, so the child's session must be its own and its autogroup niced too.
    seen = _first_event_of_a_child(tmp_path, _PRINT_SCHEDULING, 10)
    assert seen["sid"] == seen["pid"] == seen["pgid"]
    if seen["autogroup"] is None:
        return  # a kernel without autogroup scheduling: plain niceness is all there is (tested above)
    assert seen["autogroup"].split()[-2:] == ["nice", "10"], seen["autogroup"]
