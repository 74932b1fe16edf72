"""The loop on tiny models in-process: same start, events, step-0 accuracy, divergence, budgets, checkpoints."""

import itertools

import pytest
import torch

from common.runspec import RunSpec
from worker.train.data import iter_batches
from worker.train.events import EventWriter, pack_bits, unpack_bits
from worker.train.loop import StopFlag, prepare, run

TINY = dict(model="tiny-bert", dataset="demo-sentiment", steps=4, eval_every=2, batch_size=8, device="cpu")


def _run(**overrides):
    spec = RunSpec(**{"method": "lozo", **TINY, **overrides})
    writer = EventWriter(None)
    finished = run(spec, writer)
    return writer, finished


@pytest.mark.parametrize("model", ["tiny-bert", "tiny-gpt2"])
def test_same_seed_same_start_for_every_method(model):
    a = prepare(RunSpec(method="lozo", model=model, device="cpu", seed=5))
    b = prepare(RunSpec(method="adamw", model=model, device="cpu", seed=5))
    sa, sb = a.loaded.model.state_dict(), b.loaded.model.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a.task.train_texts == b.task.train_texts
    c = prepare(RunSpec(method="lozo", model=model, device="cpu", seed=6))
    assert not all(torch.equal(sa[k], c.loaded.model.state_dict()[k]) for k in sa)


def test_same_batch_sequence_for_every_method(monkeypatch):
    """Record the rows of every training batch the loop builds: ZO and backprop see the same sequence."""
    from worker.train import loop

    seen: list[list[int]] = []
    build = loop._batch
    monkeypatch.setattr(
        loop, "_batch", lambda loaded, task, idx: seen.append(list(idx)) or build(loaded, task, idx)
    )
    sequences = {}
    for method in ("lozo", "adamw", "mezo"):
        seen.clear()
        _run(method=method, steps=6, batch_size=4, k_shot=8)
        sequences[method] = list(seen)
    assert len(sequences["lozo"]) == 6
    assert sequences["lozo"] == sequences["adamw"] == sequences["mezo"]
    assert sequences["lozo"] == list(itertools.islice(iter_batches(16, 4, 0), 6))


