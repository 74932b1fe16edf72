"""Health, readiness, models and methods."""

from __future__ import annotations

import json

import pytest

from backend.core.config import get_settings


def test_health(client):
    assert client.get("/api/health").json() == {"status": "ok"}


def test_ready_checks_database_and_broker(client):
    response = client.get("/api/ready")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


def test_ready_is_503_when_the_broker_is_unreachable(client, settings):
    # A real broker address where nothing listens (port 1): readiness must say so, not hang or lie.
    unreachable = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0", "redis_url": None})
    client.app.dependency_overrides[get_settings] = lambda: unreachable
    try:
        response = client.get("/api/ready")
    finally:
        client.app.dependency_overrides.clear()
    assert response.status_code == 503
    # Anyone may ask: the answer names what is down, never the internal error text.
    assert response.json() == {"database": "ok", "broker": "unavailable"}


def test_models_lists_the_builtins(client):
    body = client.get("/api/models").json()
    assert body["count"] == len(body["data"]) == 5
    minilm = body["data"][0]
    assert minilm == {
        "id": "minilm",
        "name": "MiniLM-L6 (embedded)",
        "n_params": 22713216,
        "builtin": True,
        "kind": "encoder",
        "min_layer_dim": 384,
        "licence": "Apache-2.0",
        "description": "sentence encoder with a classification head; fast, English",
        "installed": True,
        "languages": ["en"],
    }
    assert {m["id"] for m in body["data"]} == {
        "minilm",
        "smollm2-135m",
        "gemma3-270m",
        "tiny-bert",
        "tiny-gpt2",
    }


@pytest.fixture
def model_root(client, settings, tmp_path):
    """A model root (``model_roots``) for the app, under the test's own folder."""
    root = tmp_path / "models"
    root.mkdir()
    client.app.dependency_overrides[get_settings] = lambda: settings.model_copy(
        update={"model_roots": [root]}
    )
    yield root
    client.app.dependency_overrides.clear()


def test_model_check_accepts_a_hub_id_and_a_folder_with_config(client, model_root):
    assert client.post("/api/models/check", json={"model": "org/some-model"}).json()["id"] == "org/some-model"
    (model_root / "mine").mkdir()
    (model_root / "mine" / "config.json").write_text(json.dumps({"hidden_size": 48, "intermediate_size": 96}))
    body = client.post("/api/models/check", json={"model": str(model_root / "mine")}).json()
    assert body["min_layer_dim"] == 48 and body["builtin"] is False and body["name"] == "mine"


def test_model_check_refuses_unknown_models(client, model_root):
    response = client.post("/api/models/check", json={"model": "no-such-model"})
    assert response.status_code == 422
    error = response.json()["detail"]["errors"][0]
    assert error["field"] == "model"
    assert error["problem"].startswith(
        "unknown model 'no-such-model': use a built-in model (minilm, smollm2-135m"
    )
    (model_root / "empty").mkdir()
    response = client.post("/api/models/check", json={"model": str(model_root / "empty")})
    assert response.status_code == 422
    assert response.json()["detail"]["errors"][0]["problem"] == (
        f"unknown model {str(model_root / 'empty')!r}: the folder has no config.json"
    )


def test_folders_outside_the_model_roots_are_never_looked_at(
    client, model_root, tmp_path, builtin_dataset_id
):
    outside = tmp_path / "elsewhere"  # a real model folder, but not under a root
    outside.mkdir()
    (outside / "config.json").write_text(json.dumps({"hidden_size": 48}))
    (model_root / "escape").symlink_to(outside, target_is_directory=True)
    names = [
        "/root",
        "/",
        "/etc",
        "/nonexistent/x",
        "~root",
        "~",
        str(outside),
        str(model_root / "escape"),
        f"{model_root}/../elsewhere",
        "../../etc",
        "./var",
        str(model_root),
        "/etc/passwd",
    ]
    answers = {}
    for name in names:
        response = client.post("/api/models/check", json={"model": name})
        assert response.status_code == 422, (name, response.text)
        answers[name] = response.json()["detail"]["errors"][0]["problem"].replace(repr(name), "NAME")
    # One answer for every name outside the roots: whether it exists, is a folder or has a config.json
    # cannot be told apart.
    assert len(set(answers.values())) == 1, answers
    assert "under the server's model folders" in next(iter(answers.values()))
    # Nor can one train on such a folder.
    for name in (str(outside), str(model_root / "escape")):
        response = client.post(
            "/api/pocs", json={"name": "x", "model": name, "dataset_id": builtin_dataset_id, "steps": 5}
        )
        assert response.status_code == 422 and response.json()["detail"]["errors"][0]["field"] == "model"


