"""`python -m worker.train`: one fine-tune from a spec file or flags, or `--compare` several methods.

When the event stream goes to stdout (`--events-out -`), file descriptor 1 is reserved for events: every
other write to stdout (libraries included) is redirected to stderr before anything is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args, get_origin

from common.methods import load_method_plugins, method_names
from common.reasons import describe
from common.runspec import RunSpec

SUMMARY_KEYS = (
    "acc_start",
    "acc_end",
    "final_train_loss",
    "peak_rss_mb",
    "baseline_rss_mb",
    "cuda_peak_allocated_mb",
    "memory_kind",
    "baseline_mb",
    "peak_mb",
    "added_mb",
    "checkpoint",
)
# Switches (store_true) among the spec's fields; every other field is a flag with a value.
SWITCHES = ("lr_probe", "allow_download", "scale_by_rank")
SWITCH_HELP = {
    "lr_probe": "try a few learning rates briefly and keep the best",
    "allow_download": "let a Hugging Face id be downloaded",
    "scale_by_rank": "LOZO: the paper's 1/r scaling of the estimate",
}


def _flag_type(annotation: Any) -> Callable[[str], Any]:
    """The argparse type of a spec field: int or float when the field is one (or optional), a
    comma-separated list for a list field ("--label-words terrible,great"), else str."""
    members = get_args(annotation) or (annotation,)
    if any(get_origin(m) is list for m in members):
        return _comma_list
    return next((typ for typ in (int, float) if typ in members), str)


def flag_fields() -> dict[str, Callable[[str], Any]]:
    """Every RunSpec field that takes a value on the command line, with its type."""
    return {
        name: _flag_type(field.annotation)
        for name, field in RunSpec.model_fields.items()
        if name not in SWITCHES
    }


def _comma_list(value: str) -> list[str]:
    """A list flag: "terrible,great" -> ["terrible", "great"]."""
    return [w.strip() for w in value.split(",")]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m worker.train",
        description="Fine-tune a model with LOZO, LOZO-M, MeZO, AdamW or SGD and write JSONL events "
        "(docs/CONTRACTS.md section 1).",
    )
    p.add_argument("--spec-file", help="a RunSpec JSON file; flags given as well override its fields")
    p.add_argument(
        "--events-out",
        default=None,
        help="JSONL events to this file, or '-' for stdout (then nothing else is printed there)",
    )
    p.add_argument(
        "--compare",
        help="comma-separated methods, e.g. lozo,adamw: each runs in its own process "
        "from the same start; prints a side-by-side table",
    )
    p.add_argument("--events-dir", help="with --compare: write <method>.jsonl here (default: a temp folder)")
    for name in SWITCHES:
        p.add_argument("--" + name.replace("_", "-"), action="store_true", help=SWITCH_HELP[name])
    p.add_argument(
        "--resume-file",
        help="continue the run from this file: its step log (ZO, binary or JSON; the weights are rebuilt "
        "by replaying the steps) or its resume.pt checkpoint (checkpoint_every_min); the spec must be the "
        "same run's (budgets may differ)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    for name, typ in flag_fields().items():
        flag = "--" + name.replace("_", "-")
        extra: dict[str, Any] = {"choices": method_names()} if name == "method" else {}
        description = RunSpec.model_fields[name].description
        p.add_argument(flag, dest=name, type=typ, default=None, help=description, **extra)
    p.add_argument("--k", dest="k_shot", type=int, default=None, help="alias of --k-shot")
    p.add_argument("--eps", dest="zo_eps", type=float, default=None, help="alias of --zo-eps")
    return p


def spec_from_args(args: argparse.Namespace, method: str | None = None) -> RunSpec:
    data = json.loads(Path(args.spec_file).read_text()) if args.spec_file else {}
    for name in flag_fields():
        value = getattr(args, name)
        if value is not None:
            data[name] = value
    for flag in SWITCHES:
        if getattr(args, flag):
            data[flag] = True
    if method is not None:
        data["method"] = method
    return RunSpec.from_dict(data)


def _reserve_stdout_for_events():
    """Keep a private handle on fd 1 for events and point fd 1 (and sys.stdout) at stderr."""
    sys.stdout.flush()
    events_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(events_fd, "w", buffering=1, encoding="utf-8")


def run_one(args: argparse.Namespace) -> int:
    stream = None
    if args.events_out == "-":
        stream = _reserve_stdout_for_events()
    elif args.events_out:
        stream = open(args.events_out, "w", buffering=1, encoding="utf-8")
    try:
        spec = spec_from_args(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if stream is not None:  # the parent reads the reason from the stream, not from stderr
            from worker.train.events import EventWriter

            EventWriter(stream).emit(
                "finished",
                status="failed",
                reason=describe("could_not_start", detail=exc),
                step=0,
                elapsed_s=0.0,
                forward_passes=0,
                summary=dict.fromkeys(SUMMARY_KEYS),
            )
            stream.close()
        return 2

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from worker.train.events import EventWriter
    from worker.train.loop import StopFlag, run

    stop = StopFlag()
    signal.signal(signal.SIGTERM, stop.set)
    signal.signal(signal.SIGINT, stop.set)  # Ctrl-C by hand: end the step, report cancelled, like SIGTERM
    writer = EventWriter(stream)
    finished = run(spec, writer, stop, progress=not args.no_progress, resume_file=args.resume_file)
    if stream is not None:
        stream.close()
    print(
        format_summary(spec.method, writer.events, finished),
        file=sys.stderr if args.events_out == "-" else sys.stdout,
    )
    return 0


def format_summary(method: str, events: list[dict], finished: dict) -> str:
    s = finished.get("summary", {})
    started = next((e for e in events if e["event"] == "started"), {})
    lines = [
        f"{method}: {finished['status']}" + (f" ({finished['reason']})" if finished.get("reason") else "")
    ]
    if started:
        h = started["hyperparams"]
        lines.append(
            f"  model {started['model']['name']} ({started['model']['n_params']:,} params), "
            f"lr {h['lr']:g} ({h['lr_source']}), head {h['head_init']}, "
            f"{started['n_train']} train / {started['n_eval']} eval rows"
        )
    lines.append(
        f"  steps {finished['step']}, forward passes {finished['forward_passes']}, "
        f"train time {finished['elapsed_s']:.1f} s"
    )
    if s.get("task_type") == "generation":
        lines.append(
            f"  exact match {_percent(s.get('em_start'))} -> {_percent(s.get('em_end'))}, "
            f"F1 {_percent(s.get('f1_start'))} -> {_percent(s.get('f1_end'))}, "
            f"completion loss {_fmt(s.get('eval_loss_start'))} -> {_fmt(s.get('eval_loss_end'))} (evaluation pairs), "
            f"final train loss {_fmt(s.get('final_train_loss'))}, peak {_fmt(s.get('peak_mb'), '.0f')} MB"
        )
    elif s.get("acc_start") is not None:
        lines.append(
            f"  accuracy {100 * s['acc_start']:.1f}% -> {100 * s['acc_end']:.1f}%, "
            f"final train loss {_fmt(s.get('final_train_loss'))}, peak {_fmt(s.get('peak_mb'), '.0f')} MB "
            f"(baseline after load {_fmt(s.get('baseline_mb'), '.0f')} MB, {s.get('memory_kind')})"
        )
    return "\n".join(lines)


def _fmt(x, spec=".4f") -> str:
    return "-" if x is None else format(x, spec)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def compare_table(rows: list[dict]) -> str:
    """Side-by-side table of finished runs (generation runs: exact match as the accuracy, and F1)."""
    generation = any((r.get("summary") or {}).get("task_type") == "generation" for r in rows)
    acc = ("EM start", "EM end") if generation else ("acc start", "acc end")
    header = (
        f"{'method':<8} {'status':<10} {acc[0]:>9} {acc[1]:>8} "
        + (f"{'F1 start':>9} {'F1 end':>8} " if generation else "")
        + f"{'final loss':>10} {'s/step':>7} {'peak MB':>8} {'lr':>8}"
    )
    out = [header, "-" * len(header)]
    for r in rows:
        s = r.get("summary") or {}
        peak = s.get("peak_mb")
        f1 = f"{_percent(s.get('f1_start')):>9} {_percent(s.get('f1_end')):>8} " if generation else ""
        out.append(
            f"{r['method']:<8} {r['status']:<10} {_percent(s.get('acc_start')):>9} {_percent(s.get('acc_end')):>8} "
            + f1
            + f"{_fmt(s.get('final_train_loss')):>10} {_fmt(s.get('s_per_step'), '.3f'):>7} "
            f"{_fmt(peak, '.0f'):>8} {_fmt(s.get('lr'), 'g'):>8}"
        )
    return "\n".join(out)


def run_compare(args: argparse.Namespace, argv: list[str]) -> int:
    """Each method in its own child process (so each memory peak is its own), one after the other."""
    methods = [m.strip() for m in args.compare.split(",") if m.strip()]
    bad = [m for m in methods if m not in method_names()]
    if bad:
        print(f"error: unknown methods {bad}; choose from {method_names()}", file=sys.stderr)
        return 2
    try:
        spec_from_args(args, methods[0])  # refuse a bad spec before starting any child
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    folder = Path(args.events_dir or tempfile.mkdtemp(prefix="zopoc-compare-"))
    folder.mkdir(parents=True, exist_ok=True)
    child_argv = _strip_compare_flags(argv)
    rows = []
    for method in methods:
        out = folder / f"{method}.jsonl"
        cmd = [
            sys.executable,
            "-m",
            "worker.train",
            *child_argv,
            "--method",
            method,
            "--events-out",
            str(out),
        ]
        proc = subprocess.run(cmd, stdout=sys.stderr)
        finished = _last_finished(out)
        if finished is None:
            finished = {
                "status": "failed",
                "reason": describe("child_exited", exit_code=proc.returncode),
            }
        rows.append({"method": method, **finished})
    print(f"events in {folder}", file=sys.stderr)
    target = sys.stderr if args.events_out == "-" else sys.stdout
    print(compare_table(rows), file=target)
    return 0


def _strip_compare_flags(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--compare", "--events-dir", "--events-out", "--method"):
            skip = True
            continue
        if a.split("=")[0] in ("--compare", "--events-dir", "--events-out", "--method"):
            continue
        out.append(a)
    return out


def _last_finished(path: Path) -> dict | None:
    if not path.exists():
        return None
    finished = None
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record.get("event") == "finished":
            finished = record
    return finished


def build_tools_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m worker.train", description="Rebuild or export trained weights as a folder."
    )
    sub = p.add_subparsers(dest="tool", required=True)
    r = sub.add_parser(
        "replay",
        help="rebuild a ZO run's weights from its step log (no forward pass) and save them as a folder",
    )
    r.add_argument("--log", required=True, help="the step log (steps.zolog, or its JSON form)")
    r.add_argument("--model", help="the start model (default: the one the log names)")
    r.add_argument("--out", required=True, help="folder to write (transformers save_pretrained + tokenizer)")
    r.add_argument("--step", type=int, default=None, help="stop after this step (default: the last)")
    r.add_argument("--device", default="cpu", help="where to replay (default cpu: bit-identical to CPU runs)")
    r.add_argument("--threads", type=int, default=None)
    e = sub.add_parser("export", help="save a finished run's checkpoint.pt as a folder transformers loads")
    e.add_argument("--checkpoint", required=True, help="checkpoint.pt (or best.pt) of a finished run")
    e.add_argument("--out", required=True)
    e.add_argument("--threads", type=int, default=None)
    return p


def run_replay(args: argparse.Namespace) -> int:
    import time

    import torch

    from common.steplog import decode
    from worker.train.replay import (
        export_folder,
        forward_seconds,
        replay,
        spec_from_header,
        start_from_header,
    )
    from worker.train.weights import weights_sha256

    header, records = decode(Path(args.log).read_bytes())
    overrides = {"model": args.model} if args.model else {}
    prep = start_from_header(header, device=args.device, **overrides)
    spec = spec_from_header(header, device=args.device, **overrides)
    upto = len(records) if args.step is None else args.step
    started = time.perf_counter()
    replay(prep.loaded.model, header, records, upto_step=upto)
    if prep.loaded.device.type == "cuda":
        torch.cuda.synchronize(prep.loaded.device)
    seconds = time.perf_counter() - started
    sha = weights_sha256(prep.loaded.model)
    forward = forward_seconds(prep, spec)
    export_folder(prep, spec, args.out, {"step": upto, "weights_sha256": sha, "replayed_from": str(args.log)})
    per_step = seconds / upto if upto else 0.0
    print(
        f"replayed {upto} steps of {header.method} in {seconds:.2f} s ({per_step * 1000:.1f} ms a step; "
        f"one forward pass of a batch {forward * 1000:.1f} ms: a replayed step costs "
        f"{per_step / forward:.2f} forward passes, the step itself cost 2)\n"
        f"weights_sha256 {sha}\nsaved to {args.out}"
    )
    return 0


def run_export(args: argparse.Namespace) -> int:
    import torch

    from worker.train.adapters import add_method_adapters
    from worker.train.loop import prepare
    from worker.train.replay import export_folder
    from worker.train.weights import weights_sha256

    checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    spec = RunSpec.from_dict({**checkpoint["spec"], "lr": checkpoint["lr"], "device": "cpu"})
    prep = prepare(spec)
    add_method_adapters(spec, prep.loaded.model)
    prep.loaded.model.load_state_dict(checkpoint["model"])
    sha = weights_sha256(prep.loaded.model)
    export_folder(prep, spec, args.out, {"step": checkpoint["step"], "weights_sha256": sha})
    print(f"step {checkpoint['step']} of {spec.method}\nweights_sha256 {sha}\nsaved to {args.out}")
    return 0


def run_tool(argv: list[str]) -> int:
    args = build_tools_parser().parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        return run_replay(args) if args.tool == "replay" else run_export(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    # Methods from plug-in modules (the service passes ZOPOC_METHOD_PLUGINS on to its training processes).
    load_method_plugins(
        [m.strip() for m in os.environ.get("ZOPOC_METHOD_PLUGINS", "").split(",") if m.strip()]
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("replay", "export"):
        return run_tool(argv)
    args = build_parser().parse_args(argv)
    if args.compare:
        return run_compare(args, argv)
    if args.method is None and not args.spec_file:
        build_parser().error("give --method (or --spec-file, or --compare)")
    return run_one(args)
