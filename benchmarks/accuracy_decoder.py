"""SST-2 accuracy of the embedded decoder read through a prompt: LOZO, MeZO, AdamW from one calibrated start.

    flock /tmp/zopoc-heavy.lock .venv/bin/python benchmarks/accuracy.py --preset decoder --json \\
        --out var/bench/decoder.jsonl          # resumable: rows already in --out are not run again
    .venv/bin/python benchmarks/accuracy_decoder.py --markdown-from var/bench/decoder.jsonl

Setting (the papers' prompt-based fine-tuning): SmolLM2-135M-Instruct (embedded, float32), template
"{text} It was {mask}." with " terrible" / " great", k training rows per class from
../shared/data/sst2/train.tsv (seeded), evaluated on all 872 rows of dev.tsv. Per (k, seed) one start:
the model, calibrated once with content-free inputs from the start weights (worker/train/calibration.py),
evaluated once; every method restarts from exactly those weights and that class bias and sees the same
batch sequence (batch 8, prompts cut at 64 tokens, dropout off). Batch 8 rather than the papers' 16: a
forward pass of SmolLM2 costs ~1-3 s here, and a ZO estimate's variance comes from its random direction far
more than from the batch, so in a 20-minute run twice the steps at half the batch is the better use of it.
Budget: the same number of forward passes on training batches for every method (a ZO step = 2, an AdamW
step = 1 plus an uncounted backward pass).
Learning rates: one rule for every method, never tuned on dev: at the first start (k = 512, seed 0) each
candidate (the engine's default for the model size × 1, 3, 10) trains for --probe-forward-passes from the
start, and the candidate with the lowest loss on that start's validation rows is kept for every row.
Best step: the validation rows (a second k-shot sample of train.tsv, disjoint from the training rows, at
most --val-size rows) are evaluated at 4 points of the budget; the dev accuracy at the best of them is
reported beside the final one (`acc_best`), chosen without looking at dev.
Statistics: the exact McNemar test of start vs end on the per-example correct bits (`p_value`), significant
when p < 0.05 with more examples fixed than broken; the 95% interval of each accuracy.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, format_table
from accuracy import ci95, mcnemar_exact

MODEL = "smollm2-135m"
METHODS = ("lozo", "mezo", "adamw", "lozo_m")
LOW_RANK = ("lozo", "lozo_m")
ZEROTH_ORDER = ("lozo", "lozo_m", "mezo")
# LOZO's two conventions for its estimate: the reference code's (no 1/r; the lr absorbs r) and the paper's
# unbiased one (1/r). With the 1/r, one lr gives LOZO and MeZO the same expected step and the same
# second moment per weight matrix, so one lr grid means the same thing for both.
LOZO_SCALES = ("reference", "paper")
LR_FACTORS = (1.0, 3.0, 10.0)
VAL_POINTS = 4
ROW_COLUMNS = [
    "method",
    "k",
    "seed",
    "forward_passes",
    "steps",
    "lr",
    "acc_start",
    "acc_end",
    "p_value",
    "significant",
    "best_step",
    "acc_best",
    "val_start",
    "val_best",
    "final_train_loss",
    "run_min",
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
    "gain_ci95",
    "significant_gains",
    "acc_best_mean",
]


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


if TYPE_CHECKING:  # imported where used: the module loads without torch
    from worker.train.loop import Prepared


@dataclass
class Start:
    """One (k, seed): the prepared model with its calibrated start, and its accuracies at step 0."""

    k: int
    seed: int
    prep: Prepared
    state: dict
    dev_bits: list[int]
    acc_start: float
    val_loss: float
    val_acc: float
    calibration: dict
    seconds: float


def build_start(k: int, seed: int, args) -> Start:
    from worker.train.loop import evaluate, prepare
    from common.runspec import RunSpec

    t0 = time.perf_counter()
    spec = RunSpec(
        method="lozo",
        model=MODEL,
        dataset="sst2",
        k_shot=k,
        seed=seed,
        device="cpu",
        batch_size=args.batch_size,
        max_length=args.max_length,
        val_size=args.val_size,
        calibration=args.calibration,
        eval_size=args.eval_size,
    )
    prep = prepare(spec)
    if prep.prompt is None:  # the decoder is always read through a prompt
        raise RuntimeError(f"{MODEL} was not set up as a prompt-based classifier")
    state = {name: t.detach().clone() for name, t in prep.loaded.model.state_dict().items()}
    task = prep.classification
    _, acc, bits = evaluate(prep.loaded, task.eval_texts, task.eval_labels, 64)
    val_loss, val_acc, _ = evaluate(prep.loaded, task.val_texts, task.val_labels, 64)
    seconds = time.perf_counter() - t0
    print(
        f"k={k} seed={seed}: start dev {acc:.4f} ({len(bits)} rows), val {val_acc:.4f} / loss {val_loss:.4f} "
        f"({len(task.val_texts)} rows), bias {prep.prompt['class_bias']}, {seconds:.0f} s",
        file=sys.stderr,
    )
    return Start(k, seed, prep, state, bits, acc, val_loss, val_acc, prep.prompt, seconds)


def lozo_scale(row: dict) -> str | None:
    """The LOZO convention a row or probe was measured with (None for the other methods)."""
    if row["method"] not in LOW_RANK:
        return None
    return str(row.get("lozo_scale", "reference"))  # rows from before the option: the reference code's


def zo_clip(row: dict) -> float | None:
    """The zo_clip a zeroth-order row or probe ran with (None: unclipped, and for the other methods)."""
    return row.get("zo_clip") if row["method"] in ZEROTH_ORDER else None


def with_scale(rows: list[dict], scale: str, clip: float | None = None) -> list[dict]:
    """The rows of one LOZO convention and one zo_clip, with the first-order methods' rows."""
    return [
        r
        for r in rows
        if lozo_scale(r) in (None, scale) and (r["method"] not in ZEROTH_ORDER or zo_clip(r) == clip)
    ]