def test_a_very_long_model_name_is_a_422(client):
    response = client.post("/api/models/check", json={"model": "/" + "a" * 5000})
    assert response.status_code == 422


def test_methods_carry_the_papers_zo_defaults(client):
    body = client.get("/api/methods").json()
    methods = {m["method"]: m for m in body["data"]}
    assert set(methods) == {"lozo", "lozo_m", "mezo", "adamw", "sgd", "lora"}
    assert methods["lozo"]["defaults"] == {
        "lr": None,
        "zo_eps": 1e-3,
        "weight_decay": 0.0,
        "rank": 2,
        "nu": 50,
    }
    assert methods["lozo_m"]["defaults"]["beta"] == 0.9
    assert methods["mezo"]["zeroth_order"] is True and methods["adamw"]["zeroth_order"] is False
    low, high = methods["lozo"]["ranges"]["lr"]
    assert low < 1e-7 < 1e-4 < high  # the papers' and our measured ZO learning rates are allowed


def test_rank_is_checked_against_a_hub_model_already_in_the_local_cache(
    client, tmp_path, monkeypatch, builtin_dataset_id
):
    # The layout huggingface_hub leaves after a download; the API reads it without any network access.
    import huggingface_hub.constants

    snapshot = tmp_path / "models--acme--small-lm" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps({"n_embd": 16, "n_inner": 64}))
    (tmp_path / "models--acme--small-lm" / "refs").mkdir()
    (tmp_path / "models--acme--small-lm" / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))

    assert client.post("/api/models/check", json={"model": "acme/small-lm"}).json()["min_layer_dim"] == 16
    response = client.post(
        "/api/pocs",
        json={
            "name": "x",
            "model": "acme/small-lm",
            "dataset_id": builtin_dataset_id,
            "methods": [{"method": "lozo", "rank": 17}],
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"]["errors"] == [
        {
            "row": None,
            "field": "methods[0].rank",
            "problem": "rank 17 is larger than the smallest layer dimension (16) of acme/small-lm",
        }
    ]


def test_the_embedded_decoder_is_listed_and_accepted(client):
    models = {m["id"]: m for m in client.get("/api/models").json()["data"]}
    decoder = models["smollm2-135m"]
    assert (decoder["kind"], decoder["licence"], decoder["installed"]) == ("decoder", "Apache-2.0", True)
    gemma = models["gemma3-270m"]  # offered, with its terms, whether or not this server installed it
    assert "Gemma" in gemma["licence"] and "en" in gemma["languages"] and "ja" in gemma["languages"]
    assert client.post("/api/models/check", json={"model": "smollm2-135m"}).json()["min_layer_dim"] == 192


def test_a_first_poc_is_proposed_with_the_decoder_when_it_is_installed(client, tmp_path, monkeypatch):
    # A zeroth-order method visibly learns on the prompt-read decoder in a first PoC, not on the encoder.
    assert client.get("/api/models").json()["first_poc"] == "smollm2-135m"
    monkeypatch.setenv("ZOPOC_MODELS_DIR", str(tmp_path))  # a server whose setup converted no decoder
    body = client.get("/api/models").json()
    assert {m["id"]: m["installed"] for m in body["data"]}["smollm2-135m"] is False
    assert body["first_poc"] == "minilm"


def test_prompt_preview_fills_the_defaults_the_engine_uses(client, builtin_dataset_id):
    kinds = {k["kind"]: k for k in client.get("/api/prompts").json()["kinds"]}
    assert {"sentiment", "topic", "pair", "yesno"} <= set(kinds)
    answer = client.post("/api/prompts/preview", json={"dataset_id": builtin_dataset_id}).json()
    assert answer["task_kind"] == "sentiment" and answer["language"] == "en"
    assert answer["template"] == kinds["sentiment"]["templates"]["en"]
    assert len(answer["label_words"]) == len(answer["label_names"]) == 2
    assert all(c.startswith(answer["prompt"]) for c in answer["completions"])
    assert answer["example"] in answer["prompt"]
    own = client.post(
        "/api/prompts/preview",
        json={
            "dataset_id": builtin_dataset_id,
            "template": "{text} So: {mask}",
            "label_words": ["bad", "good"],
        },
    ).json()
    assert own["completions"][1].endswith("So: good")
    refused = client.post(
        "/api/prompts/preview", json={"dataset_id": builtin_dataset_id, "template": "no blank"}
    )
    assert refused.status_code == 422 and refused.json()["detail"]["errors"][0]["field"] == "template"
