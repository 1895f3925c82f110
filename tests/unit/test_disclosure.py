"""Statistical disclosure control (indicators.md v2): the project's masking withstands a reader with
a linear-programming solver. Every protected table here is attacked by `tests/intruder.py`, written
from the specification alone; the expected masks of the small cases are worked out by hand."""

from __future__ import annotations

import collections
import random

import polars as pl
import pytest

from intruder import attack
from pipelines.publication import disclosure
from pipelines.publication.disclosure import MASK_COLUMN, audit, protect, protection, rules
from pipelines.publication.disclosure import intruder as intruder_module

S = 11
SCHEMA = {"indicateur": pl.String, "categorie": pl.String, "niveau": pl.String, "territoire": pl.String,
          "periode": pl.String, "valeur": pl.Float64, "effectif": pl.Int64}


def sites_frame(tree: dict[str, dict[str, list[str]]]) -> pl.DataFrame:
    """{region: {departement: [sites]}} → the referential's columns."""
    rows = [(site, dept, region) for region, depts in tree.items() for dept, sites in depts.items() for site in sites]
    return pl.DataFrame(rows, schema={"code_pre": pl.String, "departement": pl.String, "region": pl.String},
                        orient="row")


def territories(tree) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(niveau, territoire, its sites) for every territory of the tree."""
    out = [("national", "FR", [s for d in tree.values() for ss in d.values() for s in ss])]
    for region, depts in tree.items():
        out.append(("region", region, [s for ss in depts.values() for s in ss]))
        for dept, sites in depts.items():
            out.append(("departement", dept, list(sites)))
            out += [("pre", s, [s]) for s in sites]
    return out


def counts_table(indicator: str, site_values: dict[str, int], tree, categorie: str = "", period: str = "2024"):
    """Rows of a count indicator (value = effectif) at every level, upper levels summing their sites."""
    rows = []
    for level, code, sites in territories(tree):
        n = sum(site_values[s] for s in sites)
        rows.append((indicator, categorie, level, code, period, float(n), n))
    return rows


def frame(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def protected_and_attacked(df: pl.DataFrame, sites: pl.DataFrame, seed: bytes = b"essai"):
    masked = protect(df, sites, threshold=S, seed=seed).masked
    found = attack(masked, sites, threshold=S)
    assert found.primary_violations == []
    assert found.narrow == [], found.narrow[:5]
    own = audit(masked, sites, threshold=S)
    assert own.passed and own.masked_counts == found.masked_counts
    return masked


def shown(masked: pl.DataFrame, level: str, code: str, indicator: str, categorie: str = "") -> bool:
    row = masked.filter((pl.col("niveau") == level) & (pl.col("territoire") == code)
                        & (pl.col("indicateur") == indicator) & (pl.col("categorie") == categorie))
    return not row[MASK_COLUMN][0]


# --- the attacks found before this module existed, as regression tests -------------------------------------


GRAND_EST = {"44": {"08": ["PRE08105"], "52": ["PRE52448"], "10": ["PRE10387"],
                    "51": ["PRE51108", "PRE51230", "PRE51454", "PRE51649"]}}


def test_one_site_departements_do_not_give_away_a_masked_departement():
    """08 = 12, 52 = 7, 10 = 40, 51 = 112 (4 sites), region 171: 52 used to be recovered as
    171 − 40 − 112 − 12 because PRE08105, dept 08's only site, still showed 12."""
    values = {"PRE08105": 12, "PRE52448": 7, "PRE10387": 40, "PRE51108": 30, "PRE51230": 25, "PRE51454": 40,
              "PRE51649": 17}
    sites = sites_frame(GRAND_EST)
    masked = protected_and_attacked(frame(counts_table("enfants_suivis", values, GRAND_EST)), sites)
    assert not shown(masked, "departement", "52", "enfants_suivis")
    assert not shown(masked, "pre", "PRE52448", "enfants_suivis")


def test_the_intruder_recovers_what_sibling_only_masking_left():
    """The intruder is not blind: on the masking used before (complements among siblings only, the
    smallest visible one), it recovers département 52 exactly."""
    values = {"PRE08105": 12, "PRE52448": 7, "PRE10387": 40, "PRE51108": 30, "PRE51230": 25, "PRE51454": 40,
              "PRE51649": 17}
    sites = sites_frame(GRAND_EST)
    df = frame(counts_table("enfants_suivis", values, GRAND_EST))
    # What it did here: PRE52448 (7) and 52 (7) masked by the primary rule; among the départements of the
    # région, 08 (the smallest visible one, 12) masked as complement; PRE08105, alone under 08, shown.
    hidden = {("pre", "PRE52448"), ("departement", "52"), ("departement", "08")}
    old = df.with_columns(pl.struct("niveau", "territoire").map_elements(
        lambda r: (r["niveau"], r["territoire"]) in hidden, return_dtype=pl.Boolean).alias(MASK_COLUMN))
    found = attack(old, sites, threshold=S)
    assert ("2024", ("base", "C", "", "departement", "52"), 7.0, 7.0) in found.narrow


