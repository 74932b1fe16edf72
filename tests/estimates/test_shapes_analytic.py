"""The analytic parameter counter against transformers: for every preset, every built-in model and a set of
small configurations (grouped-query attention, biases, tied and untied heads, projections, defaults left
out), the counts read from config.json equal those of the model built on the meta device.

The tests import torch and transformers to build the reference; the web process never does."""

import json
import os
import subprocess
import sys

import pytest

from backend.core.config import REPO_ROOT, get_settings
from backend.estimates import shapes
from common.models import BUILTIN_MODELS, MODELS_DIR_ENV
from worker.train.adapters import adapted_layer_names

# Tiny configurations that reach each branch of the counter; sizes are small, the vocabulary too, except
# where a case leaves keys out on purpose to take the configuration class's defaults.
EXTRA_CONFIGS = {
    "bert-decoder-cross-attention": {
        "model_type": "bert",
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 48,
        "vocab_size": 97,
        "max_position_embeddings": 40,
        "type_vocab_size": 1,
        "is_decoder": True,
        "add_cross_attention": True,
    },
    "roberta": {
        "model_type": "roberta",
        "hidden_size": 24,
        "num_hidden_layers": 2,
        "num_attention_heads": 3,
        "intermediate_size": 40,
        "vocab_size": 101,
        "max_position_embeddings": 34,
        "type_vocab_size": 1,
    },
    "xlm-roberta-defaults": {"model_type": "xlm-roberta", "num_hidden_layers": 1},
    "roberta-defaults": {"model_type": "roberta", "num_hidden_layers": 1},
    "llama-gqa-biases-untied": {
        "model_type": "llama",
        "hidden_size": 48,
        "intermediate_size": 80,
        "num_hidden_layers": 2,
        "num_attention_heads": 6,
        "num_key_value_heads": 2,
        "vocab_size": 211,
        "attention_bias": True,
        "mlp_bias": True,
    },
    "llama-head-dim-tied": {
        "model_type": "llama",
        "hidden_size": 40,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 1,
        "head_dim": 16,
        "vocab_size": 150,
        "tie_word_embeddings": True,
    },
    "llama-defaults": {"model_type": "llama", "num_hidden_layers": 1},
    "mistral-gqa": {
        "model_type": "mistral",
        "hidden_size": 64,
        "intermediate_size": 96,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "head_dim": 12,
        "vocab_size": 123,
        "attention_bias": True,  # Mistral has no attention biases whatever the config says
    },
    "mistral-defaults": {"model_type": "mistral", "num_hidden_layers": 1},
    "mixtral-experts": {
        "model_type": "mixtral",
        "hidden_size": 32,
        "intermediate_size": 48,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 50,
        "num_local_experts": 3,
    },
    "phi3-fused": {
        "model_type": "phi3",
        "hidden_size": 32,
        "intermediate_size": 48,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 70,
        "pad_token_id": 0,
        "eos_token_id": 1,
    },
    "qwen2-gqa": {
        "model_type": "qwen2",
        "hidden_size": 56,
        "intermediate_size": 72,
        "num_hidden_layers": 2,
        "num_attention_heads": 7,
        "num_key_value_heads": 1,
        "vocab_size": 133,
        "tie_word_embeddings": True,
    },
    "qwen2-defaults": {"model_type": "qwen2", "num_hidden_layers": 1},
    "qwen3": {
        "model_type": "qwen3",
        "hidden_size": 32,
        "intermediate_size": 48,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 24,
        "vocab_size": 77,
        "attention_bias": True,
    },
    "gemma": {
        "model_type": "gemma",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 1,
        "head_dim": 8,
        "vocab_size": 99,
    },
    "gemma-defaults": {"model_type": "gemma", "num_hidden_layers": 1},
    "gemma2-untied": {
        "model_type": "gemma2",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "vocab_size": 99,
        "tie_word_embeddings": False,
    },
    "gemma3-text": {
        "model_type": "gemma3_text",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 3,
        "num_attention_heads": 4,
        "num_key_value_heads": 1,
        "head_dim": 16,
        "vocab_size": 99,
        "attention_bias": True,
    },
    "gemma3-text-defaults": {"model_type": "gemma3_text", "num_hidden_layers": 1},
    "smollm3": {
        "model_type": "smollm3",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 99,
        "mlp_bias": True,
        "pad_token_id": None,  # the class's special token ids lie outside this small vocabulary
        "bos_token_id": None,
        "eos_token_id": None,
    },
    "opt-projected-post-norm": {
        "model_type": "opt",
        "hidden_size": 32,
        "ffn_dim": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 89,
        "max_position_embeddings": 50,
        "word_embed_proj_dim": 16,
        "do_layer_norm_before": False,
    },
    "opt-no-bias-no-affine-untied": {
        "model_type": "opt",
        "hidden_size": 32,
        "ffn_dim": 48,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 89,
        "max_position_embeddings": 50,
        "enable_bias": False,
        "layer_norm_elementwise_affine": False,
        "tie_word_embeddings": False,
    },
    "opt-defaults": {"model_type": "opt", "num_hidden_layers": 1},
    "gpt2-inner-untied": {
        "model_type": "gpt2",
        "n_embd": 24,
        "n_inner": 40,
        "n_layer": 2,
        "n_head": 3,
        "n_positions": 30,
        "vocab_size": 101,
        "tie_word_embeddings": False,
    },
    "gpt2-cross-attention": {
        "model_type": "gpt2",
        "n_embd": 16,
        "n_layer": 2,
        "n_head": 2,
        "n_positions": 20,
        "vocab_size": 61,
        "add_cross_attention": True,
    },
    "gpt2-defaults": {"model_type": "gpt2", "n_layer": 1},
    "gpt-neox": {
        "model_type": "gpt_neox",
        "hidden_size": 32,
        "intermediate_size": 80,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 111,
    },
    "gpt-neox-no-bias-tied": {
        "model_type": "gpt_neox",
        "hidden_size": 32,
        "intermediate_size": 80,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 111,
        "attention_bias": False,
        "tie_word_embeddings": True,
    },
    "phi-gqa-qk-norm": {
        "model_type": "phi",
        "hidden_size": 32,
        "intermediate_size": 72,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 107,
        "qk_layernorm": True,
    },
    "phi-tied": {
        "model_type": "phi",
        "hidden_size": 32,
        "intermediate_size": 72,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 107,
        "tie_word_embeddings": True,
    },
    "phi-defaults": {"model_type": "phi", "num_hidden_layers": 1},
}