def test_events_order_schema_and_step0_accuracy():
    writer, finished = _run(method="mezo")
    kinds = [e["event"] for e in writer.events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert [e["step"] for e in writer.events if e["event"] == "eval"] == [0, 2, 4]
    started = writer.events[0]
    assert started["hyperparams"]["lr_source"] == "default-by-size"
    assert started["model"]["kind"] == "encoder" and started["model"]["n_params"] > 0
    assert started["memory"]["baseline_rss_mb"] > 0
    step0 = writer.events[1]
    assert step0["forward_passes"] == 0 and step0["elapsed_s"] == 0.0
    bits = unpack_bits(step0["correct"], step0["n_eval"])
    assert sum(bits) / len(bits) == pytest.approx(step0["values"]["eval/accuracy"])
    assert finished["status"] == "succeeded" and finished["forward_passes"] == 8
    assert finished["summary"]["acc_start"] == step0["values"]["eval/accuracy"]
    metrics = writer.last_metrics
    assert metrics["step"] == 4 and set(metrics["values"]) >= {
        "train/loss",
        "train/lr",
        "memory/peak_rss_mb",
        "zo/projected_grad",
    }


def test_first_order_counts_backward_passes():
    _, finished = _run(method="adamw")
    assert (finished["forward_passes"], finished["backward_passes"]) == (4, 4)


def test_pack_bits_round_trip_and_order():
    assert pack_bits([1, 0, 0, 0, 0, 0, 0, 0, 1]) == "gIA="  # 0x80 0x80: example 0 is the high bit
    bits = [True, False, True, True, False] * 7
    assert unpack_bits(pack_bits(bits), len(bits)) == bits


def test_divergence_stops_with_reason():
    writer, finished = _run(method="sgd", lr=1e12, steps=50)
    assert finished["status"] == "failed"
    assert finished["reason"].startswith("diverged: loss became")
    assert f"at step {finished['step']}" in finished["reason"]
    assert finished["step"] < 50


def test_minutes_budget_ends_the_run():
    writer, finished = _run(steps=None, max_minutes=0.02, eval_every=10_000)
    assert finished["status"] == "succeeded"
    assert finished["step"] >= 1
    assert finished["elapsed_s"] >= 0.02 * 60


def test_stop_flag_cancels_after_the_current_step():
    spec = RunSpec(method="lozo", **{**TINY, "steps": 1000})
    stop = StopFlag()

    class StopAfterTwo(EventWriter):
        def emit(self, event, **fields):
            if event == "metrics" and fields["step"] == 2:
                stop.set()
            return super().emit(event, **fields)

    writer = StopAfterTwo(None)
    finished = run(spec, writer, stop)
    assert (finished["status"], finished["step"]) == ("cancelled", 2)


def test_checkpoint_holds_the_trained_weights_and_optimizer_state(tmp_path):
    from worker.train.loop import evaluate
    from worker.zo import LOZOM

    spec = RunSpec(method="lozo_m", checkpoint_dir=str(tmp_path / "ckpt"), **TINY)
    writer = EventWriter(None)
    finished = run(spec, writer)
    state = torch.load(finished["summary"]["checkpoint"], weights_only=False)
    assert state["step"] == 4 and RunSpec.from_dict(state["spec"]) == spec

    # The saved weights are the trained ones: loaded into a fresh start they differ from it and give the
    # run's own final accuracy.
    prep = prepare(spec)
    start = {k: v.clone() for k, v in prep.loaded.model.state_dict().items()}
    prep.loaded.model.load_state_dict(state["model"])
    assert any(not torch.equal(start[k], v) for k, v in prep.loaded.model.state_dict().items())
    _, accuracy, _ = evaluate(prep.loaded, prep.task.eval_texts, prep.task.eval_labels, spec.eval_batch_size)
    assert accuracy == finished["summary"]["acc_end"]

    # The optimizer state resumes: step counter and momentum are there.
    params = [p for p in prep.loaded.model.parameters() if p.requires_grad]
    optimizer = LOZOM(params, lr=state["lr"], seed=spec.seed)
    optimizer.load_state_dict(state["optimizer"])
    assert optimizer.num_steps == 4 and optimizer.forward_passes == 8
    assert all("momentum" in optimizer.state[p] for p in params)


def test_bad_data_fails_with_a_readable_reason(tmp_path):
    bad = tmp_path / "one_class.csv"
    bad.write_text("text,label\na,x\nb,x\n")
    writer, finished = _run(dataset=str(bad))
    assert finished["status"] == "failed" and "only 1 class" in finished["reason"]


def test_user_lr_and_probe_are_reported():
    writer, _ = _run(method="adamw", lr=3e-5)
    assert writer.events[0]["hyperparams"]["lr"] == 3e-5
    assert writer.events[0]["hyperparams"]["lr_source"] == "user"
    writer, _ = _run(method="lozo", lr_probe=True)
    h = writer.events[0]["hyperparams"]
    assert h["lr_source"] == "probe"
    tried = h["lr_probe"]["loss_by_lr"]
    assert len(tried) == 4 and h["lr"] in [float(k) for k in tried]
    assert h["lr_probe"]["loss_on"] == "validation"  # never the reported evaluation rows
    writer, _ = _run(method="lozo", lr_probe=True, k_shot=None)  # every row trains: no validation rows
    assert writer.events[0]["hyperparams"]["lr_probe"]["loss_on"] == "training"


def test_invalid_spec_is_refused():
    with pytest.raises(ValueError, match="unknown method 'adam'"):
        RunSpec(method="adam")
    with pytest.raises(ValueError, match="stepz: Extra inputs are not permitted"):
        RunSpec.from_dict({"method": "lozo", "stepz": 3})
    with pytest.raises(ValueError, match="zo_eps: Input should be greater than 0"):
        RunSpec.from_dict({"method": "lozo", "zo_eps": 0})


def _run_streamed(**overrides):
    """Like _run, with every event (metrics included) read back from the JSONL stream."""
    import io
    import json

    stream = io.StringIO()
    finished = run(RunSpec(**{"method": "lozo", **TINY, **overrides}), EventWriter(stream))
    return [json.loads(line) for line in stream.getvalue().splitlines()], finished


def test_a_prompt_run_reports_its_prompt_calibration_validation_best_step_and_eta():
    events, finished = _run_streamed(model="tiny-gpt2", val_size=12)
    writer = type("Events", (), {"events": [e for e in events if e["event"] != "metrics"]})
    started = writer.events[0]
    prompt = started["prompt"]
    assert prompt["template"] == "{text} It was {mask}." and prompt["label_words"] == ["terrible", "great"]
    assert prompt["calibration"] == "content_free" and len(prompt["class_bias"]) == 2
    assert started["model"]["scoring"] == "next_token" and started["n_val"] == 12
    evals = [e for e in writer.events if e["event"] == "eval"]
    assert all({"val/accuracy", "val/loss", "eval/accuracy"} <= set(e["values"]) for e in evals)
    best = max(evals, key=lambda e: (e["values"]["val/accuracy"], -e["step"]))  # first of the best
    summary = finished["summary"]
    assert summary["best_step"] == best["step"] == evals[-1]["best"]["step"]
    assert summary["acc_best"] == best["values"]["eval/accuracy"]
    assert summary["best_val_accuracy"] == best["values"]["val/accuracy"] and summary["n_val"] == 12
    metrics = [e for e in events if e["event"] == "metrics"]
    assert len(metrics) == 4 and all(e["s_per_step"] > 0 and e["eta_s"] >= 0 for e in metrics)
    assert metrics[0]["eta_s"] > metrics[-1]["eta_s"]


def test_an_encoder_with_a_head_has_no_prompt_and_an_eta_only_with_a_budget():
    events, _ = _run_streamed(steps=2)
    assert events[0]["prompt"] is None
    assert all(e["eta_s"] is not None for e in events if e["event"] == "metrics")
    stop = StopFlag()
    writer = EventWriter(None)

    def stop_after_first_metrics(event, **fields):
        record = EventWriter.emit(writer, event, **fields)
        if event == "metrics":
            stop.set()
        return record

    writer.emit = stop_after_first_metrics
    run(RunSpec(**{"method": "lozo", **TINY, "steps": None}), writer, stop)
    assert writer.last_metrics["eta_s"] is None  # no step budget, no minutes budget: no end to foresee


def test_a_pair_task_runs_prompt_based(tmp_path):
    path = tmp_path / "nli.csv"
    path.write_text(
        "premise,hypothesis,label\n"
        + "".join(
            f"a man sleeps {i},a person rests {i},{'entailment' if i % 2 else 'contradiction'}\n"
            for i in range(40)
        )
    )
    writer, finished = _run(
        model="tiny-gpt2", dataset=str(path), text_column="premise", text_b_column="hypothesis", k_shot=4
    )
    assert finished["status"] == "succeeded", finished["reason"]
    prompt = writer.events[0]["prompt"]
    assert prompt["task_kind"] == "pair" and prompt["label_words"] == ["No", "Yes"]


def test_wrong_label_words_fail_with_a_readable_reason():
    _, finished = _run(model="tiny-gpt2", label_words=["bad", "good", "fine"])
    assert finished["status"] == "failed" and "one label word per label" in finished["reason"]


@pytest.mark.parametrize("method", ["adamw", "lozo"])
def test_several_token_label_words_train_with_gradients_and_without(method):
    writer, finished = _run(model="tiny-gpt2", method=method, label_words=["very bad", "really quite good"])
    assert finished["status"] == "succeeded", finished["reason"]
    assert [len(t) for t in writer.events[0]["prompt"]["label_tokens"]] == [2, 3]
    assert finished["summary"]["final_train_loss"] > 0


def test_a_run_that_fails_half_way_reports_where_it_was():
    spec = RunSpec(method="lozo", **{**TINY, "steps": 10, "eval_every": 100})

    class BreaksAtStepThree(EventWriter):
        def emit(self, event, **fields):
            if event == "metrics" and fields["step"] == 3:
                raise RuntimeError("disk full")
            return super().emit(event, **fields)

    finished = run(spec, BreaksAtStepThree(None))
    assert finished["status"] == "failed" and finished["reason"] == "RuntimeError: disk full"
    # Step 3's metrics were never written: the last step reported is 2, with its passes and time.
    assert (finished["step"], finished["forward_passes"]) == (2, 4)
    assert finished["elapsed_s"] > 0 and finished["summary"]["acc_start"] is not None
    assert finished["summary"]["final_train_loss"] is not None
