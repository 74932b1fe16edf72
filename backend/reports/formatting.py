"""Numbers, money, durations and times as a manager reads them, in English or Japanese.

No scientific notation anywhere (``3.3e-05 USD`` becomes ``< $0.01``), thousands separators, a currency's
symbol and its usual decimals, times in the reader's time zone with the zone named.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DASH = "–"
# symbol and decimals of the currencies a GPU catalogue is likely to be priced in; others show their code
CURRENCIES = {"USD": ("$", 2), "EUR": ("€", 2), "GBP": ("£", 2), "JPY": ("¥", 0), "CNY": ("CN¥", 2)}
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def number(value: float | None, digits: int = 0) -> str:
    """``value`` with thousands separators and ``digits`` decimals; a nonzero value too small for them
    reads ``< 0.01`` (never ``1e-05``)."""
    if value is None:
        return DASH
    smallest = 10.0**-digits
    if value != 0 and abs(value) < smallest / 2:
        return f"< {smallest:.{digits}f}" if value > 0 else f"> -{smallest:.{digits}f}"
    return f"{value:,.{digits}f}"


def setting_value(value: object) -> str:
    """A setting's value: small or large floats as a × 10ⁿ (a learning rate of 1e-05 reads 1 × 10⁻⁵)."""
    if isinstance(value, bool) or value is None:
        return DASH if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if 0.001 <= abs(value) < 100_000:
            return f"{value:,.4g}"
        mantissa, exponent = f"{value:.2e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        power = "10" + str(int(exponent)).translate(SUPERSCRIPT)
        return f"{mantissa} × {power}"
    return str(value)


def percent(value: float | None, digits: int = 1) -> str:
    """A share (0.853) as a percentage (85.3%)."""
    return DASH if value is None else f"{100 * value:.{digits}f}%"


def money(value: float | None, currency: str | None) -> str:
    """``$1,234.56``, ``$0.42``, ``< $0.01``, ``¥1,235``; an unknown currency as ``12.30 CHF``."""
    if value is None or currency is None:
        return DASH
    symbol, decimals = CURRENCIES.get(currency.upper(), ("", 2))
    smallest = 10.0**-decimals

    def show(amount: float) -> str:
        text = f"{amount:,.{decimals}f}"
        return f"{symbol}{text}" if symbol else f"{text} {currency}"

    if 0 < value < smallest / 2:
        return f"< {show(smallest)}"
    return show(value)


def parameters(count: int | None) -> str:
    """A parameter count as people say it: ``22.7M``, ``7.0B``."""
    if count is None:
        return DASH
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if count >= size:
            return f"{count / size:,.1f}{suffix}"
    return f"{count:,}"


DURATION_UNITS = {"en": ("s", "min", "h"), "ja": ("秒", "分", "時間")}


def size_bytes(value: int | None) -> str:
    """A file size for people: ``812 B``, ``38 KB``, ``1.2 MB``, ``4.5 GB`` (powers of 1000, as disks count)."""
    if value is None:
        return DASH
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if value >= scale:
            amount = value / scale
            return f"{number(amount, 1 if amount < 10 else 0)} {unit}"
    return f"{number(value)} B"


def duration_hours(hours: float | None, language: str) -> str:
    """A length of time given in hours, in the unit that reads best: ``< 1 s``, ``42 s``, ``3.5 min``,
    ``1,234 h`` (``秒``, ``分``, ``時間`` in Japanese)."""
    if hours is None:
        return DASH
    sec, minute, hour = DURATION_UNITS[language]
    space = " " if language == "en" else ""
    seconds = hours * 3600
    if seconds < 0.5:
        return f"< 1{space}{sec}"
    if seconds < 90:
        return f"{seconds:.0f}{space}{sec}"
    if seconds < 90 * 60:
        return f"{seconds / 60:,.1f}{space}{minute}"
    return f"{hours:,.1f}{space}{hour}"


def zone(name: str | None) -> ZoneInfo:
    """The reader's time zone by IANA name; UTC when none or unknown."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def date_time(iso: str | None, language: str, time_zone: str | None) -> str:
    """An ISO timestamp in the reader's zone, the zone named: ``3 Dec 2026, 15:42 (Asia/Tokyo, JST)``,
    ``2026年12月3日 15:42（Asia/Tokyo、JST）``; ``… (UTC)`` when the reader's zone is not known."""
    if not iso:
        return DASH
    moment = dt.datetime.fromisoformat(iso)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    tz = zone(time_zone)
    local = moment.astimezone(tz)
    abbreviation = local.tzname() or ""
    key = tz.key
    named = (
        key if abbreviation in (key, "") or abbreviation.startswith(("+", "-")) else f"{key}, {abbreviation}"
    )
    if language == "ja":
        named = named.replace(", ", "、")
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（{named}）"
    return f"{local.day} {local:%b %Y}, {local:%H:%M} ({named})"
