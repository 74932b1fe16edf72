"""Generation datasets (prompt -> completion pairs): upload of each layout, their refusals, and the
preview rendered as a model will see it."""

from __future__ import annotations

import pytest

import json

from backend.core.config import get_settings
from backend.db.models import Dataset
from tests.support.db import count_rows, files_under

# A hand-written template: each turn on its own lines, then the assistant's opening when asked for.
TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def jsonl(*records: object) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode() + b"\n"


def upload(client, name: str, data: bytes):
    return client.post("/api/datasets", files={"file": (name, data)})


def test_a_prompt_completion_csv_is_a_generation_dataset(client, settings):
    files_before = files_under(settings.data_dir)
    data = b"prompt,completion\nCapital of France?,Paris\n2 + 2 =,4\n"
    response = upload(client, "qa.csv", data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["kind"], body["layout"], body["n_rows"], body["labels"]) == (
        "generation",
        "prompt_completion",
        2,
        [],
    )
    assert body["preview"] == {
        "rows": [],
        "pairs": [
            {"prompt": "Capital of France?", "completion": "Paris"},
            {"prompt": "2 + 2 =", "completion": "4"},
        ],
    }
    # Stored the same way as a labelled file: the bytes as sent, under a generated name.
    (stored,) = [f for f in files_under(settings.data_dir) if f not in files_before]
    assert stored.read_bytes() == data
    assert client.get(f"/api/datasets/{body['id']}").json() == body


def test_instruction_and_chat_jsonl_are_generation_datasets(client):
    instruction = jsonl({"instruction": "Translate.", "input": "Good morning", "output": "Bonjour"})
    body = upload(client, "alpaca.jsonl", instruction).json()
    assert (body["kind"], body["layout"]) == ("generation", "instruction")
    assert body["preview"]["pairs"] == [{"prompt": "Translate.\n\nGood morning", "completion": "Bonjour"}]

    chat = jsonl(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
            ]
        }
    )
    body = upload(client, "chat.jsonl", chat).json()
    assert (body["kind"], body["layout"], body["n_rows"]) == ("generation", "chat", 1)
    assert body["preview"]["pairs"] == [{"prompt": "System: Be brief.\n\nUser: Hi", "completion": "Hello"}]


def test_a_shift_jis_generation_csv_is_accepted(client):
    data = "prompt,completion\r\n日本の首都は？,東京です\r\n".encode("cp932")
    body = upload(client, "質問.csv", data).json()
    assert body["kind"] == "generation"
    assert body["preview"]["pairs"] == [{"prompt": "日本の首都は？", "completion": "東京です"}]


def test_a_labelled_file_stays_a_classification_dataset(client):
    body = upload(client, "l.csv", b"text,label\ngood,pos\nbad,neg\n").json()
    assert (body["kind"], body["layout"], body["preview"]["pairs"]) == ("classification", None, [])
    assert body["preview"]["rows"][0] == {"text": "good", "label": "pos"}


def test_problems_of_a_generation_file_carry_codes_and_nothing_is_stored(client, sessions, settings):
    before, files_before = count_rows(sessions, Dataset), files_under(settings.data_dir)
    data = (
        jsonl(
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]},
            {"messages": [{"role": "user", "content": "No answer"}]},
        )
        + b"{not json\n"
    )
    response = upload(client, "chat.jsonl", data)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["message"] == "chat.jsonl: 2 problems found; nothing was stored"
    assert detail["errors"][0] == {
        "row": 3,
        "field": "row",
        "problem": detail["errors"][0]["problem"],
        "code": "not_json",
        "params": {"detail": detail["errors"][0]["params"]["detail"]},
    }
    assert detail["errors"][1] == {
        "row": 2,
        "field": "messages",
        "problem": "the chat has no assistant turn to learn from",
        "code": "chat_no_assistant",
        "params": {},
    }
    assert count_rows(sessions, Dataset) == before
    assert files_under(settings.data_dir) == files_before


def test_a_missing_column_names_the_columns_found_and_the_layouts_accepted(client):
    response = upload(client, "p.csv", b"prompt,answer\nhi,hello\n")
    assert response.status_code == 422
    (error,) = response.json()["detail"]["errors"]
    assert (error["row"], error["field"], error["code"]) == (None, "file", "no_pair_layout")
    assert error["params"]["columns"] == "['prompt', 'answer']"
    assert "prompt + completion" in error["params"]["accepted"]


def test_the_preview_renders_with_the_model_chat_template(client, settings, tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"chat_template": TEMPLATE, "eos_token": "</s>"})
    )
    with_roots = settings.model_copy(update={"model_roots": [tmp_path]})
    client.app.dependency_overrides[get_settings] = lambda: with_roots
    try:
        dataset = upload(client, "qa.csv", b"prompt,completion\nCapital of France?,Paris\n").json()
        response = client.get(f"/api/datasets/{dataset['id']}/rendered", params={"model": str(folder)})
        assert response.status_code == 200, response.text
        assert response.json() == {
            "model": str(folder),
            "templated": True,
            "pairs": [
                {
                    "prompt": "<|user|>\nCapital of France?</s>\n<|assistant|>\n",
                    "text": "<|user|>\nCapital of France?</s>\n<|assistant|>\nParis</s>\n",
                }
            ],
        }
        # A chat pair is rendered from its own turns.
        chat = jsonl(
            {
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello"},
                ]
            }
        )
        chat_id = upload(client, "chat.jsonl", chat).json()["id"]
        rendered = client.get(f"/api/datasets/{chat_id}/rendered", params={"model": str(folder)}).json()
        assert (
            rendered["pairs"][0]["text"]
            == "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello</s>\n"
        )
    finally:
        client.app.dependency_overrides.clear()


