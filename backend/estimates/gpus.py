"""The GPU catalogue (memory, hourly price, throughput) and which GPU, how many, a workload fits on.

Prices are settings, not truths: the defaults below are rough public on-demand list prices (USD per GPU-hour,
2024-2025) and amortised figures for on-premises cards. Replace or extend them with ``ZOPOC_GPU_CATALOG``:
either JSON in the variable itself or the path of a JSON/YAML file, holding a list of entries or
``{"replace": true|false, "gpus": [...]}``. An entry whose ``id`` matches a default overrides it (e.g. only a
new ``hourly_price``); ``replace: true`` drops the defaults. Entries of ``kind: "own"`` are the manager's own
servers ("my own server"), priced at what an hour of them costs the company (power, amortisation); none is
shipped, since a made-up server would be recommended as if it existed.

``memory_gb`` is counted as 10⁹ bytes, slightly less than the cards' GiB, which leaves a little margin.
``tflops`` is the dense 16-bit tensor throughput from the vendors' data sheets; the ROI uses it, times a
utilisation factor, to project GPU-hours.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

# A workload using more than this share of the memory is "tight": allocator fragmentation, longer
# sequences or a CUDA-context surprise may push it over.
TIGHT_FRACTION = 0.85
# GPU counts considered when one card is not enough (memory split across cards by sharding: FSDP/ZeRO-3
# for backprop, the layers split across cards for forward-only ZO).
GPU_COUNTS = (1, 2, 4, 8)
FIT_STATES = ("fits", "tight", "wont_fit")


class Gpu(BaseModel):
    """One catalogue entry (the ``GET /api/gpus`` row)."""

    id: str
    name: str
    memory_gb: float = Field(gt=0)
    hourly_price: float = Field(ge=0)
    currency: str = "USD"
    kind: Literal["cloud", "on_prem", "own"] = "cloud"
    tflops: float = Field(default=100.0, gt=0)
    # An entry that stands for something the operator has to describe (the "own server" until edited): listed,
    # never recommended.
    placeholder: bool = False
    # where the price comes from: the catalogue setting, or an administrator in the dashboard (gpu_prices)
    price_source: Literal["catalogue", "administrator"] = "catalogue"


DEFAULT_GPUS: tuple[Gpu, ...] = (
    Gpu(id="t4-16gb", name="NVIDIA T4 16GB", memory_gb=16, hourly_price=0.35, tflops=65),
    Gpu(id="l4-24gb", name="NVIDIA L4 24GB", memory_gb=24, hourly_price=0.70, tflops=121),
    Gpu(id="a10g-24gb", name="NVIDIA A10G 24GB", memory_gb=24, hourly_price=1.01, tflops=70),
    Gpu(id="a100-40gb", name="NVIDIA A100 40GB", memory_gb=40, hourly_price=3.67, tflops=312),
    Gpu(id="a100-80gb", name="NVIDIA A100 80GB", memory_gb=80, hourly_price=4.10, tflops=312),
    Gpu(id="h100-80gb", name="NVIDIA H100 80GB", memory_gb=80, hourly_price=6.98, tflops=989),
    Gpu(id="h200-141gb", name="NVIDIA H200 141GB", memory_gb=141, hourly_price=10.60, tflops=989),
    Gpu(
        id="rtx4090-24gb",
        name="NVIDIA GeForce RTX 4090 24GB",
        memory_gb=24,
        hourly_price=0.30,
        kind="on_prem",
        tflops=165,
    ),
    Gpu(
        id="rtx6000ada-48gb",
        name="NVIDIA RTX 6000 Ada 48GB",
        memory_gb=48,
        hourly_price=0.80,
        kind="on_prem",
        tflops=364,
    ),
)


def in_currency(catalog: list[Gpu], currency: str, rates: dict[str, float]) -> list[Gpu]:
    """``catalog`` with every hourly price in ``currency``, converted with ``rates`` (units per US dollar);
    raises ``CatalogError`` for a currency without a rate."""
    missing = sorted({currency, *(g.currency for g in catalog)} - set(rates))
    if missing:
        raise CatalogError(f"no exchange rate for {', '.join(missing)} (ZOPOC_CURRENCY_RATES)")
    return [
        g
        if g.currency == currency
        else g.model_copy(
            update={
                "hourly_price": g.hourly_price * rates[currency] / rates[g.currency],
                "currency": currency,
            }
        )
        for g in catalog
    ]


class CatalogError(ValueError):
    """ZOPOC_GPU_CATALOG could not be read or does not describe GPUs."""


def _parse(text: str, source: str) -> object:
    stripped = text.strip()
    if source.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_load(stripped)
    return json.loads(stripped)


def load_catalog(spec: str | None = None) -> list[Gpu]:
    """The catalogue: the defaults, overridden/extended by ``spec`` (default: env ``ZOPOC_GPU_CATALOG``)."""
    spec = os.environ.get("ZOPOC_GPU_CATALOG") if spec is None else spec
    if not spec:
        return list(DEFAULT_GPUS)
    source = "env"
    text = spec
    if not spec.lstrip().startswith(("[", "{")):
        path = Path(spec)
        if not path.is_file():
            raise CatalogError(f"ZOPOC_GPU_CATALOG: {spec!r} is neither JSON nor a readable file")
        text, source = path.read_text(encoding="utf-8"), path.name
    try:
        raw = _parse(text, source)
        replace = isinstance(raw, dict) and bool(raw.get("replace"))
        items = raw["gpus"] if isinstance(raw, dict) else raw
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError("expected a list of objects")
        merged = {} if replace else {g.id: g for g in DEFAULT_GPUS}
        for item in items:
            # an entry naming a known id is a partial override: the fields it leaves out keep their values
            base = merged[item["id"]].model_dump() if item.get("id") in merged else {}
            base.pop("placeholder", None)  # edited by the operator: a real entry from now on
            entry = Gpu.model_validate(base | item)
            merged[entry.id] = entry
    except Exception as exc:
        raise CatalogError(f"ZOPOC_GPU_CATALOG ({source}) is not a valid GPU list: {exc}") from exc
    return list(merged.values())


def find_gpu(catalog: list[Gpu], gpu_id: str) -> Gpu | None:
    """The entry with ``gpu_id``, or None."""
    return next((g for g in catalog if g.id == gpu_id), None)


def fit_state(required_bytes: int, gpu: Gpu, count: int = 1) -> tuple[str, float]:
    """("fits" | "tight" | "wont_fit", headroom in GB) of a workload on ``count`` cards of ``gpu``."""
    capacity = gpu.memory_gb * 1e9 * count
    headroom_gb = (capacity - required_bytes) / 1e9
    if required_bytes > capacity:
        return "wont_fit", headroom_gb
    if required_bytes > TIGHT_FRACTION * capacity:
        return "tight", headroom_gb
    return "fits", headroom_gb


def smallest_fit(catalog: list[Gpu], required_bytes: int, kinds=("cloud", "on_prem", "own")):
    """The (gpu, count) that fits comfortably (placeholders never count) (not tight) on the fewest cards, then the smallest card, then the
    cheaper one: one big card beats several small ones, which would need model sharding.

    Returns None when even 8 of the largest card would not fit.
    """
    candidates = [
        (n, g.memory_gb, g.hourly_price, g.id, g, n)
        for g in catalog
        if g.kind in kinds and not g.placeholder
        for n in GPU_COUNTS
        if fit_state(required_bytes, g, n)[0] == "fits"
    ]
    if not candidates:
        return None
    *_, gpu, count = min(candidates, key=lambda c: c[:4])
    return gpu, count
