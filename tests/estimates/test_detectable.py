"""Pre-launch guidance: which accuracy difference an evaluation of a given size can detect (McNemar)."""

from __future__ import annotations

import random

import pytest

from backend.estimates import stats


def needed(accuracy: float, difference: float) -> int:
    rows = stats.eval_rows_needed(accuracy, difference)
    assert rows is not None
    return rows


def test_rows_needed_follow_connors_formula() -> None:
    # 80 % vs 85 %, independent errors: ψ = 0.8·0.15 + 0.85·0.2 = 0.29;
    # n = (1.95996·√0.29 + 0.84162·√(0.29 − 0.05²))² / 0.05² = 908.1 → 909.
    assert stats.eval_rows_needed(0.8, 0.05) == 909
    assert needed(0.8, 0.10) < needed(0.8, 0.05)


def test_detectable_difference_is_the_inverse_of_rows_needed() -> None:
    gap = stats.detectable_difference(500, 0.8)
    assert gap is not None and 0.05 < gap < 0.08
    assert needed(0.8, gap) <= 500 < needed(0.8, gap - 1e-4)
    finer = stats.detectable_difference(2000, 0.8)
    assert finer is not None and finer < gap  # more rows, finer differences
    assert stats.detectable_difference(3, 0.8) is None  # not even 100 % would show


def test_the_planned_size_has_the_promised_power() -> None:
    """Simulate PoCs of the planned size with independent errors: the exact mid-p McNemar test at 5 % should
    find the 5-point gain in about 80 % of them (the normal approximation is close, not exact)."""
    n, acc_a, acc_b = needed(0.8, 0.05), 0.8, 0.85
    rng = random.Random(7)
    found = 0
    trials = 600
    for _ in range(trials):
        only_a = only_b = 0
        for _ in range(n):
            a, b = rng.random() < acc_a, rng.random() < acc_b
            only_a += a and not b
            only_b += b and not a
        found += stats.mcnemar_from_counts(only_a, only_b).p_value < stats.ALPHA
    assert 0.72 < found / trials < 0.88


def test_route_answers_both_questions(client) -> None:
    body = client.get("/api/estimates/detectable", params={"eval_rows": 500}).json()
    assert body["rows_needed"] == 909 and body["eval_rows"] == 500
    assert body["detectable_difference"] == pytest.approx(stats.detectable_difference(500, 0.8))
    assert (body["alpha"], body["power"], body["accuracy"], body["difference"]) == (0.05, 0.8, 0.8, 0.05)
    refused = client.get(
        "/api/estimates/detectable", params={"eval_rows": 10, "accuracy": 0.97, "difference": 0.05}
    )
    assert refused.status_code == 422
    assert client.get("/api/estimates/detectable", params={"eval_rows": 0}).status_code == 422
