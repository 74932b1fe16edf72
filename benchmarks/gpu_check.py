"""One check for a person with one GPU: the engine's tests on CUDA, per-method memory and step cost on an
OPT-1.3B-shaped model, and the memory forecast against the measurement, printed as one table.

    benchmarks/gpu_check.sh                                        # CUDA, bfloat16, batch 16 x 64 tokens
    .venv/bin/python benchmarks/gpu_check.py --json                # the same rows as JSON lines
    .venv/bin/python benchmarks/gpu_check.py --device cpu --tiny   # tiny OPT on CPU: the code path only

Takes a few minutes on one GPU (under ten): most of it is the optimizer tests and building the model once
per method. Rows:

- ``tests/zo``: ``pytest tests/zo`` with ``ZOPOC_TEST_DEVICE`` set to the device (tests/zo/conftest.py:
  tensors and modules are made there), the counts of passed and failed tests.
- one row per method (``inference``, the reference, then lozo, lozo_m, mezo, adamw): the model is built
  from ``transformers.OPTConfig`` with random weights (hidden 2048, 24 layers, FFN 8192, 32 heads, vocab
  50272: 1.3B parameters) directly on the device in the chosen dtype (no download; memory and time do not
  depend on the values), in a fresh spawned process per method so each peak is its own. It is read as the
  engine reads a decoder with single-token label words: the last token's hidden state against two
  label-word rows of the (tied) LM head. Memory is measured by the engine's own probes
  (``worker.train.memory``), in the engine's kinds (common/memory_kinds.py): ``baseline_mb`` and
  ``peak_mb`` of the headline kind (``cuda_allocated`` on a GPU, ``host_rss`` on CPU), ``added_mb`` = peak
  − baseline, and beside them the allocator's reserve (``cuda_reserved_mb``) and this process's own device
  memory as the driver accounts it (``nvml_process_mb``: never the whole device's). ``step_s`` /
  ``forward_s`` are medians, CUDA-synchronised; ``step_over_forward`` their ratio.
- ``forecast_mb``: backend/estimates/memory.py for the same model, dtype, batch, sequence length and LOZO
  rank (the evaluation batch set to the training batch: the check only trains), and ``error_pct`` =
  (forecast − measured) / measured; ``result`` says whether it is within ±10 % (on CPU the forecast includes
  the engine process's fixed runtime, which a bare benchmark process lacks: the CPU row only proves the
  code path).

AdamW runs on parameters of the chosen dtype (pure half precision: weights, gradients and both moments in
bf16, 8 bytes a parameter before activations); mixed precision would add an fp32 master copy.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO_ROOT, emit, median, run_isolated  # noqa: E402

METHODS = ("lozo", "lozo_m", "mezo", "adamw")
COLUMNS = [
    "check",
    "method",
    "kind",
    "baseline_mb",
    "peak_mb",
    "added_mb",
    "cuda_reserved_mb",
    "nvml_process_mb",
    "step_s",
    "step_over_forward",
    "forecast_mb",
    "error_pct",
    "result",
]
FORECAST_TOLERANCE = 0.10
OPT_1_3B: dict[str, Any] = dict(
    hidden_size=2048,
    num_hidden_layers=24,
    ffn_dim=8192,
    num_attention_heads=32,
    vocab_size=50272,
    max_position_embeddings=2048,
    word_embed_proj_dim=2048,
)
OPT_TINY: dict[str, Any] = dict(
    hidden_size=64,
    num_hidden_layers=2,
    ffn_dim=128,
    num_attention_heads=4,
    vocab_size=1000,
    max_position_embeddings=256,
    word_embed_proj_dim=64,
)
LABEL_TOKEN_IDS = (101, 202)  # any two vocabulary rows: the values are random anyway
LOZO_RANK = 2  # worker.zo.LOZO's default, the rank make_step uses


def opt_config(tiny: bool):
    from transformers import OPTConfig

    return OPTConfig(**(OPT_TINY if tiny else OPT_1_3B), dropout=0.0, attention_dropout=0.0)


def build_opt(tiny: bool, device, dtype):
    """An OPT model with random weights built on ``device`` in ``dtype`` (never materialised elsewhere)."""
    import torch
    import transformers
    from transformers import OPTForCausalLM

    transformers.logging.set_verbosity_error()
    with torch.device(device):
        model = OPTForCausalLM._from_config(opt_config(tiny), dtype=dtype)
    return model.eval()


def measure(method: str, cfg: dict) -> dict:
    """In a fresh child: build the model, take the engine's baseline, time forwards and steps, report peaks."""
    import torch
    from step_cost import make_step

    from worker.train.memory import MemoryRecord

    torch.set_num_threads(cfg["threads"])
    device = torch.device(cfg["device"])
    dtype = getattr(torch, cfg["dtype"])
    model = build_opt(cfg["tiny"], device, dtype)
    decoder = model.get_decoder()
    label_ids = torch.tensor(LABEL_TOKEN_IDS, device=device)
    gen = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    input_ids = torch.randint(300, vocab, (cfg["batch_size"], cfg["seq_len"]), generator=gen).to(device)
    attention_mask = torch.ones_like(input_ids)
    labels = torch.randint(0, 2, (cfg["batch_size"],), generator=gen).to(device)

    def forward_loss():
        hidden = decoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, -1]
        logits = hidden @ model.get_output_embeddings().weight[label_ids].T
        return torch.nn.functional.cross_entropy(logits.float(), labels)

    record = MemoryRecord.for_device(device)  # the engine's probes: the same kinds as a product run
    record.start(model)
    step = make_step(method, model, forward_loss, cfg)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    forward_times, step_times = [], []
    for _ in range(cfg["warmup"] + cfg["steps"]):
        sync()
        start = time.perf_counter()
        with torch.inference_mode():
            forward_loss()
        sync()
        forward_times.append(time.perf_counter() - start)
        if step is not None:
            start = time.perf_counter()
            loss = step()
            sync()
            step_times.append(time.perf_counter() - start)
            if not math.isfinite(loss):
                raise RuntimeError(f"{method}: loss became {loss}")
        record.sample()
    summary = record.summary()
    forward_s = median(forward_times[cfg["warmup"] :])
    step_s = median(step_times[cfg["warmup"] :]) if step_times else None
    by_kind = summary["memory"]
    return {
        "check": "memory",
        "method": method,
        "model": "opt-tiny" if cfg["tiny"] else "opt-1.3b-shape",
        "n_params": sum(p.numel() for p in model.parameters()),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "dtype": cfg["dtype"],
        "batch_size": cfg["batch_size"],
        "seq_len": cfg["seq_len"],
        "steps": cfg["steps"],
        "kind": summary["memory_kind"],
        "baseline_mb": summary["baseline_mb"],
        "peak_mb": summary["peak_mb"],
        "added_mb": summary["added_mb"],
        "cuda_reserved_mb": (by_kind.get("cuda_reserved") or {}).get("peak_mb"),
        "nvml_process_mb": (by_kind.get("nvml_process") or {}).get("peak_mb"),
        "step_s": step_s,
        "forward_s": forward_s,
        "step_over_forward": step_s / forward_s if step_s is not None else None,
        "load_avg_1m": os.getloadavg()[0],  # a shared machine: say how busy it was
    }


