"""How long a run takes, from seconds per step: the engine's ETA and the launch form's estimate.

Pure Python. Training time and evaluation time are counted apart because the engine's clock (`elapsed_s`)
counts training steps only, while a person waits for both.
"""

from __future__ import annotations

import math


def n_evaluations(steps: int, eval_every: int) -> int:
    """Evaluations of a run of `steps` steps: at step 0, every `eval_every` steps, and at the end."""
    if steps <= 0:
        return 1
    return 1 + steps // eval_every + (1 if steps % eval_every else 0)


def run_duration_s(steps: int, s_per_step: float, eval_every: int, s_per_eval: float = 0.0) -> float:
    """Seconds a run of `steps` steps takes: its steps plus its evaluations."""
    return steps * s_per_step + n_evaluations(steps, eval_every) * s_per_eval


def eta_s(
    step: int,
    s_per_step: float,
    steps: int | None,
    eval_every: int,
    s_per_eval: float = 0.0,
    max_minutes: float | None = None,
    train_s: float = 0.0,
) -> float | None:
    """Seconds left once step `step` is done (before that step's own evaluation, if it has one): the
    remaining steps and evaluations; None without a budget.

    With a minutes budget as well, training stops at whichever budget ends first (`train_s` is the training
    time spent so far on the engine's clock).
    """
    if steps is None and max_minutes is None:
        return None
    remaining_steps = math.inf if steps is None else max(steps - step, 0)
    if max_minutes is not None and s_per_step > 0:
        remaining_steps = min(remaining_steps, max(max_minutes * 60 - train_s, 0.0) / s_per_step)
    if math.isinf(remaining_steps):
        return None
    evals_done = 1 + (step - 1) // eval_every if step > 0 else 0  # at 0 and at multiples below `step`
    end = step + remaining_steps
    evals_left = max(n_evaluations(math.ceil(end), eval_every) - evals_done, 0)
    return remaining_steps * s_per_step + evals_left * s_per_eval
