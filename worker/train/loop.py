"""One fine-tuning run, as a flat loop: prepare the shared start, train, evaluate, emit events.

Choices that matter for a fair comparison:
- Every method runs with the model in eval mode (dropout off), AdamW and SGD included. ZO needs it (the two
  losses of a step must differ only by the perturbation), and the comparison is only fair if every method
  optimises the same function; the cost is that AdamW loses dropout's regularisation on few-shot data.
- Same seed → same k-shot rows, same initial weights (pretrained weights + deterministic head), same batch
  sequence (`iter_batches`), whatever the method.
- `elapsed_s` and the minutes budget count training time only: evaluations pause the clock, so seconds
  per step and charts by time compare the methods' own cost.
- The training loss of a ZO step is the loss at θ+εZ that the step measured (a third forward pass for the
  loss at θ would cost 50% more); for AdamW/SGD it is the loss at θ before the update.

Two kinds of task run through the same loop: classification (a label per text) and generation (a completion
per prompt, worker/train/generation.py). They differ in three places only, each one function here: how the
start is prepared (`prepare`), what a step minimises on a batch (`batch_objective`) and how rows are scored
(`score_rows`). A generation run's headline score is exact match: its per-example bits are the ones the
McNemar comparison reads, as accuracy's are for classification.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import torch
import torch.nn.functional as F

from common.budget import eta_s
from common.prompts import resolve_prompt
from common.reasons import describe
from common.runspec import RunSpec
from common.steplog import EVENT_KIND, StepLogHeader, StepRecord, encode, event_fields
from worker.train import memory
from worker.train.calibration import calibrate
from worker.train.data import Task, build_task, iter_batches
from worker.train.events import EventWriter, pack_bits
from worker.train.heads import default_lr_for_model, init_head, probe_candidates
from worker.train.generation import GenerationTask, build_generation_task, evaluate_generation, loss_closure
from worker.train.models import LoadedModel, load_causal_lm, load_model
from worker.train.adapters import add_method_adapters
from worker.train.optimizers import build_optimizer
from worker.train.replay import Resume, StepLogFile, load_resume, replay_steps
from worker.train.weights import weights_sha256
from worker.zo import ZOOptimizer

PROBE_STEPS = 20
LOG_EVERY = 10  # ZO steps per `zo_steps` event (and append to the step log file)
STEP_LOG_FILE = "steps.zolog"
RESUME_FILE = "resume.pt"


class StopFlag:
    """Set from a signal handler; the loop checks it after each step."""

    def __init__(self) -> None:
        self.requested = False

    def set(self, *_args) -> None:
        self.requested = True


@dataclass
class Prepared:
    """The shared start of a run: data, model with its head (or calibrated prompt), the prompt used."""

    task: Task | GenerationTask
    loaded: LoadedModel
    head_init: str
    prompt: dict | None = None  # prompt-based models: template, label words and tokens, calibration

    @property
    def classification(self) -> Task:
        """The labelled task of a classification run (a generation run holds pairs instead)."""
        if not isinstance(self.task, Task):
            raise TypeError(f"{self.task.name} is a generation task, not a classification one")
        return self.task


def prepare(spec: RunSpec) -> Prepared:
    """Data, model and head for `spec`: identical for every method with the same seed (the method is unused).

    Prompt-based models are calibrated here, from the start weights, once: every method then trains and is
    evaluated with the same fixed class bias (worker/train/calibration.py). A generation run takes the
    decoder as it is: no head, no template, no calibration.
    """
    if spec.task_type == "generation":
        pairs = build_generation_task(
            spec.dataset, spec.eval_dataset, spec.eval_size, spec.val_size, spec.language
        )
        lm = load_causal_lm(
            spec.model, spec.device, spec.dtype, spec.seed, spec.max_length, spec.allow_download
        )
        return Prepared(pairs, lm, "none")
    task = build_task(
        spec.dataset,
        spec.eval_dataset,
        spec.k_shot,
        spec.eval_size,
        spec.seed,
        spec.text_column,
        spec.label_column,
        spec.text_b_column,
        spec.val_size,
    )
    prompt = resolve_prompt(
        spec.task_kind,
        spec.language,
        spec.template,
        spec.label_words,
        task.label_names,
        spec.dataset,
        task.train_texts,
    )
    loaded = load_model(
        spec.model,
        task.n_classes,
        prompt.label_words,
        spec.device,
        spec.dtype,
        spec.seed,
        spec.max_length,
        spec.allow_download,
        prompt=prompt,
    )
    if loaded.prompt is None:
        head = init_head(
            loaded, task.train_texts, task.train_labels, task.label_words, spec.head_init, spec.seed
        )
        return Prepared(task, loaded, head)
    task.label_words = list(prompt.label_words)
    calibration = calibrate(loaded, spec.calibration, task.train_texts)
    return Prepared(
        task, loaded, "label_words", {**prompt.public(), "scoring": loaded.scoring, **calibration}
    )


Objective = Callable[[], "torch.Tensor | float"]


def optimizer_step(spec: RunSpec, opt: torch.optim.Optimizer, objective: Objective) -> float:
    """One optimizer step on one batch's objective; returns the training loss (see the module docstring).

    ZO calls `objective` twice under no_grad; AdamW/SGD call it once and backpropagate: the same function
    of the same batch either way."""
    if spec.zeroth_order:
        return opt.step(cast(Callable[[], float], objective))  # ZO accepts a tensor or a float
    opt.zero_grad(set_to_none=True)
    loss = objective()
    if not isinstance(loss, torch.Tensor):
        raise TypeError("a gradient method needs a differentiable objective (a tensor loss)")
    loss.backward()
    opt.step()
    return loss.item()


def train_step(
    spec: RunSpec, model: torch.nn.Module, opt: torch.optim.Optimizer, enc: dict, labels: torch.Tensor
) -> float:
    """One classification step on an encoded batch."""
    # float32 logits: c = (ℓ₊ − ℓ₋)/2ε of a bf16 loss takes a handful of values, often exactly 0
    return optimizer_step(spec, opt, lambda: F.cross_entropy(model(**enc).float(), labels))


def batch_objective(spec: RunSpec, prep: Prepared, idx: list[int]) -> Objective:
    """What a step minimises on training rows `idx`: the cross-entropy of the labels (classification), or
    the completion loss / −F1 of generations (generation, `zo_objective`)."""
    task, loaded = prep.task, prep.loaded
    if isinstance(task, GenerationTask):
        pairs = [task.train[i] for i in idx]
        return loss_closure(loaded, pairs, spec.zo_objective, spec.max_new_tokens, task.language)
    enc, y = _batch(loaded, task, idx)
    return lambda: F.cross_entropy(loaded.model(**enc).float(), y)


def _text_length(text) -> int:
    return sum(map(len, text)) if isinstance(text, (tuple, list)) else len(text)


@torch.inference_mode()
def evaluate(
    loaded: LoadedModel, texts: list, labels: list[int], batch_size: int
) -> tuple[float, float, list[int]]:
    """(mean loss, accuracy, per-example correct bits in the rows' order) of the current model on `texts`.

    Rows are batched by length (padding a short sentence to a long one's width is wasted work); the bits
    come back in the original order.
    """
    order = sorted(range(len(texts)), key=lambda i: _text_length(texts[i]))
    total_loss, bits = 0.0, [0] * len(texts)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        enc = loaded.encode([texts[i] for i in rows])
        logits = loaded.model(**enc).float()
        y = torch.tensor([labels[i] for i in rows], device=logits.device)
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        for i, ok in zip(rows, (logits.argmax(1) == y).int().tolist()):
            bits[i] = ok
    n = max(len(texts), 1)
    return total_loss / n, sum(bits) / n, bits


@dataclass
class Scored:
    """One part's evaluation, whatever the task: `score` is the headline (accuracy, or exact match for
    generation) and `bits` its per-example correct bits; `values` the event's numbers under `prefix/`;
    `payload` what else the event carries (generation: per-example F1, example generations)."""

    score: float
    bits: list[int]
    values: dict[str, float]
    payload: dict[str, Any] = field(default_factory=dict)


def score_rows(spec: RunSpec, prep: Prepared, part: Literal["eval", "val"], examples: bool = False) -> Scored:
    """Evaluate the current model on the evaluation or validation rows; `examples`: include a few
    generations (generation runs, at the first and the last evaluation)."""
    task, loaded = prep.task, prep.loaded
    if isinstance(task, GenerationTask):
        pairs = task.eval if part == "eval" else task.val
        s = evaluate_generation(loaded, pairs, spec.eval_batch_size, spec.max_new_tokens, task.language)
        values = {"loss": s.loss, "perplexity": s.perplexity, "f1": s.f1, "exact_match": s.exact_match}
        payload: dict[str, Any] = {"f1_per_example": s.f1_values}
        if examples:
            payload["examples"] = s.examples(pairs)
        return Scored(s.exact_match, s.em_bits, {f"{part}/{k}": v for k, v in values.items()}, payload)
    texts, labels = (
        (task.eval_texts, task.eval_labels) if part == "eval" else (task.val_texts, task.val_labels)
    )
    loss, acc, bits = evaluate(loaded, texts, labels, spec.eval_batch_size)
    return Scored(acc, bits, {f"{part}/loss": loss, f"{part}/accuracy": acc})


def _batch(loaded: LoadedModel, task: Task, idx: list[int]) -> tuple[dict, torch.Tensor]:
    enc = loaded.encode([task.train_texts[i] for i in idx])
    return enc, torch.tensor([task.train_labels[i] for i in idx], device=enc["input_ids"].device)


def probe_lr(spec: RunSpec, prep: Prepared, default: float) -> tuple[float, dict]:
    """Try a few learning rates for PROBE_STEPS steps each from the shared start; keep the lowest loss.

    The loss compared is that of the validation rows after the probe (the training rows, up to 64, when the
    run has none), measured with a plain forward pass; the weights are restored afterwards, so the run itself
    starts from the same point.
    """
    model, task = prep.loaded.model, prep.task
    start = {k: v.detach().clone() for k, v in model.state_dict().items()}
    probe_rows = list(range(min(task.n_train, 64)))
    results: dict[str, float | None] = {}
    for lr in probe_candidates(default):
        opt = build_optimizer(spec, model, lr)
        batches = iter_batches(task.n_train, spec.batch_size, spec.seed)
        loss = math.nan
        for _ in range(PROBE_STEPS):
            loss = optimizer_step(spec, opt, batch_objective(spec, prep, next(batches)))
            if not math.isfinite(loss):
                break
        if math.isfinite(loss) and task.n_val:
            loss = score_rows(spec, prep, "val").values["val/loss"]
        elif math.isfinite(loss):
            with torch.inference_mode():
                loss = float(batch_objective(spec, prep, probe_rows)())
        results[f"{lr:g}"] = loss if math.isfinite(loss) else None
        if isinstance(opt, ZOOptimizer):
            opt.detach()  # its hooks must not outlive it: the next candidate starts from plain weights
        model.load_state_dict(start)
    finite = {float(k): v for k, v in results.items() if v is not None}
    best = min(finite, key=lambda k: finite[k]) if finite else default
    return best, {
        "steps": PROBE_STEPS,
        "loss_by_lr": results,
        "loss_on": "validation" if task.n_val else "training",
    }


def run(
    spec: RunSpec,
    writer: EventWriter,
    stop: StopFlag | None = None,
    progress: bool = False,
    resume_file: str | Path | None = None,
) -> dict:
    """Run one fine-tune and return the `finished` event; never raises for a failure it can describe.

    ``resume_file``: continue a run from its step log (ZO: the weights are rebuilt by replaying the steps)
    or from a checkpoint written with ``checkpoint_every_min``; the run goes on from the step after the last
    one saved, with the same batches and noise, so it ends where the uninterrupted run would have.
    """
    stop = stop or StopFlag()
    resume = None
    try:
        if resume_file is not None:
            resume = load_resume(resume_file, spec)
        prep = prepare(spec)
    except Exception as exc:  # bad data, unknown model, no GPU: the person needs the reason, not a traceback
        return writer.emit(
            "finished",
            status="failed",
            reason=describe("could_not_start", detail=exc),
            step=0,
            elapsed_s=0.0,
            forward_passes=0,
            summary=_summary(None, None, None, None, None),
        )
    reached = Reached()
    try:
        return _train(spec, prep, writer, stop, progress, reached, resume)
    except Exception as exc:
        if isinstance(exc, torch.cuda.OutOfMemoryError):
            reason = describe("gpu_out_of_memory", detail=str(exc).split("\n")[0])
        else:
            reason = describe("crashed", exception=type(exc).__name__, detail=exc)
        # A run that fails half way reports where it was, never a zero step.
        return writer.emit(
            "finished",
            status="failed",
            reason=reason,
            step=reached.step,
            elapsed_s=reached.elapsed_s,
            forward_passes=reached.forward_passes,
            backward_passes=reached.backward_passes,
            summary=_summary(reached.acc_start, None, reached.last_loss, reached.memory, None),
        )


@dataclass
class Reached:
    """How far training got, kept up to date by `_train` so a failure can report it."""

    step: int = 0
    forward_passes: int = 0
    backward_passes: int = 0
    elapsed_s: float = 0.0
    acc_start: float | None = None
    last_loss: float | None = None
    memory: memory.MemoryRecord | None = None
    records: list[StepRecord] = field(default_factory=list)


def _summary(acc_start, acc_end, loss, record: memory.MemoryRecord | None, checkpoint, **extra) -> dict:
    return {
        "acc_start": acc_start,
        "acc_end": acc_end,
        "final_train_loss": loss,
        **(record.summary() if record is not None and record.baselines else memory.empty_summary()),
        "checkpoint": checkpoint,
        **extra,
    }


def _train(
    spec: RunSpec,
    prep: Prepared,
    writer: EventWriter,
    stop: StopFlag,
    progress: bool,
    reached: Reached | None = None,
    resume: Resume | None = None,
) -> dict:
    loaded, task, model = prep.loaded, prep.task, prep.loaded.model
    device = loaded.device
    reached = reached or Reached()
    # Baseline after the model loaded (weights resident), peaks of training only, all of one kind.
    record = reached.memory = memory.MemoryRecord.for_device(device)
    started_memory = record.start(model)
    add_method_adapters(spec, model)  # LoRA: frozen weights, trainable adapters (before any lr probe)
    start_sha256 = weights_sha256(model) if spec.zeroth_order else None

    lr_info: dict = {}
    if resume is not None:
        lr, lr_source = resume.lr, resume.lr_source
    elif spec.lr is not None:
        lr, lr_source = spec.lr, "user"
    else:
        lr, lr_source = default_lr_for_model(spec.model, spec.method, loaded.n_trainable)
        if spec.lr_probe:
            lr, lr_info = probe_lr(spec, prep, lr)
            lr_source = "probe"
    opt = build_optimizer(spec, model, lr)
    header = None
    if isinstance(opt, ZOOptimizer):
        header = StepLogHeader(
            method=spec.method,
            seed=spec.seed,
            model=spec.model,
            lr=lr,
            zo_eps=spec.zo_eps,
            rank=spec.rank,
            step_interval=spec.nu,
            beta=spec.beta,
            weight_decay=spec.weight_decay,
            scale_by_rank=spec.scale_by_rank,
            zo_clip=spec.zo_clip,
            precision=str(getattr(opt, "precision", "in_place")),
            dtype=spec.dtype,
            head={"init": prep.head_init, "seed": spec.seed, "prompt": prep.prompt},
            start_sha256=start_sha256,
            spec=spec.to_dict(),
            lr_source=lr_source,
        )
    if resume is not None:
        _restore(resume, model, opt, start_sha256)
    records = reached.records = list(resume.records) if resume is not None else []

    hyper = {
        k: v for k, v in spec.to_dict().items() if k not in ("method", "model", "dataset", "eval_dataset")
    }
    hyper.update(
        lr=lr, lr_source=lr_source, head_init=prep.head_init, **({"lr_probe": lr_info} if lr_info else {})
    )
    writer.emit(
        "started",
        method=spec.method,
        model={
            "name": loaded.name,
            "n_params": loaded.n_params,
            "n_trainable": loaded.n_trainable,
            "kind": loaded.kind,
            "scoring": loaded.scoring,
        },
        device=device.type,
        dtype=spec.dtype,
        hyperparams=hyper,
        dataset=task.name,
        label_names=task.label_names,
        n_train=task.n_train,
        n_eval=task.n_eval,
        n_val=task.n_val,
        prompt=prep.prompt,
        task_type=spec.task_type,
        memory=started_memory,
        **({"step_log_header": header.to_dict()} if header is not None else {}),
        **({"resumed_from_step": resume.step, "resumed_from": resume.source} if resume else {}),
    )

    # A continued run takes up the bookkeeping of steps 1..t where the saved run left it.
    done: dict[str, Any] = dict(resume.progress) if resume is not None else {}
    step = resume.step if resume is not None else 0
    forward_passes = int(done.get("forward_passes", step * 2 if spec.zeroth_order else step))
    backward_passes = int(done.get("backward_passes", 0 if spec.zeroth_order else step))
    train_time = float(done.get("elapsed_s", 0.0))
    last_loss: float | None = done.get("last_loss")
    # The best step is chosen on the validation rows only; the evaluation accuracy at that step is reported
    # beside the final one (never chosen on the reported rows themselves).
    best: dict = {"step": None, "val_accuracy": None, "eval_accuracy": None, **(done.get("best") or {})}
    best_checkpoint: str | None = done.get("best_checkpoint")
    # wall seconds of each evaluation (reported rows + validation), for the ETA
    eval_seconds: list[float] = [done["eval_s_mean"]] if done.get("eval_s_mean") is not None else []

    # the evaluation rows' values at the start and at the latest evaluation (the summary's generation scores)
    eval_values: dict[str, dict] = {
        k: done[f"eval_values_{k}"] for k in ("start", "end") if done.get(f"eval_values_{k}")
    }

    def do_eval(examples: bool = False) -> float:
        """Score the evaluation (and validation) rows and emit the `eval` event; `examples`: this is the
        first or the last evaluation (generation runs show a few of their generations)."""
        nonlocal best_checkpoint
        started_at = time.perf_counter()
        scored = score_rows(spec, prep, "eval", examples)
        values = dict(scored.values)
        extra: dict[str, Any] = dict(scored.payload)
        if task.n_val:
            val = score_rows(spec, prep, "val")
            values.update(val.values)
            if best["val_accuracy"] is None or val.score > best["val_accuracy"]:  # ties keep the earlier step
                best.update(step=step, val_accuracy=val.score, eval_accuracy=scored.score)
                if spec.checkpoint_dir:
                    best_checkpoint = save_checkpoint(
                        Path(spec.checkpoint_dir), spec, model, opt, step, lr, filename="best.pt"
                    )
            extra.update(n_val=task.n_val, best=dict(best))
        eval_seconds.append(time.perf_counter() - started_at)
        if step == 0:
            eval_values["start"] = scored.values
        eval_values["end"] = scored.values
        writer.emit(
            "eval",
            step=step,
            elapsed_s=train_time,
            forward_passes=forward_passes,
            backward_passes=backward_passes,
            values=values,
            correct=pack_bits(scored.bits),
            n_eval=len(scored.bits),
            **extra,
        )
        record.start_segment()  # the next training segment's peak is its own
        return scored.score

    acc_start: float | None
    acc_end: float | None
    if step == 0:
        acc_start = acc_end = do_eval(examples=True)
        last_eval_step = 0
    elif "acc_start" in done:
        acc_start, acc_end = done["acc_start"], done.get("acc_end")
        last_eval_step = int(done.get("last_eval_step", step))
    else:  # a bare log: the accuracy at the start is not known; measure where the run stands
        acc_start, acc_end = None, do_eval(examples=True)
        last_eval_step = step
    reached.acc_start = acc_start
    reached.step, reached.elapsed_s = step, train_time
    reached.forward_passes, reached.backward_passes = forward_passes, backward_passes
    batches = iter_batches(task.n_train, spec.batch_size, spec.seed)
    for _ in range(step):  # the batches the saved steps took: the next one is step t+1's
        next(batches)
    logged = len(records)  # records already sent (a continued run re-sends none of the saved ones)
    log_file = None
    if header is not None and spec.checkpoint_dir:
        log_file = StepLogFile(Path(spec.checkpoint_dir) / STEP_LOG_FILE, header, records)
    last_save = time.monotonic()

    def progress_now() -> dict[str, Any]:
        return {
            "step": step,
            "elapsed_s": train_time,
            "forward_passes": forward_passes,
            "backward_passes": backward_passes,
            "acc_start": acc_start,
            "acc_end": acc_end,
            "last_loss": last_loss,
            "last_eval_step": last_eval_step,
            "best": dict(best),
            "best_checkpoint": best_checkpoint,
            "eval_s_mean": sum(eval_seconds) / len(eval_seconds) if eval_seconds else None,
            **{f"eval_values_{k}": v for k, v in eval_values.items()},
        }

    def flush_steps() -> None:
        nonlocal logged
        if header is None or logged == len(records):
            return
        now = progress_now()
        sent = logged
        writer.emit(EVENT_KIND, **event_fields(records[sent:]), progress=now)
        logged = len(records)
        if log_file is not None:
            log_file.append(records[sent:], now)

    budget_s = spec.max_minutes * 60 if spec.max_minutes is not None else math.inf
    status, reason = "succeeded", None
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=spec.steps, desc=spec.method, unit="step", file=sys.stderr)

    while (spec.steps is None or step < spec.steps) and train_time < budget_s:
        objective = batch_objective(spec, prep, next(batches))  # tokenising is not the method's cost
        t0 = time.perf_counter()
        loss = optimizer_step(spec, opt, objective)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_time += time.perf_counter() - t0
        step += 1
        forward_passes += 2 if spec.zeroth_order else 1
        backward_passes += 0 if spec.zeroth_order else 1
        values = {"train/loss": loss, "train/lr": lr, **record.sample()}
        if isinstance(opt, ZOOptimizer):
            values["zo/projected_grad"] = opt.last_projected_grad
            records.append(StepRecord(step, *opt.last_losses, _shared_lr(opt)))
        s_per_step = train_time / step
        eta = eta_s(
            step,
            s_per_step,
            spec.steps,
            spec.eval_every,
            sum(eval_seconds) / len(eval_seconds) if eval_seconds else 0.0,
            spec.max_minutes,
            train_time,
        )
        writer.emit(
            "metrics",
            step=step,
            elapsed_s=train_time,
            forward_passes=forward_passes,
            backward_passes=backward_passes,
            values=values,
            s_per_step=s_per_step,
            eta_s=eta,
        )
        reached.step, reached.elapsed_s = step, train_time
        reached.forward_passes, reached.backward_passes = forward_passes, backward_passes
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")
        if not math.isfinite(loss):
            status, reason = "failed", describe("diverged", loss=loss, step=step)
            break
        last_loss = reached.last_loss = loss
        if stop.requested:
            status, reason = "cancelled", describe("cancelled_on_request")
            break
        if step % spec.eval_every == 0:
            budget_spent = (spec.steps is not None and step >= spec.steps) or train_time >= budget_s
            acc_end = do_eval(examples=budget_spent)
            last_eval_step = step
        if step % LOG_EVERY == 0:
            flush_steps()
        if (
            spec.checkpoint_every_min is not None
            and spec.checkpoint_dir
            and time.monotonic() - last_save >= spec.checkpoint_every_min * 60
        ):
            now = progress_now()
            extra: dict[str, Any] = {"lr_source": lr_source, "progress": now}
            if header is not None:
                header.progress = now
                extra["step_log"] = torch.frombuffer(bytearray(encode(header, records)), dtype=torch.uint8)
            save_resume_checkpoint(Path(spec.checkpoint_dir), spec, model, opt, step, lr, extra)
            last_save = time.monotonic()
    if bar is not None:
        bar.close()

    if status == "succeeded" and last_eval_step != step:
        acc_end = do_eval(examples=True)
        last_eval_step = step
    flush_steps()
    checkpoint = None
    if spec.checkpoint_dir and status != "failed":
        checkpoint = save_checkpoint(Path(spec.checkpoint_dir), spec, model, opt, step, lr)
    if isinstance(opt, ZOOptimizer):
        opt.merge()  # the hash is of the weights the model computes with (exact modes)
    return writer.emit(
        "finished",
        status=status,
        reason=reason,
        step=step,
        elapsed_s=train_time,
        forward_passes=forward_passes,
        backward_passes=backward_passes,
        summary=_summary(
            acc_start,
            acc_end,
            last_loss,
            record,
            checkpoint,
            s_per_step=train_time / step if step else None,
            lr=lr,
            lr_source=lr_source,
            n_eval=task.n_eval,
            n_train=task.n_train,
            n_val=task.n_val,
            task_type=spec.task_type,
            **(_generation_summary(eval_values) if isinstance(task, GenerationTask) else {}),
            best_step=best["step"],
            best_val_accuracy=best["val_accuracy"],
            acc_best=best["eval_accuracy"],
            checkpoint_best=best_checkpoint,
            weights_sha256=weights_sha256(model),
            step_log=str(Path(spec.checkpoint_dir) / STEP_LOG_FILE)
            if spec.checkpoint_dir and header is not None and records
            else None,
            resumed_from_step=resume.step if resume is not None else None,
        ),
    )


def _generation_summary(eval_values: dict[str, dict]) -> dict[str, float | None]:
    """Exact match (also `acc_start`/`acc_end`: the score the correct bits count), F1 and completion loss
    of the evaluation rows at the start and at the end."""
    start, end = eval_values.get("start", {}), eval_values.get("end", {})
    return {
        f"{name}_{when}": values.get(f"eval/{key}")
        for name, key in (("em", "exact_match"), ("f1", "f1"), ("eval_loss", "loss"))
        for when, values in (("start", start), ("end", end))
    }


def _shared_lr(opt: torch.optim.Optimizer) -> float:
    """The learning rate in force: one for every param group (what the step log records)."""
    rates = {float(group["lr"]) for group in opt.param_groups}
    if len(rates) != 1:
        raise ValueError(f"the step log needs one learning rate for every param group, found {sorted(rates)}")
    return rates.pop()


def _restore(resume: Resume, model: torch.nn.Module, opt: torch.optim.Optimizer, start_sha256: str | None):
    """Put the model and optimizer where the saved run was after step t."""
    if resume.checkpoint is not None:
        model.load_state_dict(resume.checkpoint["model"])
        opt.load_state_dict(resume.checkpoint["optimizer"])
        torch.set_rng_state(resume.checkpoint["rng"]["torch"])
        return
    if resume.start_sha256 and start_sha256 != resume.start_sha256:
        raise ValueError(
            "the start weights differ from the ones the step log was made from "
            "(another model file, data or library version): the steps cannot be replayed"
        )
    if not isinstance(opt, ZOOptimizer):
        raise ValueError("a step log continues only a zeroth-order run")
    replay_steps(opt, resume.records)


def save_resume_checkpoint(
    folder: Path,
    spec: RunSpec,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    step: int,
    lr: float,
    extra: dict[str, Any],
) -> str:
    """Everything a run needs to continue bit for bit, atomically to folder/resume.pt: weights, optimizer
    state, RNG state, step, the bookkeeping so far (``extra``). A zeroth-order optimizer in an exact mode is
    NOT merged first (merging rounds once more than the uninterrupted run would): its pending terms are in
    its state."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RESUME_FILE
    tmp = folder / f".{RESUME_FILE}.{os.getpid()}.tmp"
    torch.save(
        {
            "model": {k: v for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "spec": spec.to_dict(),
            "step": step,
            "lr": lr,
            "rng": {"torch": torch.get_rng_state()},
            **extra,
        },
        tmp,
    )
    os.replace(tmp, path)
    return str(path)


def save_checkpoint(
    folder: Path,
    spec: RunSpec,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    step: int,
    lr: float,
    filename: str = "checkpoint.pt",
) -> str:
    """Trainable state (weights, optimizer state, spec) to folder/filename; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(opt, ZOOptimizer):
        opt.merge()  # the saved weights must be the ones the model computes with (exact modes)
    path = folder / filename
    torch.save(
        {
            "model": {k: v for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "spec": spec.to_dict(),
            "step": step,
            "lr": lr,
        },
        path,
    )
    return str(path)
