"""The benchmarks' code paths on tiny settings: their JSON rows carry the promised fields."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import gpu_memory  # noqa: E402
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
def test_gpu_memory_script_runs_on_cpu_with_a_tiny_opt(capsys):
    gpu_memory.main(
        ["--tiny", "--json", "--steps", "1", "--warmup", "0", "--methods", "lozo", "--threads", "1"]
    )
    rows = _json_rows(capsys)
    assert [r["method"] for r in rows] == ["inference", "lozo"]
    assert all(r["model"] == "opt-tiny" and r["device"] == "cpu" for r in rows)
    assert rows[1]["step_s"] > 0 and rows[1]["peak_allocated_mb"] > 0


def test_opt_1_3b_shape_has_1_3_billion_parameters():
    """The full-size config, built on the meta device (no memory), is OPT-1.3B's size."""
    import torch

    model = gpu_memory.build_opt(tiny=False, device=torch.device("meta"), dtype=torch.float16)
    n = sum(p.numel() for p in model.parameters())
    assert 1.3e9 < n < 1.4e9
    assert {p.dtype for p in model.parameters()} == {torch.float16}


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
