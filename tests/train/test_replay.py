"""Step logs on tiny random models: replay gives the trained weights bit for bit, a run continued from its
log or checkpoint ends where the uninterrupted run ends, and an export loads with transformers."""

import json

import pytest
import torch

from common.runspec import RunSpec
from common.steplog import (
    EVENT_KIND,
    StepLogHeader,
    decode,
    encode_json,
    records_from_event,
)
from worker.train.events import EventWriter, unpack_bits
from worker.train.loop import RESUME_FILE, STEP_LOG_FILE, evaluate, run
from worker.train.replay import (
    export_folder,
    load_exported,
    progress_path,
    replay,
    spec_from_header,
    start_from_header,
)
from worker.train.weights import weights_sha256

from tests.train.conftest import run_cli

# nu=3: LOZO redraws V inside the run, so replay crosses periods (and LOZO-M projects its momentum)
TINY = dict(
    model="tiny-bert", dataset="demo-sentiment", batch_size=4, k_shot=8, device="cpu", nu=3, val_size=8
)
ZO = ("lozo", "mezo", "lozo_m")


def _run(resume_file=None, **fields):
    writer = EventWriter(None)
    finished = run(RunSpec(**{**TINY, **fields}), writer, resume_file=resume_file)
    assert finished["status"] == "succeeded", finished["reason"]
    return writer, finished


def _log(writer):
    started = next(e for e in writer.events if e["event"] == "started")
    header = StepLogHeader.from_dict(started["step_log_header"])
    batches = [e for e in writer.events if e["event"] == EVENT_KIND]
    return header, [r for e in batches for r in records_from_event(e)], batches


def _evals(writer):
    return {
        e["step"]: (unpack_bits(e["correct"], e["n_eval"]), e["values"])
        for e in writer.events
        if e["event"] == "eval"
    }


@pytest.mark.parametrize("method", ZO)
def test_replay_rebuilds_the_weights_of_every_step_bit_for_bit(method):
    full, done = _run(method=method, steps=11, eval_every=20)
    _, shorter = _run(method=method, steps=5, eval_every=20)
    header, records, batches = _log(full)
    assert [r.step for r in records] == list(range(1, 12))
    assert [b["step"] for b in batches] == [10, 11]  # every 10 steps and at the end
    assert shorter["summary"]["weights_sha256"] != done["summary"]["weights_sha256"]
    for upto, expected in ((5, shorter), (11, done)):
        prep = start_from_header(header)
        replay(prep.loaded.model, header, records, upto_step=upto)
        assert weights_sha256(prep.loaded.model) == expected["summary"]["weights_sha256"]


def test_a_clipped_run_replays_bit_for_bit_from_its_log():
    """zo_clip is a function of the recorded losses: the header's spec carries it and replay reproduces it."""
    clipped, done = _run(method="lozo", steps=14, eval_every=20, zo_clip=1.0)
    _, unclipped = _run(method="lozo", steps=14, eval_every=20)
    assert done["summary"]["weights_sha256"] != unclipped["summary"]["weights_sha256"]  # the bound acted
    header, records, _ = _log(clipped)
    assert header.zo_clip == 1.0 and spec_from_header(header).zo_clip == 1.0
    prep = start_from_header(header)
    replay(prep.loaded.model, header, records)
    assert weights_sha256(prep.loaded.model) == done["summary"]["weights_sha256"]


@pytest.mark.parametrize("method", ZO)
def test_a_zo_run_continued_from_its_log_ends_like_the_uninterrupted_run(method, tmp_path):
    whole, whole_done = _run(method=method, steps=9, eval_every=3)
    part, _ = _run(method=method, steps=4, eval_every=3, checkpoint_dir=str(tmp_path))
    log = tmp_path / STEP_LOG_FILE
    header, records = decode(log.read_bytes())
    assert len(records) == 4 and json.loads(progress_path(log).read_text())["step"] == 4
    rest, rest_done = _run(method=method, steps=9, eval_every=3, resume_file=log)
    assert rest_done["summary"]["weights_sha256"] == whole_done["summary"]["weights_sha256"]
    assert rest_done["summary"]["resumed_from_step"] == 4
    continued, uninterrupted = _evals(rest), _evals(whole)
    assert sorted(continued) == [6, 9]  # no evaluation is repeated
    for step, result in continued.items():
        assert result == uninterrupted[step]
    for key in ("acc_start", "acc_end", "best_step", "acc_best", "final_train_loss", "lr"):
        assert rest_done["summary"][key] == whole_done["summary"][key], key
    assert rest_done["forward_passes"] == whole_done["forward_passes"] == 18
    # the continued run sends only its own steps, the log file holds them all
    assert [r.step for r in _log(rest)[1]] == list(range(5, 10))


