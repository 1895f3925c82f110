"""Running the rules period by period: `protect` (a frame) and `protect_table` (the warehouse's table, read
one period at a time), the memory of past masks, the worker processes."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from pipelines import settings
from pipelines.common import workers
from pipelines.publication.disclosure import rules
from pipelines.publication.disclosure.rules import (
    MASK_COLUMN,
    PREVIOUS_EFF,
    PREVIOUS_NUM,
    PeriodStats,
    Previous,
    _protect_period,
    _rules,
)
from pipelines.warehouse.models import INDICATOR_ORDER

# --------------------------------------------------------------------------- protection


@dataclass
class Protection:
    masked: pl.DataFrame  # the indicators with `masque`; valeur and effectif null where masked
    primary: int = 0  # counts masked by the primary rule (with the rows sharing their base)
    secondary: int = 0  # counts masked to protect others
    seconds: float = 0.0
    reused_periods: int = 0  # periods whose masks were recalled unchanged (see `protect`'s memo)
    incremental_periods: int = 0  # periods solved again from their last protection
    groups: int = 0  # groups of masked counts in the periods solved (at their start)
    visited_groups: int = 0  # of which examined



def _protect_job(job: tuple) -> tuple[pl.DataFrame, PeriodStats]:
    """One period (run in a worker process when there are many): job = (frame, sites, threshold, seed[,
    previous]). The frame comes back with `masque`, and with PREVIOUS_EFF and PREVIOUS_NUM (what
    `Previous` keeps)."""
    frame, sites, threshold, seed, *rest = job
    rows = frame.to_dicts()
    free, system, stats = _protect_period(rows, sites, _rules(), threshold, seed, rest[0] if rest else None)
    eff = [system.eff_var[i] in free for i in range(len(rows))]
    num = [system.num_var[i] is not None and system.num_var[i] in free for i in range(len(rows))]
    return frame.with_columns(pl.Series(MASK_COLUMN, [a or b for a, b in zip(eff, num, strict=True)],
                                        dtype=pl.Boolean),
                              pl.Series(PREVIOUS_EFF, eff, dtype=pl.Boolean),
                              pl.Series(PREVIOUS_NUM, num, dtype=pl.Boolean)), stats


ROW_KEY = INDICATOR_ORDER  # the warehouse writes marts.indicateurs in this order: read as it lies, no sort


def _blank_where(values: pl.Series, mask: pl.Series) -> pl.Series:
    """`values` with nulls where `mask` is true (its chunks kept as they are)."""
    return values.zip_with(~mask, pl.repeat(None, len(values), dtype=values.dtype, eager=True))


def _sorted_by_key(frame: pl.DataFrame) -> bool:
    """Whether the rows are in strictly increasing ROW_KEY order (nulls or equal keys: not sorted)."""
    later = None
    for column in reversed(ROW_KEY):
        this, before = pl.col(column), pl.col(column).shift(1)
        later = this > before if later is None else (this > before) | ((this == before) & later)
    return bool(frame.select(later.slice(1).fill_null(False).all()).item())


def _period_key(frame: pl.DataFrame, sites: pl.DataFrame, threshold: int, seed: bytes) -> str:
    """What a period's masks depend on, hashed: this module and the catalogue (the rules), the
    threshold, the key, the period's rows and the part of the hierarchy that links its territories.
    Equal keys give equal masks, so a period whose key is unchanged need not be solved again."""
    present = {(n, t) for n, t in frame.select("niveau", "territoire").unique().iter_rows()}
    links = sorted({row for row in sites.select("code_pre", "departement", "region").iter_rows()
                    if ("pre", row[0]) in present or ("departement", row[1]) in present
                    or ("region", row[2]) in present})
    return _keyed_digest(seed, RULES_VERSION, str(threshold).encode(), repr(links).encode(),
                         frame.select((*ROW_KEY, "valeur", "effectif")).write_csv().encode("utf-8"))


def _keyed_digest(seed: bytes, *parts: bytes) -> str:
    digest = hmac.new(seed or b"-", digestmod=hashlib.sha256)
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _rules_version() -> bytes:
    """What decides the masks, hashed: the rules' source and the catalogue's files. This file (how periods
    are read, solved in workers, remembered) is not part of it: changing it keeps the masks in force."""
    from pipelines.warehouse import catalogue as catalogue_module
    return b"".join(hashlib.sha256(Path(f).read_bytes()).digest()
                    for f in (rules.__file__, catalogue_module.CATALOGUE, catalogue_module.NORMS,
                              catalogue_module.EVALUATED_ACTIONS))


RULES_VERSION = _rules_version()


def _recalled(memo: Path | None, key: str, rows: int) -> tuple[np.ndarray, int, int] | None:
    if memo is None:
        return None
    try:
        data = json.loads((memo / f"{key}.json").read_text(encoding="utf-8"))
        digits = np.frombuffer(data["masque"].encode("ascii"), dtype=np.uint8)
        if len(digits) != rows or not np.isin(digits, (ord("0"), ord("1"))).all():
            return None
        mask = digits == ord("1")
        return mask, int(data["primaires"]), int(data["secondaires"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or damaged: solved again


def _remember(memo: Path, key: str, mask: list[bool], primary: int, secondary: int) -> None:
    memo.mkdir(parents=True, exist_ok=True)
    tmp = memo / f".{key}.tmp"
    tmp.write_text(json.dumps({"masque": "".join("1" if m else "0" for m in mask), "primaires": primary,
                               "secondaires": secondary}), encoding="utf-8")
    os.replace(tmp, memo / f"{key}.json")


PREVIOUS_FOLDER = "precedentes"  # under the memo folder: each period's last protection (`Previous`)
PREVIOUS_COLUMNS = ("indicateur", "categorie", "niveau", "territoire", "valeur", "effectif", PREVIOUS_EFF, PREVIOUS_NUM)


def _previous_path(memo: Path, period: str, threshold: int, seed: bytes) -> Path:
    """Where a period's last protection is kept: named by the key's HMAC of the period, the rules and the
    threshold, so that a protection made under other rules, another threshold or another key is never
    a starting point (and the file name tells nothing of the period)."""
    name = _keyed_digest(seed, RULES_VERSION, str(threshold).encode(), period.encode("utf-8"))
    return memo / PREVIOUS_FOLDER / f"{name}.parquet"


def _keep_previous(path: Path, frame: pl.DataFrame, sites: pl.DataFrame) -> None:
    """One file, written whole then swapped in: the rows and the hierarchy they were protected with."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    hierarchy = json.dumps(sites.select("code_pre", "departement", "region").rows())
    frame.select(PREVIOUS_COLUMNS).write_parquet(tmp, metadata={"hierarchie": hierarchy})
    os.replace(tmp, path)


