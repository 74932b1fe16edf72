"""Rebuild a zeroth-order run's weights from its step log (common/steplog.py), without a forward pass.

A ZO step's arithmetic depends only on the seed, the step index and the two losses it measured. Replaying
``optimizer.step`` with a closure that hands back the recorded losses (the same python floats) performs the
same float operations in the same order: the weights come out bit for bit as the run left them (float32 on
the same device and the same torch build), LOZO-M's momentum and LOZO's lazily drawn V included. The cost
of a step is regenerating its noise (three passes over the weights), not two forward passes.

Also here: what a run needs to continue from a step log or a checkpoint (``load_resume``), and the export
of trained weights as a folder transformers loads (``export_folder`` / ``load_exported``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from common.runspec import RunSpec
from common.steplog import (
    StepLogHeader,
    StepRecord,
    check_contiguous,
    decode,
    encode,
    encode_records,
)
from worker.train.optimizers import build_optimizer
from worker.zo import ZOOptimizer

if TYPE_CHECKING:
    from worker.train.loop import Prepared

# Spec fields a continued run may change: they do not touch the trajectory (budgets, where things go,
# how often the run evaluates, the evaluation batch). Every other field must be the one the log was made with.
FREE_ON_RESUME = frozenset(
    {
        "steps",
        "max_minutes",
        "eval_every",
        "device",
        "checkpoint_dir",
        "checkpoint_every_min",
        "lr",
        "lr_probe",
        "allow_download",
        "eval_batch_size",
    }
)


class _Recorded:
    """A closure that returns ℓ₊ then ℓ₋ of a recorded step (the optimizer calls it exactly twice)."""

    def __init__(self, record: StepRecord) -> None:
        self.values = [record.loss_plus, record.loss_minus]

    def __call__(self) -> float:
        return self.values.pop(0)


def replay_steps(opt: ZOOptimizer, records: Iterable[StepRecord]) -> int:
    """Take the recorded steps with ``opt`` (whose ``num_steps`` must be the first record's step − 1);
    returns the number of steps replayed."""
    count = 0
    for record in records:
        if record.step != opt.num_steps + 1:
            raise ValueError(
                f"step log does not continue the optimizer: record {record.step}, "
                f"optimizer at step {opt.num_steps}"
            )
        for group in opt.param_groups:
            group["lr"] = record.lr
        opt.step(_Recorded(record))
        count += 1
    return count


def spec_from_header(header: StepLogHeader, **overrides: Any) -> RunSpec:
    """The run spec a log was made with, its learning rate the one the run actually used."""
    return RunSpec.from_dict({**header.spec, "lr": header.lr, **overrides})


def replay(
    start_model: torch.nn.Module,
    header: StepLogHeader,
    records: list[StepRecord],
    upto_step: int | None = None,
) -> torch.nn.Module:
    """Bring ``start_model`` (the run's start weights) to the weights after step ``upto_step`` (default:
    the last record) by replaying the recorded steps with the run's own optimizer; returns the model."""
    check_contiguous(records)
    if upto_step is not None:
        if not 0 <= upto_step <= len(records):
            raise ValueError(f"step {upto_step} is not in the log (steps 1..{len(records)})")
        records = records[:upto_step]
    spec = spec_from_header(header, device="cpu")
    opt = build_optimizer(spec, start_model, header.lr)
    if not isinstance(opt, ZOOptimizer):
        raise ValueError(f"{header.method} is not a zeroth-order method: its steps cannot be replayed")
    replay_steps(opt, records)
    opt.detach()  # exact modes: fold the pending low-rank terms into the weights, remove the hooks
    return start_model


def start_from_header(header: StepLogHeader, device: str = "cpu", **overrides: Any) -> Prepared:
    """The run's start (data, model, head) rebuilt from its spec, checked against the log's start hash."""
    from worker.train.adapters import add_method_adapters
    from worker.train.loop import prepare
    from worker.train.weights import weights_sha256

    spec = spec_from_header(header, device=device, **overrides)
    prep = prepare(spec)
    add_method_adapters(spec, prep.loaded.model)  # as the run did before its first step
    if header.start_sha256 and weights_sha256(prep.loaded.model) != header.start_sha256:
        raise ValueError(
            "the start weights differ from the ones the log was made from (another model file, "
            "data or library version)"
        )
    return prep


# -- continuing a run ---------------------------------------------------------------------------------------


@dataclass
class Resume:
    """Where a run continues from: step t, the weights' source and the bookkeeping of steps 1..t."""

    step: int
    lr: float
    lr_source: str
    progress: dict[str, Any] = field(default_factory=dict)
    records: list[StepRecord] = field(default_factory=list)  # ZO: the steps so far (replayed, re-logged)
    checkpoint: dict[str, Any] | None = None  # a checkpoint: weights, optimizer and RNG states
    start_sha256: str | None = None
    source: str = "step_log"  # "step_log" | "checkpoint"


def load_resume(path: str | Path, spec: RunSpec) -> Resume:
    """Read ``path`` (a step log, binary or JSON, or a checkpoint written with ``checkpoint_every_min``)
    and check it belongs to a run of ``spec``; raises ValueError otherwise."""
    data = Path(path).read_bytes()
    if data[:2] == b"PK":  # torch.save's zip format
        checkpoint = torch.load(Path(path), map_location="cpu", weights_only=True)
        if "progress" not in checkpoint:
            raise ValueError("this checkpoint cannot continue a run (saved without its progress)")
        check_same_run(checkpoint["spec"], spec)
        records: list[StepRecord] = []
        if checkpoint.get("step_log") is not None:
            _, records = decode(checkpoint["step_log"].numpy().tobytes())
        return Resume(
            step=int(checkpoint["step"]),
            lr=float(checkpoint["lr"]),
            lr_source=str(checkpoint.get("lr_source") or "resumed"),
            progress=dict(checkpoint["progress"]),
            records=records,
            checkpoint=checkpoint,
            source="checkpoint",
        )
    header, records = decode(data, partial_tail=True)
    check_contiguous(records)
    check_same_run(header.spec, spec)
    sidecar = progress_path(path)
    if not header.progress and sidecar.exists():  # the engine's own steps.zolog keeps it beside the log
        header.progress = json.loads(sidecar.read_text())
        upto = int(header.progress.get("step", 0))
        if 0 < upto < len(records):  # killed between appending and recording the progress: redo those steps
            records = records[:upto]
    if spec.lr is not None and spec.lr != header.lr:
        raise ValueError(f"the log ran with lr {header.lr:g}, the spec asks for {spec.lr:g}")
    if not spec.zeroth_order:
        raise ValueError(f"{spec.method} is not a zeroth-order method: continue it from a checkpoint")
    progress = dict(header.progress)
    if records and int(progress.get("step", -1)) != records[-1].step:
        progress = {}  # the bookkeeping is of another step: keep only what the records give
    return Resume(
        step=records[-1].step if records else 0,
        lr=header.lr,
        lr_source=header.lr_source or "resumed",
        progress=progress,
        records=records,
        start_sha256=header.start_sha256,
    )


def check_same_run(saved: dict[str, Any], spec: RunSpec) -> None:
    """Raise ValueError naming the fields where ``spec`` differs from the saved run's spec in a way that
    changes its trajectory (budgets, device and the like may differ)."""
    current = spec.to_dict()
    differ = sorted(
        k for k in set(saved) | set(current) if k not in FREE_ON_RESUME and saved.get(k) != current.get(k)
    )
    if differ:
        raise ValueError("the resume file belongs to another run: " + ", ".join(differ) + " differ")


# -- the log file of a running run --------------------------------------------------------------------------

PROGRESS_SUFFIX = ".progress.json"


def progress_path(log: str | Path) -> Path:
    """The sidecar beside an engine-written step log that holds the run's latest ``progress``."""
    return Path(str(log) + PROGRESS_SUFFIX)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the new one, never half of one."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class StepLogFile:
    """A run's ``steps.zolog`` kept current at a cost that does not grow with the run: the header and the
    records so far are written once, each batch is appended (28 bytes a step), and the progress after it
    replaces a small sidecar (``steps.zolog.progress.json``) atomically. A reader of a log cut by a kill
    drops a partial last record (``decode(partial_tail=True)``)."""

    def __init__(self, path: Path, header: StepLogHeader, records: list[StepRecord]) -> None:
        self.path = path
        fixed = StepLogHeader.from_dict({**header.to_dict(), "progress": {}})
        write_atomic(path, encode(fixed, records))
        progress_path(path).unlink(missing_ok=True)

    def append(self, records: list[StepRecord], progress: dict[str, Any]) -> None:
        with open(self.path, "ab") as out:
            out.write(encode_records(records))
        write_atomic(progress_path(self.path), json.dumps(progress).encode("utf-8"))


# -- export -------------------------------------------------------------------------------------------------

EXPORT_META = "zopoc.json"
EXPORT_EXTRA = "zopoc_extra.safetensors"


def _backbone(model: torch.nn.Module) -> tuple[str, Any]:
    """(attribute, module) of the transformers model inside a classifier (encoder, lm or mlm); ("", model)
    for a generation run's causal LM, which is a transformers model itself."""
    if hasattr(model, "save_pretrained"):
        return "", model
    for name in ("encoder", "lm", "mlm"):
        module = getattr(model, name, None)
        if module is not None and hasattr(module, "save_pretrained"):
            return name, module
    raise ValueError(f"no transformers model inside {type(model).__name__}")


def export_folder(prep: Prepared, spec: RunSpec, out: str | Path, extra_meta: dict | None = None) -> Path:
    """Write the trained classifier as a folder: the transformers model (``save_pretrained``) and its
    tokenizer, which ``AutoModel`` / ``AutoModelForCausalLM.from_pretrained`` load as they are, plus the
    parts outside it (an encoder's head, a prompt model's calibration bias) in ``zopoc_extra.safetensors``
    and what reading it as a classifier needs in ``zopoc.json`` (``load_exported``). A LoRA run's adapters
    are merged into the weights first (the model is changed in place: exporting is the last thing done
    with it)."""
    from safetensors.torch import save_file

    from worker.train.adapters import merge_lora

    model = prep.loaded.model
    merge_lora(model)  # a LoRA run: adapters folded into the weights, a plain transformers model again
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    name, backbone = _backbone(model)
    backbone.save_pretrained(folder)
    prep.loaded.tokenizer.save_pretrained(folder)
    extra = {
        k: v.detach().to("cpu").contiguous()
        for k, v in model.state_dict().items()
        if name and not k.startswith(name + ".")
    }
    save_file(extra, str(folder / EXPORT_EXTRA))
    meta = {
        "format": 1,
        "backbone": name,
        "task_type": spec.task_type,
        "label_names": prep.task.label_names,
        "label_words": getattr(prep.task, "label_words", []),
        "prompt": prep.prompt,
        "spec": spec.to_dict(),
        **(extra_meta or {}),
    }
    (folder / EXPORT_META).write_text(json.dumps(meta, indent=2, ensure_ascii=False, allow_nan=False))
    return folder


def load_exported(folder: str | Path, device: str = "cpu"):
    """The exported classifier as a ``LoadedModel`` (the engine's own reading of the folder): the
    transformers model from the folder, the extra parts on top."""
    from safetensors.torch import load_file

    from common.prompts import Prompt
    from worker.train.models import load_model

    folder = Path(folder)
    meta = json.loads((folder / EXPORT_META).read_text())
    spec = meta["spec"]
    if meta.get("task_type") == "generation":  # a causal LM as it is: nothing beside it
        from worker.train.models import load_causal_lm

        return load_causal_lm(str(folder), device, spec["dtype"], spec["seed"], spec["max_length"]), meta
    prompt = None
    if meta.get("prompt"):
        p = meta["prompt"]
        prompt = Prompt(p["task_kind"], p["language"], p["template"], list(p["label_words"]))
    loaded = load_model(
        str(folder),
        len(meta["label_names"]),
        list(meta["label_words"]),
        device,
        spec["dtype"],
        spec["seed"],
        spec["max_length"],
        prompt=prompt,
    )
    missing, unexpected = loaded.model.load_state_dict(load_file(str(folder / EXPORT_EXTRA)), strict=False)
    if unexpected:
        raise ValueError(f"the export holds parts this model does not have: {unexpected}")
    return loaded, meta


def forward_seconds(prep: Prepared, spec: RunSpec, repeats: int = 3) -> float:
    """Seconds of one forward pass over the run's first training batch (the best of ``repeats``)."""
    import time

    from worker.train.data import iter_batches
    from worker.train.loop import batch_objective

    rows = next(iter_batches(prep.task.n_train, spec.batch_size, spec.seed))
    objective = batch_objective(spec, prep, rows)  # the batch encoded once, outside the timing
    best = math.inf
    with torch.inference_mode():
        for _ in range(repeats):
            started = time.perf_counter()
            objective()
            best = min(best, time.perf_counter() - started)
    return best


def resume_from_log(spec: RunSpec, path: str | Path, writer: Any, stop: Any = None) -> dict:
    """Continue the run of ``spec`` from its step log (or ``resume.pt``) at ``path`` and return its
    ``finished`` event: ``worker.train.loop.run`` with ``resume_file`` (what ``--resume-file`` does)."""
    from worker.train.loop import run

    return run(spec, writer, stop, resume_file=path)
