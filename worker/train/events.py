"""The JSONL event stream of one run (docs/CONTRACTS.md section 1)."""

from __future__ import annotations

import base64
import json
import math
import time
from typing import IO

import numpy as np


def pack_bits(bits) -> str:
    """Base64 of a packed bit array: example i is bit 7 − i%8 of byte i//8 (numpy.packbits, big-endian)."""
    return base64.b64encode(np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()).decode("ascii")


def unpack_bits(encoded: str, n: int) -> list[bool]:
    """Inverse of pack_bits for n examples."""
    raw = np.frombuffer(base64.b64decode(encoded), dtype=np.uint8)
    return [bool(b) for b in np.unpackbits(raw)[:n]]


def _clean(value):
    """JSON has no nan/inf: write them as null so every consumer can parse the line."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


class EventWriter:
    """Writes one JSON object per line and flushes, so the parent sees each event as it happens."""

    def __init__(self, stream: IO[str] | None):
        self.stream = stream
        self.events: list[dict] = []  # every event but the per-step metrics (kept for summaries and tests)
        self.last_metrics: dict | None = None

    def emit(self, event: str, **fields) -> dict:
        record = _clean({"event": event, "time": time.time(), **fields})
        if event == "metrics":
            self.last_metrics = record
        else:
            self.events.append(record)
        if self.stream is not None:
            self.stream.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
            self.stream.flush()
        return record
