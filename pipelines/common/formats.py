"""French number and date formatting for everything a user reads (`12 345,6`, `45,2 %`, `1 234 €`)."""

from __future__ import annotations

import datetime as dt
import math

SPACE = " "  # thousands separator, as written in the specification


def number(value: float | int | None, decimals: int = 0) -> str:
    """`12 345,6`; "—" for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u0000").replace(".", ",").replace("\u0000", SPACE)


def exact(value: float | int) -> str:
    """A number with exactly the decimals it has (`10 000`, `0,5`): bounds and examples in documents."""
    if isinstance(value, float) and not value.is_integer():
        return number(value, len(repr(value).partition(".")[2]))
    return number(int(value))


def percent(value: float | None, decimals: int = 1) -> str:
    return "—" if value is None else f"{number(value, decimals)} %"


def euros(value: float | None, decimals: int = 0) -> str:
    return "—" if value is None else f"{number(value, decimals)} €"


def size(n_bytes: int | None) -> str:
    """A file size in decimal units: `850 octets`, `12,3 ko`, `1,5 Mo`, `2,0 Go`."""
    if n_bytes is None:
        return "—"
    if abs(n_bytes) < 1000:
        return plural(n_bytes, "octet")
    for unit, scale in (("ko", 1e3), ("Mo", 1e6), ("Go", 1e9)):
        if abs(n_bytes) < scale * 1000 or unit == "Go":
            return f"{number(n_bytes / scale, 1)} {unit}"
    raise AssertionError("unreachable")


def day(value: dt.date | dt.datetime | str | None) -> str:
    """`31/12/2024`; an ISO string is read first; "—" for a missing value."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return value.strftime("%d/%m/%Y")


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """`1 avertissement`, `2 avertissements`, `1 234 anomalies bloquantes`."""
    word = singular if abs(n) < 2 else (plural_form or singular + "s")
    return f"{number(n)} {word}"


def neutralise(text: str) -> str:
    """Defuse spreadsheet formulas when a text is echoed into a report or a download (CSV)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# Display kinds of the indicator catalogue (`format` of each indicator).
KINDS = ("entier", "decimal1", "pourcentage", "euros")


def by_kind(value: float | None, kind: str) -> str:
    """A value as the catalogue's display kind says (`entier`, `decimal1`, `pourcentage`, `euros`)."""
    if value is None:
        return "—"
    if kind == "entier":
        return number(value, 0)
    if kind == "pourcentage":
        return percent(value, 1)
    if kind == "euros":
        return euros(value, 0)
    return number(value, 1)
