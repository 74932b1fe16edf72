"""Run stop/failure reasons: every sentence the engine and service write reads back as its code."""

from __future__ import annotations

import pytest

from common.reasons import REASONS, describe, parse
from worker.execution.child import ExitInfo, describe_death

EXAMPLES: dict[str, dict[str, object]] = {
    "cancelled_on_request": {},
    "cancelled_before_start": {},
    "diverged": {"loss": "nan", "step": "12"},
    "gpu_out_of_memory": {"detail": "CUDA out of memory. Tried to allocate 2.00 GiB"},
    "could_not_start": {"detail": "unknown dataset 'x': choose one of a, b"},
    "killed_by_oom_killer": {"peak_mb": "2048"},
    "killed": {"peak_mb": "512"},
    "ended_by_signal": {"signal": "SIGSEGV", "peak_mb": "300", "output": "Traceback\n  line 1: boom"},
    "exited_without_finishing": {"exit_code": "3", "output": "ImportError: no module"},
    "child_exited": {"exit_code": "-9"},
    "unknown_status": {"status": "'paused'"},
    "process_not_started": {"detail": "[Errno 2] No such file or directory: 'python'"},
    "dataset_not_on_worker": {"file": "a.csv", "folder": "/data/u", "data_dir": "/srv/zopoc"},
    "lost_worker": {"seconds": "30"},
    "broker_refused": {},
    "crashed": {"exception": "RuntimeError", "detail": "shape mismatch: 3 vs 4"},
}


def test_every_reason_has_an_example() -> None:
    assert set(EXAMPLES) == set(REASONS)


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_reason_reads_back_as_its_code_and_params(code: str) -> None:
    params = EXAMPLES[code]
    assert parse(describe(code, **params)) == (code, {k: str(v) for k, v in params.items()})


def test_optional_parts_are_left_out_without_their_params() -> None:
    text = describe("exited_without_finishing", exit_code=1, peak_mb=None, output=None)
    assert text == "the training process exited with code 1 without finishing"
    assert parse(text) == ("exited_without_finishing", {"exit_code": "1"})


def test_the_english_sentence_is_kept_word_for_word() -> None:
    assert describe("diverged", loss=float("nan"), step=7) == "diverged: loss became nan at step 7"
    assert describe("cancelled_on_request") == (
        "cancelled on request (SIGTERM) after finishing the current step"
    )


def test_other_text_has_no_code() -> None:
    assert parse(None) is None
    assert parse("") is None
    assert parse("something a person typed") is None
    assert parse("note: lowercase words before a colon are no exception") is None


@pytest.mark.parametrize(
    ("exit_info", "oom", "tail", "code"),
    [
        (ExitInfo(returncode=-9, max_rss_mb=1500.4), True, "", "killed_by_oom_killer"),
        (ExitInfo(returncode=-9, max_rss_mb=0.0), False, "", "killed"),
        (ExitInfo(returncode=-11, max_rss_mb=10.0), False, "boom", "ended_by_signal"),
        (ExitInfo(returncode=2, max_rss_mb=0.0), False, "", "exited_without_finishing"),
    ],
)
def test_a_dead_child_is_described_with_a_code(exit_info: ExitInfo, oom: bool, tail: str, code: str) -> None:
    parsed = parse(describe_death(exit_info, oom, tail))
    assert parsed is not None and parsed[0] == code