def test_the_complement_is_not_always_the_smallest_cell():
    """Sites 2, 11, 11, 50 and a total of 74: with the smallest visible cell as complement, A + B = 13
    and B = 11 gave A = 2. The complement is drawn (with the secret key) among sufficient cells."""
    tree = {"44": {"51": ["PRE51108", "PRE51230", "PRE51454", "PRE51649"]}}
    values = {"PRE51108": 2, "PRE51230": 11, "PRE51454": 11, "PRE51649": 50}
    sites = sites_frame(tree)
    chosen = set()
    for k in range(30):
        masked = protected_and_attacked(frame(counts_table("enfants_suivis", values, tree)), sites,
                                        seed=f"cle-{k}".encode())
        assert not shown(masked, "pre", "PRE51108", "enfants_suivis")
        chosen.add(tuple(sorted(s for s in values if not shown(masked, "pre", s, "enfants_suivis"))))
    assert len(chosen) >= 2, chosen  # not predictable from the rule
    # Not always a cell no larger than the smallest one left shown: the 50 completes it sometimes.
    assert any("PRE51649" in combo for combo in chosen), chosen


def test_the_same_key_masks_the_same_cells():
    values = {"PRE51108": 2, "PRE51230": 11, "PRE51454": 11, "PRE51649": 50}
    tree = {"44": {"51": list(values)}}
    df = frame(counts_table("enfants_suivis", values, tree))
    first = protect(df, sites_frame(tree), threshold=S, seed=b"cle").masked
    again = protect(df, sites_frame(tree), threshold=S, seed=b"cle").masked
    assert first.equals(again)


# --- primary rule ----------------------------------------------------------------------------------------------


def test_zero_is_not_masked_and_small_counts_are():
    tree = {"44": {"51": ["PRE51108", "PRE51230"], "10": ["PRE10387"]}}
    values = {"PRE51108": 0, "PRE51230": 40, "PRE10387": 35}
    masked = protected_and_attacked(frame(counts_table("enfants_suivis", values, tree)), sites_frame(tree))
    assert shown(masked, "pre", "PRE51108", "enfants_suivis")  # a zero count is not masked
    assert masked.filter(pl.col(MASK_COLUMN)).height == 0


def test_a_small_numerator_masks_its_share_but_not_the_base():
    """40 children, 5 girls: part_filles is masked (numerator 5 < 11), enfants_suivis stays shown;
    the national figures equal the single site's and are masked the same way."""
    tree = {"44": {"51": ["PRE51108"]}}
    rows = counts_table("enfants_suivis", {"PRE51108": 40}, tree)
    rows += [("part_filles", "", level, code, "2024", 100 * 5 / 40, 40) for level, code, _ in territories(tree)]
    masked = protected_and_attacked(frame(rows), sites_frame(tree))
    for level, code, _ in territories(tree):
        assert shown(masked, level, code, "enfants_suivis")
        assert not shown(masked, level, code, "part_filles")


def test_a_small_complement_masks_the_share_too():
    """40 children, 35 girls: 5 boys is a complement below 11."""
    tree = {"44": {"51": ["PRE51108"]}}
    rows = counts_table("enfants_suivis", {"PRE51108": 40}, tree)
    rows += [("part_filles", "", level, code, "2024", 100 * 35 / 40, 40) for level, code, _ in territories(tree)]
    masked = protected_and_attacked(frame(rows), sites_frame(tree))
    assert not shown(masked, "pre", "PRE51108", "part_filles")


def test_a_small_base_masks_every_row_sharing_it():
    """7 entries at a site: entrees, every age band and the school share of that site are masked."""
    tree = {"44": {"51": ["PRE51108", "PRE51230"]}}
    entries = {"PRE51108": 7, "PRE51230": 60}
    bands = {"PRE51108": [1, 3, 3, 0], "PRE51230": [12, 24, 20, 4]}
    school = {"PRE51108": 4, "PRE51230": 40}
    rows = counts_table("entrees", entries, tree)
    for level, code, sites in territories(tree):
        e = sum(entries[s] for s in sites)
        for k, band in enumerate(("2_5", "6_10", "11_16", "17_plus")):
            n = sum(bands[s][k] for s in sites)
            rows.append(("part_age", band, level, code, "2024", 100 * n / e, e))
        rows.append(("part_orientation_ecole", "", level, code, "2024", 100 * sum(school[s] for s in sites) / e, e))
    masked = protected_and_attacked(frame(rows), sites_frame(tree))
    site = masked.filter(pl.col("territoire") == "PRE51108")
    assert site[MASK_COLUMN].all()
    assert site["valeur"].is_null().all() and site["effectif"].is_null().all()


