"""Reading published indicators for people: parameterised queries and French formatting.

Shared by `pre-eval indicators` and (later) the dashboard. Filters reach SQL only as
parameters, never spliced into the query text.
"""

from __future__ import annotations

from pipelines.common import formats
from pipelines.common.datahome import DataHome
from pipelines.publication.published import open_published, published_path
from pipelines.warehouse.catalogue import catalogue, catalogue_categories


def query_indicators(home: DataHome, *, indicateur: str | None = None, niveau: str | None = None,
                     territoire: str | None = None, periode: str | None = None,
                     categorie: str | None = None) -> list[dict]:
    if not published_path(home).exists():
        raise FileNotFoundError("Aucun entrepôt publié : lancez d'abord « pre-eval process ».")
    known = {i.code for i in catalogue()}
    if indicateur is not None and indicateur not in known:
        raise ValueError(f"Indicateur inconnu : {indicateur}. Indicateurs : {', '.join(sorted(known))}.")
    con = open_published(home)
    try:
        cursor = con.execute(
            """
            select i.indicateur, i.categorie, i.niveau, i.territoire, i.periode, i.valeur, i.effectif,
                   c.part_sites_complets, c.complet
            from marts.indicateurs as i
            left join marts.completude as c using (niveau, territoire, periode)
            where (? is null or i.indicateur = ?) and (? is null or i.niveau = ?)
              and (? is null or i.territoire = ?) and (? is null or i.periode = ?)
              and (? is null or i.categorie = ?)
            order by i.indicateur, i.niveau, i.territoire, i.periode, i.categorie
            """,
            [indicateur, indicateur, niveau, niveau, territoire, territoire, periode, periode,
             categorie, categorie])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def render_table(rows: list[dict], limit: int = 200) -> str:
    """A plain-text French table (analyst's quick look; values unmasked, as in the warehouse)."""
    if not rows:
        return "Aucun indicateur ne correspond à ces filtres."
    labels = {i.code: i for i in catalogue()}
    category_labels = {k: v for values in catalogue_categories().values() for k, v in values.items()}
    header = ["Indicateur", "Catégorie", "Niveau", "Territoire", "Période", "Valeur", "Effectif", "Données"]
    lines = []
    for row in rows[:limit]:
        ind = labels[row["indicateur"]]
        if row["complet"] is None:
            complete = "—"
        elif row["complet"]:
            complete = "complètes"
        else:
            complete = f"incomplètes ({formats.percent(row['part_sites_complets'], 0)} des sites complets)"
        lines.append([ind.libelle, category_labels.get(row["categorie"], row["categorie"]), row["niveau"],
                      row["territoire"], row["periode"], formats.by_kind(row["valeur"], ind.format),
                      formats.number(row["effectif"]), complete])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    if len(rows) > limit:
        out.append(f"… {formats.number(len(rows) - limit)} lignes de plus (affinez les filtres ou augmentez --limite).")
    return "\n".join(out)
