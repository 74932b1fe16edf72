"""Memory model vs the engine: estimated and measured peak memory per method, one short real run each.

    .venv/bin/python benchmarks/memory_model.py                 # markdown table (default model on CPU)
    .venv/bin/python benchmarks/memory_model.py --json          # one JSON row per method
    .venv/bin/python benchmarks/memory_model.py --methods lozo,adamw --steps 3
    .venv/bin/python benchmarks/memory_model.py --direct --device cuda --model 1b --dtype float32
        # on a GPU: a random OPT-1.3B-shaped model, the optimizers driven directly, torch.cuda peak

Each method runs ``python -m worker.train`` in its own child process (as the service does) for a few steps
and reports the peak RSS of that process (``finished.summary.peak_rss_mb``; MiB). The dataset is generated
here: texts longer than ``max_length`` tokens, so every batch is padded to exactly ``max_length`` — the case
the estimate describes (the engine pads to the longest text of a batch; short texts use less).
The "inference" row has no engine run; the runtime term of the estimate is calibrated from the engine's
``baseline_rss_mb`` (RSS right after loading the model), shown as its own row.

``--direct`` measures without the engine (which needs a tokenizer and saved weights for a model it does not
ship): a random causal LM built from the shape preset (``1b`` = OPT-1.3B) on ``--device``, random token ids,
the language-modelling loss, and each method's optimizer (worker.zo, torch.optim) for two steps, each method
in its own process; measured = ``torch.cuda.max_memory_allocated()`` (tensors only, what the estimate
describes on CUDA), or the peak RSS on CPU.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.estimates import memory, shapes  # noqa: E402  (after the path set-up above)
from common.methods import LORA_ALPHA, LORA_RANK  # noqa: E402

ENGINE_METHODS = ("mezo", "lozo", "lozo_m", "sgd", "adamw", "lora")
MIB = 2**20


def write_long_texts(path: Path, rows: int = 120, words: int = 90, seed: int = 0) -> Path:
    """A two-class CSV whose every text is longer than 64 tokens (batches padded to max_length)."""
    rng = random.Random(seed)
    pos = ["good", "great", "wonderful", "delightful", "moving", "superb", "charming", "brilliant"]
    neg = ["bad", "awful", "boring", "dull", "tedious", "weak", "clumsy", "terrible"]
    filler = ["the", "film", "story", "actors", "scenes", "music", "camera", "plot", "director", "script"]
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["text", "label"])
        for i in range(rows):
            vocab = (pos if i % 2 else neg) + filler
            out.writerow(
                [" ".join(rng.choice(vocab) for _ in range(words)), "positive" if i % 2 else "negative"]
            )
    return path


def run_engine(
    method: str,
    dataset: Path,
    workdir: Path,
    steps: int = 3,
    batch_size: int = 16,
    max_length: int = 64,
    eval_size: int = 64,
    model: str = "minilm",
    device: str = "cpu",
    timeout_s: float = 300,
) -> dict:
    """Run the real engine once in a child process; return its ``finished`` summary (raises on failure)."""
    events = workdir / f"{method}.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "worker.train",
        "--method",
        method,
        "--model",
        model,
        "--steps",
        str(steps),
        "--dataset",
        str(dataset),
        "--eval-size",
        str(eval_size),
        "--batch-size",
        str(batch_size),
        "--max-length",
        str(max_length),
        "--device",
        device,
        "--threads",
        "1",
        "--no-progress",
        "--events-out",
        str(events),
    ]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    finished = (
        [json.loads(line) for line in events.read_text().splitlines() if '"finished"' in line]
        if events.exists()
        else []
    )
    if proc.returncode != 0 or not finished or finished[-1]["status"] != "succeeded":
        raise RuntimeError(f"engine run {method} failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return finished[-1]["summary"]


def compare(
    methods=ENGINE_METHODS,
    steps: int = 3,
    batch_size: int = 16,
    max_length: int = 64,
    eval_size: int = 64,
    model: str = "minilm",
) -> list[dict]:
    """Estimated vs measured rows (MiB) for each method on CPU, plus the runtime-baseline row."""
    shape = shapes.model_shape(model)
    work = memory.Workload(
        dtype="float32",
        batch_size=batch_size,
        seq_len=max_length,
        device_kind="cpu",
        eval_batch_size=min(eval_size, 64),
    )
    rows, baselines = [], []
    with tempfile.TemporaryDirectory(prefix="zopoc-mem-") as tmp:
        data = write_long_texts(Path(tmp) / "long.csv")
        for method in methods:
            summary = run_engine(method, data, Path(tmp), steps, batch_size, max_length, eval_size, model)
            baselines.append(summary["baseline_rss_mb"])
            est = memory.estimate(shape, method, work).total / MIB
            rows.append(
                {
                    "method": method,
                    "estimated_mb": round(est, 1),
                    "measured_mb": round(summary["peak_rss_mb"], 1),
                    "error_pct": round(100 * (est / summary["peak_rss_mb"] - 1), 1),
                }
            )
    weights_mb = shape.n_params * memory.DTYPE_BYTES["float32"] / MIB
    est_baseline = memory.CPU_RUNTIME_BYTES / MIB + weights_mb
    measured = sum(baselines) / len(baselines)
    rows.append(
        {
            "method": "baseline after load (runtime + weights)",
            "estimated_mb": round(est_baseline, 1),
            "measured_mb": round(measured, 1),
            "error_pct": round(100 * (est_baseline / measured - 1), 1),
        }
    )
    return rows


def _direct_child(method: str, model: str, device: str, dtype: str, batch_size: int, seq_len: int) -> float:
    """In a fresh process: build the model, run two steps of ``method``, return the peak memory in MiB."""
    import resource

    import torch
    from transformers import AutoModelForCausalLM

    from worker.zo import LOZO, LOZOM, MeZO

    torch.manual_seed(0)
    from transformers import AutoConfig

    _, values = shapes.model_config(model)
    values = {k: v for k, v in values.items() if k not in ("quantization_config", "transformers_version")}
    config = AutoConfig.for_model(values.pop("model_type"), **values)
    with torch.device(device):
        net = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    ids = torch.randint(0, config.vocab_size, (batch_size, seq_len), device=device)

    def loss():
        return net(input_ids=ids, labels=ids).loss

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    if method == "inference":
        net.eval()
        with torch.inference_mode():
            loss()
    elif method in ("mezo", "lozo", "lozo_m"):
        net.eval()
        opt = {"mezo": MeZO, "lozo": LOZO, "lozo_m": LOZOM}[method](net.parameters(), lr=1e-6)
        for _ in range(2):
            opt.step(loss)
    else:
        net.train()
        if method == "lora":  # the engine's adapters (worker/train/adapters.py), default rank and alpha
            from worker.train.adapters import inject_lora

            inject_lora(net, int(LORA_RANK.fixed_default), int(LORA_ALPHA.fixed_default), seed=0)
        trainable = [p for p in net.parameters() if p.requires_grad]
        opt = (
            torch.optim.SGD(trainable, lr=1e-3)
            if method == "sgd"
            else torch.optim.AdamW(trainable, lr=1e-4 if method == "lora" else 1e-5)
        )
        for _ in range(2):
            opt.zero_grad(set_to_none=True)
            loss().backward()
            opt.step()
    if device == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / MIB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compare_direct(
    methods,
    model: str = "1b",
    device: str = "cuda",
    dtype: str = "float32",
    batch_size: int = 16,
    seq_len: int = 64,
) -> list[dict]:
    """Estimated vs measured rows (MiB) with the optimizers driven directly, one process per method."""
    shape = shapes.model_shape(model)
    work = memory.Workload(
        dtype=dtype,
        batch_size=batch_size,
        seq_len=seq_len,
        eval_batch_size=batch_size,
        device_kind="cuda" if device == "cuda" else "cpu",
    )
    rows = []
    for method in methods:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            method,
            "--model",
            model,
            "--device",
            device,
            "--dtype",
            dtype,
            "--batch-size",
            str(batch_size),
            "--max-length",
            str(seq_len),
        ]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"direct measurement of {method} failed: {proc.stderr[-2000:]}")
        measured = float(proc.stdout.strip().splitlines()[-1])
        est = memory.estimate(shape, method, work).total / MIB
        rows.append(
            {
                "method": method,
                "estimated_mb": round(est, 1),
                "measured_mb": round(measured, 1),
                "error_pct": round(100 * (est / measured - 1), 1),
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| method | estimated (MiB) | measured (MiB) | error |", "|---|---:|---:|---:|"]
    lines += [
        f"| {r['method']} | {r['estimated_mb']:.0f} | {r['measured_mb']:.0f} | {r['error_pct']:+.1f}% |"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default=",".join(ENGINE_METHODS))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    parser.add_argument("--direct", action="store_true", help="drive the optimizers directly (see above)")
    parser.add_argument("--model", default=None, help="with --direct: a shape preset (default 1b)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(
            _direct_child(args.child, args.model, args.device, args.dtype, args.batch_size, args.max_length)
        )
        return 0
    if args.direct:
        methods = (
            args.methods.split(",")
            if args.methods != ",".join(ENGINE_METHODS)
            else ["inference", *ENGINE_METHODS]
        )
        rows = compare_direct(
            methods, args.model or "1b", args.device, args.dtype, args.batch_size, args.max_length
        )
    else:
        rows = compare(args.methods.split(","), args.steps, args.batch_size, args.max_length)
    print("\n".join(json.dumps(r) for r in rows) if args.json else markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
