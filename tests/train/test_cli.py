"""End-to-end through `python -m worker.train` in child processes: what the service runs."""

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.train.conftest import REPO, run_cli

METHODS = ["lozo", "lozo_m", "mezo", "adamw", "sgd"]
EVENT_KEYS = {
    "started": {"method", "model", "device", "dtype", "hyperparams", "n_train", "n_eval", "memory"},
    "metrics": {"step", "elapsed_s", "forward_passes", "values"},
    "eval": {"step", "elapsed_s", "forward_passes", "values", "correct", "n_eval"},
    "finished": {"status", "reason", "step", "elapsed_s", "forward_passes", "summary"},
    "zo_steps": {"step", "records", "progress"},
}


def parse_stream(text: str) -> list[dict]:
    events = [json.loads(line) for line in text.splitlines()]
    for e in events:
        assert {"event", "time"} <= set(e)
        assert EVENT_KEYS[e["event"]] <= set(e), e
    return events


def check_run(events: list[dict], method: str, steps: int) -> None:
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and kinds.count("finished") == 1
    assert kinds[1] == "eval" and events[1]["step"] == 0
    assert [e["step"] for e in events if e["event"] == "metrics"] == list(range(1, steps + 1))
    finished = events[-1]
    assert finished["status"] == "succeeded", finished["reason"]
    per_step = 2 if method in ("lozo", "lozo_m", "mezo") else 1
    assert finished["forward_passes"] == per_step * steps
    assert set(finished["summary"]) >= {
        "acc_start",
        "acc_end",
        "final_train_loss",
        "peak_rss_mb",
        "baseline_rss_mb",
        "cuda_peak_allocated_mb",
        "checkpoint",
    }
    assert 0 <= finished["summary"]["acc_start"] <= 1
    assert events[0]["hyperparams"]["lr"] > 0


@pytest.mark.parametrize("model", ["tiny-bert", "tiny-gpt2"])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_on_tiny_models_streams_events_on_stdout(method, model):
    proc = run_cli(
        "--method",
        method,
        "--model",
        model,
        "--steps",
        "3",
        "--eval-every",
        "2",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--events-out",
        "-",
    )
    assert proc.returncode == 0, proc.stderr
    events = parse_stream(proc.stdout)  # stdout holds nothing but events
    check_run(events, method, 3)
    assert events[0]["model"]["kind"] == ("decoder" if model == "tiny-gpt2" else "encoder")
    assert method in proc.stderr  # the final summary goes to stderr when stdout is the stream


def test_spec_file_and_events_file(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "method": "lozo",
                "model": "tiny-bert",
                "steps": 2,
                "eval_every": 1,
                "device": "cpu",
                "batch_size": 4,
            }
        )
    )
    out = tmp_path / "events.jsonl"
    proc = run_cli("--spec-file", str(spec), "--events-out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    check_run(parse_stream(out.read_text()), "lozo", 2)
    assert "lozo: succeeded" in proc.stdout


def test_bad_spec_exits_2_with_message(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"method": "lozo", "rank": 0}))
    proc = run_cli("--spec-file", str(spec), "--events-out", "-")
    assert proc.returncode == 2 and "rank: Input should be greater than or equal to 1" in proc.stderr
    (finished,) = parse_stream(proc.stdout)  # the parent still gets a reason on the stream
    assert (
        finished["status"] == "failed"
        and "rank: Input should be greater than or equal to 1" in finished["reason"]
    )


def test_sigterm_finishes_the_step_and_reports_cancelled():
    env_cmd = [
        sys.executable,
        "-m",
        "worker.train",
        "--method",
        "mezo",
        "--model",
        "tiny-bert",
        "--steps",
        "100000",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--events-out",
        "-",
        "--no-progress",
        "--eval-every",
        "100000",
    ]
    proc = subprocess.Popen(env_cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = []
    deadline = time.time() + 120
    for line in proc.stdout:
        lines.append(line)
        if json.loads(line)["event"] == "metrics" or time.time() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    events = parse_stream("".join(lines) + rest)
    finished = events[-1]
    assert finished["event"] == "finished" and finished["status"] == "cancelled"
    assert finished["step"] == max(e["step"] for e in events if e["event"] == "metrics")
    assert finished["step"] < 100000


@pytest.mark.slow
def test_every_method_on_the_default_minilm(tmp_path):
    proc = run_cli(
        "--compare",
        ",".join(METHODS),
        "--events-dir",
        str(tmp_path),
        "--steps",
        "2",
        "--eval-every",
        "2",
        "--batch-size",
        "4",
        "--eval-size",
        "16",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--no-progress",
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    for method in METHODS:
        events = parse_stream((tmp_path / f"{method}.jsonl").read_text())
        check_run(events, method, 2)
        assert events[0]["model"]["name"] == "MiniLM-L6 (embedded)"
        assert events[0]["model"]["n_params"] > 22_000_000
        assert method in proc.stdout  # one row of the side-by-side table
    table = proc.stdout.splitlines()
    assert table[0].split()[:2] == ["method", "status"]
    assert sum("succeeded" in row for row in table) == len(METHODS)


def test_prompt_flags_reach_the_spec():
    from worker.train.cli import build_parser, spec_from_args

    args = build_parser().parse_args(
        [
            "--method",
            "lozo",
            "--model",
            "smollm2-135m",
            "--template",
            "{text} Overall, it was {mask}.",
            "--label-words",
            "bad, good",
            "--calibration",
            "contextual",
            "--task-kind",
            "sentiment",
            "--val-size",
            "64",
        ]
    )
    spec = spec_from_args(args)
    assert spec.template == "{text} Overall, it was {mask}." and spec.label_words == ["bad", "good"]
    assert (spec.calibration, spec.task_kind, spec.val_size) == ("contextual", "sentiment", 64)
