"""Generation datasets (prompt -> completion pairs): upload of each layout, their refusals, and the
preview rendered as a model will see it."""

from __future__ import annotations

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


def test_a_poc_on_a_generation_dataset_is_refused_until_the_engine_trains_on_pairs(client):
    dataset = upload(client, "qa.csv", b"prompt,completion\n2 + 2 =,4\n").json()
    response = client.post(
        "/api/pocs", json={"name": "gen", "model": "tiny-gpt2", "dataset_id": dataset["id"], "steps": 5}
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["errors"] == [
        {
            "row": None,
            "field": "dataset_id",
            "problem": "'qa' is a generation dataset; PoCs train on labelled datasets",
        }
    ]