# --- generated tables: national-like hierarchies with one-site départements and tiny sites --------------------


def random_tree(rng: random.Random):
    tree, n = {}, 0
    for r in range(rng.randint(2, 3)):
        depts = {}
        for d in range(rng.randint(1, 4)):
            sites = [f"PRE{r}{d}{k:03d}" for k in range(rng.choice([1, 1, 2, 3, 5]))]
            n += len(sites)
            depts[f"{r}{d}"] = sites
        tree[f"R{r}"] = depts
    return tree


def random_indicators(rng: random.Random, tree, values=(0, 0, 1, 2, 3, 5, 8, 10, 11, 12, 15, 25, 40, 90, 300),
                      change: tuple[str, str] | None = None):
    """Indicators of two periods, upper levels summing their sites. With `change` (period, site), that
    site's counts in that period are drawn again (as after its new file); everything else is the same
    as without it, for the same `rng` state."""
    sites = [s for d in tree.values() for ss in d.values() for s in ss]

    def small() -> int:
        return rng.choice(values)

    rows = []
    for period in ("2023", "2023-2024"):
        entries_bands = {s: [small() for _ in range(4)] for s in sites}
        school = {s: rng.randint(0, sum(entries_bands[s])) for s in sites}
        children = {s: small() for s in sites}
        girls = {s: rng.randint(0, children[s]) for s in sites}
        volets = {v: {s: small() for s in sites} for v in ("SCOLARITE", "SANTE")}
        requests = {st: {s: small() for s in sites} for st in ("CMPP", "PRE")}
        attended = {s: small() for s in sites}
        if change is not None and change[0] == period:
            other, site = random.Random(repr(change)), change[1]
            entries_bands[site] = [other.choice(values) for _ in range(4)]
            school[site] = other.randint(0, sum(entries_bands[site]))
            children[site] = other.choice(values)
            girls[site] = other.randint(0, children[site])
            for by_site in (*volets.values(), *requests.values(), attended):
                by_site[site] = other.choice(values)
        for level, code, members in territories(tree):
            e = sum(sum(entries_bands[s]) for s in members)
            rows.append(("entrees", "", level, code, period, float(e), e))
            for k, band in enumerate(("2_5", "6_10", "11_16", "17_plus")):
                n = sum(entries_bands[s][k] for s in members)
                rows.append(("part_age", band, level, code, period, 100 * n / e if e else None, e))
            n = sum(school[s] for s in members)
            rows.append(("part_orientation_ecole", "", level, code, period, 100 * n / e if e else None, e))
            c = sum(children[s] for s in members)
            rows.append(("enfants_suivis", "", level, code, period, float(c), c))
            g = sum(girls[s] for s in members)
            rows.append(("part_filles", "", level, code, period, 100 * g / c if c else None, c))
            rows.append(("cout_par_enfant", "", level, code, period, 123.0 if c else None, c))
            for volet, by_site in volets.items():
                n = sum(by_site[s] for s in members)
                rows.append(("actions", volet, level, code, period, float(n), n))
            for structure, by_site in requests.items():
                n = sum(by_site[s] for s in members)
                rows.append(("demandes_attente", structure, level, code, period, float(n), n))
                rows.append(("attente_mediane_jours", structure, level, code, period, 60.0 if n else None, n))
            a = sum(attended[s] for s in members)
            rows.append(("taux_assiduite", "", level, code, period, 80.0 if a else None, a))
    return frame(rows)


@pytest.mark.parametrize("seed", range(8))
def test_generated_tables_withstand_the_intruder(seed):
    rng = random.Random(seed)
    tree = random_tree(rng)
    masked = protected_and_attacked(random_indicators(rng, tree), sites_frame(tree), seed=f"{seed}".encode())
    assert masked.filter(pl.col(MASK_COLUMN))["valeur"].is_null().all()


@pytest.mark.parametrize("seed", range(4))
def test_groups_proved_on_neighbourhoods_withstand_the_intruder(seed, monkeypatch):
    """A national warehouse joins thousands of masked counts into a group, proved on neighbourhoods
    of its objectives: forced here on small groups, with the shortest reach, the intruder still
    finds nothing narrower than the threshold."""
    monkeypatch.setattr(rules, "LOCAL_FROM", 1)
    monkeypatch.setattr(rules, "LOCAL_HOPS", 1)
    rng = random.Random(100 + seed)
    tree = random_tree(rng)
    masked = protected_and_attacked(random_indicators(rng, tree), sites_frame(tree), seed=f"{seed}".encode())
    assert masked.filter(pl.col(MASK_COLUMN))["valeur"].is_null().all()


