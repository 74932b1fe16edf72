"""The report's words and numbers for people: the headline follows the statistics, money has its symbol,
times their zone, settings their names; no placeholder GPU is recommended. No database, no browser."""

import re

import pytest

from backend.estimates import gpus, headline, roi
from backend.estimates.roi import PocResult, RunResult
from backend.reports import formatting
from backend.reports.i18n import HYPERPARAMETER_EXPLANATIONS_JA, texts
from backend.reports.render import AXES, downloads_view, settings_view
from common.methods import all_methods


def _paired(both: int, only_a: int, only_b: int, neither: int) -> tuple[list[bool], list[bool]]:
    a = [True] * both + [True] * only_a + [False] * only_b + [False] * neither
    b = [True] * both + [False] * only_a + [True] * only_b + [False] * neither
    return a, b


def _roi(table) -> dict:
    lozo, adamw = _paired(*table)
    curve = [(s, 1.0 / (s + 1)) for s in range(1, 51)]
    runs = [
        RunResult("lozo", steps=50, peak_memory_mb=539.0, loss_curve=curve, acc_end=sum(lozo) / len(lozo),
                  acc_start=0.5, n_eval=len(lozo), correct=lozo),
        RunResult("adamw", steps=50, peak_memory_mb=1013.0, loss_curve=curve, acc_end=sum(adamw) / len(adamw),
                  acc_start=0.5, n_eval=len(adamw), correct=adamw),
    ]  # fmt: skip
    return roi.compute_roi(PocResult("minilm", runs), "poc")


def test_a_gap_without_significance_is_not_called_a_difference():
    # 40 examples, AdamW right on 3 that LOZO got wrong: 7.5 points, McNemar mid-p = 0.125
    answer = _roi((20, 0, 3, 17))
    assert answer["comparison"]["p_value"] == pytest.approx(0.125)
    words = answer["headline"]
    assert words["code"] == "no_significant_difference"
    assert words["accuracy"]["en"] == (
        "No detectable difference in accuracy between LOZO and AdamW (p = 0.13, 40 evaluation examples)."
    )
    assert (
        words["accuracy"]["ja"] == "LOZOとAdamWの正解率に検出できる差はありません（p = 0.13、評価例40件）。"
    )
    for language in ("en", "ja"):
        assert "7.5" not in words["accuracy"][language]


def test_a_significant_gap_is_stated_with_its_size():
    answer = _roi((100, 2, 30, 68))
    words = answer["headline"]
    assert answer["comparison"]["significant"] and words["code"] == "zo_worse"
    assert words["accuracy"]["en"] == (
        "LOZO is 14.0 points less accurate than AdamW (p < 0.001, 200 evaluation examples)."
    )
    assert words["accuracy"]["ja"] == "LOZOの正解率はAdamWより14.0ポイント低い（p < 0.001、評価例200件）。"
    better = _roi((100, 30, 2, 68))["headline"]
    assert better["code"] == "zo_better" and "14.0 points more accurate" in better["accuracy"]["en"]


def test_measured_and_projected_memory_are_labelled_apart():
    words = _roi((20, 0, 3, 17))["headline"]
    measured, projected = words["memory_measured"], words["memory_projected"]
    assert measured["kind"] == "host_rss"
    assert measured["en"] == (
        "Measured in this PoC (CPU, process memory (RSS)): LOZO peaked at 539 MiB, AdamW at 1,013 MiB (47% less)."
    )
    assert projected["en"].startswith("Projected for GPU training of ")
    assert projected["ja"].startswith("GPUでの学習の予測")
    assert measured["ja"].startswith("このPoCでの実測")


def test_memory_of_different_kinds_is_not_compared():
    assert (
        headline.measured_memory(
            "lozo", "adamw", {"lozo": (500, "host_rss"), "adamw": (900, "cuda_allocated")}
        )
        is None
    )


def test_p_values_read_plainly():
    assert [headline.p_text(p) for p in (0.125, 0.05, 0.0031, 0.0009, 1.0)] == [
        "p = 0.13",
        "p = 0.050",
        "p = 0.0031",
        "p < 0.001",
        "p = 1.0",
    ]


def test_money_has_its_symbol_and_no_scientific_notation():
    assert formatting.money(3.3e-05, "USD") == "< $0.01"
    assert formatting.money(0.4216, "USD") == "$0.42"
    assert formatting.money(12345.678, "USD") == "$12,345.68"
    assert formatting.money(1234.4, "JPY") == "¥1,234"
    assert formatting.money(0.2, "JPY") == "< ¥1"
    assert formatting.money(3, "CHF") == "3.00 CHF"
    assert formatting.money(None, "USD") == "–"
    for value in (3.3e-05, 1e-9, 7e-3, 2.5e7):
        for text in (
            formatting.money(value, "USD"),
            formatting.number(value, 2),
            formatting.setting_value(value),
        ):
            assert not re.search(r"\de[-+]?\d", text), text


def test_numbers_settings_and_durations_for_people():
    assert formatting.number(1234567.8) == "1,234,568"
    assert formatting.setting_value(1e-05) == "1 × 10⁻⁵"
    assert formatting.setting_value(0.001) == "0.001"
    assert formatting.setting_value(16) == "16"
    assert formatting.duration_hours(3.3e-05, "en") == "< 1 s"
    assert formatting.duration_hours(0.01, "en") == "36 s"
    assert formatting.duration_hours(0.5, "ja") == "30.0分"
    assert formatting.parameters(22_713_216) == "22.7M"


