"""Dev accuracy of LOZO, LOZO-M, MeZO and AdamW on SST-2 after a fixed budget of forward passes.

    .venv/bin/python benchmarks/accuracy.py                  # k=16,512; seeds 0,1,2; 200 forward passes
    .venv/bin/python benchmarks/accuracy.py --quick --json   # k=16,512; seed 0; 40 forward passes
    .venv/bin/python benchmarks/accuracy.py --long           # k=16,512; seeds 0-4; 2000 forward passes
    .venv/bin/python benchmarks/accuracy.py --preset decoder --json --out rows.jsonl   # prompt-based decoder

The decoder preset (benchmarks/accuracy_decoder.py) runs the embedded SmolLM2-135M prompt-based, from one
calibrated start per (k, seed), with learning rates probed on validation rows; see that module.

Setting: the embedded MiniLM-L6 with the prototype head (worker/train/heads.py), k training examples per
class from ../shared/data/sst2/train.tsv (seeded), evaluated on all 872 rows of dev.tsv with the real model
(no cached features). For each (k, seed) the start is built once and evaluated once; every method then
starts from exactly those weights (restored between methods) and sees the same batch sequence.
Budget: the same number of FORWARD PASSES on training batches for every method: a ZO step costs 2, an AdamW
step 1 (plus a backward pass, which is not counted: that is the paper's accounting; per forward pass AdamW
costs ~4x what LOZO does on this CPU; s/step is reported so the wall-clock cost is visible too).
Learning rates: the engine's defaults for the model size (default_lr), as a user gets them.

Statistics per row: the 95% interval of each accuracy (normal approximation, ±1.96·sqrt(p(1−p)/n)), and an
exact McNemar test on the per-example correct bits of start vs end (examples fixed vs broken): a gain is
called significant when p < 0.05. The summary gives mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, format_table  # noqa: E402

METHODS = ("lozo", "lozo_m", "mezo", "adamw")
PRESETS: dict[str, tuple[tuple[int, ...], tuple[int, ...], int]] = {  # name: (ks, seeds, forward passes)
    "quick": ((16, 512), (0,), 40),
    "default": ((16, 512), (0, 1, 2), 200),
    "long": ((16, 512), (0, 1, 2, 3, 4), 2000),
}
ROW_COLUMNS = [
    "method",
    "k",
    "seed",
    "forward_passes",
    "steps",
    "lr",
    "acc_start",
    "acc_end",
    "ci95",
    "fixed",
    "broken",
    "mcnemar_p",
    "significant",
    "final_train_loss",
    "s_per_step",
]
SUMMARY_COLUMNS = [
    "method",
    "k",
    "seeds",
    "forward_passes",
    "acc_start_mean",
    "acc_end_mean",
    "acc_end_std",
    "gain_mean",
    "significant_gains",
]


def ci95(p: float, n: int) -> float:
    """Half-width of the normal-approximation 95% interval of an accuracy p measured on n examples."""
    return 1.96 * math.sqrt(p * (1 - p) / n) if n else math.nan


def mcnemar_exact(start_bits: list[int], end_bits: list[int]) -> tuple[int, int, float]:
    """(fixed, broken, two-sided exact p): only the examples that changed carry information."""
    fixed = sum(1 for a, b in zip(start_bits, end_bits) if not a and b)
    broken = sum(1 for a, b in zip(start_bits, end_bits) if a and not b)
    n = fixed + broken
    if n == 0:
        return 0, 0, 1.0
    tail = sum(math.comb(n, i) for i in range(min(fixed, broken) + 1)) / 2**n
    return fixed, broken, min(1.0, 2 * tail)


def run_setting(k: int, seed: int, forward_passes: int, methods: list[str], threads: int) -> list[dict]:
    """All methods for one (k, seed) from one shared start; one row per method."""
    import torch

    from common.runspec import RunSpec
    from worker.train.data import iter_batches
    from worker.train.heads import default_lr
    from worker.train.loop import _batch, evaluate, prepare, train_step
    from worker.train.optimizers import build_optimizer

    torch.set_num_threads(threads)
    base = RunSpec(method="lozo", dataset="sst2", k_shot=k, seed=seed, device="cpu", steps=1)
    prep = prepare(base)
    model, task = prep.loaded.model, prep.classification
    start_state = {name: t.detach().clone() for name, t in model.state_dict().items()}
    _, acc_start, start_bits = evaluate(prep.loaded, task.eval_texts, task.eval_labels, 64)
    n_eval = len(start_bits)
    print(f"k={k} seed={seed}: start accuracy {acc_start:.4f} on {n_eval} dev rows", file=sys.stderr)

    rows = []
    for method in methods:
        model.load_state_dict(start_state)
        spec = RunSpec(method=method, dataset="sst2", k_shot=k, seed=seed, device="cpu", steps=1)
        lr = default_lr(method, prep.loaded.n_trainable)
        opt = build_optimizer(spec, model, lr)
        steps = forward_passes // 2 if spec.zeroth_order else forward_passes
        batches = iter_batches(len(task.train_texts), spec.batch_size, seed)
        losses, train_s = [], 0.0
        for _ in range(steps):
            enc, y = _batch(prep.loaded, task, next(batches))
            t0 = time.perf_counter()
            losses.append(train_step(spec, model, opt, enc, y))
            train_s += time.perf_counter() - t0
            if not math.isfinite(losses[-1]):
                break
        _, acc_end, end_bits = evaluate(prep.loaded, task.eval_texts, task.eval_labels, 64)
        fixed, broken, p = mcnemar_exact(start_bits, end_bits)
        tail = losses[-10:]
        row = {
            "method": method,
            "k": k,
            "seed": seed,
            "forward_passes": forward_passes,
            "steps": len(losses),
            "lr": lr,
            "acc_start": acc_start,
            "acc_end": acc_end,
            "ci95": ci95(acc_end, n_eval),
            "fixed": fixed,
            "broken": broken,
            "mcnemar_p": p,
            "significant": bool(p < 0.05 and fixed > broken),
            "final_train_loss": statistics.fmean(tail) if tail else None,
            "s_per_step": train_s / max(len(losses), 1),
            "n_eval": n_eval,
        }
        print(
            f"  {method}: {acc_start:.4f} -> {acc_end:.4f} (fixed {fixed}, broken {broken}, p={p:.3g}), "
            f"{row['s_per_step']:.2f} s/step",
            file=sys.stderr,
        )
        rows.append(row)
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean ± std over seeds for each (method, k)."""
    out = []
    keys = sorted({(r["k"], r["method"]) for r in rows}, key=lambda km: (km[0], METHODS.index(km[1])))
    for k, method in keys:
        group = [r for r in rows if r["k"] == k and r["method"] == method]
        ends = [r["acc_end"] for r in group]
        out.append(
            {
                "method": method,
                "k": k,
                "seeds": len(group),
                "forward_passes": group[0]["forward_passes"],
                "acc_start_mean": statistics.fmean(r["acc_start"] for r in group),
                "acc_end_mean": statistics.fmean(ends),
                "acc_end_std": statistics.stdev(ends) if len(ends) > 1 else 0.0,
                "gain_mean": statistics.fmean(r["acc_end"] - r["acc_start"] for r in group),
                "significant_gains": f"{sum(r['significant'] for r in group)}/{len(group)}",
            }
        )
    return out