def test_protection_keeps_rows_columns_and_shown_values():
    rng = random.Random(3)
    tree = random_tree(rng)
    df = random_indicators(rng, tree)
    masked = protect(df, sites_frame(tree), threshold=S, seed=b"k").masked
    assert masked.height == df.height and masked.columns == [*df.columns, MASK_COLUMN]
    joined = df.join(masked, on=["indicateur", "categorie", "niveau", "territoire", "periode"], suffix="_m")
    visible = joined.filter(~pl.col(MASK_COLUMN))
    assert (visible["effectif"] == visible["effectif_m"]).all()


def test_the_masks_do_not_depend_on_the_process(tmp_path):
    """Two processes with different hash seeds mask the same cells (a republication of the same data
    must not move the masks, or comparing the two would unmask cells)."""
    import subprocess
    import sys

    from support import REPO_ROOT

    script = (
        "import random, sys; sys.path.insert(0, 'tests'); sys.path.insert(0, 'tests/unit')\n"
        "from test_disclosure import random_indicators, random_tree, sites_frame\n"
        "from pipelines.publication.disclosure import protect\n"
        "rng = random.Random(4); tree = random_tree(rng); df = random_indicators(rng, tree)\n"
        "m = protect(df, sites_frame(tree), threshold=11, seed=b'k').masked\n"
        "print(sorted(m.filter(m['masque']).select('indicateur','categorie','niveau','territoire','periode').rows()))\n"
    )
    outputs = []
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and outputs[0].count("(") > 5


def _masked_cells(masked: pl.DataFrame) -> list[tuple]:
    return sorted(masked.filter(pl.col(MASK_COLUMN)).select("indicateur", "categorie", "niveau", "territoire",
                                                            "periode").rows())


def test_remembered_masks_are_the_masks_solved_afresh(tmp_path):
    """A period whose inputs are unchanged reuses its masks; a changed period is solved again, and
    either way the result is the one a protection without memory gives."""
    rng = random.Random(5)
    tree = random_tree(rng)
    df, sites = random_indicators(rng, tree), sites_frame(tree)
    memo = tmp_path / "masques"
    first = protect(df, sites, threshold=S, seed=b"k", memo=memo)
    again = protect(df.sample(fraction=1.0, shuffle=True, seed=1), sites, threshold=S, seed=b"k", memo=memo)
    assert (first.reused_periods, again.reused_periods) == (0, 2)
    assert _masked_cells(again.masked) == _masked_cells(first.masked) == _masked_cells(
        protect(df, sites, threshold=S, seed=b"k").masked)
    assert (again.primary, again.secondary) == (first.primary, first.secondary)

    # One site's count changes in one period: that period is solved again, the other is recalled.
    site = sorted(sites["code_pre"])[0]
    changed = df.with_columns(pl.when((pl.col("indicateur") == "enfants_suivis") & (pl.col("territoire") == site)
                                      & (pl.col("periode") == "2023"))
                              .then(pl.col("effectif") + 1).otherwise(pl.col("effectif")).alias("effectif"))
    assert not changed.equals(df)
    after = protect(changed, sites, threshold=S, seed=b"k", memo=memo)
    assert (after.reused_periods, after.incremental_periods) == (1, 1)
    fresh = protect(changed, sites, threshold=S, seed=b"k").masked
    kept = pl.col("periode") == "2023-2024"
    assert _masked_cells(after.masked.filter(kept)) == _masked_cells(fresh.filter(kept))
    found = attack(after.masked, sites, threshold=S)
    assert found.narrow == [] and found.primary_violations == []
    # Only the current periods' masks and last protections are kept.
    assert len(list(memo.glob("*.json"))) == 2
    assert len(list((memo / disclosure.PREVIOUS_FOLDER).glob("*.parquet"))) == 2


def _two_versions(seed: int):
    """Indicators, then the same after one site's counts of 2023 were drawn again."""
    rng = random.Random(300 + seed)
    tree = random_tree(rng)
    state = rng.getstate()
    before = random_indicators(rng, tree)
    site = random.Random(seed).choice(sorted(s for d in tree.values() for ss in d.values() for s in ss))
    rng.setstate(state)
    after = random_indicators(rng, tree, change=("2023", site))
    return before, after, sites_frame(tree)