def test_times_in_the_readers_zone_named():
    at = "2026-12-03T06:43:00+00:00"
    assert formatting.date_time(at, "en", "Asia/Tokyo") == "3 Dec 2026, 15:43 (Asia/Tokyo, JST)"
    assert formatting.date_time(at, "ja", "Asia/Tokyo") == "2026年12月3日 15:43（Asia/Tokyo、JST）"
    assert formatting.date_time(at, "en", None) == "3 Dec 2026, 06:43 (UTC)"
    assert formatting.date_time(at, "en", "Not/AZone") == "3 Dec 2026, 06:43 (UTC)"


def _snapshot_runs() -> dict:
    both = {"lr": 1e-5, "lr_source": "default-by-size", "zo_eps": 1e-3, "rank": 2, "nu": 50, "seed": 0}
    return {
        "poc": {
            "settings": {"steps": 1000, "batch_size": 16, "seed": 0, "device": "cpu", "label_words": None}
        },
        "runs": [
            {"method": "lozo", "label": "LOZO", "hyperparams": both},
            {"method": "adamw", "label": "AdamW", "hyperparams": both},  # as some runs record them: all keys
        ],
    }


@pytest.mark.parametrize("language", ["en", "ja"])
def test_settings_in_words_and_only_each_methods_own(language):
    view = settings_view(_snapshot_runs(), language)
    t = texts(language)
    assert (t["setting_steps"], "1,000") in view["common"]
    lozo, adamw = view["runs"]
    lozo_names = [name for name, _value, _note in lozo["items"]]
    adamw_names = [name for name, _value, _note in adamw["items"]]
    assert t["hp_zo_eps"] in lozo_names and t["hp_rank"] in lozo_names and t["hp_nu"] in lozo_names
    assert adamw_names == [t["hp_lr"], t["hp_weight_decay"]]  # no ZO setting under AdamW
    assert adamw["items"][0] == (t["hp_lr"], "1 × 10⁻⁵", t["lr_default-by-size"])
    shown = str(view)
    assert "=" not in shown and "default-by-size" not in shown and "zo_eps" not in shown


@pytest.mark.parametrize("language", ["en", "ja"])
def test_every_source_of_a_learning_rate_has_its_words(language):
    t = texts(language)
    for source in ("user", "default-by-size", "default-for-model", "probe"):
        snapshot = _snapshot_runs()
        snapshot["runs"][0]["hyperparams"] = {"lr": 2.5e-5, "lr_source": source}
        lozo = settings_view(snapshot, language)["runs"][0]
        assert lozo["items"][0] == (t["hp_lr"], "2.5 × 10⁻⁵", t[f"lr_{source}"])
        assert "default-" not in str(lozo)  # the words, never the code


def test_every_builtin_hyperparameter_has_its_words_in_both_languages():
    for method in all_methods():
        for parameter in method.hyperparameters:
            for language in ("en", "ja"):
                assert f"hp_{parameter.name}" in texts(language), parameter.name
            assert parameter.description in HYPERPARAMETER_EXPLANATIONS_JA, parameter.description


def test_accuracy_axis_shows_the_whole_scale():
    assert AXES["accuracy"]["range"] == [0, 1]
    assert AXES["loss"]["rangemode"] == AXES["memory"]["rangemode"] == "tozero"


def test_a_placeholder_gpu_is_listed_but_never_recommended():
    # none is shipped; an operator may list a server still to be priced as a placeholder
    assert not any(g.placeholder for g in gpus.load_catalog(""))
    entry = '{"id": "lab", "name": "Lab server", "memory_gb": 24, "hourly_price": 0.01, "kind": "own"'
    catalog = gpus.load_catalog(f'[{entry}, "placeholder": true}}]')
    placeholder = next(g for g in catalog if g.placeholder)
    # 20 GB fits the placeholder's 24 GB card, the cheapest of that size: still never chosen
    chosen, _count = gpus.smallest_fit(catalog, int(20e9))
    assert not chosen.placeholder and chosen.id != placeholder.id
    assert gpus.smallest_fit(catalog, int(20e9), kinds=("own",)) is None
    # once the operator describes it as real, it may be recommended
    edited = gpus.load_catalog(f"[{entry}}}]")
    assert gpus.smallest_fit(edited, int(20e9))[0].id == placeholder.id


def test_file_sizes_read_plainly():
    assert [formatting.size_bytes(n) for n in (812, 38_412, 1_234_567, 4_500_000_000)] == [
        "812 B",
        "38 KB",
        "1.2 MB",
        "4.5 GB",
    ]


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_report_says_what_can_be_taken_away_and_how_big(language):
    snapshot = {
        "runs": [
            {"label": "LOZO", "download": {"kind": "step_log", "bytes": 5_644, "steps": 200}},
            {"label": "AdamW", "download": {"kind": "model_folder", "bytes": None}},
            {"label": "MeZO", "download": {"kind": "step_log", "bytes": 5_644, "steps": 200}},
            {"label": "SGD", "download": {"kind": "model_folder", "bytes": 91_300_000}},
            {"label": "LOZO-M", "download": None},  # did not finish: nothing to take away
        ]
    }
    lozo, adamw, mezo, sgd = downloads_view(snapshot, language)
    assert lozo.startswith("LOZO") and "5.6 KB" in lozo and "200" in lozo and "replay" in lozo
    assert adamw.startswith("AdamW") and "KB" not in adamw and "transformers" in adamw
    assert "91 MB" in sgd
    assert mezo.startswith("MeZO")
