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
    rows = [{"method": "lozo", "k": 16, "seed": s, "forward_passes": 40, "steps": 20, "lr": 1e-4,
             "acc_start": 0.6, "acc_end": 0.6 + 0.01 * s, "ci95": 0.03, "fixed": 5, "broken": 1,
             "mcnemar_p": 0.2, "significant": False, "final_train_loss": 0.2, "s_per_step": 0.3} for s in (0, 2)]
    (summary,) = bench.summarise(rows)
    assert summary["acc_end_mean"] == pytest.approx(0.61) and summary["seeds"] == 2
    assert summary["acc_end_std"] == pytest.approx(math.sqrt(2) * 0.01)
    table = bench.markdown_table(rows).splitlines()
    assert len(table) == 4 and "| 16 | 2 | lozo | 20 |" in table[3] and "+2.0" in table[3]
