"""Zeroth-order steps in bf16/fp16 against float32: drift at lr = 0, update agreement, step cost, memory.

    .venv/bin/python benchmarks/precision.py                      # MiniLM-L6, 200 steps, CPU, 2 threads
    .venv/bin/python benchmarks/precision.py --steps 20 --json    # a quick run
    .venv/bin/python benchmarks/precision.py --dtypes bfloat16 --methods lozo --compare-in-place

For every (method, dtype), a fresh child process (multiprocessing 'spawn', so each peak is its own) loads the
default model (the embedded MiniLM-L6 with a linear head, built in float32 from the run seed, then cast:
every dtype starts from the rounding of the same weights) and takes, on one fixed batch (16 × 64 random
tokens, fixed labels, the same in every process):

1. ``--steps`` steps at ``--lr`` (default 1e-4, the engine's default for this model); the update is
   Δ = θ_N − θ_0 in float32. ``update_cosine_vs_fp32`` and ``update_norm_ratio_vs_fp32`` compare it with
   the float32 run's Δ of the same method (same start, same seeds: the directions drawn are the same, so
   the two runs differ only by what the precision does to the losses and the weights). Every
   ``--time-every`` steps one forward pass is timed beside the step (``torch.inference_mode``, the model as
   it trains: with the exact mode's hooks), so ``step_over_forward`` = median step / median forward of the
   same process, and a change of load hits both alike. ``peak_mb``: peak RSS of this phase above the
   reset after loading (weights made resident, as in step_cost.py).
2. The same number of steps at lr = 0 from the same start: ``drift_lr0`` = ‖θ_N − θ_0‖₂ over all
   trainable parameters (what the weights moved although nothing was learned; the norm of θ is ~130).

``mode`` is the precision mode the optimizer used: "auto" picks in_place for float32 (today's path), exact
(LOZO, LOZO-M; MeZO's is called master) for bf16/fp16. ``--modes auto,in_place,exact`` adds the other
modes per dtype (float32 exact, bf16 in place: what the exact mode fixes). The reference of the update
comparison is always the float32 in-place run. The ZO loss is computed on float32 logits, as in training.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, make_weights_resident, median, run_isolated  # noqa: E402

from worker.train.memory import current_rss_mb, peak_rss_mb, reset_peak_rss  # noqa: E402

METHODS = ("lozo", "lozo_m", "mezo")
DTYPES = ("float32", "bfloat16", "float16")
COLUMNS = [
    "method",
    "dtype",
    "mode",
    "drift_lr0",
    "update_cosine_vs_fp32",
    "update_norm_ratio_vs_fp32",
    "step_over_forward",
    "step_s",
    "peak_mb",
    "load_avg_1m",
]


def load_start(dtype_name: str, seed: int):
    """MiniLM-L6 + linear head as the engine builds it (worker/train/models.py), float32 then cast."""
    import torch

    from worker.train.models import load_model

    loaded = load_model("minilm", 2, ["terrible", "great"], "cpu", "float32", seed)
    model = loaded.model.to(getattr(torch, dtype_name)).eval()
    make_weights_resident(model)
    return model


def fixed_batch(vocab: int, batch_size: int, seq_len: int):
    import torch

    gen = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1000, vocab, (batch_size, seq_len), generator=gen)
    labels = torch.randint(0, 2, (batch_size,), generator=gen)
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}, labels


def make_optimizer(method: str, model, lr: float, mode: str, seed: int):
    from worker.zo import LOZO, LOZOM, MeZO

    params = [p for p in model.parameters() if p.requires_grad]
    if method == "mezo":
        precision = {"exact": "master"}.get(mode, mode)
        return MeZO(params, lr=lr, zo_eps=1e-3, seed=seed, precision=precision)
    cls = LOZO if method == "lozo" else LOZOM
    return cls(params, lr=lr, zo_eps=1e-3, rank=2, step_interval=50, seed=seed, precision=mode, model=model)


def measure(method: str, dtype_name: str, mode: str, cfg: dict) -> dict:
    """In a fresh child: the lr run (update, timing, peak), then the lr = 0 run (drift)."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(cfg["threads"])
    model = load_start(dtype_name, cfg["seed"])
    params = [p for p in model.parameters() if p.requires_grad]
    start_file = Path(cfg["out_dir"]) / f"start-{method}-{dtype_name}-{mode}.pt"
    torch.save([p.detach().clone() for p in params], start_file)  # on disk: a copy in memory would count
    enc, labels = fixed_batch(model.encoder.config.vocab_size, cfg["batch_size"], cfg["seq_len"])

    def closure():
        return F.cross_entropy(model(**enc).float(), labels)

    baseline_mb = current_rss_mb()
    reset_peak_rss()
    opt = make_optimizer(method, model, cfg["lr"], mode, cfg["seed"])
    step_times, forward_times = [], []
    for step in range(cfg["steps"]):
        if step % cfg["time_every"] == 0:
            begin = time.perf_counter()
            with torch.inference_mode():
                model(**enc)
            forward_times.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        loss = opt.step(closure)
        step_times.append(time.perf_counter() - begin)
        if not math.isfinite(loss):
            raise RuntimeError(f"{method} {dtype_name}: loss became {loss}")
    peak_mb = peak_rss_mb()
    used_mode = opt.precision
    opt.detach()  # fold the pending low-rank updates into the weights (exact mode)
    start = torch.load(start_file, weights_only=True)
    update = torch.cat([(p.detach().float() - s.float()).flatten() for p, s in zip(params, start)])
    torch.save(update, Path(cfg["out_dir"]) / f"update-{method}-{dtype_name}-{mode}.pt")
    del update

    with torch.no_grad():
        for p, s in zip(params, start):
            p.copy_(s)
    opt = make_optimizer(method, model, 0.0, mode, cfg["seed"])
    for _ in range(cfg["steps"]):
        opt.step(closure)
    opt.detach()
    drift = math.sqrt(
        sum(float((p.detach().float() - s.float()).pow(2).sum()) for p, s in zip(params, start))
    )
    start_file.unlink()
    step_s, forward_s = median(step_times), median(forward_times)
    return {
        "method": method,
        "dtype": dtype_name,
        "mode": used_mode,
        "steps": cfg["steps"],
        "lr": cfg["lr"],
        "batch_size": cfg["batch_size"],
        "seq_len": cfg["seq_len"],
        "threads": cfg["threads"],
        "drift_lr0": drift,
        "theta_norm": math.sqrt(sum(float(s.float().pow(2).sum()) for s in start)),
        "step_s": step_s,
        "forward_s": forward_s,
        "step_over_forward": step_s / forward_s,
        "peak_mb": peak_mb,
        "baseline_mb": baseline_mb,
        "peak_kind": "peak_rss_after_load",
        "load_avg_1m": os.getloadavg()[0],  # the machine is shared: say how busy it was
    }


