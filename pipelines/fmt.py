"""French number and date formatting for everything a user reads (`12 345,6`, `45,2 %`)."""

from __future__ import annotations

import math
from datetime import date, datetime

SPACE = " "  # thousands separator, as written in the specification


def nombre(value: float | int | None, decimales: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:,.{decimales}f}"
    return text.replace(",", "\u0000").replace(".", ",").replace("\u0000", SPACE)


def pourcentage(value: float | None, decimales: int = 1) -> str:
    return "—" if value is None else f"{nombre(value, decimales)} %"


def euros(value: float | None, decimales: int = 0) -> str:
    return "—" if value is None else f"{nombre(value, decimales)} €"


def date_fr(value: date | datetime | None) -> str:
    return "—" if value is None else value.strftime("%d/%m/%Y")


def pluriel(n: int, singulier: str, pluriel_: str | None = None) -> str:
    word = singulier if abs(n) < 2 else (pluriel_ or singulier + "s")
    return f"{nombre(n)} {word}"
