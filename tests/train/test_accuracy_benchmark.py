"""The statistics of benchmarks/accuracy.py (the benchmark itself is a measurement, run by hand)."""

import importlib.util
import math

import pytest

from tests.train.conftest import REPO


def _load():
    spec = importlib.util.spec_from_file_location("accuracy_bench", REPO / "benchmarks" / "accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_mcnemar_exact_matches_a_two_sided_binomial_test():
    stats = pytest.importorskip("scipy.stats")
    start = [1] * 6 + [0] * 15 + [1] * 50
    end = [0] * 6 + [1] * 15 + [1] * 50
    fixed, broken, p = bench.mcnemar_exact(start, end)
    assert (fixed, broken) == (15, 6)
    assert p == pytest.approx(stats.binomtest(6, 21, 0.5).pvalue)
    assert bench.mcnemar_exact([1, 0], [1, 0]) == (0, 0, 1.0)


def test_ci95_of_872_rows_is_about_1_6_to_3_3_points():
    assert bench.ci95(0.5, 872) == pytest.approx(0.0332, abs=1e-3)
    assert bench.ci95(0.9, 872) == pytest.approx(1.96 * math.sqrt(0.09 / 872))


def test_summary_and_markdown_rows():
    rows = [
        {
            "method": "lozo",
            "k": 16,
            "seed": s,
            "forward_passes": 40,
            "steps": 20,
            "lr": 1e-4,
            "acc_start": 0.6,
            "acc_end": 0.6 + 0.01 * s,
            "ci95": 0.03,
            "fixed": 5,
            "broken": 1,
            "mcnemar_p": 0.2,
            "significant": False,
            "final_train_loss": 0.2,
            "s_per_step": 0.3,
        }
        for s in (0, 2)
    ]
    (summary,) = bench.summarise(rows)
    assert summary["acc_end_mean"] == pytest.approx(0.61) and summary["seeds"] == 2
    assert summary["acc_end_std"] == pytest.approx(math.sqrt(2) * 0.01)
    table = bench.markdown_table(rows).splitlines()
    assert len(table) == 4 and "| 16 | 2 | lozo | 20 |" in table[3] and "+2.0" in table[3]


def _load_decoder():
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "accuracy_decoder", REPO / "benchmarks" / "accuracy_decoder.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["accuracy_decoder"] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def _row(method, k, seed, start, end, significant, **extra):
    return {
        "method": method,
        "k": k,
        "seed": seed,
        "forward_passes": 200,
        "steps": 100,
        "lr": 5e-5,
        "acc_start": start,
        "acc_end": end,
        "ci95": 0.03,
        "fixed": 30,
        "broken": 10,
        "p_value": 0.002,
        "significant": significant,
        "best_step": 75,
        "acc_best": end,
        "first_train_loss": 0.7,
        "final_train_loss": 0.6,
        "s_per_step": 8.0,
        "run_min": 19.5,
        "load_avg": [2.1, 2.3],
        **extra,
    }


def test_decoder_targets_are_measured_as_the_issue_states_them():
    decoder = _load_decoder()
    rows = [_row("lozo", 512, s, 0.65, 0.68, s != 2) for s in range(3)]
    rows += [_row("mezo", 512, s, 0.65, 0.675, False) for s in range(3)]
    rows += [_row("lozo", 16, s, 0.64, 0.645, False) for s in range(3)]
    t = decoder.targets(rows)
    assert t["lozo_significant_at_512"] == "2/3" and t["lozo_significant_at_512_met"]
    assert t["lozo_minus_mezo_mean"] == pytest.approx(0.005) and t["lozo_not_behind_mezo_met"]
    assert t["lozo_mean_gain"] == pytest.approx((3 * 0.03 + 3 * 0.005) / 6) and t["lozo_mean_gain_met"]
    rows[0]["acc_end"] = 0.60  # one bad seed drags LOZO more than half a point behind MeZO
    assert not decoder.targets(rows)["lozo_not_behind_mezo_met"]
    (lozo512, *_rest) = decoder.summarise(rows)
    assert lozo512["method"] == "lozo" and lozo512["k"] == 512 and lozo512["significant_gains"] == "2/3"
    assert "| 512 | 0 | lozo | 100 | 5e-05 | 65.0 |" in decoder.markdown_table(rows)


def test_decoder_preset_is_reached_through_accuracy_py():
    assert bench._without_decoder_preset(["--preset", "decoder", "--ks", "16"]) == ["--ks", "16"]
    assert bench._without_decoder_preset(["--json", "--preset=decoder"]) == ["--json"]
    assert bench._without_decoder_preset(["--preset", "quick"]) is None


def test_decoder_rows_of_the_two_lozo_conventions_are_kept_apart():
    decoder = _load_decoder()
    reference = _row("lozo", 512, 0, 0.65, 0.50, False)  # a row from before the option: no lozo_scale
    paper = _row("lozo", 512, 0, 0.65, 0.70, True, lozo_scale="paper")
    mezo = _row("mezo", 512, 0, 0.65, 0.69, True)
    rows = [reference, paper, mezo]
    assert decoder.with_scale(rows, "reference") == [reference, mezo]
    assert decoder.with_scale(rows, "paper") == [paper, mezo]
    assert decoder.lozo_scale(mezo) is None and decoder.lozo_scale(reference) == "reference"
    assert decoder.targets(decoder.with_scale(rows, "paper"))["lozo_minus_mezo_mean"] == pytest.approx(0.01)
    clipped = _row("lozo", 512, 0, 0.65, 0.71, True, lozo_scale="paper", zo_clip=2.0)
    adamw = _row("adamw", 512, 0, 0.65, 0.80, True)
    rows += [clipped, adamw]
    assert decoder.with_scale(rows, "paper", 2.0) == [clipped, adamw]  # first-order rows have no clip
    assert decoder.with_scale(rows, "paper") == [paper, mezo, adamw]
