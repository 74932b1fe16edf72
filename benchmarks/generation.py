"""Generation PoC on the embedded decoder: LOZO, MeZO, AdamW writing dates (demo-dates) from one start.

    flock /tmp/zopoc-heavy.lock .venv/bin/python benchmarks/generation.py --json
    .venv/bin/python benchmarks/generation.py --forward-passes 4 --eval-size 4 --val-size 2   # a smoke run

Setting: SmolLM2-135M-Instruct (embedded, float32) through its chat template, the built-in demo-dates task
(English and Japanese dates to YYYY-MM-DD), loss on the completion tokens only. Every method starts from the
same weights and sees the same batch sequence; the budget is the same number of forward passes on training
batches (a ZO step = 2, an AdamW step = 1 plus an uncounted backward pass). The evaluation pairs are scored
at the start and the end: completion loss, exact match and F1 of greedy generations (at most
--max-new-tokens). `p_value`: the exact McNemar test of start vs end on the per-example exact-match bits.
Learning rates: the engine's defaults for the model size unless --lr is given (never tuned on the
evaluation pairs).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit
from accuracy import mcnemar_exact

MODEL = "smollm2-135m"
METHODS = ("lozo", "mezo", "adamw")
COLUMNS = [
    "method",
    "seed",
    "forward_passes",
    "loss_start",
    "loss_end",
    "f1_start",
    "f1_end",
    "em_start",
    "em_end",
    "p_value",
    "f1_gain_ci95",
    "wall_s",
]
BOOTSTRAP_RESAMPLES = 2000


def paired_bootstrap_ci(deltas: list[list[float]], seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean per-example gain, resampling examples with replacement within
    each run and averaging the runs (the runs of several seeds are paired with their own start)."""
    rng = random.Random(seed)
    means = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        run_means = [sum(rng.choice(d) for _ in d) / len(d) for d in deltas if d]
        means.append(sum(run_means) / len(run_means))
    means.sort()
    return means[int(0.025 * len(means))], means[int(0.975 * len(means)) - 1]


def summarise(rows: list[dict]) -> list[dict]:
    """One row per method: mean F1 gain (points) over its seeds, with the paired bootstrap interval."""
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        low, high = paired_bootstrap_ci([r["f1_deltas"] for r in mine])
        out.append(
            {
                "method": method,
                "seeds": len(mine),
                "f1_gain_mean": 100 * sum(r["f1_end"] - r["f1_start"] for r in mine) / len(mine),
                "f1_gain_ci95": f"[{100 * low:+.1f}, {100 * high:+.1f}]",
                "loss_lower_every_seed": all(r["loss_end"] < r["loss_start"] for r in mine),
                "wall_s_max": max(r["wall_s"] for r in mine),
            }
        )
    return out


def run_method(method: str, seed: int, forward_passes: int, args: argparse.Namespace) -> dict:
    """One run through the engine's loop; its row."""
    from common.runspec import RunSpec
    from worker.train.events import EventWriter, unpack_bits
    from worker.train.loop import run

    steps = forward_passes // 2 if method in ("lozo", "lozo_m", "mezo") else forward_passes
    spec = RunSpec(
        method=method,
        model=args.model,
        dataset="demo-dates",
        task_type="generation",
        steps=max(steps, 1),
        eval_every=max(steps, 1),  # the start and the end only
        batch_size=args.batch_size,
        eval_size=args.eval_size,
        val_size=args.val_size,
        max_new_tokens=args.max_new_tokens,
        max_length=args.max_length,
        seed=seed,
        device=args.device,
        lr=args.lr,
    )
    writer = EventWriter(None)
    began = time.perf_counter()
    finished = run(spec, writer)
    wall_s = time.perf_counter() - began
    if finished["status"] != "succeeded":
        raise RuntimeError(f"{method}: {finished['reason']}")
    evals = [e for e in writer.events if e["event"] == "eval"]
    start, end = evals[0], evals[-1]
    bits = [unpack_bits(e["correct"], e["n_eval"]) for e in (start, end)]
    _, _, p_value = mcnemar_exact([int(b) for b in bits[0]], [int(b) for b in bits[1]])
    deltas = [b - a for a, b in zip(start["f1_per_example"], end["f1_per_example"], strict=True)]
    low, high = paired_bootstrap_ci([deltas], seed)
    return {
        "method": method,
        "seed": seed,
        "forward_passes": finished["forward_passes"],
        "loss_start": start["values"]["eval/loss"],
        "loss_end": end["values"]["eval/loss"],
        "f1_start": start["values"]["eval/f1"],
        "f1_end": end["values"]["eval/f1"],
        "em_start": start["values"]["eval/exact_match"],
        "em_end": end["values"]["eval/exact_match"],
        "p_value": p_value,
        "f1_gain_ci95": f"[{100 * low:+.1f}, {100 * high:+.1f}]",
        "wall_s": round(wall_s, 1),
        "f1_deltas": deltas,
        "lr": finished["summary"]["lr"],
        "s_per_step": finished["summary"]["s_per_step"],
        "example_end": (end.get("examples") or [None])[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", default="0", help="comma list")
    parser.add_argument("--forward-passes", type=int, default=400, help="per method, on training batches")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--eval-size", type=int, default=100)
    parser.add_argument("--val-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=12)
    parser.add_argument("--max-length", type=int, default=96, help="prompt (with the chat template) + answer")
    parser.add_argument("--lr", type=float, default=None, help="default: the engine's default by size")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for seed in args.seeds.split(","):
        for method in args.methods.split(","):
            rows.append(run_method(method.strip(), int(seed), args.forward_passes, args))
            if args.json:  # each row as soon as its run ends: a long benchmark shows its progress
                emit([{k: v for k, v in rows[-1].items() if k != "f1_deltas"}], COLUMNS, True)
    summary = summarise(rows)
    if not args.json:
        emit([{k: v for k, v in r.items() if k != "f1_deltas"} for r in rows], COLUMNS, False)
        print()
    emit(summary, list(summary[0]), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