def markdown_table(rows: list[dict]) -> str:
    """Rows as the Markdown table of benchmarks/RESULTS-accuracy.md."""
    out = [
        "| k | seed | method | steps | lr | acc start | acc end (±95%) | gain | fixed / broken | McNemar p "
        "| significant | final train loss | s/step |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        loss = "-" if r["final_train_loss"] is None else f"{r['final_train_loss']:.3f}"
        out.append(
            f"| {r['k']} | {r['seed']} | {r['method']} | {r['steps']} | {r['lr']:g} | {100 * r['acc_start']:.1f} | "
            f"{100 * r['acc_end']:.1f} ± {100 * r['ci95']:.1f} | {100 * (r['acc_end'] - r['acc_start']):+.1f} | "
            f"{r['fixed']} / {r['broken']} | {r['mcnemar_p']:.3f} | {'yes' if r['significant'] else 'no'} | "
            f"{loss} | {r['s_per_step']:.2f} |"
        )
    return "\n".join(out)


def _without_decoder_preset(argv: list[str]) -> list[str] | None:
    """The arguments less `--preset decoder` when that preset is asked for, else None."""
    for i, arg in enumerate(argv):
        if arg == "--preset=decoder":
            return argv[:i] + argv[i + 1 :]
        if arg == "--preset" and argv[i + 1 : i + 2] == ["decoder"]:
            return argv[:i] + argv[i + 2 :]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--quick", action="store_true", help="one seed, 40 forward passes (a smoke run)")
    preset.add_argument("--long", action="store_true", help="five seeds, 2000 forward passes")
    parser.add_argument("--json", action="store_true", help="one JSON object per line (rows, then summaries)")
    parser.add_argument("--ks", help="comma-separated k per class (overrides the preset)")
    parser.add_argument("--seeds", help="comma-separated seeds (overrides the preset)")
    parser.add_argument("--forward-passes", type=int, help="budget per method (overrides the preset)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--markdown-from",
        metavar="JSONL",
        help="print the Markdown table of rows saved earlier with --json, and exit",
    )
    parser.add_argument(
        "--preset",
        choices=("quick", "default", "long", "decoder"),
        help="a named preset; 'decoder' is the prompt-based SmolLM2 benchmark with its own "
        "options (benchmarks/accuracy_decoder.py --help)",
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = _without_decoder_preset(argv)
    if rest is not None:
        import accuracy_decoder

        return accuracy_decoder.main(rest)
    args = parser.parse_args(argv)
    if args.preset:
        args.quick, args.long = args.preset == "quick", args.preset == "long"
    if args.markdown_from:
        import json

        lines = Path(args.markdown_from).read_text().splitlines()
        print(markdown_table([r for r in map(json.loads, lines) if not r.get("summary")]))
        return 0

    from common.builtin_data import sst2_dir

    if sst2_dir() is None:
        print("SST-2 not found (../shared/data/sst2 or ZOPOC_SST2_DIR): nothing to measure", file=sys.stderr)
        return 1
    ks, seeds, fp = PRESETS["quick" if args.quick else "long" if args.long else "default"]
    ks = tuple(int(x) for x in args.ks.split(",")) if args.ks else ks
    seeds = tuple(int(x) for x in args.seeds.split(",")) if args.seeds else seeds
    fp = args.forward_passes or fp
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    print(
        f"settings: MiniLM-L6, SST-2, k={ks}, seeds={seeds}, {fp} forward passes, methods={methods}, "
        f"batch 16, max_length 64, threads={args.threads}",
        file=sys.stderr,
    )

    rows = []
    t0 = time.time()
    for k in ks:
        for seed in seeds:
            rows.extend(run_setting(k, seed, fp, methods, args.threads))
    summary = summarise(rows)
    if args.json:
        emit(rows, ROW_COLUMNS, True)
        emit([{"summary": True, **s} for s in summary], SUMMARY_COLUMNS, True)
    else:
        print(format_table(rows, ROW_COLUMNS))
        print()
        print(format_table(summary, SUMMARY_COLUMNS))
    print(f"total {time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