def _load_previous(path: Path) -> Previous | None:
    try:
        rows = pl.read_parquet(path, glob=False)
        hierarchy = json.loads(pl.read_parquet_metadata(path)["hierarchie"])
        if tuple(rows.columns) != PREVIOUS_COLUMNS:
            return None
        sites = pl.DataFrame(hierarchy, schema={"code_pre": pl.String, "departement": pl.String,
                                                "region": pl.String}, orient="row")
        return Previous(rows, sites)
    except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
        return None  # absent or damaged: the period is solved whole


def _prune(files: Iterable[Path], current: set[str]) -> None:
    """Remove the memo's files of periods or states no longer current."""
    for old in files:
        if old.name not in current:
            old.unlink(missing_ok=True)


PARALLEL_ROWS = 100_000  # rows to solve from which even two periods go to worker processes
HIDDEN_COLUMNS = ("valeur", "effectif", "borne_basse", "borne_haute")  # blanked where `masque` is true


def _period_masks(periods: Iterable[pl.DataFrame], sites: pl.DataFrame, result: Protection | TableProtection,
                  threshold: int, seed: bytes, memo: Path | None) -> list[np.ndarray]:
    """Each period's mask, in the order `periods` gives them (each frame: one period's rows, in ROW_KEY
    order). A period whose masks are recalled from `memo` is dropped once its key is computed: only the
    periods to solve are held, until the workers have them."""
    masks: list[np.ndarray | None] = []
    keys: list[str] = []
    kept: list[Path | None] = []
    todo: list[tuple[int, pl.DataFrame]] = []
    for i, frame in enumerate(periods):
        key = _period_key(frame, sites, threshold, seed) if memo is not None else ""
        keys.append(key)
        kept.append(_previous_path(memo, frame["periode"][0], threshold, seed) if memo is not None else None)
        hit = _recalled(memo, key, frame.height)
        if hit is None:
            masks.append(None)
            todo.append((i, frame))
            continue
        masks.append(hit[0])
        result.primary, result.secondary = result.primary + hit[1], result.secondary + hit[2]
        result.reused_periods += 1
    # Largest periods first: with two workers, the long national periods start at once instead of
    # waiting behind small ones. A few large periods are worth the workers' start (about 2 s each);
    # many small ones too.
    todo.sort(key=lambda item: -item[1].height)
    parallel_from = 2 if sum(frame.height for _, frame in todo) >= PARALLEL_ROWS else 4
    order = [i for i, _ in todo]
    jobs = [(frame, sites, threshold, seed, _load_previous(kept[i]) if kept[i] else None) for i, frame in todo]
    del todo
    for i, (frame, stats) in zip(order, workers.ordered_map(_protect_job, jobs, parallel_from=parallel_from),
                                 strict=True):
        masks[i] = frame[MASK_COLUMN].to_numpy()  # the period's rows, in the order they were sent
        result.primary, result.secondary = result.primary + stats.primary, result.secondary + stats.secondary
        result.incremental_periods += stats.incremental
        result.groups += stats.groups
        result.visited_groups += stats.visited
        if memo is not None:
            _keep_previous(kept[i], frame, sites)
            _remember(memo, keys[i], frame[MASK_COLUMN].to_list(), stats.primary, stats.secondary)
    if memo is not None and memo.is_dir():
        _prune(memo.glob("*.json"), {f"{k}.json" for k in keys})
        _prune((memo / PREVIOUS_FOLDER).glob("*.parquet"), {path.name for path in kept if path is not None})
    return [mask for mask in masks if mask is not None]


