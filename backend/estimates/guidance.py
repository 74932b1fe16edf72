"""What would make an inconclusive PoC conclusive: concrete next steps, worded from the PoC's own statistics.

A PoC whose ZO-versus-AdamW comparison is not significant (``roi._comparison``) is not a failure; it is too
small to decide. Two levers decide it, and each item below names the one the evidence points to:

* **evaluation rows**: McNemar's sample size for the gap and the discordance this PoC observed
  (``needed_n``). The rows came either from an evaluation cap (``eval_size``: raise it) or from the whole
  evaluation part of the data (add labelled rows). When the two methods disagree on no example, or their
  disagreements balance exactly, more rows cannot separate them and the item says so;
* **training budget**: a method whose final evaluation is not measurably better than its own start
  (McNemar of the same examples at step 0 and at the end) has not learnt enough to compare. ZO methods
  need far more steps than backprop; the item names the papers' budget and what it would take at the pace
  this run measured.

Every item carries a ``code``, the numbers it is worded from (``params``) and its sentence in English and
Japanese, like the verdict beside which it is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from backend.estimates import stats
from backend.estimates.headline import p_text
from backend.reports.formatting import duration_hours
from common.methods import get_method, is_method


def _label(method: str) -> str:
    return get_method(method).label if is_method(method) else method


def _item(code: str, params: dict[str, Any], en: str, ja: str) -> dict:
    return {"code": code, "params": params, "en": en, "ja": ja}


def evaluation_rows(comparison: dict, eval_cap: int | None) -> dict:
    """The evaluation lever: how many rows the observed gap needs, and where they would come from."""
    n, needed = comparison["n"], comparison["needed_n"]
    a, b = _label(comparison["method_a"]), _label(comparison["method_b"])
    disagreements = comparison["only_a"] + comparison["only_b"]
    if needed is None:
        return _item(
            "evaluation_cannot_separate",
            {"n": n, "disagreements": disagreements},
            f"{a} and {b} disagree on {disagreements:,} of {n:,} evaluation examples and their disagreements "
            "balance out: more evaluation examples would not separate them; more training might.",
            f"{a}と{b}の予測が異なるのは評価例{n:,}件中{disagreements:,}件で、その差は打ち消し合っています。"
            "評価例を増やしても差は見えません。学習を増やすと見える可能性があります。",
        )
    gap = abs(comparison["acc_gap"]) * 100
    if eval_cap is not None and n >= eval_cap:
        return _item(
            "raise_evaluation_cap",
            {"n": n, "needed_n": needed, "gap_points": round(gap, 2)},
            f"Evaluate on about {needed:,} examples instead of {n:,} (raise the evaluation cap): that many "
            f"would settle a gap of {gap:.1f} points like this one.",
            f"評価例の上限を上げ、{n:,}件ではなく約{needed:,}件で評価してください。"
            f"今回と同じ{gap:.1f}ポイントの差なら、その件数で結論が出ます。",
        )
    # a generation PoC is evaluated on prompt/answer pairs, a classification one on labelled rows
    pairs = comparison.get("score") == "exact_match"
    rows_en, rows_ja = (
        ("prompt/answer pairs", "プロンプトと回答の組") if pairs else ("labelled rows", "ラベル付きの行")
    )
    return _item(
        "add_evaluation_data",
        {"n": n, "needed_n": needed, "gap_points": round(gap, 2)},
        f"The evaluation used all {n:,} examples the data holds for it; a gap of {gap:.1f} points needs about "
        f"{needed:,}: add about {needed - n:,} {rows_en} (or an evaluation file of that size).",
        f"評価にはデータ中の評価用の例{n:,}件をすべて使いました。{gap:.1f}ポイントの差には約{needed:,}件が"
        f"必要です。{rows_ja}を約{needed - n:,}件追加してください（またはその規模の評価ファイル）。",
    )


def training_budget(method: str, steps: int, elapsed_s: float, p_value: float, published_steps: int) -> dict:
    """The budget lever for a method that did not measurably improve on its start."""
    label = _label(method)
    zeroth_order = is_method(method) and get_method(method).zeroth_order
    params: dict[str, Any] = {
        "method": method,
        "steps": steps,
        "p_value": p_value,
        "published_steps": published_steps,
    }
    p = p_text(p_value)
    en = f"{label} did not measurably improve on its start in {steps:,} steps ({p})."
    ja = f"{label}は{steps:,}ステップで開始時点から測れるほど改善していません（{p}）。"
    if steps and elapsed_s > 0:
        hours = elapsed_s / steps * published_steps / 3600
        params["published_hours_at_this_pace"] = hours
        at_pace_en = f", about {duration_hours(hours, 'en')} at this run's pace"
        at_pace_ja = f"。この実行の速さで約{duration_hours(hours, 'ja')}かかります"
    else:
        at_pace_en = at_pace_ja = ""
    if zeroth_order:
        en += (
            f" Zeroth-order methods need many more steps than AdamW: the papers ran {published_steps:,} "
            f"steps{at_pace_en}. Raise the step budget."
        )
        ja += (
            f"ゼロ次最適化はAdamWよりはるかに多くのステップを必要とします。論文では{published_steps:,}ステップ"
            f"でした{at_pace_ja}。ステップ数の上限を上げてください。"
        )
    else:
        en += (
            f" Backprop fine-tunes in the papers ran {published_steps:,} steps{at_pace_en}; check the learning "
            "rate and the labels too."
        )
        ja += (
            f"論文の逆伝播による微調整は{published_steps:,}ステップでした{at_pace_ja}。"
            "学習率とラベルも確認してください。"
        )
    return _item("more_training_steps", params, en, ja)


def conclusive_guidance(
    comparison: dict | None,
    runs: Mapping[str, Any],
    eval_cap: int | None,
    published_steps: Callable[[str], int],
) -> list[dict]:
    """The next steps for an inconclusive comparison (an empty list when it is conclusive or incomplete).

    ``runs``: method -> ``roi.RunResult`` of the succeeded runs; ``eval_cap``: the PoC's ``eval_size``
    setting; ``published_steps(method)``: the papers' step budget for that method on this PoC's model.
    """
    if comparison is None or comparison["significant"]:
        return []
    items = [evaluation_rows(comparison, eval_cap)]
    for method in (comparison["method_a"], comparison["method_b"]):
        run = runs.get(method)
        if run is None or not run.correct or not run.correct_start:
            continue
        if len(run.correct) != len(run.correct_start):
            continue
        own_start = stats.mcnemar(run.correct, run.correct_start)
        improved = own_start.p_value < stats.ALPHA and own_start.only_a > own_start.only_b
        if not improved:
            items.append(
                training_budget(method, run.steps, run.elapsed_s, own_start.p_value, published_steps(method))
            )
    return items
