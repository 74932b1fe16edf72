"""The one-line conclusions of a PoC, in English and Japanese, worded by the statistics and nothing else.

The report's headline and the dashboard's summary read these sentences (the ROI answer and the report
snapshot both carry them), so the two never disagree. Rules:

* accuracy: a difference is stated only when McNemar's test on the paired evaluation examples is significant
  at ``stats.ALPHA`` (the ``comparison`` of ``roi.compute_roi``); otherwise the sentence says that no
  difference was detected, with the p-value and the number of examples, and never names a gap;
* memory: a figure measured by this PoC (on the device it ran on, in its memory kind) and a figure projected
  by the memory model for GPU training are separate sentences, each saying which it is.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from common.memory_kinds import KIND_INFO
from common.methods import get_method, is_method

KIND_WORDS = {
    "host_rss": ("CPU, process memory (RSS)", "CPU・プロセスのメモリ（RSS）"),
    "cuda_allocated": ("GPU, memory allocated by tensors", "GPU・テンソルが確保したメモリ"),
    "cuda_reserved": ("GPU, memory reserved by the allocator", "GPU・アロケーターが予約したメモリ"),
    "nvml_process": ("GPU, the process's memory (driver)", "GPU・プロセスのメモリ（ドライバー）"),
}


def _label(method: str) -> str:
    return get_method(method).label if is_method(method) else method


def p_text(p: float) -> str:
    """A p-value as people read it: two significant digits rounded half up, never scientific notation."""
    if p < 0.001:
        return "p < 0.001"
    exponent = Decimal(repr(p)).adjusted()  # 0.125 -> -1: keep two significant digits
    rounded = Decimal(repr(p)).quantize(Decimal(1).scaleb(exponent - 1), rounding=ROUND_HALF_UP)
    return f"p = {rounded:f}"


# How the headline score is named: classification runs are scored by accuracy, generation runs by exact
# match of their answers (the per-example bits McNemar's test reads are the same kind either way).
SCORE_NAMES = {
    "accuracy": {"en": "accuracy", "ja": "正解率"},
    "exact_match": {"en": "exact match", "ja": "完全一致率"},
}


def score_name(comparison: dict | None, language: str) -> str:
    """The headline score's name in ``language`` for ``comparison`` (its ``score``; accuracy by default)."""
    return SCORE_NAMES[(comparison or {}).get("score") or "accuracy"][language]


def _gap_sentence(a: str, b: str, gap: float, higher: bool, score: str) -> str:
    if score == "accuracy":
        return f"{a} is {gap:.1f} points {'more' if higher else 'less'} accurate than {b}"
    return f"{a}'s {score} is {gap:.1f} points {'higher' if higher else 'lower'} than {b}'s"


def accuracy_headline(
    comparison: dict | None, method_a: str | None = None, method_b: str | None = None
) -> dict:
    """``{"code", "en", "ja"}``: the accuracy conclusion, its wording decided by the test's significance."""
    if comparison is None:
        a, b = _label(method_a or "lozo"), _label(method_b or "adamw")
        return {
            "code": "incomplete",
            "en": f"No accuracy comparison yet: {a} and {b} both need a finished run with evaluation results.",
            "ja": f"まだ正解率を比較できません。{a}と{b}の両方に評価結果のある完了した実行が必要です。",
        }
    a, b = _label(comparison["method_a"]), _label(comparison["method_b"])
    n, p = comparison["n"], p_text(comparison["p_value"])
    gap = abs(comparison["acc_gap"]) * 100
    en_score, ja_score = score_name(comparison, "en"), score_name(comparison, "ja")
    if not comparison["significant"]:
        return {
            "code": "no_significant_difference",
            "en": f"No detectable difference in {en_score} between {a} and {b} ({p}, {n:,} evaluation examples).",
            "ja": f"{a}と{b}の{ja_score}に検出できる差はありません（{p}、評価例{n:,}件）。",
        }
    higher = comparison["acc_gap"] > 0
    return {
        "code": "zo_better" if higher else "zo_worse",
        "en": f"{_gap_sentence(a, b, gap, higher, en_score)} ({p}, {n:,} evaluation examples).",
        "ja": f"{a}の{ja_score}は{b}より{gap:.1f}ポイント{'高い' if higher else '低い'}（{p}、評価例{n:,}件）。",
    }


