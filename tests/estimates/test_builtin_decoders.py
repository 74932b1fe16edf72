"""Forecasts for the embedded decoders find their configuration offline, before or after setup."""

import pytest

from backend.estimates import shapes
from common.models import BUILTIN_BY_ID, MODELS_DIR_ENV


@pytest.fixture(autouse=True)
def _fresh_cache():
    shapes.model_shape.cache_clear()
    yield
    shapes.model_shape.cache_clear()


def test_smollm2_shape_from_the_shipped_config_matches_the_catalogue(tmp_path, monkeypatch):
    monkeypatch.setenv(
        MODELS_DIR_ENV, str(tmp_path)
    )  # nothing converted there: the repository's copy is used
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    shape = shapes.model_shape("smollm2-135m")
    entry = BUILTIN_BY_ID["smollm2-135m"]
    assert shape.kind == "decoder" and shape.lm_head
    assert shape.n_params == entry.n_params == 134_515_008  # tied embeddings counted once
    assert (shape.n_layers, shape.hidden_size, shape.vocab_size) == (30, 576, 49152)
    assert entry.min_layer_dim == 192  # the k/v projections: 3 heads × 64


def test_the_converted_folder_is_where_the_engine_and_the_api_look(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    entry = BUILTIN_BY_ID["smollm2-135m"]
    assert entry.folder() == tmp_path / "smollm2-135m" and not entry.installed()
    assert entry.public()["installed"] is False and entry.public()["licence"] == "Apache-2.0"
    assert "not an OSI licence" in BUILTIN_BY_ID["gemma3-270m"].licence


def test_the_optional_gemma_is_forecast_without_being_installed(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    shape = shapes.model_shape("gemma3-270m")
    assert shape.n_params == BUILTIN_BY_ID["gemma3-270m"].n_params == 268_098_176
    assert shape.kind == "decoder" and shape.vocab_size == 262_144