def _meta_counts(config) -> tuple[int, int, int, int, int, int]:
    """(n_params, largest tensor, Σ rows and Σ cols of the ≥2-D weights, Σ 1-D, Σ (n_in + n_out) of the
    layers the engine's LoRA adapts) of the model transformers builds from ``config`` on the meta device:
    AutoModel for encoders, AutoModelForCausalLM for decoders."""
    import torch
    from transformers import AutoModel, AutoModelForCausalLM

    builder = AutoModel if config.model_type in shapes.ENCODER_TYPES else AutoModelForCausalLM
    with torch.device("meta"):
        net = builder.from_config(config)
    n_params = largest = rows = cols = vectors = 0
    for param in net.parameters():  # a tied weight once
        n = param.numel()
        n_params += n
        largest = max(largest, n)
        if param.ndim >= 2:
            rows += param.shape[0]
            cols += n // param.shape[0]
        else:
            vectors += n
    modules = dict(net.named_modules())
    linear_dims = sum(sum(modules[name].weight.shape) for name in adapted_layer_names(net))
    return n_params, largest, rows, cols, vectors, linear_dims


def _config_from_values(values: dict):
    from transformers import AutoConfig

    values = {k: v for k, v in values.items() if k not in ("quantization_config", "transformers_version")}
    return AutoConfig.for_model(values.pop("model_type"), **values)


def _analytic_counts(shape: shapes.ModelShape) -> tuple[int, int, int, int, int, int]:
    return (
        shape.n_params,
        shape.largest_tensor,
        shape.matrix_rows,
        shape.matrix_cols,
        shape.vector_params,
        shape.linear_dims,
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    shapes.model_shape.cache_clear()
    yield
    shapes.model_shape.cache_clear()


@pytest.mark.parametrize("preset", sorted(shapes.PRESETS))
def test_presets_count_as_transformers_builds_them(preset):
    _, values = shapes.PRESETS[preset]
    assert _analytic_counts(shapes.model_shape(preset)) == _meta_counts(_config_from_values(dict(values)))


@pytest.mark.parametrize("model_id", [m.id for m in BUILTIN_MODELS])
def test_builtin_models_count_as_transformers_builds_them(model_id, tmp_path, monkeypatch):
    from transformers import AutoConfig

    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))  # nothing converted: the shipped configs are read
    entry = next(m for m in BUILTIN_MODELS if m.id == model_id)
    if model_id == "minilm":
        reference = AutoConfig.from_pretrained(shapes.minilm_config_dir(), local_files_only=True)
    elif entry.source == "converted":
        reference = _config_from_values(entry.config())
    else:
        reference = _config_from_values(dict(shapes.PRESETS[model_id][1]))
    shape = shapes.model_shape(model_id)
    assert _analytic_counts(shape) == _meta_counts(reference)
    if entry.n_params is not None:
        assert shape.n_params == entry.n_params  # the catalogue's published count
    assert shape.kind == entry.kind


@pytest.mark.parametrize("case", sorted(EXTRA_CONFIGS))
def test_small_configs_count_as_transformers_builds_them(case, tmp_path):
    values = EXTRA_CONFIGS[case]
    (tmp_path / "config.json").write_text(json.dumps(values))
    shape = shapes.model_shape(str(tmp_path))
    reference = _config_from_values(dict(values))
    assert _analytic_counts(shape) == _meta_counts(reference)
    assert shape.n_layers == reference.num_hidden_layers
    assert shape.hidden_size == reference.hidden_size
    assert shape.n_heads == reference.num_attention_heads
    assert shape.vocab_size == reference.vocab_size
    assert shape.name == tmp_path.name


