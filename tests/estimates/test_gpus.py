"""The GPU catalogue: defaults, overrides from ZOPOC_GPU_CATALOG, fit thresholds, smallest fit."""

import json

import pytest

from backend.estimates import gpus
from backend.estimates.gpus import Gpu, fit_state, load_catalog, smallest_fit


def test_defaults_cover_common_cards_and_no_made_up_server():
    ids = {g.id for g in load_catalog("")}
    assert {
        "t4-16gb",
        "l4-24gb",
        "a10g-24gb",
        "a100-40gb",
        "a100-80gb",
        "h100-80gb",
        "h200-141gb",
        "rtx4090-24gb",
    } <= ids
    # an "own server" exists only when an administrator describes it: a shipped one would be recommended
    assert not any(g.kind == "own" for g in load_catalog(""))


def test_env_json_overrides_a_price_and_adds_an_entry(monkeypatch):
    monkeypatch.setenv(
        "ZOPOC_GPU_CATALOG",
        json.dumps(
            [
                {"id": "h100-80gb", "hourly_price": 2.5},
                {"id": "lab-a6000", "name": "Lab A6000", "memory_gb": 48, "hourly_price": 0, "kind": "own"},
            ]
        ),
    )
    catalog = {g.id: g for g in load_catalog()}
    assert catalog["h100-80gb"].hourly_price == 2.5
    assert catalog["h100-80gb"].memory_gb == 80  # untouched fields keep their defaults
    assert catalog["lab-a6000"].kind == "own"
    assert "t4-16gb" in catalog


def test_yaml_file_can_replace_the_defaults(tmp_path):
    path = tmp_path / "gpus.yaml"
    path.write_text(
        "replace: true\ngpus:\n  - {id: box, name: Box, memory_gb: 12, hourly_price: 0.1, currency: JPY}\n"
    )
    catalog = load_catalog(str(path))
    assert [(g.id, g.currency) for g in catalog] == [("box", "JPY")]


BAD_SPECS = [
    json.dumps([{"id": 1}]),  # no name, no memory
    "/no/such/file.json",
    json.dumps({"gpus": [{"id": "x", "name": "x", "memory_gb": -1, "hourly_price": 1}]}),  # negative memory
]


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_bad_catalogue_is_a_clear_error(spec):
    with pytest.raises(gpus.CatalogError):
        load_catalog(spec)


def test_fit_thresholds():
    card = Gpu(id="c", name="c", memory_gb=10, hourly_price=1)
    assert gpus.TIGHT_FRACTION == 0.85
    assert fit_state(int(8.5e9), card)[0] == "fits"  # exactly at the threshold still fits
    assert fit_state(int(8.5e9) + 1, card)[0] == "tight"
    assert fit_state(int(10e9), card)[0] == "tight"  # exactly full
    assert fit_state(int(10e9) + 1, card)[0] == "wont_fit"
    state, headroom = fit_state(int(4e9), card, count=2)
    assert state == "fits" and headroom == pytest.approx(16.0)


def test_smallest_fit_prefers_one_card_then_the_smallest_then_the_cheapest():
    catalog = [
        Gpu(id="small", name="s", memory_gb=16, hourly_price=0.5),
        Gpu(id="mid-costly", name="m", memory_gb=24, hourly_price=2.0),
        Gpu(id="mid-cheap", name="m", memory_gb=24, hourly_price=1.0),
        Gpu(id="big", name="b", memory_gb=80, hourly_price=4.0),
    ]
    assert smallest_fit(catalog, int(10e9))[0].id == "small"
    gpu, count = smallest_fit(catalog, int(15e9))  # 15/16 > 85% on the small card: next size up
    assert (gpu.id, count) == ("mid-cheap", 1)
    gpu, count = smallest_fit(catalog, int(100e9))  # no single card: the fewest cards
    assert (gpu.id, count) == ("big", 2)
    assert smallest_fit(catalog, int(1000e9)) is None


def test_prices_convert_to_the_readers_currency_and_an_unknown_rate_is_refused():
    from backend.estimates.gpus import CatalogError, in_currency

    rates = {"USD": 1.0, "JPY": 150.0}
    catalog = load_catalog("")
    yen = {g.id: g for g in in_currency(catalog, "JPY", rates)}
    for gpu in catalog:
        assert yen[gpu.id].currency == "JPY"
        assert yen[gpu.id].hourly_price == pytest.approx(gpu.hourly_price * 150)
    assert in_currency(catalog, "USD", rates) == catalog
    with pytest.raises(CatalogError, match="no exchange rate for EUR"):
        in_currency(catalog, "EUR", rates)