def test_a_log_rebuilt_from_the_events_continues_the_run(tmp_path):
    """What the service does: header from `started`, records and progress from the `zo_steps` events."""
    whole, whole_done = _run(method="lozo", steps=13, eval_every=5)
    part, _ = _run(method="lozo", steps=13, eval_every=5)
    header, records, batches = _log(part)
    # a worker that died after step 12 had sent the batch of steps 1..10 only
    header.progress = batches[0]["progress"]
    sent = [r for r in records if r.step <= 10]
    path = tmp_path / "log.json"
    path.write_bytes(encode_json(header, sent))
    rest, rest_done = _run(method="lozo", steps=13, eval_every=5, resume_file=path)
    assert rest_done["summary"]["weights_sha256"] == whole_done["summary"]["weights_sha256"]
    assert _evals(rest)[13] == _evals(whole)[13]
    assert rest_done["summary"]["acc_start"] == whole_done["summary"]["acc_start"]


def test_a_log_file_cut_by_a_kill_continues_from_its_last_recorded_batch(tmp_path):
    """Killed while appending steps 11..13: the file ends in a partial record, the progress is step 10's."""
    whole, whole_done = _run(method="lozo_m", steps=13, eval_every=5)
    part, _ = _run(method="lozo_m", steps=13, eval_every=5, checkpoint_dir=str(tmp_path))
    log = tmp_path / STEP_LOG_FILE
    data = log.read_bytes()
    assert len(decode(data)[1]) == 13
    log.write_bytes(data[: len(data) - 3 * 28 + 5])
    with pytest.raises(ValueError, match="truncated"):
        decode(log.read_bytes())
    progress_path(log).write_text(json.dumps(_log(part)[2][0]["progress"]))
    rest, rest_done = _run(method="lozo_m", steps=13, eval_every=5, resume_file=log)
    assert rest_done["summary"]["resumed_from_step"] == 10
    assert rest_done["summary"]["weights_sha256"] == whole_done["summary"]["weights_sha256"]
    assert rest_done["summary"]["acc_start"] == whole_done["summary"]["acc_start"]
    assert _evals(rest)[13] == _evals(whole)[13]


def test_a_log_of_another_run_is_refused(tmp_path):
    _run(method="lozo", steps=2, checkpoint_dir=str(tmp_path))
    writer = EventWriter(None)
    finished = run(
        RunSpec(**{**TINY, "method": "lozo", "steps": 4, "seed": 1}),
        writer,
        resume_file=tmp_path / STEP_LOG_FILE,
    )
    assert finished["status"] == "failed"
    assert "another run: seed differ" in finished["reason"]


@pytest.mark.parametrize("method", ["adamw", "lozo_m", "lora"])
def test_a_run_continued_from_its_checkpoint_ends_like_the_uninterrupted_run(method, tmp_path):
    whole, whole_done = _run(method=method, steps=6, eval_every=3)
    part, _ = _run(
        method=method, steps=4, eval_every=3, checkpoint_dir=str(tmp_path), checkpoint_every_min=1e-9
    )
    saved = torch.load(tmp_path / RESUME_FILE, weights_only=True)
    assert saved["step"] == 4 and saved["progress"]["step"] == 4
    rest, rest_done = _run(method=method, steps=6, eval_every=3, resume_file=tmp_path / RESUME_FILE)
    assert rest_done["summary"]["weights_sha256"] == whole_done["summary"]["weights_sha256"]
    assert _evals(rest)[6] == _evals(whole)[6]
    assert rest_done["backward_passes"] == whole_done["backward_passes"]


def test_checkpoint_every_min_needs_a_folder():
    with pytest.raises(ValueError, match="checkpoint_every_min needs checkpoint_dir"):
        RunSpec.from_dict({"method": "adamw", "checkpoint_every_min": 5})