@pytest.mark.parametrize("seed", range(4))
def test_a_changed_period_is_protected_again_from_its_last_protection(seed, tmp_path):
    """A site's new file changes a period: its protection starts from the last one and examines only the
    groups its changes touch. The intruder finds nothing, and every cell masked before whose figures did
    not change stays masked (a reader comparing the two publications learns nothing from such a cell)."""
    before, after, sites = _two_versions(seed)
    assert not before.equals(after)
    memo = tmp_path / "masques"
    first = protect(before, sites, threshold=S, seed=b"k", memo=memo)
    second = protect(after, sites, threshold=S, seed=b"k", memo=memo)
    assert (second.reused_periods, second.incremental_periods) == (1, 1)
    assert 0 < second.visited_groups <= second.groups
    found = attack(second.masked, sites, threshold=S)
    assert found.primary_violations == []
    assert found.narrow == [], found.narrow[:5]
    assert audit(second.masked, sites, threshold=S).passed
    key = ["indicateur", "categorie", "niveau", "territoire", "periode"]
    same = before.join(after, on=key, suffix="_apres").filter(
        pl.col("valeur").eq_missing(pl.col("valeur_apres")) & pl.col("effectif").eq_missing(pl.col("effectif_apres")))
    was_masked = same.join(first.masked.filter(pl.col(MASK_COLUMN)).select(key), on=key)
    still = was_masked.join(second.masked.select(*key, MASK_COLUMN), on=key)
    assert still.height == was_masked.height > 0 and still[MASK_COLUMN].all()


def test_an_unchanged_period_started_from_its_last_protection_examines_nothing(tmp_path):
    rng = random.Random(8)
    tree = random_tree(rng)
    df, sites = random_indicators(rng, tree), sites_frame(tree)
    memo = tmp_path / "masques"
    first = protect(df, sites, threshold=S, seed=b"k", memo=memo)
    for remembered in memo.glob("*.json"):
        remembered.unlink()  # the masks are not recalled: the periods start from their last protection
    again = protect(df, sites, threshold=S, seed=b"k", memo=memo)
    assert (again.reused_periods, again.incremental_periods, again.visited_groups) == (0, 2, 0)
    assert again.groups > 0
    assert _masked_cells(again.masked) == _masked_cells(first.masked)


def test_periods_solved_on_workers_give_the_masks_solved_in_one_process(tmp_path, monkeypatch):
    """Large periods go to worker processes, largest first; the masks, and the last protections the
    next publication starts from, are those of one process."""
    from pipelines.common import workers

    rng = random.Random(9)
    tree = random_tree(rng)
    df, sites = random_indicators(rng, tree), sites_frame(tree)
    # Three periods of three sizes, so that the largest-first order differs from the periods' order.
    df = pl.concat([df.filter((pl.col("periode") != "2023-2024") | (pl.col("indicateur") != "cout_par_enfant")),
                    df.filter((pl.col("periode") == "2023") & pl.col("indicateur").is_in(["entrees", "part_age"]))
                    .with_columns(periode=pl.lit("2022"))])
    assert df.group_by("periode").len()["len"].n_unique() == 3
    alone = protect(df, sites, threshold=S, seed=b"k", memo=tmp_path / "un")
    monkeypatch.setenv("PRE_PROCESSUS", "2")
    monkeypatch.setattr(protection, "PARALLEL_ROWS", 0)  # two periods are enough to start the workers
    monkeypatch.setattr(workers, "peak_worker_kb", 0)
    shared = protect(df.sample(fraction=1.0, shuffle=True, seed=2), sites, threshold=S, seed=b"k",
                     memo=tmp_path / "deux")
    assert workers.peak_worker_kb > 0  # the periods were solved in worker processes
    assert _masked_cells(shared.masked) == _masked_cells(alone.masked)
    assert (shared.primary, shared.secondary) == (alone.primary, alone.secondary)
    for remembered in (tmp_path / "deux").glob("*.json"):
        remembered.unlink()
    again = protect(df, sites, threshold=S, seed=b"k", memo=tmp_path / "deux")
    assert (again.incremental_periods, again.visited_groups) == (3, 0)
    assert _masked_cells(again.masked) == _masked_cells(alone.masked)


def test_a_damaged_or_foreign_last_protection_is_not_a_starting_point(tmp_path):
    before, after, sites = _two_versions(3)
    memo = tmp_path / "masques"
    protect(before, sites, threshold=S, seed=b"k", memo=memo)
    files = sorted((memo / disclosure.PREVIOUS_FOLDER).glob("*.parquet"))
    assert len(files) == 2
    for path in files:
        path.write_bytes(path.read_bytes()[:100])
    redone = protect(after, sites, threshold=S, seed=b"k", memo=memo)
    assert redone.incremental_periods == 0
    assert _masked_cells(redone.masked) == _masked_cells(protect(after, sites, threshold=S, seed=b"k").masked)
    # Protected under another key or threshold, a period is never started from these.
    protect(before, sites, threshold=S, seed=b"k", memo=memo)
    assert protect(after, sites, threshold=S, seed=b"autre", memo=memo).incremental_periods == 0
    assert protect(after, sites, threshold=S + 1, seed=b"k", memo=memo).incremental_periods == 0


