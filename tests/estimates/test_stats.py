"""Accuracy intervals and McNemar's test on hand-checked tables."""

import base64
import math

import pytest

from backend.estimates import stats


def test_wilson_interval_matches_the_textbook_value():
    # 8 of 10: the Wilson 95% interval is (0.490, 0.943) (Newcombe 1998, table I style check by hand)
    iv = stats.wilson_interval(8, 10)
    assert iv.value == 0.8
    assert iv.low == pytest.approx(0.4902, abs=1e-4) and iv.high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_stays_inside_zero_one_where_wald_collapses():
    iv = stats.wilson_interval(0, 20)
    assert iv.low == pytest.approx(0, abs=1e-12) and 0.1 < iv.high < 0.2
    wald = stats.normal_interval(0, 20)
    assert wald.low == wald.high == 0  # why the Wilson interval is the default


def test_normal_interval_by_hand():
    iv = stats.normal_interval(600, 872)
    p = 600 / 872
    half = 1.959964 * math.sqrt(p * (1 - p) / 872)
    assert iv.low == pytest.approx(p - half, abs=1e-6) and iv.high == pytest.approx(p + half, abs=1e-6)


def test_mcnemar_exact_on_a_hand_checked_table():
    # b = 1, c = 9: exact two-sided p = 2 * (C(10,0) + C(10,1)) / 2^10 = 22/1024
    t = stats.mcnemar_from_counts(1, 9, mid_p=False)
    assert t.p_value == pytest.approx(22 / 1024)
    # mid-p subtracts P(X = 1) = 10/1024 once: 12/1024
    assert stats.mcnemar_from_counts(1, 9).p_value == pytest.approx(12 / 1024)


def test_mcnemar_balanced_and_empty_tables():
    assert stats.mcnemar_from_counts(5, 5, mid_p=False).p_value == 1.0
    assert stats.mcnemar_from_counts(0, 0).p_value == 1.0


def test_mcnemar_from_flags_counts_the_table():
    a = [1, 1, 0, 0, 1, 1, 1, 0]
    b = [1, 0, 1, 0, 0, 0, 1, 0]
    t = stats.mcnemar(a, b, mid_p=False)
    assert (t.both, t.only_a, t.only_b, t.neither) == (2, 3, 1, 2)
    assert t.p_value == pytest.approx(2 * (1 + 4) / 16)  # b=3, c=1: 2·P(X<=1 | n=4)
    with pytest.raises(ValueError, match="same examples"):
        stats.mcnemar([1, 0], [1])


def test_design_note_example_is_significant():
    # ZO-SPEC: AdamW fixed 87 dev examples and broke 51 (McNemar p = 0.003)
    assert stats.mcnemar_from_counts(87, 51, mid_p=False).p_value == pytest.approx(0.0028, abs=2e-4)


def test_unpack_correct_reads_numpy_packbits_layout():
    import numpy as np

    flags = [True, False, True, True, False, False, False, True, True, False]
    packed = np.packbits(np.array(flags, dtype=bool)).tobytes()
    assert stats.unpack_correct(packed, 10) == flags
    assert stats.unpack_correct(base64.b64encode(packed).decode(), 10) == flags
    with pytest.raises(ValueError):
        stats.unpack_correct(packed, 17)


def test_sample_size_for_a_larger_poc():
    # discordance 20%, difference 2 points: (1.96·√0.2 + 0.8416·√(0.2−0.0004))² / 0.0004 ≈ 3919
    n = stats.mcnemar_sample_size(0.2, 0.02)
    expected = (1.959964 * math.sqrt(0.2) + 0.841621 * math.sqrt(0.2 - 0.0004)) ** 2 / 0.0004
    assert n == math.ceil(expected)
    assert stats.mcnemar_sample_size(0.2, 0.0) is None
    assert stats.mcnemar_sample_size(0.2, 0.04) < n  # a larger gap needs fewer examples
