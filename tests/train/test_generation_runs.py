"""Generation runs of tiny-gpt2 on demo-dates through the whole loop: events, same batches, checkpoints."""

import itertools

import pytest

from common.runspec import RunSpec
from worker.train import loop
from worker.train.data import iter_batches
from worker.train.events import EventWriter, unpack_bits
from worker.train.generation import build_generation_task
from worker.train.models import load_causal_lm

GEN = dict(
    model="tiny-gpt2",
    dataset="demo-dates",
    task_type="generation",
    steps=4,
    eval_every=2,
    batch_size=4,
    eval_size=6,
    val_size=4,
    max_new_tokens=4,
    max_length=48,
    device="cpu",
)


def _run(method: str, **overrides):
    spec = RunSpec(**{"method": method, **GEN, **overrides})
    writer = EventWriter(None)
    return writer, loop.run(spec, writer)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One run of each method, recording the training pairs of every step's objective."""
    seen: dict[str, list[list[str]]] = {}
    closure = loop.loss_closure
    out = {}
    for method in ("lozo", "mezo", "adamw"):
        seen[method] = []

        def spy(loaded, pairs, *args, _m=method, **kwargs):
            seen[_m].append([p.prompt for p in pairs])
            return closure(loaded, pairs, *args, **kwargs)

        loop.loss_closure = spy
        try:
            folder = tmp_path_factory.mktemp(method)
            out[method] = (*_run(method, checkpoint_dir=str(folder)), folder)
        finally:
            loop.loss_closure = closure
    return out, seen


@pytest.mark.parametrize("method", ["lozo", "mezo", "adamw"])
def test_a_generation_run_reports_loss_f1_and_exact_match(runs, method):
    writer, finished, folder = runs[0][method]
    assert finished["status"] == "succeeded", finished["reason"]
    started = writer.events[0]
    assert started["task_type"] == "generation" and started["model"]["scoring"] == "generation"
    assert (started["n_train"], started["n_eval"], started["n_val"]) == (400, 6, 4)
    evals = [e for e in writer.events if e["event"] == "eval"]
    assert [e["step"] for e in evals] == [0, 2, 4]
    for e in evals:
        values = e["values"]
        for key in (
            "eval/loss",
            "eval/perplexity",
            "eval/f1",
            "eval/exact_match",
            "val/f1",
            "val/exact_match",
        ):
            assert key in values
        assert values["eval/loss"] > 0 and 0 <= values["eval/f1"] <= 1
        assert e["n_eval"] == 6 and len(e["f1_per_example"]) == 6
        bits = unpack_bits(e["correct"], e["n_eval"])
        assert sum(bits) / 6 == pytest.approx(values["eval/exact_match"])
        assert sum(e["f1_per_example"]) / 6 == pytest.approx(values["eval/f1"], abs=1e-5)
    # a few generations at the first and the last evaluation only
    assert "examples" in evals[0] and "examples" in evals[-1] and "examples" not in evals[1]
    example = evals[-1]["examples"][0]
    assert set(example) == {"prompt", "reference", "generated", "exact_match", "f1"}
    assert example["prompt"] == build_generation_task("demo-dates", eval_size=6).eval[0].prompt
    summary = finished["summary"]
    assert summary["f1_start"] == evals[0]["values"]["eval/f1"]
    assert summary["em_end"] == summary["acc_end"] == evals[-1]["values"]["eval/exact_match"]
    assert summary["eval_loss_end"] == evals[-1]["values"]["eval/loss"]
    # the weights moved: the completion loss on the evaluation pairs is not the start's
    assert summary["eval_loss_end"] != summary["eval_loss_start"]
    assert (folder / "checkpoint.pt").is_file() and (folder / "best.pt").is_file()
    assert finished["forward_passes"] == (8 if method != "adamw" else 4)


def test_every_method_sees_the_same_batches(runs):
    _, seen = runs
    train = build_generation_task("demo-dates").train
    expected = [[train[i].prompt for i in idx] for idx in itertools.islice(iter_batches(400, 4, 0), 4)]
    assert seen["lozo"] == seen["mezo"] == seen["adamw"] == expected


def test_every_method_starts_from_the_same_evaluation(runs):
    out, _ = runs
    starts = [[e for e in out[m][0].events if e["event"] == "eval"][0]["values"] for m in out]
    assert starts[0] == starts[1] == starts[2]


def test_zo_runs_keep_a_step_log(runs):
    out, _ = runs
    assert out["lozo"][1]["summary"]["step_log"] and out["adamw"][1]["summary"]["step_log"] is None


