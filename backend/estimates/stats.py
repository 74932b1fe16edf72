"""Statistics for the verdict: accuracy intervals and the paired test of two methods on the same examples.

* Wilson score interval for an accuracy (well-behaved near 0 and 1 and for small n, unlike the plain
  normal interval, which is offered too).
* McNemar's test on the paired per-example correct bits: only the discordant examples (right under one
  method, wrong under the other) carry information; under "no difference" each is a fair coin.
  ``exact`` is the two-sided binomial test; ``mid-p`` halves the probability of the observed count,
  which keeps the exact test's validity with less conservatism (Fagerland, Lydersen & Laake 2013).
* Sample size for a larger PoC: how many evaluation examples McNemar needs to detect the observed
  difference with the observed discordance (Connor 1987).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from statistics import NormalDist

ALPHA = 0.05  # significance level of every claim the verdict makes
POWER = 0.8  # power a proposed larger PoC should have


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    def public(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high}


def _z(alpha: float) -> float:
    return NormalDist().inv_cdf(1 - alpha / 2)


def wilson_interval(correct: int, n: int, alpha: float = ALPHA) -> Interval:
    """Wilson score interval of ``correct / n`` at confidence 1 − alpha."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= correct <= n:
        raise ValueError("correct must lie in [0, n]")
    p, z = correct / n, _z(alpha)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def normal_interval(correct: int, n: int, alpha: float = ALPHA) -> Interval:
    """The plain normal (Wald) interval p ± z·sqrt(p(1−p)/n), clipped to [0, 1]."""
    if n <= 0:
        raise ValueError("n must be positive")
    p, z = correct / n, _z(alpha)
    half = z * math.sqrt(p * (1 - p) / n)
    return Interval(p, max(0.0, p - half), min(1.0, p + half))


@dataclass(frozen=True)
class McNemar:
    """Counts of a paired comparison of A and B, and its two-sided p-value."""

    both: int  # right under both
    only_a: int  # right under A only (b in the usual table)
    only_b: int  # right under B only (c)
    neither: int
    p_value: float
    test: str  # "exact" | "mid-p"

    @property
    def n(self) -> int:
        return self.both + self.only_a + self.only_b + self.neither

    @property
    def discordant(self) -> int:
        return self.only_a + self.only_b


def _binom_cdf_half(k: int, n: int) -> float:
    """P(X ≤ k) for X ~ Binomial(n, 1/2), exactly."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


def mcnemar_from_counts(
    only_a: int, only_b: int, both: int = 0, neither: int = 0, mid_p: bool = True
) -> McNemar:
    """McNemar's exact (or mid-p) two-sided test from the discordant counts."""
    if min(only_a, only_b, both, neither) < 0:
        raise ValueError("counts must be non-negative")
    d, k = only_a + only_b, min(only_a, only_b)
    if d == 0:
        p = 1.0
    else:
        p = 2 * _binom_cdf_half(k, d)
        if mid_p:
            p -= math.comb(d, k) / 2**d  # the mid-p counts the observed table's probability once, halved
        p = min(1.0, p)
    return McNemar(both, only_a, only_b, neither, p, "mid-p" if mid_p else "exact")


def mcnemar(correct_a, correct_b, mid_p: bool = True) -> McNemar:
    """McNemar's test on two equally long sequences of per-example correct flags (same examples, same order)."""
    a, b = list(map(bool, correct_a)), list(map(bool, correct_b))
    if len(a) != len(b):
        raise ValueError(f"paired test needs the same examples: {len(a)} vs {len(b)} flags")
    both = sum(x and y for x, y in zip(a, b))
    only_a = sum(x and not y for x, y in zip(a, b))
    only_b = sum(y and not x for x, y in zip(a, b))
    return mcnemar_from_counts(only_a, only_b, both, len(a) - both - only_a - only_b, mid_p=mid_p)


def unpack_correct(packed: bytes | str, n: int) -> list[bool]:
    """Per-example flags from the engine's packed bits (numpy.packbits layout: big-endian within a byte).

    ``packed`` is the raw bytes (the ``eval_results.correct`` column) or their base64 (the ``eval`` event).
    """
    raw = base64.b64decode(packed) if isinstance(packed, str) else bytes(packed)
    if len(raw) * 8 < n:
        raise ValueError(f"{len(raw)} bytes cannot hold {n} flags")
    return [bool(raw[i // 8] >> (7 - i % 8) & 1) for i in range(n)]


def mcnemar_sample_size(
    p_discordant: float, difference: float, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Evaluation examples McNemar needs to detect ``difference`` (p_A − p_B) at this discordance rate.

    Connor (1987): n = (z_α·sqrt(ψ) + z_β·sqrt(ψ − δ²))² / δ², ψ the discordant share, δ the difference.
    None when there is no difference to detect.
    """
    delta = abs(difference)
    if delta == 0 or p_discordant <= 0:
        return None
    psi = max(p_discordant, delta)  # ψ ≥ |δ| always holds for real tables
    z_a, z_b = _z(alpha), NormalDist().inv_cdf(power)
    return math.ceil((z_a * math.sqrt(psi) + z_b * math.sqrt(psi - delta * delta)) ** 2 / delta**2)


def independent_discordance(acc_a: float, acc_b: float) -> float:
    """The share of examples right under exactly one method when their errors are independent.

    Before a PoC has run, nothing says how its methods' errors overlap; independence is the usual planning
    assumption (methods fine-tuned from one model agree more, which makes McNemar need fewer examples: the
    figures below are then on the safe side).
    """
    return acc_a * (1 - acc_b) + acc_b * (1 - acc_a)


def eval_rows_needed(
    accuracy: float, difference: float, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Evaluation examples McNemar needs to tell ``accuracy`` from ``accuracy + difference`` (planning)."""
    other = accuracy + difference
    if not 0 <= accuracy <= 1 or not 0 <= other <= 1:
        raise ValueError("both accuracies must lie in [0, 1]")
    return mcnemar_sample_size(independent_discordance(accuracy, other), difference, alpha, power)


def detectable_difference(
    n: int, accuracy: float, alpha: float = ALPHA, power: float = POWER
) -> float | None:
    """The smallest accuracy gain over ``accuracy`` that ``n`` evaluation examples detect (planning; None when
    not even reaching 100 % accuracy would be detected)."""
    if n <= 0:
        raise ValueError("n must be positive")
    room = 1 - accuracy
    if room <= 0 or (eval_rows_needed(accuracy, room, alpha, power) or math.inf) > n:
        return None
    low, high = 0.0, room  # needed(low) > n >= needed(high); the need falls as the gap grows
    for _ in range(60):
        mid = (low + high) / 2
        if (eval_rows_needed(accuracy, mid, alpha, power) or math.inf) <= n:
            high = mid
        else:
            low = mid
    return high
