"""The embedded decoder: converted once at setup, loaded offline, the same facts as the model table."""

import dataclasses

import pytest
import torch

from common.models import BUILTIN_BY_ID, MODELS_DIR_ENV
from worker.train import embedded
from worker.train.models import load_model

SMOLLM2 = BUILTIN_BY_ID["smollm2-135m"]


@pytest.mark.slow
def test_the_converted_decoder_loads_offline_with_the_tables_facts(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert embedded.is_converted(SMOLLM2), "scripts/setup.sh converts smollm2-135m into " + str(
        SMOLLM2.folder()
    )
    loaded = load_model("smollm2-135m", 2, ["terrible", "great"], device="cpu")
    assert loaded.kind == "decoder" and loaded.scoring == "next_token" and loaded.name == SMOLLM2.name
    assert loaded.n_params == SMOLLM2.n_params
    assert loaded.prompt.label_tokens == [[13321], [1109]]  # " terrible", " great": one token each
    config = loaded.model.lm.config
    assert min(config.hidden_size, config.num_key_value_heads * config.head_dim) == SMOLLM2.min_layer_dim
    with torch.no_grad():
        scores = loaded.model(**loaded.encode(["a gorgeous , witty film .", "one long string of cliches ."]))
    assert scores.shape == (2, 2) and torch.isfinite(scores).all()


def test_convert_does_nothing_when_the_folder_holds_the_same_file(capsys):
    assert embedded.is_converted(SMOLLM2), "scripts/setup.sh converts smollm2-135m"
    weights = SMOLLM2.folder() / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert embedded.main(["convert", "smollm2-135m"]) == 0
    assert "already converted" in capsys.readouterr().out
    assert weights.stat().st_mtime_ns == before


def test_a_gguf_with_another_checksum_is_refused():
    forged = dataclasses.replace(SMOLLM2, gguf_sha256="0" * 64)
    with pytest.raises(ValueError, match="refusing to convert"):
        embedded.gguf_path(forged)


def test_a_missing_conversion_says_how_to_set_it_up(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="scripts/setup.sh"):
        load_model("smollm2-135m", 2, ["terrible", "great"], device="cpu")
    with pytest.raises(FileNotFoundError, match="--with-gemma"):
        load_model("gemma3-270m", 2, ["terrible", "great"], device="cpu")