def test_a_damaged_or_foreign_memory_is_not_trusted(tmp_path):
    rng = random.Random(6)
    tree = random_tree(rng)
    df, sites = random_indicators(rng, tree), sites_frame(tree)
    memo = tmp_path / "masques"
    expected = _masked_cells(protect(df, sites, threshold=S, seed=b"k", memo=memo).masked)
    files = sorted(memo.glob("*.json"))
    files[0].write_text("{pas du json", encoding="utf-8")
    files[1].write_text('{"masque": "0", "primaires": 0, "secondaires": 0}', encoding="utf-8")  # wrong length
    redone = protect(df, sites, threshold=S, seed=b"k", memo=memo)
    assert redone.reused_periods == 0 and _masked_cells(redone.masked) == expected
    # Another key or threshold never recalls these masks.
    assert protect(df, sites, threshold=S, seed=b"autre", memo=memo).reused_periods == 0
    assert protect(df, sites, threshold=S + 1, seed=b"k", memo=memo).reused_periods == 0


def _clusters_by_definition(system, members, objectives, hops) -> list[list[int]]:
    """The objectives whose neighbourhoods share a count, joined (transitively): each neighbourhood
    walked in full, as the definition says."""
    def within(start: set) -> set:
        found, frontier = set(start), set(start)
        for _ in range(hops):
            frontier = {o for v in frontier for c in system.incident[v] for o in system.constraints[c].coeffs
                        if o in members} - found
            found |= frontier
        return found

    balls = [within(set(objective)) for objective in objectives]
    part_of = list(range(len(objectives)))
    changed = True
    while changed:  # merge until no two parts share a count
        changed = False
        for a in range(len(objectives)):
            for b in range(len(objectives)):
                if part_of[a] != part_of[b] and balls[a] & balls[b]:
                    old, new = max(part_of[a], part_of[b]), min(part_of[a], part_of[b])
                    part_of = [new if p == old else p for p in part_of]
                    changed = True
    parts: dict[int, list[int]] = {}
    for k, p in enumerate(part_of):
        parts.setdefault(p, []).append(k)
    return sorted(parts.values())


def _nearest_shown_by_definition(system, free: set, objective: dict) -> set:
    """Every shown count's length of route from the objective, a route going through masked counts only
    (the objective's own counts excepted), measured one by one; those at the shortest length."""
    def adjacent(v):
        return {o for c in system.incident[v] for o in system.constraints[c].coeffs} - set(objective)

    lengths = {}
    for target in system.values:
        if target in free or target in objective:
            continue
        # Breadth-first from the objective to this target alone, through masked counts.
        frontier, seen, length = set(objective), set(objective), 0
        while frontier and target not in lengths:
            length += 1
            frontier = {o for v in frontier for o in adjacent(v)} - seen
            if target in frontier:
                lengths[target] = length
            frontier = {o for o in frontier if o in free}
            seen |= frontier
    shortest = min(lengths.values(), default=None)
    return {t for t, n in lengths.items() if n == shortest}


@pytest.mark.parametrize("seed", range(40))
def test_the_guided_search_finds_the_nearest_shown_counts(seed):
    """`Distances.nearest_shown` (a search guided by distances computed earlier, with fewer masked counts)
    finds exactly the shown counts nearest the objective, and so does the plain walk `_nearest_shown`."""
    rng = random.Random(seed)
    system = rules.PeriodSystem()
    counts = [("E", "x", str(i), "pre") for i in range(rng.randint(10, 90))]
    for var in counts:
        system.values[var] = rng.randint(0, 30)
    for _ in range(rng.randint(5, len(counts))):
        system.add({v: 1.0 for v in rng.sample(counts, rng.choice((2, 2, 3, 4, 6)))}, equality=rng.random() < 0.5)
    free_then = {v for v in counts if rng.random() < rng.choice((0.3, 0.6, 0.85))}
    free = free_then | {v for v in counts if rng.random() < 0.15}  # masking since only adds counts
    distances = rules.Distances(system)
    distances.compute(free_then if rng.random() < 0.7 else free)
    for _ in range(8):
        objective = {rng.choice(sorted(free) or counts): 1.0}
        if rng.random() < 0.3:
            objective[rng.choice(counts)] = -1.0
        expected = _nearest_shown_by_definition(system, free, objective)
        assert distances.nearest_shown(free, objective) == expected, (seed, objective)
        assert rules._nearest_shown(system, free, objective) == expected, (seed, objective)
        assert rules._nearest_shown(system, free, objective, budget=3) in (None, expected)
        # What the protection asks: the same candidates whether the guided search is engaged or not.
        assert distances.engaged
        assert rules._candidates(system, free, objective, distances) == \
            rules._candidates(system, free, objective)


