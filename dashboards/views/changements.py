"""Ce qui a changé: an edition compared with the live figures or with another edition, per indicator and
territory, with the sites whose submissions explain the difference."""

import polars as pl
import streamlit as st

import access
import data
import labels
from display import Column, page, table
from pipelines.common import formats
from pipelines.publication import editions
from pipelines.publication.disclosure import SECRET
from pipelines.warehouse.catalogue import catalogue, catalogue_categories

KEYS = ["indicateur", "categorie", "niveau", "territoire", "periode"]


def sites_of(source: str) -> dict[str, str]:
    """code_pre → date_extraction (ISO) of the snapshots behind a source's figures."""
    if source == editions.LIVE:
        df = data.query("dates_extraction", source_=source)
        return {c: str(d) for c, d in zip(df["code_pre"].to_list(), df["date_extraction"].to_list(), strict=True)}
    return {s["code_pre"]: s["date_extraction"] for s in editions.describe(data.home(), source)["sites"]}


def shown(value, masked, fmt: str) -> str:
    if masked is None:
        return "absent"
    return SECRET if masked else formats.by_kind(value, fmt)


def others_label(count: int) -> str:
    return f"{formats.number(count)} autre{'s' if count > 1 else ''} site{'s' if count > 1 else ''}"


def members(sites: pl.DataFrame) -> dict[tuple[str, str], set[str]]:
    """The sites of every territory."""
    out: dict[tuple[str, str], set[str]] = {("national", "FR"): set(sites["code_pre"].to_list())}
    for code, dept, region in sites.select("code_pre", "departement", "region").iter_rows():
        out.setdefault(("pre", code), set()).add(code)
        out.setdefault(("departement", dept), set()).add(code)
        out.setdefault(("region", region), set()).add(code)
    return out


def body(_filters) -> None:
    choices = data.sources()
    made = [name for name in choices if name != editions.LIVE]
    if not made:
        st.info("Aucune édition n'a encore été figée : la comparaison porte sur une édition (commande "
                "« pre-eval edition creer NOM »).")
        return
    left, right = st.columns(2)
    with left:
        reference = st.selectbox("Édition de référence", made, format_func=choices.__getitem__, key="changes_ref")
    with right:
        others = [name for name in choices if name != reference]
        other = st.selectbox("Comparée avec", others, format_func=choices.__getitem__, key="changes_other")
    periods = data.query("periodes", source_=reference)["periode"].to_list()
    if not periods:
        st.info("Cette édition ne contient aucune période.")
        return
    period = st.selectbox("Période", periods[::-1], key="changes_period")

    # Only the territories of the person's perimeter (access.md), in both versions.
    before = access.keep_visible(data.query("indicateurs_periode", source_=reference, niveau="*", parent="*",
                                            periode=period))
    after = access.keep_visible(data.query("indicateurs_periode", source_=other, niveau="*", parent="*",
                                           periode=period))
    joined = before.select([*KEYS, "valeur", "effectif", "masque"]).join(
        after.select([*KEYS, "valeur", "effectif", "masque"]), on=KEYS, how="full", coalesce=True, suffix="_apres")
    differs = ~(pl.col("valeur").eq_missing(pl.col("valeur_apres")) & pl.col("effectif").eq_missing(
        pl.col("effectif_apres")) & pl.col("masque").eq_missing(pl.col("masque_apres")))
    changed = joined.filter(differs)

    sites_before, sites_after = sites_of(reference), sites_of(other)
    moved = {code for code in set(sites_before) | set(sites_after) if sites_before.get(code) != sites_after.get(code)}
    # Which site sent what is a site's status: named only within the person's perimeter, the others counted.
    named = access.own_submission_sites(moved)
    names = dict(data.sites().select("code_pre", "nom").iter_rows())
    if moved:
        lines = [f"- {names.get(c, c)} ({c}) : données extraites le "
                 f"{formats.day(sites_before[c]) if c in sites_before else '—'} dans la référence, le "
                 f"{formats.day(sites_after[c]) if c in sites_after else '—'} dans la comparaison"
                 for c in sorted(named)]
        if len(moved - named):
            lines.append(f"- {others_label(len(moved - named))} hors de votre périmètre")
        st.markdown("**Sites dont les données ont changé**\n\n" + "\n".join(lines))
    else:
        st.markdown("**Aucun site n'a envoyé de nouvelles données entre les deux.**")
    st.write(f"{formats.number(changed.height)} chiffres de la période {period} diffèrent.")
    if not changed.height:
        return

    territory_sites = members(data.sites())
    indicators = {i.code: i for i in catalogue()}
    categories = {k: v for values in catalogue_categories().values() for k, v in values.items()}
    rows = []
    for r in changed.iter_rows(named=True):
        ind = indicators[r["indicateur"]]
        behind = territory_sites.get((r["niveau"], r["territoire"]), set()) & moved
        cause = [f"{names.get(c, c)} ({c})" for c in sorted(behind & named)]
        if behind - named:
            cause.append(others_label(len(behind - named)))
        rows.append({
            "indicateur": ind.libelle, "categorie": categories.get(r["categorie"], r["categorie"]),
            "territoire": labels.territory(r["niveau"], r["territoire"], names),
            "avant": shown(r["valeur"], r["masque"], ind.format),
            "apres": shown(r["valeur_apres"], r["masque_apres"], ind.format),
            "cause": ", ".join(cause) or "méthode ou référentiel",
        })
    table(pl.DataFrame(rows), [Column("indicateur", "Indicateur"), Column("categorie", "Catégorie"),
                               Column("territoire", "Territoire"), Column("avant", choices[reference]),
                               Column("apres", choices[other]), Column("cause", "Sites en cause")],
          key="changements", file_stem=f"pre_changements_{reference}_{other}_{period}",
          notes=["Chiffres masqués par le secret statistique dans l'une ou l'autre version : « secret statistique »."])


page("Ce qui a changé", body, filters=False)
