"""The dashboard's own French vocabulary: level names, period types, submission statuses, territory labels.

Labels that are data live once, with their source: code lists in the data contracts
(`pipelines.contracts.model.load_contracts().code_list(...)`), territory names in the referential
(`pipelines.contracts.referential`), indicator categories in the catalogue.
"""

from __future__ import annotations

from pipelines.contracts.referential import departement_names, regions

LEVELS = {"national": "France entière", "region": "Région", "departement": "Département", "pre": "Site PRE"}
LEVELS_PLURAL = {"region": "régions", "departement": "départements", "pre": "sites PRE"}
LEVELS_SINGULAR = {"region": "région", "departement": "département", "pre": "site PRE"}
PERIOD_TYPES = {"civile": "Année civile", "scolaire": "Année scolaire"}
STATUSES = {"accepte": "Accepté", "refuse": "Refusé", "ignore": "Ignoré"}


def territory(level: str, code: str, site_names: dict[str, str] | None = None) -> str:
    """`Reims (PRE51454)`, `51 — Marne`, `44 — Grand Est`, `France entière`."""
    if level == "national":
        return LEVELS["national"]
    if level == "region":
        names = regions()
        return f"{code} — {names[code]}" if code in names else f"Région {code}"
    if level == "departement":
        names = departement_names()
        return f"{code} — {names[code]}" if code in names else f"Département {code}"
    name = (site_names or {}).get(code)
    return f"{name} ({code})" if name else code
