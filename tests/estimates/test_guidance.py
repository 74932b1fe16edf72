"""What would make an inconclusive PoC conclusive: the lever the PoC's own statistics point to, in numbers."""

import pytest

from backend.estimates import stats
from backend.estimates.guidance import conclusive_guidance
from backend.estimates.roi import PUBLISHED_STEPS, PocResult, RunResult, compute_roi


def paired(n_both: int, n_only_a: int, n_only_b: int, n_neither: int) -> tuple[list[bool], list[bool]]:
    """Correct flags of A and B with this McNemar table."""
    a = [True] * n_both + [True] * n_only_a + [False] * n_only_b + [False] * n_neither
    b = [True] * n_both + [False] * n_only_a + [True] * n_only_b + [False] * n_neither
    return a, b


def run(
    method: str, correct: list[bool], correct_start: list[bool], steps: int, elapsed_s: float
) -> RunResult:
    n = len(correct)
    return RunResult(
        method,
        steps=steps,
        elapsed_s=elapsed_s,
        loss_curve=[(i, 0.7 - 0.001 * i) for i in range(steps + 1)],
        acc_start=sum(correct_start) / n,
        acc_end=sum(correct) / n,
        n_eval=n,
        correct=correct,
        correct_start=correct_start,
    )


def inconclusive_poc(eval_cap: int | None, lozo_learnt: bool) -> PocResult:
    """LOZO vs AdamW on 200 examples: 12 vs 8 discordant (not significant); AdamW clearly learnt (its start
    was wrong on 40 examples it now gets right); LOZO learnt too, or ended where it started."""
    lozo_end, adamw_end = paired(120, 12, 8, 60)
    adamw_start = [c and i >= 40 for i, c in enumerate(adamw_end)]
    lozo_start = [c and i >= 40 for i, c in enumerate(lozo_end)] if lozo_learnt else list(lozo_end)
    return PocResult(
        model="minilm",
        runs=[
            run("adamw", adamw_end, adamw_start, steps=100, elapsed_s=50.0),
            run("lozo", lozo_end, lozo_start, steps=100, elapsed_s=20.0),
        ],
        eval_cap=eval_cap,
    )


def test_a_significant_comparison_needs_no_guidance():
    lozo_end, adamw_end = paired(120, 40, 5, 35)
    poc = PocResult(
        model="minilm",
        runs=[
            run("adamw", adamw_end, adamw_end, 100, 50.0),
            run("lozo", lozo_end, lozo_end, 100, 20.0),
        ],
    )
    result = compute_roi(poc, "poc")
    assert result["comparison"]["significant"] and result["guidance"] == []


def test_capped_evaluation_is_told_to_raise_the_cap_by_mcnemar_s_sample_size():
    result = compute_roi(inconclusive_poc(eval_cap=200, lozo_learnt=True), "poc")
    assert result["verdict"]["code"] == "no_significant_difference"
    needed = stats.mcnemar_sample_size(20 / 200, 4 / 200)
    assert needed is not None and needed > 200
    [item] = result["guidance"]
    assert item["code"] == "raise_evaluation_cap"
    assert item["params"] == {"n": 200, "needed_n": needed, "gap_points": 2.0}
    assert f"about {needed:,} examples instead of 200" in item["en"]
    assert f"約{needed:,}件" in item["ja"]


def test_whole_evaluation_part_used_asks_for_more_labelled_rows():
    result = compute_roi(inconclusive_poc(eval_cap=None, lozo_learnt=True), "poc")
    [item] = result["guidance"]
    needed = item["params"]["needed_n"]
    assert item["code"] == "add_evaluation_data"
    assert f"add about {needed - 200:,} labelled rows" in item["en"]
    # a cap above the rows the data holds did not limit the evaluation either
    capped_above = compute_roi(inconclusive_poc(eval_cap=5000, lozo_learnt=True), "poc")
    assert [i["code"] for i in capped_above["guidance"]] == ["add_evaluation_data"]


def test_a_zo_run_that_did_not_beat_its_own_start_is_told_the_papers_budget_at_its_own_pace():
    result = compute_roi(inconclusive_poc(eval_cap=200, lozo_learnt=False), "poc")
    codes = [item["code"] for item in result["guidance"]]
    assert codes == ["raise_evaluation_cap", "more_training_steps"]
    budget = result["guidance"][1]
    published = PUBLISHED_STEPS[("zeroth_order", "encoder")]  # MiniLM is an encoder
    assert budget["params"]["method"] == "lozo" and budget["params"]["published_steps"] == published
    # 20 s for 100 steps: the papers' budget takes published / 100 * 20 s at this pace
    assert budget["params"]["published_hours_at_this_pace"] == pytest.approx(published * 0.2 / 3600)
    assert f"the papers ran {published:,} steps, about 5.6 h at this run's pace" in budget["en"]
    assert f"{published:,}ステップ" in budget["ja"] and "約5.6時間" in budget["ja"]
    assert "(p = 1.0)" in budget["en"]  # no example changed: the test against its own start says so


def test_disagreements_that_balance_exactly_are_not_fixed_by_more_rows():
    lozo_end, adamw_end = paired(120, 10, 10, 60)
    comparison = {
        "method_a": "lozo",
        "method_b": "adamw",
        "acc_gap": 0.0,
        "p_value": 1.0,
        "significant": False,
        "n": 200,
        "only_a": 10,
        "only_b": 10,
        "needed_n": None,
    }
    runs = {"lozo": run("lozo", lozo_end, [False] * 200, 10, 1.0)}
    [item] = conclusive_guidance(comparison, runs, None, lambda method: 20_000)
    assert item["code"] == "evaluation_cannot_separate"
    assert item["params"] == {"n": 200, "disagreements": 20}
    assert "would not separate them" in item["en"]


def test_no_comparison_gives_no_guidance():
    assert conclusive_guidance(None, {}, None, lambda method: 1) == []


def test_a_generation_poc_is_asked_for_pairs_not_labelled_rows():
    from backend.estimates.guidance import evaluation_rows

    comparison = {"n": 40, "needed_n": 103, "method_a": "lozo", "method_b": "adamw", "only_a": 0, "only_b": 3,
                  "acc_gap": -0.075}  # fmt: skip
    assert "labelled rows" in evaluation_rows(comparison, None)["en"]
    generation = evaluation_rows(comparison | {"score": "exact_match"}, None)
    assert "add about 63 prompt/answer pairs" in generation["en"] and "labelled" not in generation["en"]
    assert "プロンプトと回答の組を約63件追加" in generation["ja"]