def protect(indicators: pl.DataFrame, sites: pl.DataFrame, *, threshold: int | None = None,
            seed: bytes = b"", memo: Path | None = None) -> Protection:
    """Mask `indicators` (shaped like `marts.indicateurs`) so that no masked count can be narrowed
    below the threshold; `sites` gives the hierarchy (code_pre, departement, region). Periods are
    independent: several are protected at once on several cores.

    With `memo` (a folder), each period's masks are kept under the hash of what they depend on, and
    a period whose rows, hierarchy, rules, threshold and key are unchanged reuses them instead of
    being solved again (a site's new file usually changes its recent periods only). A changed period
    starts from its last protection (`Previous`, in the memo's PREVIOUS_FOLDER) and examines only the
    groups of masked counts its changes touch (`_protect_period`). The folder then holds the current
    periods' masks and last protections only."""
    started = time.perf_counter()
    threshold = settings.load().SEUIL_SECRET if threshold is None else threshold
    # Cut into zero-copy slices per period (group_by would copy each period). `marts.indicateurs` is stored
    # in ROW_KEY order, so the frame is usually cut as it comes: sorting it took 4 s and a second 460 MB
    # frame on the national warehouse (5,4 M rows).
    if not _sorted_by_key(indicators):
        indicators = indicators.sort(ROW_KEY)
    lengths = indicators.group_by("periode", maintain_order=True).len()["len"].to_list()
    periods = (indicators.slice(start, length)
               for start, length in zip(itertools.accumulate(lengths, initial=0), lengths, strict=False))
    result = Protection(indicators)
    masks = _period_masks(periods, sites, result, threshold, seed, memo)
    # The periods' masks, in the frame's order, joined to the frame as it is. Series are masked one by one:
    # an expression over the frame would first gather every column into one chunk (600 MB more on the
    # national warehouse, where the frame comes from DuckDB in many chunks).
    mask = pl.Series(MASK_COLUMN, np.concatenate(masks) if masks else [], dtype=pl.Boolean)
    hidden = [c for c in HIDDEN_COLUMNS if c in indicators.columns]
    result.masked = indicators.with_columns(mask, *(_blank_where(indicators[c], mask) for c in hidden))
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class TableProtection:
    """`protect_table`'s answer: `select` reads the table masked (the masks stay in the process: one byte
    a row); the counts as in `Protection`."""
    select: str
    masks: pa.Table
    primary: int = 0
    secondary: int = 0
    seconds: float = 0.0
    reused_periods: int = 0
    incremental_periods: int = 0
    groups: int = 0
    visited_groups: int = 0


