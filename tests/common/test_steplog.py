"""The step log: exact round trips of awkward floats through the binary file, JSON, rows and events."""

import json
import math
import struct

import pytest

from common.steplog import (
    RECORD_BYTES,
    StepLogHeader,
    StepRecord,
    check_contiguous,
    decode,
    encode,
    encode_json,
    event_fields,
    from_row,
    records_from_event,
    to_row,
)

AWKWARD = [
    5e-324,  # smallest subnormal
    -0.0,
    1e308,
    -1.7976931348623157e308,
    0.1 + 0.2,
    0.6931471805599453,
    float("inf"),
    float("-inf"),
    float("nan"),
    2.2250738585072014e-308,
]


def _records() -> list[StepRecord]:
    out = []
    for i, value in enumerate(AWKWARD):
        other = AWKWARD[(i + 3) % len(AWKWARD)]
        out.append(StepRecord(i + 1, value, other, 1e-7 * (i + 1)))
    return out


def _header() -> StepLogHeader:
    return StepLogHeader(
        method="lozo",
        seed=7,
        model="tiny",
        lr=1e-6 / 3,
        zo_eps=1e-3,
        rank=2,
        step_interval=50,
        weight_decay=0.0,
        head={"init": "prototype", "seed": 7},
        start_sha256="ab" * 32,
        spec={"method": "lozo", "seed": 7, "lr": None},
    )


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


def _same(a: list[StepRecord], b: list[StepRecord]) -> bool:
    """Bit-for-bit equality (nan == nan, -0.0 != 0.0)."""
    return len(a) == len(b) and all(
        x.step == y.step
        and _bits(x.loss_plus) == _bits(y.loss_plus)
        and _bits(x.loss_minus) == _bits(y.loss_minus)
        and _bits(x.lr) == _bits(y.lr)
        for x, y in zip(a, b)
    )


def test_the_binary_log_round_trips_every_bit():
    header, records = _header(), _records()
    data = encode(header, records)
    back_header, back = decode(data)
    assert back_header == header
    assert _same(back, records)
    assert math.copysign(1.0, back[1].loss_plus) == -1.0  # -0.0 kept its sign
    assert back[0].loss_plus == 5e-324


def test_the_binary_log_costs_28_bytes_a_step():
    header = _header()
    empty = len(encode(header, []))
    assert RECORD_BYTES == 28
    assert len(encode(header, _records())) - empty == 28 * len(AWKWARD)


def test_the_json_log_round_trips_every_bit():
    header, records = _header(), _records()
    data = encode_json(header, records)
    json.loads(data)  # plain JSON, no NaN literals
    assert b"NaN" not in data and b"Infinity" not in data
    back_header, back = decode(data)
    assert back_header == header
    assert _same(back, records)


def test_rows_and_events_round_trip():
    records = _records()
    assert _same([from_row(to_row(r)) for r in records], records)
    event = json.loads(json.dumps({"event": "zo_steps", **event_fields(records)}, allow_nan=False))
    assert event["step"] == records[-1].step
    assert _same(records_from_event(event), records)


def test_a_damaged_log_is_refused():
    data = encode(_header(), _records())
    with pytest.raises(ValueError, match="truncated"):
        decode(data[:-5])
    with pytest.raises(ValueError, match="not a step log"):
        decode(b"hello")
    header, whole = decode(data[:-5], partial_tail=True)  # a kill while appending the last record
    assert header == _header() and _same(whole, _records()[:-1])


def test_a_newer_format_is_refused():
    head = _header().to_dict()
    head["version"] = 99
    with pytest.raises(ValueError, match="newer"):
        StepLogHeader.from_dict(head)


def test_gaps_are_found():
    records = [StepRecord(1, 0.5, 0.4, 1e-3), StepRecord(3, 0.5, 0.4, 1e-3)]
    check_contiguous(records[:1])
    with pytest.raises(ValueError, match="expected step 2, found 3"):
        check_contiguous(records)
