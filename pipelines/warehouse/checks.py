"""Checks of the warehouse's marts, run after each build (Dagster asset checks, `pipelines/defs/checks.py`).

Each check reads the warehouse and returns an `Outcome` (passed or not, a French sentence, figures for the
Dagster UI). The blocking ones stop the publication when they fail (the published copy in force stays); the
others warn:

- `indicateurs_coherents` (marts/indicateurs, blocking): one row per key; shares within 0–100; a count
  equal to its effectif; effectif ≥ 0; each interval around its value.
- `lignes_conformes_au_registre` (marts/depots, blocking): each site's rows in force are the counts its
  ledger row recorded when it was loaded.
- `cles_uniques` (marts/parcours, actions, bilans, attentes, blocking): one row per (code_pre, identifier).
- `aucun_identifiant_en_clair` (every mart, blocking): identifier columns hold pseudonyms only (32
  hexadecimal characters); no text column holds an e-mail address, a phone number, a NIR or an INE (the
  portal sender's address in marts.depots aside: a professional address, shown to the site's own
  coordinators only).
- `volume_stable` (marts/depots, warning): a site whose pathways in force fell by half or more, or
  doubled, from its previous accepted snapshot (either of at least 20).
- `fraicheur_des_sites` (marts/depots, warning): days since each site's data in force was extracted,
  against `PRE_FRAICHEUR_JOURS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from pipelines.common import formats
from pipelines.contracts.findings import STRONG_PERSONAL_PATTERNS
from pipelines.contracts.model import DATA_TABLES, load_contracts
from pipelines.warehouse.catalogue import catalogue

PSEUDONYM = "^[0-9a-f]{32}$"
# Strong patterns only (a capitalised word is a label here, not a name): e-mail, French phone number, NIR, INE.
PERSONAL = "|".join(STRONG_PERSONAL_PATTERNS)
EXEMPT = {("depots", "depose_par")}  # the sender's professional address (access.md: the portal)
DRIFT_LOW, DRIFT_HIGH, DRIFT_MIN = 0.5, 2.0, 20
TOLERANCE = 1e-9
SHOWN = 5  # examples listed in a message


@dataclass
class Outcome:
    passed: bool
    message: str
    metadata: dict = field(default_factory=dict)


def _examples(rows: list, render) -> str:
    text = " ; ".join(render(r) for r in rows[:SHOWN])
    return text + (f" ; … et {len(rows) - SHOWN} autres" if len(rows) > SHOWN else "")


def indicators_consistent(con: duckdb.DuckDBPyConnection) -> Outcome:
    shares = [i.code for i in catalogue() if i.nature == "part"]
    counts = [i.code for i in catalogue() if i.nature == "compte"]
    # Keys grouped by their hash first (one integer, not five texts: about twice as fast on 5,4 million rows);
    # only the rows whose hash repeats are then grouped by the key itself, so a collision is never a duplicate.
    duplicates = con.execute(
        """
        with hashed as (
            select hash(indicateur, categorie, niveau, territoire, periode) as h, * from marts.indicateurs),
        repeated as (select h from hashed group by h having count(*) > 1)
        select indicateur, categorie, niveau, territoire, periode from hashed semi join repeated using (h)
        group by all having count(*) > 1 order by all
        """).fetchall()
    problems = con.execute(
        """
        select indicateur, categorie, niveau, territoire, periode,
            case
                when effectif < 0 then 'effectif négatif'
                when list_contains($shares, indicateur) and (valeur < 0 or valeur > 100) then 'part hors de 0 à 100'
                when list_contains($counts, indicateur) and valeur is distinct from cast(effectif as double)
                    then 'compte différent de son effectif'
                when borne_basse is not null and valeur is not null and borne_basse > valeur + $tol
                    then 'borne basse au-dessus de la valeur'
                when borne_haute is not null and valeur is not null and borne_haute < valeur - $tol
                    then 'borne haute au-dessous de la valeur'
                when borne_basse > borne_haute + $tol then 'bornes inversées'
            end as probleme
        from marts.indicateurs
        where probleme is not null
        order by all
        """, {"shares": shares, "counts": counts, "tol": TOLERANCE}).fetchall()
    rows = con.execute("select count(*) from marts.indicateurs").fetchone()[0]
    metadata = {"lignes": rows, "cles_en_double": len(duplicates), "lignes_incoherentes": len(problems)}
    if not duplicates and not problems:
        return Outcome(True, f"{formats.plural(rows, 'ligne vérifiée', 'lignes vérifiées')} : clés uniques, parts "
                             "entre 0 et 100, comptes égaux à leur effectif, intervalles autour de leur valeur.",
                       metadata)
    parts = []
    if duplicates:
        parts.append(f"{formats.plural(len(duplicates), 'clé en double', 'clés en double')} ("
                     + _examples(duplicates, lambda r: "/".join(str(x) for x in r)) + ")")
    if problems:
        parts.append(f"{formats.plural(len(problems), 'ligne incohérente', 'lignes incohérentes')} ("
                     + _examples(problems, lambda r: f"{'/'.join(str(x) for x in r[:5])} : {r[5]}") + ")")
    return Outcome(False, "marts.indicateurs : " + " ; ".join(parts) + ".", metadata)


def rows_match_ledger(con: duckdb.DuckDBPyConnection) -> Outcome:
    union = " union all ".join(f"select code_pre, '{t}' as table_, count(*) as n from ingestion.{t} group by 1"
                               for t in DATA_TABLES)  # fixed table names
    ledger = " union all ".join(f"select code_pre, '{t}' as table_, nb_{t} as n from ingestion.depots "
                                "where en_vigueur and statut = 'accepte'" for t in DATA_TABLES)
    mismatches = con.execute(
        f"""
        select coalesce(l.code_pre, h.code_pre), coalesce(l.table_, h.table_), coalesce(l.n, 0), coalesce(h.n, 0)
        from ({ledger}) as l full join ({union}) as h on l.code_pre = h.code_pre and l.table_ = h.table_
        where coalesce(l.n, 0) <> coalesce(h.n, 0)
        order by 1, 2
        """).fetchall()
    sites = con.execute("select count(*) from ingestion.depots where en_vigueur and statut = 'accepte'").fetchone()[0]
    metadata = {"sites_en_vigueur": sites, "ecarts": len(mismatches)}
    if not mismatches:
        return Outcome(True, f"{formats.plural(sites, 'site', 'sites')} : les lignes en vigueur sont celles que le "
                             "registre des dépôts a comptées au chargement.", metadata)
    return Outcome(False, f"{formats.plural(len(mismatches), 'écart', 'écarts')} entre l'entrepôt et le registre des "
                          "dépôts (" + _examples(mismatches, lambda r: f"{r[0]}, {r[1]} : "
                                                 f"{formats.plural(r[3], 'ligne', 'lignes')} pour "
                                                 f"{formats.number(r[2])} au registre") + ").", metadata)


def unique_keys(con: duckdb.DuckDBPyConnection, table: str) -> Outcome:
    if table not in DATA_TABLES:
        raise ValueError(table)
    key = load_contracts().tables[table].columns[0].name  # the table's own identifier comes first
    duplicates = con.execute(f'select code_pre, count(*) from (select code_pre, "{key}" from marts.{table} '
                             f'group by all having count(*) > 1) group by 1 order by 1').fetchall()
    if not duplicates:
        return Outcome(True, f"marts.{table} : une ligne par ({key}, site).", {"cles_en_double": 0})
    total = sum(n for _, n in duplicates)
    return Outcome(False, f"marts.{table} : {formats.plural(total, 'identifiant en double', 'identifiants en double')} "
                          f"({key}) : " + _examples(duplicates, lambda r: f"{r[0]} ({formats.number(r[1])})") + ".",
                   {"cles_en_double": total})


def no_clear_identifier(con: duckdb.DuckDBPyConnection, mart: str) -> Outcome:
    """`mart` is a name of the marts schema (from the SQL graph, never from input)."""
    identifiers = {c.name for t in load_contracts().tables.values() for c in t.columns if c.nature == "identifiant"}
    columns = [c for (c,) in con.execute(
        "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ? "
        "and data_type = 'VARCHAR' order by column_index", [mart]).fetchall() if (mart, c) not in EXEMPT]
    if not columns:
        return Outcome(True, f"marts.{mart} : aucune colonne de texte.", {"colonnes": 0})
    # Identifiers, one value per row, are tested row by row. Other text columns hold few distinct values
    # (codes, territories, periods): each distinct value is tested once and counts for its rows (marts.indicateurs,
    # 5,4 million rows nationally: 1,4 s → 0,1 s).
    tests = [f"""(select count(*) filter (where "{c}" is not null and not regexp_matches("{c}", '{PSEUDONYM}'))
                   from marts.{mart})""" if c in identifiers else
             f"""(select coalesce(sum(n) filter (where regexp_matches(v, '{PERSONAL}')), 0)
                   from (select "{c}" as v, count(*) as n from marts.{mart} group by 1))"""
             for c in columns]
    found = con.execute(f"select {', '.join(tests)}").fetchone()
    bad = [(c, n) for c, n in zip(columns, found, strict=True) if n]
    metadata = {"colonnes": len(columns), "valeurs_suspectes": sum(n for _, n in bad)}
    if not bad:
        return Outcome(True, f"marts.{mart} : identifiants pseudonymisés, aucune adresse électronique, aucun numéro "
                             "de téléphone, NIR ou INE.", metadata)
    return Outcome(False, f"marts.{mart} : valeurs qui ressemblent à des données personnelles en clair (valeurs non "
                          "reproduites) : " + _examples(bad, lambda r: f"colonne {r[0]} ({formats.number(r[1])})")
                   + ".", metadata)


def volume_stable(con: duckdb.DuckDBPyConnection) -> Outcome:
    moves = con.execute(
        """
        with accepted as (
            select code_pre, nb_parcours, en_vigueur,
                row_number() over (partition by code_pre order by date_extraction desc, recu_le desc) as rang
            from ingestion.depots where statut = 'accepte'
        ),
        pairs as (
            select a.code_pre, b.nb_parcours as avant, a.nb_parcours as apres
            from accepted as a join accepted as b on a.code_pre = b.code_pre and b.rang = a.rang + 1
            where a.en_vigueur
        )
        select code_pre, avant, apres from pairs
        where greatest(avant, apres) >= $min and (apres < avant * $low or apres > avant * $high)
        order by 1
        """, {"min": DRIFT_MIN, "low": DRIFT_LOW, "high": DRIFT_HIGH}).fetchall()
    if not moves:
        return Outcome(True, "Aucun site dont le nombre de parcours en vigueur a diminué de moitié ou doublé depuis "
                             "son dépôt précédent.", {"sites_signales": 0})
    return Outcome(False, f"{formats.plural(len(moves), 'site', 'sites')} dont le nombre de parcours a diminué de "
                          "moitié ou doublé d'un dépôt au suivant (à vérifier avec le site : export partiel ou "
                          "changement de périmètre ?) : "
                   + _examples(moves, lambda r: f"{r[0]} ({formats.number(r[1])} → {formats.number(r[2])})") + ".",
                   {"sites_signales": len(moves)})


def sites_fresh(con: duckdb.DuckDBPyConnection, max_days: int, today: date | None = None) -> Outcome:
    today = today or date.today()
    ages = con.execute(
        "select code_pre, date_extraction, date_diff('day', date_extraction, $today) as jours "
        "from ingestion.depots where en_vigueur and statut = 'accepte' order by jours desc, code_pre",
        {"today": today}).fetchall()
    stale = [r for r in ages if r[2] is not None and r[2] > max_days]
    metadata = {"sites": len(ages), "sites_anciens": len(stale), "attente_max_jours": max_days,
                "plus_ancien_jours": ages[0][2] if ages else 0}
    if not stale:
        return Outcome(True, f"Données en vigueur de chaque site extraites il y a au plus "
                             f"{formats.plural(max_days, 'jour', 'jours')}.", metadata)
    return Outcome(False, f"{formats.plural(len(stale), 'site', 'sites')} sans données extraites depuis plus de "
                          f"{formats.plural(max_days, 'jour', 'jours')} (PRE_FRAICHEUR_JOURS) : "
                   + _examples(stale, lambda r: f"{r[0]}, extraites le {formats.day(r[1])} "
                               f"({formats.plural(r[2], 'jour', 'jours')})") + ".", metadata)