def test_the_shape_fields_of_minilm_and_a_grouped_query_decoder():
    minilm = shapes.model_shape("minilm")
    assert (minilm.n_layers, minilm.hidden_size, minilm.n_heads, minilm.intermediate_size) == (
        6,
        384,
        12,
        1536,
    )
    assert minilm.vocab_size == 30522 and minilm.kind == "encoder" and not minilm.lm_head
    llama70 = shapes.model_shape("70b")
    assert (llama70.n_layers, llama70.hidden_size, llama70.n_heads, llama70.intermediate_size) == (
        80,
        8192,
        64,
        28672,
    )
    assert llama70.kind == "decoder" and llama70.lm_head
    assert shapes.model_shape("1b").intermediate_size == 8192  # OPT's ffn_dim
    assert shapes.model_shape("tiny-gpt2").intermediate_size == 4 * 32  # GPT-2's default inner size


def test_an_unknown_architecture_is_refused_with_its_name(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5", "d_model": 32}))
    with pytest.raises(shapes.UnknownModel, match="architecture 't5' is not one the memory forecast counts"):
        shapes.model_shape(str(tmp_path))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "cannot be read as JSON"),
        ("[1, 2]", "is not a JSON object"),
        (json.dumps({"hidden_size": 32}), "names no model_type"),
        (
            json.dumps({"model_type": "llama", "hidden_size": "big"}),
            "hidden_size in its config.json is 'big'",
        ),
        (json.dumps({"model_type": "bert", "hidden_size": 30, "num_attention_heads": 4}), "not a multiple"),
    ],
)
def test_unreadable_configs_are_refused_with_a_reason(tmp_path, content, reason):
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(shapes.UnknownModel, match=reason):
        shapes.model_shape(str(tmp_path))


def test_a_hub_id_counts_only_from_the_local_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(shapes.UnknownModel, match="not in the local Hugging Face cache"):
        shapes.model_shape("some-org/cached-model")
    snapshot = tmp_path / "models--some-org--cached-model" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (tmp_path / "models--some-org--cached-model" / "refs").mkdir()
    (tmp_path / "models--some-org--cached-model" / "refs" / "main").write_text("abc123")
    (snapshot / "config.json").write_text(json.dumps(EXTRA_CONFIGS["qwen2-gqa"]))
    shapes.model_shape.cache_clear()
    shape = shapes.model_shape("some-org/cached-model")
    assert shape.name == "some-org/cached-model"
    assert _analytic_counts(shape) == _meta_counts(_config_from_values(dict(EXTRA_CONFIGS["qwen2-gqa"])))


def test_a_relative_name_is_never_read_as_a_folder(tmp_path, monkeypatch):
    (tmp_path / "org" / "name").mkdir(parents=True)
    (tmp_path / "org" / "name" / "config.json").write_text(json.dumps(EXTRA_CONFIGS["roberta"]))
    monkeypatch.chdir(tmp_path)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(shapes.UnknownModel):
        shapes.model_shape("org/name")


def test_the_fingerprint_is_the_config_files_content(tmp_path):
    values = dict(EXTRA_CONFIGS["gpt-neox"])
    (tmp_path / "config.json").write_text(json.dumps({**values, "transformers_version": "5.0.0"}))
    first = shapes.model_shape(str(tmp_path)).config_sha256
    assert first == shapes.config_hash(values)
    (tmp_path / "config.json").write_text(json.dumps({**values, "vocab_size": 112}))
    shapes.model_shape.cache_clear()
    assert shapes.model_shape(str(tmp_path)).config_sha256 != first


def test_counting_imports_neither_torch_nor_transformers():
    code = (
        "import sys\n"
        "from backend.estimates import shapes\n"
        "for name in ('minilm', 'smollm2-135m', 'gemma3-270m', '1b', '7b', '13b', '70b', 'tiny-bert', "
        "'tiny-gpt2'):\n"
        "    shapes.model_shape(name)\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=REPO_ROOT
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout


def test_the_api_gives_the_reason_for_an_unknown_architecture(client, settings, tmp_path):
    root = tmp_path / "models"
    (root / "encoder-decoder").mkdir(parents=True)
    (root / "encoder-decoder" / "config.json").write_text(json.dumps({"model_type": "t5", "d_model": 32}))
    client.app.dependency_overrides[get_settings] = lambda: settings.model_copy(
        update={"model_roots": [root]}
    )
    try:
        response = client.post(
            "/api/estimates/memory", json={"model": str(root / "encoder-decoder"), "methods": ["lozo"]}
        )
    finally:
        client.app.dependency_overrides.clear()
    assert response.status_code == 422, response.text
    problem = response.json()["detail"]["errors"][0]
    assert problem["field"] == "model"
    assert "architecture 't5' is not one the memory forecast counts" in problem["problem"]