@pytest.mark.parametrize("seed", range(30))
def test_clusters_are_those_of_overlapping_neighbourhoods(seed):
    """`_clusters` finds, in one walk, the parts that walking every objective's neighbourhood gives."""
    rng = random.Random(seed)
    system = rules.PeriodSystem()
    counts = [("E", "x", str(i), "pre") for i in range(rng.randint(10, 80))]
    for _ in range(rng.randint(5, len(counts))):  # sparse: distances between objectives vary
        size = rng.choice((2, 2, 2, 3, 5))
        system.add({v: 1.0 for v in rng.sample(counts, size)}, equality=rng.random() < 0.5)
    members = {v for v in counts if rng.random() < 0.8}
    objectives = []
    for _ in range(rng.randint(1, 12)):
        first = rng.choice(sorted(members))
        objective = {first: 1.0}
        if rng.random() < 0.3:
            objective[rng.choice(sorted(members))] = -1.0
        objectives.append(objective)
    for hops in (1, 2, 3):
        found = sorted(rules._clusters(system, members, objectives, hops))
        assert found == _clusters_by_definition(system, members, objectives, hops), (seed, hops)


SPARSE_TREE = {"R1": {"11": ["PRE11001", "PRE11002"], "12": ["PRE12001"]}, "R2": {"21": ["PRE21001"]}}


@pytest.mark.parametrize("seed", range(6))
def test_a_group_is_examined_again_only_after_a_count_was_masked_in_it(seed, monkeypatch):
    """A period where every count is small (the national set's first years): nearly everything is masked,
    the masked counts join into one group, and its counts proved on neighbourhoods (forced here on a small
    group, with the shortest reach) can be narrow there with no shown count left to mask around them. A
    visit of a group proves its pending counts again; it must not be repeated with nothing masked since.
    Groups merge while they are formed, and the group was visited once under each root it had absorbed:
    in the national set's first period, its giant group's unsettled counts were bounded four times over."""
    monkeypatch.setattr(rules, "LOCAL_FROM", 1)
    monkeypatch.setattr(rules, "LOCAL_HOPS", 1)
    visits: list[tuple[int, frozenset, int]] = []
    systems = []  # kept alive, so that each period's system keeps its own id
    masked_so_far = {"n": 0}
    real_prover, real_free = rules.Prover.__init__, rules._free

    def spy_free(system, free, var):
        real_free(system, free, var)
        masked_so_far["n"] = len(free)

    def spy(self, group, system):
        systems.append(system)
        visits.append((id(system), frozenset(group), masked_so_far["n"]))
        real_prover(self, group, system)

    monkeypatch.setattr(rules.Prover, "__init__", spy)
    monkeypatch.setattr(rules, "_free", spy_free)
    rng = random.Random(seed)
    protected_and_attacked(random_indicators(rng, SPARSE_TREE, values=(0, 1, 2)), sites_frame(SPARSE_TREE),
                           seed=b"x")
    assert visits
    repeated = [(len(group), n) for (_, group, n), times in collections.Counter(visits).items() if times > 1]
    assert not repeated, f"groupes revus sans masquage entre deux visites : {repeated}"


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("second_pass", [False, True])
def test_the_audit_s_unbounded_counts_leave_its_verdicts_unchanged(seed, second_pass, monkeypatch):
    """When the batch proofs leave many counts of a group doubtful, the audit first finds those that can grow
    without limit (increased by a ray of the group's program) and bounds only the others. Forced here on every
    group, with no batch proof at all, on masks drawn at random (most rows, so that some counts are unbounded
    and some narrow): the same narrow counts as the audit without it, and as the independent intruder."""
    rng = random.Random(500 + seed)
    tree = random_tree(rng)
    sites = sites_frame(tree)
    df = random_indicators(rng, tree)
    masked = df.with_columns(pl.Series(MASK_COLUMN, [rng.random() < 0.7 for _ in range(df.height)]))
    masked = masked.with_columns(*(pl.when(pl.col(MASK_COLUMN)).then(None).otherwise(pl.col(c)).alias(c)
                                   for c in ("valeur", "effectif")))
    plain = audit(masked, sites, threshold=S)
    lifted = []
    real = rules.GroupSolver.rising

    def spy(self, objectives):
        found = real(self, objectives)
        lifted.append(len(found))
        return found

    monkeypatch.setattr(rules.GroupSolver, "rising", spy)
    monkeypatch.setattr(intruder_module, "RISING_FROM", 0)
    if second_pass:  # the batch proofs as usual, then again in batches of 2 on what the rays left
        monkeypatch.setattr(intruder_module, "AUDIT_BATCH", 2)
    else:  # no batch proof: every count goes the way under test
        monkeypatch.setattr(rules, "CERTIFY_ROUNDS", 0)
    with_rays = audit(masked, sites, threshold=S)
    if not second_pass:
        assert sum(lifted) > 10, "trop peu de chiffres non bornés trouvés : le chemin testé n'a pas servi"

    def verdicts(result):
        return sorted((period, name, round(low, 6), round(high, 6)) for period, name, low, high in result.narrow)

    assert plain.narrow, "des masques tirés au hasard laissent des chiffres retrouvables"
    assert verdicts(with_rays) == verdicts(plain)
    assert with_rays.masked_counts == plain.masked_counts
    independent = attack(masked, sites, threshold=S)
    assert sorted((round(lo, 6), round(hi, 6)) for _, _, lo, hi in independent.narrow) == \
        sorted((round(lo, 6), round(hi, 6)) for _, _, lo, hi in plain.narrow)


