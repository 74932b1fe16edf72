"""Run durations and ETAs from seconds per step (common/budget.py)."""

import pytest

from common.budget import eta_s, n_evaluations, run_duration_s


def test_evaluations_at_zero_every_interval_and_at_the_end():
    assert n_evaluations(100, 50) == 3  # 0, 50, 100
    assert n_evaluations(120, 50) == 4  # 0, 50, 100, 120
    assert n_evaluations(0, 50) == 1


def test_run_duration_adds_steps_and_evaluations():
    assert run_duration_s(100, 0.5, 50, s_per_eval=10.0) == pytest.approx(50 + 30)


def test_eta_counts_remaining_steps_and_evaluations():
    """Called after a step and before that step's evaluation, as the engine's metrics event is."""
    # after step 60 of 120 (evals done at 0, 50): 60 steps and evals at 100, 120 remain
    assert eta_s(60, 2.0, 120, 50, s_per_eval=5.0) == pytest.approx(120 + 10)
    assert eta_s(120, 2.0, 120, 50, s_per_eval=5.0) == pytest.approx(5.0)  # only the final evaluation
    # step 50 is done, its evaluation not yet: evals at 50, 100 and 120 remain
    assert eta_s(50, 1.0, 120, 50, s_per_eval=3.0) == pytest.approx(70 + 9)


def test_eta_with_a_minutes_budget_takes_whichever_ends_first():
    # 1 minute budget, 30 s of training spent at 1 s/step: 30 steps left, not the 970 of the step budget
    assert eta_s(30, 1.0, 1000, 1000, max_minutes=1.0, train_s=30.0) == pytest.approx(30)
    assert eta_s(30, 1.0, None, 1000, max_minutes=1.0, train_s=30.0) == pytest.approx(30)
    assert eta_s(10, 1.0, None, 50, max_minutes=None) is None