def _train(
    start: Start,
    method: str,
    lr: float,
    forward_passes: int,
    batch_size: int,
    val_every: int | None,
    on_val=None,
    scale: str = "reference",
    clip: float | None = None,
) -> dict:
    """Train `method` from the start for `forward_passes`; validation every `val_every` steps (None: never)."""
    from worker.train.data import iter_batches
    from worker.train.loop import _batch, build_optimizer, evaluate, train_step
    from common.runspec import RunSpec

    loaded, task, model = start.prep.loaded, start.prep.classification, start.prep.loaded.model
    model.load_state_dict(start.state)
    spec = RunSpec(
        method=method,
        model=MODEL,
        dataset="sst2",
        k_shot=start.k,
        seed=start.seed,
        device="cpu",
        batch_size=batch_size,
        scale_by_rank=scale == "paper",
        zo_clip=clip,
    )
    opt = build_optimizer(spec, model, lr)
    steps = forward_passes // 2 if spec.zeroth_order else forward_passes
    batches = iter_batches(len(task.train_texts), batch_size, start.seed)
    losses, train_s, diverged = [], 0.0, False
    best: dict[str, Any] = {"step": 0, "val_acc": start.val_acc, "state": None}
    curve = [{"step": 0, "forward_passes": 0, "val_acc": start.val_acc, "val_loss": start.val_loss}]
    for step in range(1, steps + 1):
        enc, y = _batch(loaded, task, next(batches))
        t0 = time.perf_counter()
        losses.append(train_step(spec, model, opt, enc, y))
        train_s += time.perf_counter() - t0
        if not math.isfinite(losses[-1]):
            diverged = True
            break
        if val_every and (step % val_every == 0 or step == steps):
            val_loss, val_acc, _ = evaluate(loaded, task.val_texts, task.val_labels, 64)
            point = {
                "step": step,
                "forward_passes": step * (2 if spec.zeroth_order else 1),
                "val_acc": val_acc,
                "val_loss": val_loss,
            }
            if on_val is not None:
                point.update(on_val(step))
            curve.append(point)
            if val_acc > best["val_acc"]:  # strictly better: ties keep the earlier step
                best.update(
                    step=step,
                    val_acc=val_acc,
                    state=None
                    if step == steps
                    else {n: t.detach().clone() for n, t in model.state_dict().items()},
                )
    tail = [x for x in losses[-10:] if math.isfinite(x)]
    return {
        "steps": len(losses),
        "train_s": train_s,
        "diverged": diverged,
        "best": best,
        "curve": curve,
        "final_train_loss": statistics.fmean(tail) if tail else None,
        "first_train_loss": statistics.fmean(losses[:10]) if losses else None,
    }


