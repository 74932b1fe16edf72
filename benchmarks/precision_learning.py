"""Does a bf16 run learn what the float32 run learns? The same runs through ``python -m worker.train``.

    .venv/bin/python benchmarks/precision_learning.py                       # LOZO, MiniLM, SST-2 k=16, 300 steps
    .venv/bin/python benchmarks/precision_learning.py --seeds 0 --steps 20 --json

For each seed and dtype, one run of the training entry point (same start, same rows, same batches and the
same noise for both dtypes: everything is drawn from the seed, the directions in float32). A row per run:
eval accuracy at the start and the end (all eval rows), the mean training loss over the last 50 steps (the
loss at θ + εZ each step measured), the eval loss at the end, seconds per step. Then one row per dtype with
the mean and the spread (min–max) over the seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO_ROOT, emit  # noqa: E402

COLUMNS = [
    "dtype",
    "seed",
    "acc_start",
    "acc_end",
    "train_loss_last50",
    "eval_loss_end",
    "s_per_step",
    "load_avg_1m",
]


def one_run(args, dtype: str, seed: int, events: Path) -> dict:
    command = [
        sys.executable,
        "-m",
        "worker.train",
        "--method",
        args.method,
        "--model",
        "minilm",
        "--dataset",
        args.dataset,
        "--device",
        "cpu",
        "--dtype",
        dtype,
        "--seed",
        str(seed),
        "--steps",
        str(args.steps),
        "--eval-every",
        str(args.steps),
        "--threads",
        str(args.threads),
        "--events-out",
        str(events),
        "--no-progress",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True, text=True)
    rows = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    losses = [r["values"]["train/loss"] for r in rows if r.get("event") == "metrics"]
    evals = [r for r in rows if r.get("event") == "eval"]
    finished = next(r for r in rows if r.get("event") == "finished")
    return {
        "method": args.method,
        "dtype": dtype,
        "seed": seed,
        "status": finished["status"],
        "acc_start": evals[0]["values"]["eval/accuracy"],
        "acc_end": evals[-1]["values"]["eval/accuracy"],
        "train_loss_first50": statistics.fmean(losses[:50]),
        "train_loss_last50": statistics.fmean(losses[-50:]),
        "eval_loss_end": evals[-1]["values"]["eval/loss"],
        "n_eval": finished["summary"]["n_eval"],
        "s_per_step": finished["summary"]["s_per_step"],
        "load_avg_1m": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--method", default="lozo")
    parser.add_argument("--dataset", default="sst2")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="zopoc-precision-learning-") as folder:
        for seed in seeds:
            for dtype in dtypes:
                rows.append(one_run(args, dtype, seed, Path(folder) / f"{dtype}-{seed}.jsonl"))
    for dtype in dtypes:
        own = [r for r in rows if r["dtype"] == dtype]
        summary: dict = {"dtype": dtype, "seed": "mean (min-max)"}
        for key in ("acc_start", "acc_end", "train_loss_last50", "eval_loss_end", "s_per_step"):
            values = [r[key] for r in own]
            summary[key] = f"{statistics.fmean(values):.4f} ({min(values):.4f}-{max(values):.4f})"
        rows.append(summary)
    emit(rows, COLUMNS, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
