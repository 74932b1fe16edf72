"""Return on investment of a finished PoC: per method the GPU it needs, what the run costs, what it bought.

Pure arithmetic over a ``PocResult`` (built from the database by the route, or by hand in tests):

* memory: the memory model's estimate for the target model (the PoC's own or a preset size), on CUDA;
* GPU: the catalogue's smallest GPU (and count) that fits comfortably (``gpus.smallest_fit``);
* steps: ZO needs more steps than AdamW. We take them from the PoC's own convergence: the first step at
  which the method's smoothed training loss reached the loss AdamW ended at. A method that never got there
  is costed at the steps it ran, and the row says so (``reached_target = False``: a lower bound);
* time per step on the target GPU: FLOPs of one step (2·P·tokens per forward pass; a backward costs two
  forwards) over the GPU's dense 16-bit throughput times ``GPU_UTILISATION``; a PoC that itself ran on
  CUDA for its own model is costed from its measured wall-clock instead;
* cost = GPU-hours (cards × hours) × hourly price; cost per accuracy point = cost / gain over the start.

The verdict compares the best ZO method with AdamW on the same evaluation examples with McNemar's test and
never claims a difference that the test does not support; when it cannot decide, ``guidance`` says what
would: how many evaluation examples the difference it saw needs, and a larger budget for a run that did not
learn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.estimates import gpus as gpu_catalog
from backend.estimates import guidance, headline, memory, shapes, stats
from common.methods import BASELINE_METHOD, all_methods, get_method, is_method, zeroth_order_names

TARGETS = ("poc", "1b", "7b", "13b", "70b")
# A target this large is projected as it would be fine-tuned in practice: bf16 weights (and, for backprop
# methods, mixed-precision optimizer state); a smaller one keeps the PoC's own precision.
LARGE_TARGET_PARAMS = 1_000_000_000
# Share of a GPU's peak dense throughput a fine-tune sustains (model FLOPs utilisation); 35 % is typical of
# single-node transformer training without heavy tuning. An assumption, shown in the report.
GPU_UTILISATION = 0.35
# The range the time and cost are given over: few fine-tunes sustain less than 25% or more than 50%.
GPU_UTILISATION_RANGE = (0.25, 0.50)
# Steps of a real fine-tune where the PoC did not reach the target itself: the papers' budgets. ZO: 20k steps
# for OPT decoders, 100k for RoBERTa-large (MeZO, LOZO); backprop: 1,000 steps (LM-BFF's and MeZO's
# fine-tuning baselines). Labelled "published" wherever they are used.
PUBLISHED_STEPS = {("zeroth_order", "decoder"): 20_000, ("zeroth_order", "encoder"): 100_000}
PUBLISHED_STEPS_BACKPROP = 1_000
BASELINE = BASELINE_METHOD


def step_cost_in_forwards() -> dict[str, float]:
    """Cost of one optimizer step of each method in forward-pass equivalents (``common.methods``): backprop
    = forward + backward (≈ 2 forwards); ZO = two forwards plus the noise regeneration, as measured on CPU,
    which overstates it on a GPU: a conservative (costlier) choice for ZO."""
    return {m.name: m.step_cost_forwards for m in all_methods()}


def method_label(method: str) -> str:
    """How people see ``method`` (its registry label; the id itself for one no longer registered)."""
    return get_method(method).label if is_method(method) else method


@dataclass
class RunResult:
    """What ROI needs of one finished run."""

    method: str
    state: str = "succeeded"
    steps: int = 0
    elapsed_s: float = 0.0
    device: str = "cpu"  # "cpu" | "cuda"
    peak_memory_mb: float | None = None
    rank: int = 2
    lora_rank: int = 8
    loss_curve: list[tuple[int, float]] = field(default_factory=list)  # (step, train/loss)
    acc_start: float | None = None
    acc_end: float | None = None
    n_eval: int | None = None
    correct: list[bool] | None = None  # final evaluation, per example, in evaluation order
    correct_start: list[bool] | None = None  # the evaluation at step 0, same examples


@dataclass
class PocResult:
    model: str
    runs: list[RunResult]
    batch_size: int = 16
    seq_len: int = 64
    dtype: str = "float32"
    eval_cap: int | None = None  # the PoC's ``eval_size`` setting: None when every evaluation row is used
    # What the per-example bits score: "accuracy" (classification) or "exact_match" (generation answers).
    score: str = "accuracy"
    max_new_tokens: int = 0  # generation PoCs: greedy generation's budget at evaluation (its KV cache)


def smoothed(curve: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Trailing moving average of a loss curve (window: a tenth of the points, 1 to 20) against noise."""
    window = max(1, min(20, len(curve) // 10))
    out, total = [], 0.0
    for i, (step, loss) in enumerate(curve):
        total += loss
        if i >= window:
            total -= curve[i - window][1]
        out.append((step, total / min(i + 1, window)))
    return out


def steps_to_reach(curve: list[tuple[int, float]], target_loss: float) -> int | None:
    """First step at which the smoothed loss is at or below ``target_loss``; None if never."""
    return next((step for step, loss in smoothed(curve) if loss <= target_loss), None)


def step_seconds(method: str, n_params: int, tokens: int, gpu: gpu_catalog.Gpu, count: int) -> float:
    """Projected seconds of one optimizer step on ``count`` cards of ``gpu``."""
    flops = get_method(method).step_cost_forwards * 2 * n_params * tokens
    return flops / (gpu.tflops * 1e12 * count * GPU_UTILISATION)


def projection_precision(
    shape: shapes.ModelShape, poc_dtype: str, dtype: str | None = None, recipe: str | None = None
) -> tuple[str, str]:
    """(dtype, recipe) of a projection: the ones asked for, else the product's defaults. The one rule every
    page uses, so the dashboard, the report and the API give the same answer for the same PoC."""
    if dtype is None:
        dtype = "bfloat16" if shape.n_params >= LARGE_TARGET_PARAMS else poc_dtype
    if recipe is None:
        recipe = "mixed" if memory.DTYPE_BYTES[dtype] < 4 else "pure"
    return dtype, recipe


def _pick(runs: dict[str, RunResult], preference) -> RunResult | None:
    return next((runs[m] for m in preference if m in runs), None)


def compute_roi(
    poc: PocResult,
    target: str = "poc",
    catalog=None,
    calibration: float | None = None,
    dtype: str | None = None,
    recipe: str | None = None,
) -> dict:
    """The ``GET /api/pocs/{id}/roi`` answer for ``target`` (one of ``TARGETS``).

    ``dtype`` and ``recipe`` (``memory.RECIPES``) set the precision of the projection; None: the defaults of
    ``projection_precision`` (bf16 and mixed-precision AdamW for targets of 1B parameters or more).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {list(TARGETS)}")
    catalog = catalog if catalog is not None else gpu_catalog.load_catalog()
    shape = shapes.model_shape(poc.model if target == "poc" else target)
    poc_kind = shape.kind if target == "poc" else _model_kind(poc.model)
    runs = {r.method: r for r in poc.runs if r.state == "succeeded" and is_method(r.method)}
    baseline = runs.get(BASELINE)
    target_loss = smoothed(baseline.loss_curve)[-1][1] if baseline and baseline.loss_curve else None
    tokens = poc.batch_size * poc.seq_len
    dtype, recipe = projection_precision(shape, poc.dtype, dtype, recipe)

    rows, adamw_bytes = [], None
    for method, run in runs.items():
        work = memory.Workload(
            dtype=dtype,
            batch_size=poc.batch_size,
            seq_len=poc.seq_len,
            rank=run.rank,
            lora_rank=run.lora_rank,
            recipe=recipe,
            device_kind="cuda",
            max_new_tokens=poc.max_new_tokens,
        )
        need = memory.estimate(shape, method, work).total * (calibration or 1.0)
        if method == BASELINE:
            adamw_bytes = need
        rows.append(_row(method, run, int(need), shape, target, target_loss, tokens, catalog))
    for row in rows:
        row["memory_saved_pct"] = (
            round(100 * (1 - row["memory_bytes"] / adamw_bytes), 1) if adamw_bytes else None
        )
    comparison = _comparison(runs)
    if comparison is not None:
        comparison["score"] = poc.score
    return {
        "target": target,
        "target_model": shape.name,
        "target_params": shape.n_params,
        "dtype": dtype,
        "recipe": recipe,
        "target_loss": target_loss,
        "assumptions": {
            "gpu_utilisation": GPU_UTILISATION,
            "gpu_utilisation_range": list(GPU_UTILISATION_RANGE),
            "step_cost_in_forwards": step_cost_in_forwards(),
            "batch_size": poc.batch_size,
            "seq_len": poc.seq_len,
        },
        "rows": rows,
        "comparison": comparison,
        "verdict": verdict(rows, comparison, runs, shape.name),
        "guidance": guidance.conclusive_guidance(
            comparison, runs, poc.eval_cap, lambda method: published_steps(method, poc_kind)
        ),
        # the one-line conclusions the dashboard's summary and the report's headline both show
        "headline": headline.headline(
            comparison,
            rows,
            shape.name,
            dtype,
            measured={m: (r.peak_memory_mb, HEADLINE_KIND.get(r.device)) for m, r in runs.items()},
            method_a=_default_pair(runs)[0],
            method_b=BASELINE,
        ),
    }


def _model_kind(model: str) -> str:
    """ "encoder" or "decoder" for the PoC's own model; an unknown one is taken as an encoder (the larger ZO
    budget of the two, so the advice errs towards enough steps)."""
    try:
        return shapes.model_shape(model).kind
    except (KeyError, ValueError):
        return "encoder"


def published_steps(method: str, kind: str) -> int:
    """The papers' step budget for ``method`` on a model of ``kind`` ("encoder" | "decoder")."""
    info = get_method(method)
    return PUBLISHED_STEPS[(info.kind, kind)] if info.zeroth_order else PUBLISHED_STEPS_BACKPROP


def steps_and_source(run: RunResult, reach: int | None, target: str, kind: str) -> tuple[int, str]:
    """Steps a fine-tune takes and where the number comes from: "measured" (the PoC's own progress reached
    the target loss), "published" (the papers' budget, for a larger target the PoC did not reach) or
    "poc_budget" (the PoC's own model, which never reached it: a lower bound)."""
    if reach is not None:
        return reach, "measured"
    if target != "poc":
        return published_steps(run.method, kind), "published"
    return run.steps, "poc_budget"


# The memory kind a run's peak is recorded in (common/memory_kinds.py): host RSS on CPU, tensors on CUDA.
HEADLINE_KIND = {"cpu": "host_rss", "cuda": "cuda_allocated"}


def _default_pair(runs: dict[str, RunResult]) -> tuple[str, str]:
    """The ZO method compared with the baseline: the first one that ran, else the registry's first."""
    zo = _pick(runs, zeroth_order_names())
    return (zo.method if zo else zeroth_order_names()[0], BASELINE)


def _row(method, run: RunResult, need: int, shape, target, target_loss, tokens, catalog) -> dict:
    fit = gpu_catalog.smallest_fit(catalog, need)
    reach = steps_to_reach(run.loss_curve, target_loss) if target_loss is not None else None
    steps, steps_source = steps_and_source(run, reach, target, shape.kind)
    gpu_hours = cost = None
    hours_range = cost_range = None
    if fit:
        gpu, count = fit
        if target == "poc" and run.device == "cuda" and run.steps:
            seconds = run.elapsed_s * steps / run.steps  # measured on a GPU: trust the clock
            spread = (1.0, 1.0)
        else:
            seconds = steps * step_seconds(method, shape.n_params, tokens, gpu, count)
            # the same FLOPs at the high and the low end of the utilisation range
            low_use, high_use = GPU_UTILISATION_RANGE
            spread = (GPU_UTILISATION / high_use, GPU_UTILISATION / low_use)
        gpu_hours = seconds / 3600 * count
        cost = gpu_hours * gpu.hourly_price
        hours_range = [gpu_hours * spread[0], gpu_hours * spread[1]]
        cost_range = [h * gpu.hourly_price for h in hours_range]
    accuracy = None
    if run.acc_end is not None and run.n_eval:
        accuracy = stats.wilson_interval(round(run.acc_end * run.n_eval), run.n_eval).public()
    gain_points = (
        (run.acc_end - run.acc_start) * 100 if run.acc_end is not None and run.acc_start is not None else None
    )
    gain_test = None
    if run.correct and run.correct_start and len(run.correct) == len(run.correct_start):
        gain_test = stats.mcnemar(run.correct, run.correct_start)  # the run against its own start
    return {
        "method": method,
        "gpu": {"id": fit[0].id, "name": fit[0].name, "count": fit[1]} if fit else None,
        "memory_bytes": need,
        "memory_gb": round(need / 1e9, 3),
        "memory_saved_pct": None,
        "steps": steps,
        "steps_run": run.steps,
        "steps_to_target": reach,
        "steps_source": steps_source,
        "reached_target": reach is not None if target_loss is not None else None,
        "gpu_hours": gpu_hours,
        "gpu_hours_range": hours_range,
        "cost": cost,
        "cost_range": cost_range,
        "currency": fit[0].currency if fit else None,
        "accuracy": accuracy,
        "accuracy_gain_points": gain_points,
        "gain_p_value": gain_test.p_value if gain_test else None,
        "gain_significant": gain_test.p_value < stats.ALPHA if gain_test else None,
        "cost_per_point": cost / gain_points
        if cost is not None and gain_points and gain_points > 0
        else None,
    }


def _comparison(runs: dict[str, RunResult]) -> dict | None:
    zo, base = _pick(runs, zeroth_order_names()), runs.get(BASELINE)
    if not (zo and base and zo.correct is not None and base.correct is not None):
        return None
    if len(zo.correct) != len(base.correct) or not zo.correct:
        return None
    test = stats.mcnemar(zo.correct, base.correct)
    n = test.n
    gap = (test.only_a - test.only_b) / n  # = acc_a − acc_b on the shared examples
    significant = test.p_value < stats.ALPHA
    return {
        "method_a": zo.method,
        "method_b": BASELINE,
        "acc_gap": gap,
        "p_value": test.p_value,
        "significant": significant,
        "test": "mcnemar",
        "variant": test.test,
        "n": n,
        "only_a": test.only_a,
        "only_b": test.only_b,
        "needed_n": None if significant else stats.mcnemar_sample_size(test.discordant / n, gap),
    }


def verdict(rows: list[dict], comparison: dict | None, runs: dict[str, RunResult], model_name: str) -> dict:
    """A verdict code and its plain-words explanation in English and Japanese.

    Codes: ``incomplete`` (no ZO run and AdamW baseline both finished with evaluation results),
    ``zo_better`` / ``zo_worse`` (McNemar significant at ``stats.ALPHA``),
    ``no_significant_difference`` (otherwise; never reported as "equal").
    """
    if comparison is None:
        wanted = (zeroth_order_names()[0], BASELINE)
        missing = [method_label(m) for m in wanted if m not in runs] or ["evaluation results"]
        return {
            "code": "incomplete",
            "en": "No comparison yet: a finished ZO run and a finished AdamW run with evaluation results "
            f"are needed (missing: {', '.join(missing)}).",
            "ja": "まだ比較できません。評価結果のある完了したZO実行とAdamW実行の両方が必要です"
            f"（不足: {'、'.join(missing)}）。",
        }
    a, b = method_label(comparison["method_a"]), method_label(comparison["method_b"])
    gap_pt = abs(comparison["acc_gap"]) * 100
    p = comparison["p_value"]
    en_score, ja_score = headline.score_name(comparison, "en"), headline.score_name(comparison, "ja")
    if comparison["significant"]:
        higher = comparison["acc_gap"] > 0
        code = "zo_better" if higher else "zo_worse"
        word = "higher" if higher else "lower"
        en = (
            f"{a} was {'more' if higher else 'less'} accurate than {b} by {gap_pt:.1f} points"
            if en_score == "accuracy"
            else f"{a}'s {en_score} was {word} than {b}'s by {gap_pt:.1f} points"
        ) + f" on the same examples (McNemar p = {p:.3g})."
        ja = (
            f"同じ評価例で{a}の{ja_score}は{b}より{gap_pt:.1f}ポイント{'高く' if higher else '低く'}、"
            f"差は有意です（McNemar検定 p = {p:.3g}）。"
        )
    else:
        code = "no_significant_difference"
        en = (
            f"This PoC cannot tell {a} and {b} apart in {en_score}: the gap of {gap_pt:.1f} points on "
            f"{comparison['n']} examples is within chance (McNemar p = {p:.3g})."
        )
        ja = (
            f"このPoCでは{a}と{b}の{ja_score}の違いを判断できません。{comparison['n']}件での差"
            f"{gap_pt:.1f}ポイントは偶然の範囲内です（McNemar検定 p = {p:.3g}）。"
        )
    by_method = {r["method"]: r for r in rows}
    zo_row, base_row = by_method.get(comparison["method_a"]), by_method.get(comparison["method_b"])
    for row, label in ((base_row, b), (zo_row, a)):
        en_gain, ja_gain = _gain_sentence(row, label, comparison) if row else ("", "")
        en += en_gain
        ja += ja_gain
    if zo_row and base_row:
        saved = zo_row["memory_saved_pct"]
        en += (
            f" Projected for GPU training of {model_name}, {a} needs {zo_row['memory_gb']:.1f} GB against {base_row['memory_gb']:.1f} GB "
            f"for {b} ({saved:.0f}% less)."
        )
        ja += (
            f"{model_name}をGPUで学習する場合の予測では、{a}に必要なメモリは{zo_row['memory_gb']:.1f} GBで、{b}の"
            f"{base_row['memory_gb']:.1f} GBより{saved:.0f}%少なくて済みます。"
        )
        if zo_row["reached_target"] is False:
            en += (
                f" {a} did not reach {b}'s final training loss within {zo_row['steps_run']} steps, so its "
                "cost is a lower bound."
            )
            ja += (
                f"{a}は{zo_row['steps_run']}ステップ以内に{b}の最終学習損失に届かなかったため、"
                "そのコストは下限値です。"
            )
        elif zo_row["steps_to_target"] is not None:
            en += (
                f" {a} reached {b}'s final training loss at step {zo_row['steps_to_target']} "
                f"({b}: step {base_row['steps_to_target']})."
            )
            ja += (
                f"{a}は{zo_row['steps_to_target']}ステップで{b}の最終学習損失に到達しました"
                f"（{b}は{base_row['steps_to_target']}ステップ）。"
            )
    return {"code": code, "en": en, "ja": ja}


def _gain_sentence(row: dict, label: str, comparison: dict | None = None) -> tuple[str, str]:
    """Whether a method's change from its own start is beyond chance (McNemar, start vs end bits)."""
    gain, p = row.get("accuracy_gain_points"), row.get("gain_p_value")
    if gain is None or p is None:
        return "", ""
    en_score, ja_score = headline.score_name(comparison, "en"), headline.score_name(comparison, "ja")
    if row["gain_significant"]:
        word_en, word_ja = ("improved on", "向上") if gain > 0 else ("fell below", "低下")
        return (
            f" {label} {word_en} its starting {en_score} by {abs(gain):.1f} points (p = {p:.3g}).",
            f"{label}は開始時から{ja_score}が{abs(gain):.1f}ポイント{word_ja}しました（p = {p:.3g}）。",
        )
    return (
        f" {label}'s change from its starting {en_score} ({gain:+.1f} points) is within chance (p = {p:.3g}).",
        f"{label}の開始時からの変化（{gain:+.1f}ポイント）は偶然の範囲内です（p = {p:.3g}）。",
    )