def probe_lr(
    start: Start, method: str, probe_fp: int, batch_size: int, scale: str, clip: float | None
) -> dict:
    """Each candidate lr for `probe_fp` forward passes from the start; the lowest validation loss wins."""
    from worker.train.heads import default_lr
    from worker.train.loop import evaluate

    base = default_lr(method, start.prep.loaded.n_trainable)
    tried: dict[str, dict[str, Any]] = {}
    for factor in LR_FACTORS:
        lr = float(f"{base * factor:.2g}")
        t0 = time.perf_counter()
        result = _train(start, method, lr, probe_fp, batch_size, None, scale=scale, clip=clip)
        val_loss, val_acc, _ = evaluate(
            start.prep.loaded, start.prep.classification.val_texts, start.prep.classification.val_labels, 64
        )
        tried[f"{lr:g}"] = {
            "val_loss": val_loss if math.isfinite(val_loss) and not result["diverged"] else None,
            "val_acc": val_acc,
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(f"  probe {method} lr {lr:g}: val loss {val_loss:.4f}, val acc {val_acc:.4f}", file=sys.stderr)
    finite = {float(k): v["val_loss"] for k, v in tried.items() if v["val_loss"] is not None}
    lr = min(finite, key=lambda candidate: finite[candidate]) if finite else base
    return {
        "probe": True,
        "method": method,
        "lr": lr,
        "default_lr": base,
        "k": start.k,
        "seed": start.seed,
        "forward_passes": probe_fp,
        "val_start_loss": start.val_loss,
        "tried": tried,
        **({"lozo_scale": scale} if method in LOW_RANK else {}),
        **({"zo_clip": clip} if method in ZEROTH_ORDER and clip is not None else {}),
    }


def run_method(start: Start, method: str, lr: float, forward_passes: int, args) -> dict:
    from worker.train.loop import evaluate

    load_before = load_average()
    t0 = time.perf_counter()
    zo = method in ("lozo", "lozo_m", "mezo")
    steps = forward_passes // 2 if zo else forward_passes
    val_every = max(1, steps // VAL_POINTS)
    task, loaded = start.prep.classification, start.prep.loaded

    curve_s = []  # dev evaluations made only to draw the curve: measurement, not part of the run's time

    def dev_point(step: int) -> dict:
        if not args.curve:
            return {}
        t_curve = time.perf_counter()
        _, acc, _ = evaluate(loaded, task.eval_texts, task.eval_labels, 64)
        curve_s.append(time.perf_counter() - t_curve)
        return {"dev_acc": acc}

    result = _train(
        start,
        method,
        lr,
        forward_passes,
        args.batch_size,
        val_every,
        dev_point,
        args.lozo_scale,
        args.zo_clip,
    )
    _, acc_end, end_bits = evaluate(loaded, task.eval_texts, task.eval_labels, 64)
    best = result["best"]
    if best["step"] == 0:
        acc_best, best_bits = start.acc_start, start.dev_bits
    elif best["state"] is None:  # the last step was the best
        acc_best, best_bits = acc_end, end_bits
    else:
        loaded.model.load_state_dict(best["state"])
        _, acc_best, best_bits = evaluate(loaded, task.eval_texts, task.eval_labels, 64)
    fixed, broken, p = mcnemar_exact(start.dev_bits, end_bits)
    _, _, p_best = mcnemar_exact(start.dev_bits, best_bits)
    n = len(end_bits)
    row = {
        "method": method,
        "k": start.k,
        "seed": start.seed,
        "forward_passes": result["steps"] * (2 if zo else 1),
        "acc_start": start.acc_start,
        "acc_end": acc_end,
        "model": MODEL,
        "p_value": p,
        "steps": result["steps"],
        "lr": lr,
        "ci95": ci95(acc_end, n),
        "fixed": fixed,
        "broken": broken,
        "significant": bool(p < 0.05 and fixed > broken),
        "best_step": best["step"],
        "acc_best": acc_best,
        "p_value_best": p_best,
        "val_start": start.val_acc,
        "val_best": best["val_acc"],
        "n_eval": n,
        "n_val": len(task.val_texts),
        "first_train_loss": result["first_train_loss"],
        "final_train_loss": result["final_train_loss"],
        "diverged": result["diverged"],
        "s_per_step": result["train_s"] / max(result["steps"], 1),
        "run_min": round((time.perf_counter() - t0 - sum(curve_s) + start.seconds) / 60, 2),
        "start_s": round(start.seconds, 1),
        "curve_eval_min": round(sum(curve_s) / 60, 2),
        "load_avg": [load_before, load_average()],
        "calibration": start.calibration["calibration"],
        "class_bias": start.calibration["class_bias"],
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "curve": result["curve"],
        **({"lozo_scale": args.lozo_scale} if method in LOW_RANK else {}),
        **({"zo_clip": args.zo_clip} if zo and args.zo_clip is not None else {}),
    }
    print(
        f"  {method} lr {lr:g}: dev {start.acc_start:.4f} -> {acc_end:.4f} (fixed {fixed}, broken {broken}, "
        f"p={p:.3g}); best val step {best['step']} -> dev {acc_best:.4f}; loss {result['first_train_loss']:.3f} "
        f"-> {result['final_train_loss']:.3f}; {row['s_per_step']:.1f} s/step; {row['run_min']:.1f} min; "
        f"load {row['load_avg']}",
        file=sys.stderr,
    )
    return row


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    keys = sorted({(r["k"], r["method"]) for r in rows}, key=lambda km: (-km[0], METHODS.index(km[1])))
    for k, method in keys:
        group = [r for r in rows if r["k"] == k and r["method"] == method]
        gains = [r["acc_end"] - r["acc_start"] for r in group]
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
                "gain_mean": statistics.fmean(gains),
                # 95% interval of the mean gain over seeds (t with n-1 degrees of freedom; 4.30 for 3 seeds)
                "gain_ci95": (
                    _t95(len(gains)) * statistics.stdev(gains) / math.sqrt(len(gains))
                    if len(gains) > 1
                    else None
                ),
                "significant_gains": f"{sum(r['significant'] for r in group)}/{len(group)}",
                "acc_best_mean": statistics.fmean(r["acc_best"] for r in group),
            }
        )
    return out