def forecast_mb(method: str, cfg: dict) -> float:
    """The product's memory forecast (backend/estimates/memory.py) for the measured setting, in MiB."""
    from backend.estimates import memory, shapes

    with tempfile.TemporaryDirectory(prefix="zopoc-gpu-check-") as folder:
        opt_config(cfg["tiny"]).save_pretrained(folder)
        shape = shapes.model_shape(folder)
    work = memory.Workload(
        dtype=cfg["dtype"],
        batch_size=cfg["batch_size"],
        seq_len=cfg["seq_len"],
        rank=LOZO_RANK,
        eval_batch_size=cfg["batch_size"],
        device_kind="cuda" if cfg["device"].startswith("cuda") else "cpu",
    )
    return memory.estimate(shape, method, work).total / 2**20


def judge_forecast(row: dict, forecast: float) -> None:
    """Add the forecast, its error against the measured peak and whether it is within the tolerance."""
    row["forecast_mb"] = forecast
    measured = row.get("peak_mb")
    if not measured:
        row["error_pct"], row["result"] = None, "no measurement"
        return
    error = (forecast - measured) / measured
    row["error_pct"] = 100 * error
    within = abs(error) <= FORECAST_TOLERANCE
    row["result"] = "forecast within 10%" if within else f"forecast off by {100 * error:+.0f}%"


def run_engine_tests(device: str, pytest_args: list[str]) -> dict:
    """``pytest tests/zo`` on ``device`` in a subprocess; a row with the counts."""
    env = dict(os.environ, ZOPOC_TEST_DEVICE=device, PYTHONPATH=str(REPO_ROOT))
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/zo",
        # this check's own test lives there: it would start the check again
        "--ignore=tests/zo/test_benchmarks.py",
        *pytest_args,
    ]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    counts = {
        word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|error|errors|skipped)", done.stdout)
    }
    passed, failed = counts.get("passed", 0), counts.get("failed", 0) + counts.get("errors", 0)
    failed += counts.get("error", 0)
    ok = done.returncode == 0 and passed > 0
    result = f"{passed} passed, {failed} failed" + (
        f", {counts['skipped']} skipped" if "skipped" in counts else ""
    )
    if not ok and not failed:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["pytest did not run"]
        result = f"pytest exit {done.returncode}: {tail[0][:80]}"
    return {
        "check": "tests/zo",
        "method": "-",
        "device": device,
        "passed": passed,
        "failed": failed,
        "seconds": time.perf_counter() - start,
        "result": ("PASS " if ok else "FAIL ") + result,
        "pytest_tail": "\n".join(done.stdout.strip().splitlines()[-15:]) if not ok else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument(
        "--tiny", action="store_true", help="a tiny OPT instead of the 1.3B shape (CPU tests)"
    )
    parser.add_argument("--dtype", default=None, choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--zo-lr", type=float, default=1e-7)
    parser.add_argument("--skip-tests", action="store_true", help="leave out the tests/zo row")
    parser.add_argument("--pytest-args", default="", help="more arguments for pytest (e.g. '-k test_math')")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of the table")
    args = parser.parse_args(argv)

    dtype = args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            parser.error("no CUDA device here; --device cpu --tiny runs the code path on the CPU")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS + ("sgd",)]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}")
    cfg = {
        "tiny": args.tiny,
        "device": args.device,
        "dtype": dtype,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "steps": args.steps,
        "warmup": args.warmup,
        "threads": args.threads,
        "zo_lr": args.zo_lr,
    }
    rows = [] if args.skip_tests else [run_engine_tests(args.device, args.pytest_args.split())]
    for method in ("inference", *methods):
        row = run_isolated(measure, method, cfg)
        judge_forecast(row, forecast_mb(method, cfg))
        rows.append(row)
    emit(rows, COLUMNS, args.json)
    failed_tests = any(r["check"] == "tests/zo" and r["result"].startswith("FAIL") for r in rows)
    return 1 if failed_tests else 0


if __name__ == "__main__":
    raise SystemExit(main())
