"""A training process runs below the priority of the API and the worker that started it."""

from __future__ import annotations

import os
import sys

from worker.execution.child import TrainingProcess

_PRINT_NICENESS = 'import json, os; print(json.dumps({"event": "nice", "value": os.nice(0)}))'


def _niceness_of_a_child(tmp_path, nice: int) -> int:
    child = TrainingProcess([sys.executable, "-c", _PRINT_NICENESS], env=dict(os.environ), cwd=tmp_path,
                            stderr_path=tmp_path / "stderr.log", nice=nice)
    events = []
    while not child.eof:
        events += child.events(timeout_s=10)
    assert child.wait().returncode == 0, child.stderr_tail()
    return events[0]["value"]


def test_child_gets_the_configured_niceness_on_top_of_the_parents(tmp_path):
    own = os.nice(0)
    assert _niceness_of_a_child(tmp_path, 10) == min(own + 10, 19)
    assert _niceness_of_a_child(tmp_path, 0) == own


def test_the_default_setting_lowers_training_priority():
    from backend.core.config import Settings

    assert Settings().train_nice == 10