def test_the_key_order_check_compares_every_column_of_the_key():
    rows = [("a", "x", "pre", "P1", "2023", 1.0, 1), ("a", "x", "pre", "P2", "2023", 1.0, 1),
            ("b", "", "pre", "P1", "2023", 1.0, 1), ("a", "x", "pre", "P1", "2024", 1.0, 1)]
    assert protection._sorted_by_key(frame(rows))  # periode, then indicateur, niveau, territoire, categorie
    assert protection._sorted_by_key(frame(rows[:1])) and protection._sorted_by_key(frame([]))
    for i, j in ((0, 1), (1, 2), (2, 3)):  # two neighbours swapped: out of order on one column of the key
        swapped = list(rows)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        assert not protection._sorted_by_key(frame(swapped)), (i, j)
    last = [("a", "y", "pre", "P1", "2023", 1.0, 1), ("a", "x", "pre", "P1", "2023", 1.0, 1)]
    assert not protection._sorted_by_key(frame(last))  # the key's last column, categorie
    assert not protection._sorted_by_key(frame([rows[0], rows[0]]))  # equal keys
    assert not protection._sorted_by_key(frame([rows[0], ("a", None, "pre", "P1", "2023", 1.0, 1)]))  # a null


def test_rows_in_key_order_and_shuffled_rows_give_the_same_masked_table(tmp_path):
    """The warehouse hands the indicators over in key order (marts.indicateurs is stored so) and they are then
    masked as they are, in chunks as DuckDB gives them; in any other order they are sorted first."""
    rng = random.Random(8)
    tree = random_tree(rng)
    df, sites = random_indicators(rng, tree), sites_frame(tree)
    in_order = df.sort(disclosure.ROW_KEY)
    chunked = pl.concat([in_order.slice(0, 7), in_order.slice(7, 50), in_order.slice(57)], rechunk=False)
    assert chunked.n_chunks() == 3
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=2)
    assert not protection._sorted_by_key(shuffled)
    from_chunks = protect(chunked, sites, threshold=S, seed=b"k").masked
    from_shuffled = protect(shuffled, sites, threshold=S, seed=b"k").masked
    assert from_chunks.equals(from_shuffled)
    assert from_chunks.select(disclosure.ROW_KEY).equals(in_order.select(disclosure.ROW_KEY))
    # Masked cells are blank, the others keep their values (checked against the input, row by row).
    joined = in_order.with_columns(from_chunks[MASK_COLUMN], from_chunks["valeur"].alias("shown"),
                                   from_chunks["effectif"].alias("shown_n"))
    assert joined[MASK_COLUMN].sum() > 0
    blank = joined.filter(pl.col(MASK_COLUMN))
    assert blank["shown"].null_count() == blank.height == blank["shown_n"].null_count()
    kept = joined.filter(~pl.col(MASK_COLUMN))
    assert kept["shown"].equals(kept["valeur"], check_names=False)
    assert kept["shown_n"].equals(kept["effectif"], check_names=False)
    # Recalled from the memory, the same table again.
    memo = tmp_path / "masques"
    protect(chunked, sites, threshold=S, seed=b"k", memo=memo)
    recalled = protect(chunked, sites, threshold=S, seed=b"k", memo=memo)
    assert recalled.reused_periods == 2 and recalled.masked.equals(from_chunks)
