"""Replay of a ZO run from its step log: bit-identical weights, bytes per step, cost against a forward pass.

    .venv/bin/python benchmarks/replay.py                 # MiniLM-L6 on SST-2 (16-shot), 50 steps, CPU
    .venv/bin/python benchmarks/replay.py --json --steps 20 --methods lozo

For each method the real training loop (worker/train/loop.run) trains ``--steps`` steps from the shared start
and sends its ``zo_steps`` events; the log is encoded as the binary file the service hands back to resume a
run (common/steplog.py) and decoded again; the start is rebuilt from the log's header (its start hash checked)
and the steps are replayed with the run's own optimizer (worker/train/replay.py). ``bit_identical``: the
replayed weights' sha256 equals the one the run reported in its ``finished`` event.

``replay_over_forward`` = seconds per replayed step / seconds of one forward pass of the run's first training
batch, both measured in the same process right after each other (the best of a few forward passes). A
training step costs two forward passes plus the same noise work, so a value well under 1 means a log is
cheaper to replay than the run was to train. ``log_bytes`` is the whole binary file, header included.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit  # noqa: E402

COLUMNS = [
    "method",
    "steps",
    "log_bytes",
    "bytes_per_step",
    "replay_s_per_step",
    "forward_s",
    "replay_over_forward",
    "bit_identical",
    "load_avg_1m",
]


def measure(
    method: str, steps: int, k_shot: int, seed: int, model: str = "minilm", dataset: str = "sst2"
) -> dict:
    import torch

    from common.runspec import RunSpec
    from common.steplog import StepLogHeader, decode, encode, records_from_event
    from worker.train.events import EventWriter
    from worker.train.loop import run
    from worker.train.replay import forward_seconds, replay, spec_from_header, start_from_header
    from worker.train.weights import weights_sha256

    spec = RunSpec(
        method=method,
        model=model,
        dataset=dataset,
        k_shot=k_shot,
        seed=seed,
        steps=steps,
        eval_every=steps,
        eval_size=64,
        val_size=16,
        device="cpu",
    )
    writer = EventWriter(None)
    finished = run(spec, writer)
    if finished["status"] != "succeeded":
        raise RuntimeError(f"{method}: {finished['reason']}")
    started = next(e for e in writer.events if e["event"] == "started")
    header = StepLogHeader.from_dict(started["step_log_header"])
    records = [r for e in writer.events if e["event"] == "zo_steps" for r in records_from_event(e)]
    data = encode(header, records)
    header, records = decode(data)
    empty = len(encode(header, []))

    prep = start_from_header(header)
    began = time.perf_counter()
    replay(prep.loaded.model, header, records)
    replay_s = time.perf_counter() - began
    forward_s = forward_seconds(prep, spec_from_header(header), repeats=5)
    same = weights_sha256(prep.loaded.model) == finished["summary"]["weights_sha256"]
    per_step = replay_s / len(records)
    return {
        "method": method,
        "steps": len(records),
        "log_bytes": len(data),
        "bytes_per_step": (len(data) - empty) / len(records),
        "replay_s_per_step": per_step,
        "forward_s": forward_s,
        "replay_over_forward": per_step / forward_s,
        "bit_identical": same,
        "load_avg_1m": os.getloadavg()[0],
        "train_s_per_step": round(finished["summary"]["s_per_step"], 5),
        "threads": torch.get_num_threads(),
        "model": started["model"]["name"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--methods", default="mezo,lozo,lozo_m")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--k-shot", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="minilm", help="default: the embedded MiniLM-L6")
    p.add_argument("--dataset", default="sst2", help="default: SST-2 from ../shared/data/sst2")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: a shared machine)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    args = p.parse_args(argv)

    from common.builtin_data import sst2_dir

    if args.dataset == "sst2" and sst2_dir() is None:
        print("SST-2 not found (../shared/data/sst2 or ZOPOC_SST2_DIR): nothing to measure", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    rows = [
        measure(m.strip(), args.steps, args.k_shot, args.seed, args.model, args.dataset)
        for m in args.methods.split(",")
        if m.strip()
    ]
    emit(rows, COLUMNS, args.json)
    return 0 if all(r["bit_identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