def _t95(n: int) -> float:
    return {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57}.get(n, 1.96)


def targets(rows: list[dict]) -> dict:
    """The issue's targets, measured on the rows present."""
    lozo = [r for r in rows if r["method"] == "lozo"]
    mezo = {(r["k"], r["seed"]): r for r in rows if r["method"] == "mezo"}
    k512 = [r for r in lozo if r["k"] == 512]
    paired = [
        (r["acc_end"] - mezo[(r["k"], r["seed"])]["acc_end"]) for r in lozo if (r["k"], r["seed"]) in mezo
    ]
    return {
        "lozo_significant_at_512": f"{sum(r['significant'] for r in k512)}/{len(k512)}",
        "lozo_significant_at_512_met": sum(r["significant"] for r in k512) >= 2,
        "lozo_minus_mezo_mean": statistics.fmean(paired) if paired else None,
        "lozo_not_behind_mezo_met": bool(paired) and statistics.fmean(paired) >= -0.005,
        "lozo_mean_gain": statistics.fmean(r["acc_end"] - r["acc_start"] for r in lozo) if lozo else None,
        "lozo_mean_gain_met": bool(lozo)
        and statistics.fmean(r["acc_end"] - r["acc_start"] for r in lozo) >= 0.01,
        "max_run_min": max((r["run_min"] for r in rows), default=None),
    }


def markdown_table(rows: list[dict]) -> str:
    out = [
        (
            "| k | seed | method | steps | lr | acc start | acc end (±95%) | gain | fixed / broken | McNemar p "
            "| significant | best val step → dev | train loss first → last | s/step | run min | load |"
        ),
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['k']} | {r['seed']} | {r['method']} | {r['steps']} | {r['lr']:g} | {100 * r['acc_start']:.1f} | "
            f"{100 * r['acc_end']:.1f} ± {100 * r['ci95']:.1f} | {100 * (r['acc_end'] - r['acc_start']):+.1f} | "
            f"{r['fixed']} / {r['broken']} | {r['p_value']:.3f} | {'yes' if r['significant'] else 'no'} | "
            f"{r['best_step']} → {100 * r['acc_best']:.1f} | {r['first_train_loss']:.3f} → "
            f"{r['final_train_loss']:.3f} | {r['s_per_step']:.1f} | {r['run_min']:.1f} | "
            f"{r['load_avg'][0]:g}–{r['load_avg'][1]:g} |"
        )
    return "\n".join(out)