LINE = "_ligne"
MASKS_RELATION = "masques_secret"


def protect_table(con: duckdb.DuckDBPyConnection, table: str, sites: pl.DataFrame, *, threshold: int | None = None,
                  seed: bytes = b"", memo: Path | None = None) -> TableProtection:
    """`protect` for a DuckDB table shaped like `marts.indicateurs`, read one period at a time: the process
    holds one period's rows (and those of the periods to solve) instead of the whole table (1,1 GB of
    resident memory nationally, 5,4 M rows; ten times that at ten times the volume).

    The masks are then joined to the table's rows by position: `select` is a query, for `con`, of the
    table masked as `protect` masks it (`masque` last, the hidden columns blanked, the table's order),
    reading the masks from the relation registered on `con` as MASKS_RELATION. The position of each
    row is its `rowid`; the join is checked against it, row by row, before the query is handed out."""
    started = time.perf_counter()
    threshold = settings.load().SEUIL_SECRET if threshold is None else threshold
    if not table.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"nom de table invalide : {table!r}")
    count, last = con.execute(f"select count(*), max(rowid) from {table}").fetchall()[0]
    if count and last != count - 1:  # rows deleted since the table was written: positions are not rowids
        raise ValueError(f"{table} : les lignes ne sont pas numérotées sans trou (table modifiée en place)")
    periods = [p for (p,) in con.execute(f"select distinct periode from {table} order by periode").fetchall()]
    lines: list[np.ndarray] = []

    def read() -> Iterable[pl.DataFrame]:
        for period in periods:
            # In the table's order, which is ROW_KEY's for `marts.indicateurs`: an ORDER BY here would sort
            # each period again (0,7 s of the 1,2 s these reads took on 53 sites).
            frame = con.sql(f"select rowid as {LINE}, * from {table} where periode = $periode",
                            params={"periode": period}).pl()
            if not _sorted_by_key(frame):
                frame = frame.sort(ROW_KEY)
            lines.append(frame[LINE].to_numpy())
            yield frame.drop(LINE)

    columns = [name for (name,) in con.execute(
        "select column_name from (describe select * from " + table + ")").fetchall()]
    result = TableProtection(select="", masks=pa.table({}))
    masks = _period_masks(read(), sites, result, threshold, seed, memo)
    mask = np.zeros(count, dtype=bool)
    for where, period_mask in zip(lines, masks, strict=True):
        mask[where] = period_mask
    result.masks = pa.table({LINE: pa.array(np.arange(count, dtype=np.int64)), MASK_COLUMN: pa.array(mask)})
    con.register(MASKS_RELATION, result.masks)
    aligned, rows = con.execute(f"select bool_and(t.rowid = m.{LINE}), count(*) from {table} as t "
                                f"positional join {MASKS_RELATION} as m").fetchall()[0]
    if rows != count or (count and not aligned):  # bool_and over no rows is null
        raise RuntimeError(f"{table} : les masques ne s'alignent pas sur les lignes de la table")
    blanked = ", ".join(f"case when m.{MASK_COLUMN} then null else t.{c} end as {c}"
                        for c in HIDDEN_COLUMNS if c in columns)
    result.select = (f"select t.* replace ({blanked}), m.{MASK_COLUMN} from {table} as t "
                     f"positional join {MASKS_RELATION} as m")
    result.seconds = time.perf_counter() - started
    return result
