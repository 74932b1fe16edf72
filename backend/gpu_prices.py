"""The GPU catalogue as every page prices it: the setting's catalogue (``ZOPOC_GPU_CATALOG`` or the built-in
table) with the prices an administrator set in the dashboard (``gpu_prices``), in the reader's currency.
Knows nothing of HTTP."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.db.models import GpuPrice, utcnow
from backend.errors import Invalid, Problem
from backend.estimates import gpus


def catalog(session: Session, settings: Settings, currency: str | None = None) -> list[gpus.Gpu]:
    """The catalogue with the administrators' prices, in ``currency`` when one is named (``CatalogError``
    for a currency without a rate). An administrator's price makes a placeholder entry a real one."""
    base = gpus.load_catalog(settings.gpu_catalog or "")
    prices = {p.gpu_id: p for p in session.query(GpuPrice).all()}
    priced = [
        g.model_copy(
            update={
                "hourly_price": prices[g.id].hourly_price,
                "currency": prices[g.id].currency,
                "placeholder": False,
                "price_source": "administrator",
            }
        )
        if g.id in prices
        else g
        for g in base
    ]
    return gpus.in_currency(priced, currency, settings.currency_rates) if currency else priced


def set_price(
    session: Session, settings: Settings, gpu_id: str, hourly_price: float, currency: str, by: str | None
) -> gpus.Gpu:
    """Set the hourly price of catalogue GPU ``gpu_id``; ``Invalid`` for an unknown GPU or currency."""
    problems = []
    if gpu_id not in {g.id for g in gpus.load_catalog(settings.gpu_catalog or "")}:
        problems.append(Problem("gpu_id", f"no GPU {gpu_id!r} in the catalogue"))
    if currency not in settings.currency_rates:
        known = ", ".join(sorted(settings.currency_rates))
        problems.append(Problem("currency", f"no exchange rate for {currency!r}; known: {known}"))
    if problems:
        raise Invalid(problems)
    row = session.get(GpuPrice, gpu_id) or GpuPrice(gpu_id=gpu_id)
    row.hourly_price, row.currency, row.updated_at, row.updated_by = hourly_price, currency, utcnow(), by
    session.add(row)
    session.flush()
    return next(g for g in catalog(session, settings) if g.id == gpu_id)


def clear_price(session: Session, settings: Settings, gpu_id: str) -> gpus.Gpu | None:
    """Drop an administrator's price: the setting's price applies again. None for an unknown GPU."""
    row = session.get(GpuPrice, gpu_id)
    if row is not None:
        session.delete(row)
        session.flush()
    return next((g for g in catalog(session, settings) if g.id == gpu_id), None)
