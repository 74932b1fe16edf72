"""Peak GPU memory and step time per method on an OPT-1.3B-sized model with random weights (no download).

    .venv/bin/python benchmarks/gpu_memory.py                     # CUDA, fp16, batch 16 x 64 tokens
    .venv/bin/python benchmarks/gpu_memory.py --dtype bfloat16 --batch-size 8 --seq-len 256 --json
    .venv/bin/python benchmarks/gpu_memory.py --tiny              # tiny OPT on CPU: exercises the code path

The model is built from ``transformers.OPTConfig`` (hidden 2048, 24 layers, FFN 8192, 32 heads, vocab
50272: OPT-1.3B's shape, 1.3B parameters) directly on the device in the chosen dtype, with random weights:
memory and time do not depend on the values. It is read as a prompt-based classifier, as the product does
with decoders: the last token's hidden state against two label-word rows of the (tied) LM head.

Each method (and plain inference, the reference) runs in its own spawned process. Reported per method:
- ``peak_allocated_mb``: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` (taken
  after the model is built): the tensors torch holds, what the MeZO/LOZO papers report;
- ``nvml_used_mb``: the device's used memory as NVML/nvidia-smi sees it at the end of the phase: adds the
  CUDA context and the caching allocator's reserve, which is why it is larger;
- ``step_s`` / ``forward_s`` (median, CUDA-synchronised) and their ratio.
On CPU (``--tiny``) the peak is the process's RSS after the model was built.
AdamW runs on parameters of the chosen dtype (pure half precision: weights, grads and both moments in
fp16/bf16, 8 bytes/parameter before activations); mixed precision would add an fp32 master copy.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, median, run_isolated  # noqa: E402
from step_cost import make_step  # noqa: E402

from worker.train.memory import current_rss_mb, peak_rss_mb, reset_peak_rss  # noqa: E402

METHODS = ("lozo", "lozo_m", "mezo", "adamw")
COLUMNS = [
    "method",
    "dtype",
    "step_s",
    "forward_s",
    "step_over_forward",
    "peak_allocated_mb",
    "inference_peak_allocated_mb",
    "memory_over_inference",
    "nvml_used_mb",
]
OPT_1_3B = dict(
    hidden_size=2048,
    num_hidden_layers=24,
    ffn_dim=8192,
    num_attention_heads=32,
    vocab_size=50272,
    max_position_embeddings=2048,
    word_embed_proj_dim=2048,
)
OPT_TINY = dict(
    hidden_size=64,
    num_hidden_layers=2,
    ffn_dim=128,
    num_attention_heads=4,
    vocab_size=1000,
    max_position_embeddings=256,
    word_embed_proj_dim=64,
)
LABEL_TOKEN_IDS = (101, 202)  # any two vocabulary rows: the values are random anyway


def build_opt(tiny: bool, device, dtype):
    """An OPT model with random weights built on ``device`` in ``dtype`` (never materialised elsewhere)."""
    import torch
    import transformers
    from transformers import OPTConfig, OPTForCausalLM

    transformers.logging.set_verbosity_error()
    config = OPTConfig(**(OPT_TINY if tiny else OPT_1_3B), dropout=0.0, attention_dropout=0.0)
    with torch.device(device):
        model = OPTForCausalLM._from_config(config, dtype=dtype)
    return model.eval()


def nvml_used_mb(device) -> float | None:
    """Used memory of the device as NVML reports it (nvidia-smi's figure), MiB; None without NVML."""
    try:
        import pynvml
    except ImportError:
        return None
    import torch

    try:
        pynvml.nvmlInit()
        index = device.index if device.index is not None else torch.cuda.current_device()
        info = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(index))
        return info.used / 2**20
    except pynvml.NVMLError:
        return None


def measure(method: str, cfg: dict) -> dict:
    """In a fresh child: build the model, time forwards and steps alternately, report the phase peak."""
    import torch

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

    baseline_mb = current_rss_mb()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    else:
        reset_peak_rss()
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
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
        nvml = nvml_used_mb(device)
    else:
        peak, nvml = peak_rss_mb(), None
    forward_s = median(forward_times[cfg["warmup"] :])
    step_s = median(step_times[cfg["warmup"] :]) if step_times else None
    return {
        "method": method,
        "model": "opt-tiny" if cfg["tiny"] else "opt-1.3b-shape",
        "n_params": sum(p.numel() for p in model.parameters()),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "dtype": cfg["dtype"],
        "batch_size": cfg["batch_size"],
        "seq_len": cfg["seq_len"],
        "steps": cfg["steps"],
        "step_s": step_s,
        "load_avg_1m": os.getloadavg()[0],  # the machine is shared: say how busy it was
        "forward_s": forward_s,
        "step_over_forward": step_s / forward_s if step_s is not None else None,
        "peak_allocated_mb": peak,
        "peak_kind": "cuda_max_memory_allocated" if device.type == "cuda" else "peak_rss_after_build",
        "nvml_used_mb": nvml,
        "baseline_rss_mb": baseline_mb,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny OPT on CPU in fp32 (tests, CI)")
    parser.add_argument("--device", default=None, help="default cuda (cpu with --tiny)")
    parser.add_argument(
        "--dtype",
        default=None,
        choices=["float32", "float16", "bfloat16"],
        help="default float16 (float32 with --tiny)",
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--zo-lr", type=float, default=1e-7)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)

    device = args.device or ("cpu" if args.tiny else "cuda")
    dtype = args.dtype or ("float32" if args.tiny else "float16")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            parser.error("no CUDA device here; run with --tiny to exercise the code path on CPU")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS + ("sgd", "mezo_naive")]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}")
    cfg = {
        "tiny": args.tiny,
        "device": device,
        "dtype": dtype,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "steps": args.steps,
        "warmup": args.warmup,
        "threads": args.threads,
        "zo_lr": args.zo_lr,
    }
    inference = run_isolated(measure, "inference", cfg)
    rows = [inference] + [run_isolated(measure, m, cfg) for m in methods]
    for row in rows:
        row["inference_peak_allocated_mb"] = inference["peak_allocated_mb"]
        row["memory_over_inference"] = row["peak_allocated_mb"] / inference["peak_allocated_mb"]
    emit(rows, COLUMNS, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
