"""A stand-in for ``python -m worker.train`` that prints contract-shaped events (docs/CONTRACTS.md 1).

Used only to drive the runner into states the real engine reaches rarely (a crash, an abrupt SIGKILL, a
child ignoring SIGTERM) quickly and deterministically. The behaviour comes from the spec's ``model``:
``fake:ok`` trains ``steps`` steps; ``fake:crash`` exits 3 after 3 steps with a traceback on stderr;
``fake:sigkill`` kills itself with SIGKILL after 3 steps (as the OOM killer would); ``fake:slow`` takes
0.1 s per step and honours SIGTERM like the engine; ``fake:stubborn`` ignores SIGTERM; ``fake:cwd`` fails at
once with its working folder and what is in it as the reason; ``fake:failzero`` fails after 3 steps with
a finished event that says step 0.

Zeroth-order methods also report their steps as the engine does (a ``steplog_header`` in ``started``,
``zo_steps`` events of step records with awkward floats). ``fake:resumable`` is killed by SIGKILL at step 3
unless it was given ``--resume-file``; with one it checks the log (contiguous steps from 1, the records it
would have written) and continues after its last step. ``fake:sigkill`` always dies 3 steps after where it
started (so a resumed run dies again).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import signal
import sys
import time

from common.steplog import (
    EVENT_KIND,
    StepLogHeader,
    StepRecord,
    check_contiguous,
    decode,
    event_fields,
)


def record(step: int) -> StepRecord:
    """The ZO step record the fake reports for ``step``: floats whose every bit matters."""
    return StepRecord(step, 1.0 / 3.0 + step * 2.0**-52, -5e-324 * step, math.nextafter(0.1, 1.0) / step)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec-file", required=True)
    parser.add_argument("--events-out", default="-")
    parser.add_argument("--resume-file")
    arguments = parser.parse_args()
    spec = json.loads(open(arguments.spec_file).read())
    first = 1
    if arguments.resume_file:
        header, records = decode(open(arguments.resume_file, "rb").read())
        check_contiguous(records)
        assert header.method == spec["method"], header
        assert records == [record(r.step) for r in records], "the log holds exactly what was reported"
        assert header.progress == ({"step": records[-1].step} if records else {}), header.progress
        first = (records[-1].step if records else 0) + 1
    mode = spec["model"].split(":", 1)[1]
    stop = {"requested": False}
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: stop.update(requested=True))

    def emit(event: dict) -> None:
        print(json.dumps({"time": time.time(), **event}), flush=True)

    if mode == "cwd":
        emit(
            {
                "event": "finished",
                "status": "failed",
                "reason": json.dumps([os.getcwd(), os.listdir(".")]),
                "step": 0,
                "elapsed_s": 0.0,
                "forward_passes": 0,
                "summary": {},
            }
        )
        return

    emit(
        {
            "event": "started",
            "method": spec["method"],
            "device": "cpu",
            "dtype": "float32",
            "model": {"name": spec["model"], "n_params": 10, "n_trainable": 10, "kind": "encoder"},
            "hyperparams": {"lr": 0.001, "lr_source": "fake"},
            "n_train": 8,
            "n_eval": 8,
            "memory": {"baseline_rss_mb": 12.5},
            "step_log_header": StepLogHeader(
                method=spec["method"], seed=0, model=spec["model"], lr=0.001, zo_eps=1e-3
            ).to_dict(),
            "resumed_from": first - 1,
        }
    )
    steps = spec.get("steps") or 10
    correct = base64.b64encode(bytes([0b10110000])).decode()
    zo = spec["method"] != "adamw"
    for step in range(first, steps + 1):
        if stop["requested"]:
            emit(
                {
                    "event": "finished",
                    "status": "cancelled",
                    "reason": "cancelled on request",
                    "step": step - 1,
                    "elapsed_s": step * 0.01,
                    "forward_passes": 2 * (step - 1),
                    "summary": {"peak_rss_mb": 20.0, "baseline_rss_mb": 12.5},
                }
            )
            return
        if mode in ("slow", "stubborn"):
            time.sleep(0.1)
        emit(
            {
                "event": "metrics",
                "step": step,
                "elapsed_s": step * 0.01,
                "forward_passes": 2 * step,
                "values": {"train/loss": 1.0 / step, "memory/peak_rss_mb": 20.0 + step},
            }
        )
        if step == 3 and mode == "crash":
            print("Traceback (most recent call last):\nRuntimeError: fake engine crashed", file=sys.stderr)
            sys.exit(3)
        if zo:
            emit({"event": EVENT_KIND, **event_fields([record(step)]), "progress": {"step": step}})
        if step == first + 2 and mode == "sigkill" or step == 3 and mode == "resumable" and first == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        if step == 3 and mode == "failzero":
            emit(
                {
                    "event": "finished",
                    "status": "failed",
                    "reason": "RuntimeError: broke",
                    "step": 0,
                    "elapsed_s": 0.0,
                    "forward_passes": 0,
                    "summary": {},
                }
            )
            return
    emit(
        {
            "event": "eval",
            "step": steps,
            "elapsed_s": steps * 0.01,
            "forward_passes": 2 * steps,
            "values": {"eval/loss": 0.5, "eval/accuracy": 0.75},
            "correct": correct,
            "n_eval": 4,
        }
    )
    emit(
        {
            "event": "finished",
            "status": "succeeded",
            "reason": None,
            "step": steps,
            "elapsed_s": steps * 0.01,
            "forward_passes": 2 * steps,
            "summary": {
                "acc_start": 0.5,
                "acc_end": 0.75,
                "final_train_loss": 1 / steps,
                "peak_rss_mb": 20.0 + steps,
                "baseline_rss_mb": 12.5,
            },
        }
    )


if __name__ == "__main__":
    main()