@pytest.mark.parametrize("model", ["tiny-bert", "tiny-gpt2"])
def test_the_export_loads_with_transformers_and_evaluates_the_same(model, tmp_path):
    import transformers

    writer, done = _run(method="lozo", model=model, steps=6, eval_every=6)
    header, records, _ = _log(writer)
    prep = start_from_header(header)
    replay(prep.loaded.model, header, records)
    assert weights_sha256(prep.loaded.model) == done["summary"]["weights_sha256"]
    spec = spec_from_header(header)
    export_folder(prep, spec, tmp_path / "out")
    # the backbone is a plain transformers folder: an encoder (the head beside it) or a causal LM
    auto, backbone = (
        (transformers.AutoModel, prep.loaded.model.encoder)
        if model == "tiny-bert"
        else (transformers.AutoModelForCausalLM, prep.loaded.model.lm)
    )
    reloaded = auto.from_pretrained(tmp_path / "out").state_dict()
    trained = backbone.state_dict()
    assert trained and all(torch.equal(reloaded[name], value) for name, value in trained.items())
    loaded, meta = load_exported(tmp_path / "out")
    assert weights_sha256(loaded.model) == done["summary"]["weights_sha256"]
    task = prep.task
    ours = evaluate(loaded, task.eval_texts, task.eval_labels, 64)
    assert ours == evaluate(prep.loaded, task.eval_texts, task.eval_labels, 64)
    assert ours[2] == _evals(writer)[6][0]
    assert meta["label_names"] == task.label_names


def test_replay_and_resume_from_the_command_line(tmp_path):
    spec = {**TINY, "method": "lozo", "steps": 6, "eval_every": 3}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    first = run_cli(
        "--spec-file",
        str(tmp_path / "spec.json"),
        "--steps",
        "3",
        "--checkpoint-dir",
        str(tmp_path / "ck"),
        "--events-out",
        str(tmp_path / "a.jsonl"),
        "--no-progress",
    )
    assert first.returncode == 0, first.stderr
    log = tmp_path / "ck" / STEP_LOG_FILE
    second = run_cli(
        "--spec-file",
        str(tmp_path / "spec.json"),
        "--resume-file",
        str(log),
        "--checkpoint-dir",
        str(tmp_path / "ck"),
        "--events-out",
        str(tmp_path / "b.jsonl"),
        "--no-progress",
    )
    assert second.returncode == 0, second.stderr
    events = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert events[0]["resumed_from_step"] == 3
    assert [e["step"] for e in events if e["event"] == "metrics"] == [4, 5, 6]
    sha = events[-1]["summary"]["weights_sha256"]
    # the continued run's own log covers all 6 steps: replay it from the command line
    out = run_cli("replay", "--log", str(log), "--out", str(tmp_path / "export"))
    assert out.returncode == 0, out.stderr
    assert f"weights_sha256 {sha}" in out.stdout
    assert "forward passes" in out.stdout
    assert (tmp_path / "export" / "config.json").exists()


def test_export_of_a_finished_runs_checkpoint(tmp_path):
    _, done = _run(method="adamw", steps=3, eval_every=3, checkpoint_dir=str(tmp_path / "ck"))
    out = run_cli("export", "--checkpoint", done["summary"]["checkpoint"], "--out", str(tmp_path / "export"))
    assert out.returncode == 0, out.stderr
    assert f"weights_sha256 {done['summary']['weights_sha256']}" in out.stdout
    loaded, meta = load_exported(tmp_path / "export")
    assert weights_sha256(loaded.model) == done["summary"]["weights_sha256"]
    assert meta["step"] == 3


def test_export_of_a_lora_run_is_a_plain_model_with_its_adapters_merged(tmp_path):
    import transformers

    from worker.train.loop import prepare

    writer, done = _run(method="lora", lr=1e-2, steps=3, eval_every=3, checkpoint_dir=str(tmp_path / "ck"))
    out = run_cli("export", "--checkpoint", done["summary"]["checkpoint"], "--out", str(tmp_path / "export"))
    assert out.returncode == 0, out.stderr
    # transformers alone reads it: no adapter left, the pretrained architecture and names
    plain = transformers.AutoModel.from_pretrained(tmp_path / "export")
    assert not any("lora_" in name for name, _ in plain.named_parameters())
    loaded, meta = load_exported(tmp_path / "export")
    task = prepare(RunSpec(**{**TINY, "method": "lora"})).task
    _loss, accuracy, bits = evaluate(loaded, task.eval_texts, task.eval_labels, 64)
    assert bits == _evals(writer)[3][0], "the merged model answers every evaluation example as the run did"
    assert accuracy == done["summary"]["acc_end"]
    assert meta["step"] == 3