def test_a_model_without_a_template_shows_plain_prompt_and_completion(client):
    dataset = upload(client, "qa.csv", b"prompt,completion\n2 + 2 =,4\n").json()
    response = client.get(f"/api/datasets/{dataset['id']}/rendered", params={"model": "tiny-gpt2"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "model": "tiny-gpt2",
        "templated": False,
        "pairs": [{"prompt": "2 + 2 =", "text": "2 + 2 =\n4"}],
    }


def test_a_labelled_dataset_has_nothing_to_render(client, builtin_dataset_id):
    response = client.get(f"/api/datasets/{builtin_dataset_id}/rendered", params={"model": "tiny-gpt2"})
    assert response.status_code == 422
    assert response.json()["code"] == "not_a_generation_dataset"


def test_a_poc_on_an_uploaded_generation_dataset_is_a_generation_poc(client, settings, sessions):
    dataset = upload(client, "qa.csv", b"prompt,completion\n2 + 2 =,4\n3 + 3 =,6\n").json()
    response = client.post(
        "/api/pocs",
        json={
            "name": "gen",
            "model": "tiny-gpt2",
            "dataset_id": dataset["id"],
            "steps": 5,
            "max_new_tokens": 8,
        },
    )
    assert response.status_code == 201, response.text
    poc = response.json()
    # the dataset decides the task, even when the body left task_type at its default
    assert poc["settings"]["task_type"] == "generation" and poc["settings"]["max_new_tokens"] == 8
    from backend.db.models import Run
    from worker.execution.spec import build_spec

    with sessions() as session:
        specs = {
            r.method: build_spec(r, settings) for r in (session.get(Run, run["id"]) for run in poc["runs"])
        }
    assert specs["lozo"]["task_type"] == "generation"
    # an upload is read by path; the labelled file's columns mean nothing for pairs
    assert specs["lozo"]["dataset"].endswith(".csv") and "text_column" not in specs["lozo"]


def test_the_zo_objective_goes_to_zeroth_order_runs_only(client, settings, sessions):
    dataset = next(d for d in client.get("/api/datasets").json()["data"] if d["name"] == "demo-dates")
    body = {"name": "f1", "model": "tiny-gpt2", "dataset_id": dataset["id"], "steps": 5}
    response = client.post("/api/pocs", json=body | {"task_type": "generation", "zo_objective": "neg_f1"})
    assert response.status_code == 201, response.text
    from backend.db.models import Run
    from common.runspec import RunSpec
    from worker.execution.spec import build_spec

    with sessions() as session:
        runs = [session.get(Run, run["id"]) for run in response.json()["runs"]]
        specs = {run.method: RunSpec.from_dict(build_spec(run, settings)) for run in runs if run}
    assert specs["lozo"].zo_objective == "neg_f1" and specs["adamw"].zo_objective == "loss"


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"model": "tiny-bert"}, "model", "a generation PoC needs a decoder (a causal language model); "
         "tiny-bert is an encoder"),
        ({"task_type": "classification"}, "task_type", "'demo-dates' is a generation dataset: its PoCs are "
         "generation PoCs"),
    ],
)  # fmt: skip
def test_a_generation_poc_refuses_an_encoder_or_another_task(client, change, field, problem):
    dataset = next(d for d in client.get("/api/datasets").json()["data"] if d["name"] == "demo-dates")
    body = {"name": "gen", "model": "tiny-gpt2", "dataset_id": dataset["id"], "steps": 5} | change
    response = client.post("/api/pocs", json=body)
    assert response.status_code == 422, response.text
    assert {"row": None, "field": field, "problem": problem} in response.json()["detail"]["errors"]


def test_generation_on_a_labelled_dataset_is_refused(client, builtin_dataset_id):
    body = {"name": "gen", "model": "tiny-gpt2", "dataset_id": builtin_dataset_id, "steps": 5}
    response = client.post("/api/pocs", json=body | {"task_type": "generation"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["errors"][0]["field"] == "task_type"


def test_a_generation_poc_gets_room_for_its_chat_template_unless_it_asks_otherwise(client):
    dataset = next(d for d in client.get("/api/datasets").json()["data"] if d["name"] == "demo-dates")
    body = {"name": "gen", "model": "tiny-gpt2", "dataset_id": dataset["id"], "steps": 5}
    assert client.post("/api/pocs", json=body).json()["settings"]["max_length"] == 128
    assert client.post("/api/pocs", json=body | {"max_length": 96}).json()["settings"]["max_length"] == 96
    limits = client.get("/api/limits").json()["run_settings"]
    assert limits["max_length"]["generation_default"] == 128 and limits["max_length"]["default"] == 64
    assert limits["batch_size"]["generation_default"] is None


def test_the_labelled_builtins_are_listed_before_the_generation_ones(client):
    data = client.get("/api/datasets").json()["data"]
    builtins = [(d["name"], d["kind"]) for d in data if d["builtin"]]
    kinds = [kind for _, kind in builtins]
    assert kinds == sorted(kinds) and ("demo-dates", "generation") in builtins
    assert data[0]["kind"] == "classification"
