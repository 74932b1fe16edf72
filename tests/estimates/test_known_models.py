"""Model shapes that ship with the product: what-if forecasts for the models people ask about, offline."""

import pytest

from backend.estimates import shapes
from tests.estimates.test_shapes_analytic import _analytic_counts, _config_from_values, _meta_counts

KNOWN = shapes.known_models()

# The families a manager is asked about; each must be forecastable without a download.
FAMILIES = ["Llama 2", "Llama 3.1", "Llama 3.2", "Mistral", "Mixtral", "Qwen 2.5", "Qwen 3", "Gemma 2",
            "Gemma 3", "Phi", "OPT", "Swallow", "ELYZA", "llm-jp", "rinna", "CALM"]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_hub_cache(monkeypatch):
    # whatever this machine has cached, the answer must come from the shipped shapes
    monkeypatch.setattr(shapes, "_cached_hub_config", lambda repo_id: None)
    shapes.model_shape.cache_clear()
    yield
    shapes.model_shape.cache_clear()


def test_every_family_people_ask_about_is_known():
    assert set(FAMILIES) <= {m.family for m in KNOWN.values()}


@pytest.mark.parametrize("model_id", [m.id for m in KNOWN.values()])
def test_a_known_model_is_forecast_offline(model_id):
    shape = shapes.model_shape(model_id)
    assert shape.kind == ("encoder" if model_id == "FacebookAI/roberta-large" else "decoder")
    assert shape.name == KNOWN[model_id.lower()].name
    published = KNOWN[model_id.lower()].published_n_params
    if published is not None:
        assert shape.n_params == published, "the count equals the publisher's parameter count"


def test_the_id_is_matched_without_regard_to_case():
    assert shapes.model_shape("META-LLAMA/llama-2-7b-HF").n_params == 6_738_415_616


# one model per architecture: the shipped configuration builds, in transformers, the model we count
ONE_PER_ARCHITECTURE = list({m.config["model_type"]: m.id for m in KNOWN.values()}.values())


@pytest.mark.parametrize("model_id", ONE_PER_ARCHITECTURE)
def test_the_shipped_shape_counts_as_transformers_builds_it(model_id):
    values = dict(KNOWN[model_id.lower()].config)
    assert _analytic_counts(shapes.model_shape(model_id)) == _meta_counts(_config_from_values(values))


def test_an_unknown_id_says_where_it_was_looked_for():
    with pytest.raises(shapes.UnknownModel) as refused:
        shapes.model_shape("someone/not-a-model-7b")
    reason = str(refused.value)
    assert f"{len(KNOWN)} models whose shapes ship with zopoc" in reason
    assert "local Hugging Face cache" in reason