def _read(path: Path | None) -> list[dict]:
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--json", action="store_true", help="print rows and summaries as JSON lines at the end"
    )
    parser.add_argument(
        "--out", type=Path, help="append each row here as it is measured; rows there are kept"
    )
    parser.add_argument("--ks", default="512,16")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--methods", default="lozo,mezo,adamw")
    parser.add_argument("--forward-passes", type=int, default=200)
    parser.add_argument("--probe-forward-passes", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--val-size", type=int, default=256)
    parser.add_argument("--eval-size", type=int, default=None, help="cap on dev rows (default: all 872)")
    parser.add_argument(
        "--calibration", default="content_free", choices=("content_free", "contextual", "none")
    )
    parser.add_argument(
        "--lr", action="append", default=[], metavar="METHOD=LR", help="skip the probe for METHOD and use LR"
    )
    parser.add_argument(
        "--curve",
        action="store_true",
        help="also evaluate dev at each validation point (the gain-vs-budget curve; slower)",
    )
    parser.add_argument(
        "--lozo-scale",
        choices=LOZO_SCALES,
        default="reference",
        help="LOZO's estimate: the reference code's (no 1/r) or the paper's unbiased 1/r; rows of each "
        "convention are kept apart, and tables and targets read the chosen one",
    )
    parser.add_argument(
        "--zo-clip",
        type=float,
        default=None,
        help="bound the zeroth-order methods' projected gradient by this multiple of its running RMS "
        "(the engine's zo_clip); rows of each setting are kept apart",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--markdown-from", type=Path, help="print the Markdown table of saved rows, and exit")
    parser.add_argument(
        "--todo",
        action="store_true",
        help="print how many of the asked rows are not in --out yet, and exit (no model loaded)",
    )
    args = parser.parse_args(argv)
    if args.markdown_from:
        rows = [r for r in _read(args.markdown_from) if not r.get("probe") and not r.get("summary")]
        rows = with_scale(rows, args.lozo_scale, args.zo_clip)
        asked_ks, asked_seeds = {int(x) for x in args.ks.split(",")}, {int(x) for x in args.seeds.split(",")}
        rows = [r for r in rows if r["k"] in asked_ks and r["seed"] in asked_seeds]  # the asked grid only
        print(markdown_table(rows))
        print()
        print(format_table(summarise(rows), SUMMARY_COLUMNS))
        print()
        print(json.dumps(targets(rows), indent=1))
        return 0

    saved = with_scale(_read(args.out), args.lozo_scale, args.zo_clip)
    done = {(r["method"], r["k"], r["seed"]) for r in saved if not r.get("probe") and not r.get("summary")}
    if args.todo:
        ks, seeds = [int(x) for x in args.ks.split(",")], [int(x) for x in args.seeds.split(",")]
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        print(sum((m, k, s) not in done for m in methods for k in ks for s in seeds))
        return 0

    import torch

    from common.models import builtin
    from common.builtin_data import sst2_dir

    torch.set_num_threads(args.threads)
    if sst2_dir() is None:
        print("SST-2 not found (../shared/data/sst2 or ZOPOC_SST2_DIR): nothing to measure", file=sys.stderr)
        return 1
    model = builtin(MODEL)
    if model is None or not model.installed():
        print(f"{MODEL} is not set up: run scripts/setup.sh", file=sys.stderr)
        return 1
    ks = [int(x) for x in args.ks.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    lrs = {r["method"]: r["lr"] for r in saved if r.get("probe")}
    lrs.update({m: float(v) for m, v in (x.split("=") for x in args.lr)})
    print(
        f"settings: {MODEL}, SST-2, k={ks}, seeds={seeds}, methods={methods}, {args.forward_passes} forward "
        f"passes, batch {args.batch_size}, max_length {args.max_length}, val <= {args.val_size} rows, "
        f"calibration {args.calibration}, threads {args.threads}, load {load_average()}",
        file=sys.stderr,
    )

    def save(record: dict) -> None:
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("a") as handle:
                handle.write(json.dumps(record) + "\n")

    rows = [r for r in saved if not r.get("probe") and not r.get("summary")]
    for k in ks:
        for seed in seeds:
            todo = [m for m in methods if (m, k, seed) not in done]
            if not todo:
                continue
            start = build_start(k, seed, args)
            for method in todo:
                if method not in lrs:
                    probe = probe_lr(
                        start,
                        method,
                        args.probe_forward_passes,
                        args.batch_size,
                        args.lozo_scale,
                        args.zo_clip,
                    )
                    probe["load_avg"] = load_average()
                    save(probe)
                    lrs[method] = probe["lr"]
                row = run_method(start, method, lrs[method], args.forward_passes, args)
                save(row)
                rows.append(row)
            del start
    if args.json:
        emit(rows, ROW_COLUMNS, True)
        emit([{"summary": True, **s} for s in summarise(rows)], SUMMARY_COLUMNS, True)
        print(json.dumps({"targets": targets(rows)}))
    else:
        print(format_table(rows, ROW_COLUMNS))
        print()
        print(format_table(summarise(rows), SUMMARY_COLUMNS))
        print(json.dumps(targets(rows), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
