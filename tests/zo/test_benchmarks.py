"""The benchmarks' code paths on tiny settings: their JSON rows carry the promised fields."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import gpu_check  # noqa: E402
import replay as replay_bench  # noqa: E402
import step_cost  # noqa: E402


def _json_rows(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


@pytest.mark.slow
def test_step_cost_json_rows_on_a_tiny_batch(capsys):
    step_cost.main(
        [
            "--json",
            "--steps",
            "1",
            "--warmup",
            "0",
            "--batch-size",
            "2",
            "--seq-len",
            "8",
            "--methods",
            "lozo,adamw",
            "--threads",
            "1",
        ]
    )
    rows = _json_rows(capsys)
    assert [r["method"] for r in rows] == ["inference", "lozo", "adamw"]
    for row in rows:
        for key in ("method", "step_s", "forward_s", "step_over_forward", "peak_mb", "inference_peak_mb"):
            assert key in row
        assert row["forward_s"] > 0 and row["peak_mb"] > 100  # MiniLM alone is ~90 MB of weights
        assert row["n_params"] > 22_000_000
    for row in rows[1:]:
        assert row["step_over_forward"] == pytest.approx(row["step_s"] / row["forward_s"])
        assert row["memory_over_inference"] == pytest.approx(row["peak_mb"] / row["inference_peak_mb"])


@pytest.mark.slow
def test_gpu_check_runs_on_cpu_with_a_tiny_opt(capsys):
    """The GPU check's whole code path on CPU: the tests row, memory rows of one kind, the forecast."""
    code = gpu_check.main(
        [
            "--device",
            "cpu",
            "--tiny",
            "--json",
            "--steps",
            "1",
            "--warmup",
            "0",
            "--methods",
            "lozo,adamw",
            "--threads",
            "1",
            "--pytest-args",
            "-k test_math",
        ]
    )
    rows = _json_rows(capsys)
    assert code == 0
    tests_row, *memory_rows = rows
    assert tests_row["check"] == "tests/zo" and tests_row["device"] == "cpu"
    assert tests_row["passed"] > 0 and tests_row["failed"] == 0 and tests_row["result"].startswith("PASS")
    assert [r["method"] for r in memory_rows] == ["inference", "lozo", "adamw"]
    for row in memory_rows:
        assert row["model"] == "opt-tiny" and row["device"] == "cpu" and row["kind"] == "host_rss"
        assert row["added_mb"] == pytest.approx(max(0.0, row["peak_mb"] - row["baseline_mb"]))
        assert row["cuda_reserved_mb"] is None and row["nvml_process_mb"] is None
        assert row["forecast_mb"] > 0
        assert row["error_pct"] == pytest.approx(100 * (row["forecast_mb"] - row["peak_mb"]) / row["peak_mb"])
    assert memory_rows[1]["step_s"] > 0 and memory_rows[0]["step_s"] is None
    # AdamW keeps gradients and two moments: its forecast is above LOZO's
    assert memory_rows[2]["forecast_mb"] > memory_rows[1]["forecast_mb"]


def test_gpu_check_table_names_every_column(capsys):
    rows = [{"check": "memory", "method": "lozo", "kind": "cuda_allocated", "peak_mb": 100.0}]
    gpu_check.judge_forecast(rows[0], 105.0)
    assert rows[0]["result"] == "forecast within 10%" and rows[0]["error_pct"] == pytest.approx(5.0)
    gpu_check.judge_forecast(rows[0], 120.0)
    assert rows[0]["result"] == "forecast off by +20%"
    gpu_check.emit(rows, gpu_check.COLUMNS, as_json=False)
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header == gpu_check.COLUMNS


def test_opt_1_3b_shape_has_1_3_billion_parameters():
    """The full-size config, built on the meta device (no memory), is OPT-1.3B's size."""
    import torch

    model = gpu_check.build_opt(tiny=False, device=torch.device("meta"), dtype=torch.bfloat16)
    n = sum(p.numel() for p in model.parameters())
    assert 1.3e9 < n < 1.4e9
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_noise_bench_rows(capsys):
    rows = step_cost.noise_bench(100_000, threads=1, repeats=1)
    assert {"source", "seconds", "ns_per_sample", "n"} <= set(rows[0])
    assert any("NoiseSource" in r["source"] for r in rows)


@pytest.mark.slow
def test_precision_rows_on_a_tiny_batch(capsys):
    import precision

    precision.main(
        ["--json", "--steps", "2", "--methods", "lozo", "--dtypes", "bfloat16", "--batch-size", "2"]
        + ["--seq-len", "8", "--threads", "1", "--time-every", "1"]
    )
    rows = _json_rows(capsys)
    # the float32 in-place run is added as the reference of the update comparison
    assert [(r["dtype"], r["mode"]) for r in rows] == [("float32", "in_place"), ("bfloat16", "exact")]
    for row in rows:
        for key in ("drift_lr0", "update_cosine_vs_fp32", "update_norm_ratio_vs_fp32", "step_over_forward"):
            assert key in row
    assert rows[1]["drift_lr0"] == 0.0  # exact restore
    assert rows[0]["update_cosine_vs_fp32"] == pytest.approx(1.0)


def test_replay_rows_on_a_tiny_model(capsys):
    code = replay_bench.main(
        [
            "--json",
            "--steps",
            "3",
            "--methods",
            "lozo,mezo",
            "--model",
            "tiny-bert",
            "--dataset",
            "demo-sentiment",
        ]
    )
    rows = _json_rows(capsys)
    assert code == 0
    assert [r["method"] for r in rows] == ["lozo", "mezo"]
    for row in rows:
        assert row["bit_identical"] is True and row["steps"] == 3
        assert row["bytes_per_step"] == 28.0 and row["log_bytes"] > 3 * 28
        assert row["replay_s_per_step"] > 0 and row["forward_s"] > 0
        assert row["replay_over_forward"] == pytest.approx(
            row["replay_s_per_step"] / row["forward_s"], rel=1e-2
        )
        assert "load_avg_1m" in row