def compare_updates(rows: list[dict], out_dir: str) -> None:
    """Cosine and norm ratio of each run's update against the float32 run of the same method."""
    import torch

    for row in rows:
        ref_file = Path(out_dir) / f"update-{row['method']}-float32-in_place.pt"
        own_file = Path(out_dir) / f"update-{row['method']}-{row['dtype']}-{row['requested_mode']}.pt"
        if not ref_file.exists():
            continue
        ref, own = torch.load(ref_file).double(), torch.load(own_file).double()
        row["update_cosine_vs_fp32"] = float(torch.nn.functional.cosine_similarity(own, ref, dim=0))
        row["update_norm_ratio_vs_fp32"] = float(own.norm() / ref.norm())
        row["update_norm"] = float(own.norm())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="steps of each run (default 200)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma list of {', '.join(METHODS)}")
    parser.add_argument("--dtypes", default=",".join(DTYPES), help=f"comma list of {', '.join(DTYPES)}")
    parser.add_argument("--lr", type=float, default=1e-4, help="learning rate of the update run")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--time-every", type=int, default=10, help="time one forward pass every N steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--modes",
        default="auto",
        help="comma list of auto, in_place, exact (default auto: one row per dtype)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    bad = [m for m in methods if m not in METHODS] + [d for d in dtypes if d not in DTYPES]
    if bad:
        parser.error(f"unknown method(s)/dtype(s): {', '.join(bad)}")
    with tempfile.TemporaryDirectory(prefix="zopoc-precision-") as out_dir:
        cfg = {
            "steps": args.steps,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "seq_len": args.seq_len,
            "threads": args.threads,
            "time_every": args.time_every,
            "seed": args.seed,
            "out_dir": out_dir,
        }
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        if any(m not in ("auto", "in_place", "exact") for m in modes):
            parser.error(f"unknown mode(s) in {args.modes!r}")
        runs: list[tuple[str, str]] = []
        for dtype_name in dtypes:
            for mode in modes:
                if mode == "auto":
                    mode = "in_place" if dtype_name == "float32" else "exact"
                if (dtype_name, mode) not in runs:
                    runs.append((dtype_name, mode))
        if "float32" not in dtypes:  # the reference of the update comparison
            runs.insert(0, ("float32", "in_place"))
        rows = []
        for method in methods:
            for dtype_name, mode in runs:
                row = run_isolated(measure, method, dtype_name, mode, cfg)
                row["requested_mode"] = mode
                rows.append(row)
        compare_updates(rows, out_dir)
    emit(rows, COLUMNS, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
