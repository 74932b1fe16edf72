"""Head start and learning-rate defaults."""

import pytest
import torch

from worker.train.heads import centroid_head, default_lr, default_lr_for_model, probe_candidates


def test_centroid_head_predicts_the_most_similar_prototype():
    centroids = torch.tensor([[4.0, 0.0], [0.0, 1.0]])
    w, b = centroid_head(centroids, scale=2.0)
    assert torch.allclose(w.norm(dim=1), torch.tensor([2.0, 2.0]))
    feats = torch.tensor([[1.0, 0.2], [0.1, 3.0]])
    assert (feats @ w.T + b).argmax(1).tolist() == [0, 1]


def test_default_lr_by_size():
    assert default_lr("lozo", 22_700_000) == pytest.approx(1e-4, rel=0.05)  # measured on MiniLM
    assert default_lr("mezo", 350_000_000) == pytest.approx(1e-6)  # MeZO paper, RoBERTa-large
    assert default_lr("lozo_m", 13_000_000_000) == pytest.approx(1e-7)
    sizes = [1e6, 5e7, 1e8, 1e9, 1e10, 1e11]
    lrs = [default_lr("lozo", int(n)) for n in sizes]
    assert lrs == sorted(lrs, reverse=True)
    assert default_lr("adamw", 22_700_000) == 1e-5
    with pytest.raises(ValueError, match="unknown method"):
        default_lr("adam", 10)


def test_a_built_in_model_with_a_measured_zo_rate_uses_it():
    # SmolLM2's rate was measured at a PoC's budget; the size rule would give 5e-6 for its 134.5M weights.
    assert default_lr("lozo", 134_515_008) == pytest.approx(5e-6, rel=0.1)
    for method in ("lozo", "lozo_m", "mezo"):
        assert default_lr_for_model("smollm2-135m", method, 134_515_008) == (2.5e-5, "default-for-model")
    # first-order methods keep the registry's rate; models without a measurement keep the size rule
    assert default_lr_for_model("smollm2-135m", "adamw", 134_515_008) == (1e-5, "default-by-size")
    assert default_lr_for_model("minilm", "lozo", 22_700_000) == (
        default_lr("lozo", 22_700_000),
        "default-by-size",
    )
    assert default_lr_for_model("acme/lm", "mezo", 134_515_008) == (
        default_lr("mezo", 134_515_008),
        "default-by-size",
    )


def test_probe_candidates_bracket_the_default():
    c = probe_candidates(1e-4)
    assert min(c) < 1e-4 < max(c) and 1e-4 in c


@pytest.mark.slow
def test_prototype_start_beats_random_head_on_minilm():
    from common.runspec import RunSpec
    from worker.train.loop import evaluate, prepare

    accs = {}
    for mode in ("prototype", "random", "label_words"):
        prep = prepare(RunSpec(method="lozo", head_init=mode, device="cpu", eval_size=80))
        assert prep.head_init == mode
        _, accs[mode], _ = evaluate(prep.loaded, prep.task.eval_texts, prep.task.eval_labels, 64)
    assert accs["prototype"] >= 0.65  # measured 75% on the demo task
    assert accs["prototype"] > accs["random"] + 0.1
