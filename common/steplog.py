"""The step log of a zeroth-order run: enough to rebuild its weights exactly, in a few dozen bytes a step.

A ZO step is fully determined by the run seed, the step index and the two losses it measured: the direction
is regenerated from (seed, step, parameter index) and the update is c = (loss_plus − loss_minus) / 2ε times
it. Replaying the optimizer's step with a closure that returns the recorded losses performs the same float
operations in the same order, so the start weights plus this log give the trained weights bit for bit,
without a forward pass (worker/train/replay.py).

This module is neutral (no torch, no web code): the engine writes records, the service stores them
(``to_row`` / ``from_row``) and hands a log back to the engine to resume a run (``encode`` / ``decode``).

Binary file layout (little endian)::

    b"ZOSTEPS1"                magic (8 bytes)
    uint32  n                  length of the JSON header in bytes
    n bytes                    the header, UTF-8 JSON (``StepLogHeader.to_dict``)
    28 bytes per step          struct "<Iddd": step, loss_plus, loss_minus, lr (float64, exact)

A JSON log (``encode_json``) holds the same: ``{"header": {...}, "records": [{"step", "loss_plus",
"loss_minus", "lr"}, ...]}`` with non-finite floats written as the strings "nan", "inf", "-inf";
``decode`` reads either form.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import asdict, dataclass, field, fields
from typing import Any

FORMAT_VERSION = 1
MAGIC = b"ZOSTEPS1"
_LENGTH = struct.Struct("<I")
RECORD = struct.Struct("<Iddd")
RECORD_BYTES = RECORD.size  # 28
EVENT_KIND = "zo_steps"


@dataclass(frozen=True)
class StepRecord:
    """One ZO step as it happened: its index (1-based, the step the loop reports), the two losses as the
    optimizer saw them (python floats of the float32 losses) and the learning rate in force (every param
    group shares it)."""

    step: int
    loss_plus: float
    loss_minus: float
    lr: float


@dataclass
class StepLogHeader:
    """What a replay needs besides the records: how to rebuild the start weights and the optimizer.

    ``spec`` is the whole run spec (common.runspec.RunSpec.to_dict()) the run was started with, with
    ``lr`` the learning rate it actually used (the spec's may be null: a default or a probe chose it); the
    named fields repeat the parts that matter for the optimizer so a reader needs no spec parsing.
    ``precision`` is the mode the optimizer resolved ("in_place", "exact", "master").
    ``head`` says how the start weights' head was made (``{"init": "prototype", "seed": 0}``, or the
    calibration of a prompt-based model); ``start_sha256`` is ``weights_sha256`` of the start weights.
    ``lr_source`` is where the lr came from ("user", "default-by-size", "probe").
    ``progress`` is the run's bookkeeping after the last record (the ``progress`` of the ``zo_steps`` event
    that carried it: elapsed_s, forward_passes, acc_start, best step, ...), so a continued run reports the
    same summary as an uninterrupted one; empty if unknown.
    """

    method: str
    seed: int
    model: str
    lr: float
    zo_eps: float
    rank: int = 1
    step_interval: int = 1
    beta: float = 0.0
    weight_decay: float = 0.0
    scale_by_rank: bool = False
    zo_clip: float | None = None
    precision: str = "in_place"
    dtype: str = "float32"
    head: dict[str, Any] = field(default_factory=dict)
    start_sha256: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    lr_source: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["lr"] = _json_float(self.lr)
        out["zo_eps"] = _json_float(self.zo_eps)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepLogHeader:
        """Read a header written by ``to_dict``; unknown keys (a newer minor writer) are ignored."""
        version = int(data.get("version", FORMAT_VERSION))
        if version > FORMAT_VERSION:
            raise ValueError(f"step log format {version} is newer than this reader ({FORMAT_VERSION})")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["lr"] = float(values["lr"])
        values["zo_eps"] = float(values["zo_eps"])
        return cls(**values)


def _json_float(value: float) -> float | str:
    """A float JSON can hold exactly: finite as is (repr round-trips), nan/inf as strings."""
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def to_row(record: StepRecord) -> dict[str, Any]:
    """The record as a row for a database (double precision holds every float64, nan and inf included)."""
    return {
        "step": record.step,
        "loss_plus": record.loss_plus,
        "loss_minus": record.loss_minus,
        "lr": record.lr,
    }


def from_row(row: dict[str, Any]) -> StepRecord:
    """A record from ``to_row``'s dict or an event's record (whose non-finite floats are strings)."""
    return StepRecord(int(row["step"]), float(row["loss_plus"]), float(row["loss_minus"]), float(row["lr"]))


def to_json(record: StepRecord) -> dict[str, Any]:
    """The record for a JSON document (an event, a JSON log): non-finite floats become strings."""
    return {
        "step": record.step,
        "loss_plus": _json_float(record.loss_plus),
        "loss_minus": _json_float(record.loss_minus),
        "lr": _json_float(record.lr),
    }


def event_fields(records: list[StepRecord]) -> dict[str, Any]:
    """The fields of a ``zo_steps`` event carrying ``records`` (docs/CONTRACTS.md section 1)."""
    return {
        "step": records[-1].step if records else 0,
        "records": [to_json(r) for r in records],
    }


def records_from_event(event: dict[str, Any]) -> list[StepRecord]:
    """The records a ``zo_steps`` event carries."""
    return [from_row(r) for r in event.get("records", [])]


def encode(header: StepLogHeader, records: list[StepRecord]) -> bytes:
    """The binary log: magic, header length, JSON header, 28 bytes per step."""
    head = json.dumps(header.to_dict(), sort_keys=True, allow_nan=False).encode("utf-8")
    return b"".join([MAGIC, _LENGTH.pack(len(head)), head, encode_records(records)])


def encode_records(records: list[StepRecord]) -> bytes:
    """The records alone, 28 bytes each: what is appended to a binary log as a run goes on."""
    return b"".join(RECORD.pack(r.step, r.loss_plus, r.loss_minus, r.lr) for r in records)


def encode_json(header: StepLogHeader, records: list[StepRecord]) -> bytes:
    """The same log as a JSON document (bigger, readable)."""
    document = {"header": header.to_dict(), "records": [to_json(r) for r in records]}
    return json.dumps(document, allow_nan=False).encode("utf-8")


def decode(data: bytes, partial_tail: bool = False) -> tuple[StepLogHeader, list[StepRecord]]:
    """Read a binary (``encode``) or JSON (``encode_json``) log; raises ValueError on a damaged one.

    ``partial_tail``: a binary log whose last record was cut short (a process killed while appending) gives
    its whole records instead of an error."""
    if not data.startswith(MAGIC):
        try:
            document = json.loads(data.decode("utf-8"))
            header = StepLogHeader.from_dict(document["header"])
            return header, [from_row(r) for r in document["records"]]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"not a step log: {exc}") from None
    start = len(MAGIC) + _LENGTH.size
    if len(data) < start:
        raise ValueError("step log truncated in its header")
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    body = start + length
    if len(data) < body:
        raise ValueError("step log truncated in its header")
    tail = (len(data) - body) % RECORD_BYTES
    if tail and not partial_tail:
        raise ValueError("step log truncated (its size is not a whole number of records)")
    data = data[: len(data) - tail]
    header = StepLogHeader.from_dict(json.loads(data[start:body].decode("utf-8")))
    records = [StepRecord(*values) for values in RECORD.iter_unpack(data[body:])]
    return header, records


def check_contiguous(records: list[StepRecord], first: int = 1) -> None:
    """Raise ValueError unless the records are steps first, first+1, ... with none missing or repeated."""
    for offset, record in enumerate(records):
        if record.step != first + offset:
            raise ValueError(
                f"step log is not contiguous: expected step {first + offset}, found {record.step}"
            )