def test_adamw_learns_the_completions():
    """A large enough step of backprop lowers the completion loss of held-out dates within a few steps."""
    _, finished = _run("adamw", lr=1e-2, steps=6, eval_every=6)
    s = finished["summary"]
    assert s["eval_loss_end"] < s["eval_loss_start"] - 0.5


def test_metric_objective_runs_with_zo():
    writer, finished = _run("mezo", zo_objective="neg_f1", steps=2, eval_every=2)
    assert finished["status"] == "succeeded", finished["reason"]
    # the training "loss" is −F1 of the batch's generations: between -1 and 0
    assert -1.0 <= writer.last_metrics["values"]["train/loss"] <= 0.0


def test_an_encoder_cannot_generate():
    with pytest.raises(ValueError, match="decoder"):
        load_causal_lm("tiny-bert", device="cpu")


def test_cancel_stops_a_generation_run():
    stop = loop.StopFlag()
    stop.set()
    spec = RunSpec(method="lozo", **{**GEN, "steps": 50})
    finished = loop.run(spec, EventWriter(None), stop)
    assert finished["status"] == "cancelled" and finished["step"] == 1


def test_a_zo_generation_run_continues_from_its_step_log(tmp_path):
    """Stopped at step 3 and continued from its step log, a run ends with the weights of the run that
    went straight to step 6 (same batches, same noise)."""
    _, straight = _run("lozo", steps=6, eval_every=3)
    _, first = _run("lozo", steps=3, eval_every=3, checkpoint_dir=str(tmp_path))
    spec = RunSpec(method="lozo", **{**GEN, "steps": 6, "eval_every": 3})
    continued = loop.run(spec, EventWriter(None), resume_file=tmp_path / "steps.zolog")
    assert continued["status"] == "succeeded", continued["reason"]
    assert continued["summary"]["resumed_from_step"] == 3
    assert continued["summary"]["weights_sha256"] == straight["summary"]["weights_sha256"]
    assert first["summary"]["weights_sha256"] != straight["summary"]["weights_sha256"]


def test_cli_prints_loss_f1_and_exact_match():
    from tests.train.conftest import run_cli

    proc = run_cli(
        "--model", "tiny-gpt2", "--dataset", "demo-dates", "--task-type", "generation", "--method", "lozo",
        "--steps", "2", "--eval-size", "4", "--val-size", "4", "--max-new-tokens", "4", "--batch-size", "4",
        "--device", "cpu", "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "exact match" in x)
    assert "F1" in line and "completion loss" in line


def test_lora_adapts_the_decoder_of_a_generation_run():
    writer, finished = _run("lora", steps=2, eval_every=2)
    assert finished["status"] == "succeeded", finished["reason"]
    model = writer.events[0]["model"]
    assert 0 < model["n_trainable"] < model["n_params"]
    assert finished["summary"]["eval_loss_end"] != finished["summary"]["eval_loss_start"]


@pytest.mark.parametrize("method", ["lozo", "adamw"])
def test_a_generation_run_exports_a_causal_lm_that_writes_the_runs_answers(runs, method, tmp_path):
    """The model folder of a generation run (a ZO run replayed from its log, AdamW from its checkpoint)
    loads with AutoModelForCausalLM alone and writes, greedily, what the run wrote at its last evaluation."""
    import transformers

    from tests.train.conftest import run_cli

    writer, finished, folder = runs[0][method]
    source = ["replay", "--log", str(folder / loop.STEP_LOG_FILE)] if method == "lozo" else [
        "export", "--checkpoint", finished["summary"]["checkpoint"]
    ]  # fmt: skip
    out = run_cli(*source, "--out", str(tmp_path / "export"))
    assert out.returncode == 0, out.stderr
    assert f"weights_sha256 {finished['summary']['weights_sha256']}" in out.stdout
    model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "export")
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "export")
    last = [e for e in writer.events if e["event"] == "eval"][-1]
    example = last["examples"][0]
    from common.pairs import Pair
    from worker.train.generation import prompt_ids

    ids = prompt_ids(tokenizer, Pair(example["prompt"], example["reference"]))
    import torch

    written = model.generate(
        torch.tensor([ids]), max_new_tokens=GEN["max_new_tokens"], do_sample=False,
        pad_token_id=tokenizer.eos_token_id or 0,
    )  # fmt: skip
    text = tokenizer.decode(written[0, len(ids) :], skip_special_tokens=True).strip()
    assert text == example["generated"].strip()
    # the engine reads the folder back as the causal LM it trained
    from worker.train.replay import load_exported
    from worker.train.weights import weights_sha256

    loaded, meta = load_exported(tmp_path / "export")
    assert meta["task_type"] == "generation"
    assert weights_sha256(loaded.model) == finished["summary"]["weights_sha256"]