def _change(less_by: float) -> tuple[str, str]:
    if less_by >= 0.5:
        return f"{less_by:.0f}% less", f"{less_by:.0f}%少ない"
    if less_by <= -0.5:
        return f"{-less_by:.0f}% more", f"{-less_by:.0f}%多い"
    return "about the same", "ほぼ同じ"


def measured_memory(
    method_a: str, method_b: str, measured: dict[str, tuple[float | None, str | None]]
) -> dict | None:
    """The memory this PoC measured for A and B, when both are of the same kind; else None."""
    (peak_a, kind_a), (peak_b, kind_b) = (
        measured.get(method_a, (None, None)),
        measured.get(method_b, (None, None)),
    )
    if not (peak_a and peak_b and kind_a and kind_a == kind_b and kind_a in KIND_INFO):
        return None
    a, b = _label(method_a), _label(method_b)
    en_change, ja_change = _change(100 * (1 - peak_a / peak_b))
    where_en, where_ja = KIND_WORDS[kind_a]
    return {
        "kind": kind_a,
        "en": f"Measured in this PoC ({where_en}): {a} peaked at {peak_a:,.0f} MiB, {b} at {peak_b:,.0f} MiB "
        f"({en_change}).",
        "ja": f"このPoCでの実測（{where_ja}）：{a}のピークは{peak_a:,.0f} MiB、{b}は{peak_b:,.0f} MiB"
        f"（{ja_change}）。",
    }


def projected_memory(
    method_a: str, method_b: str, roi_rows: list[dict], model_name: str, dtype: str
) -> dict | None:
    """The memory model's projection for GPU training of ``model_name``, labelled as a projection."""
    rows = {r["method"]: r for r in roi_rows}
    row_a, row_b = rows.get(method_a), rows.get(method_b)
    if not (row_a and row_b and row_b["memory_bytes"]):
        return None
    a, b = _label(method_a), _label(method_b)
    en_change, ja_change = _change(100 * (1 - row_a["memory_bytes"] / row_b["memory_bytes"]))
    gb_a, gb_b = row_a["memory_bytes"] / 1e9, row_b["memory_bytes"] / 1e9
    digits = 2 if max(gb_a, gb_b) < 10 else 1
    return {
        "en": f"Projected for GPU training of {model_name} ({dtype}): {a} needs {gb_a:,.{digits}f} GB, "
        f"{b} {gb_b:,.{digits}f} GB ({en_change}).",
        "ja": f"GPUでの学習の予測（{model_name}、{dtype}）：{a}は{gb_a:,.{digits}f} GB、{b}は"
        f"{gb_b:,.{digits}f} GB（{ja_change}）。",
    }


def headline(
    comparison: dict | None,
    roi_rows: list[dict],
    model_name: str,
    dtype: str,
    measured: dict[str, tuple[float | None, str | None]] | None = None,
    method_a: str | None = None,
    method_b: str | None = None,
) -> dict:
    """``{"code", "accuracy": {en, ja}, "memory_measured": {...} | None, "memory_projected": {...} | None}``.

    ``measured``: per method (peak MiB, memory kind) as the runs recorded them.
    """
    accuracy = accuracy_headline(comparison, method_a, method_b)
    a = comparison["method_a"] if comparison else method_a
    b = comparison["method_b"] if comparison else method_b
    return {
        "code": accuracy["code"],
        "accuracy": {"en": accuracy["en"], "ja": accuracy["ja"]},
        "memory_measured": measured_memory(a, b, measured or {}) if a and b else None,
        "memory_projected": projected_memory(a, b, roi_rows, model_name, dtype) if a and b else None,
    }
