"""Lower bounds for the benchmark: the same files to the same marts and indicators in plain DuckDB.

No Dagster, no Great Expectations, no per-file transactions, no reports: the containers are
opened in Python (DuckDB cannot read inside a ZIP, decode Windows-1252 or open XLSX here), every
CSV of a table is then read by one multi-threaded `read_csv`, typed, pseudonymised and checked in
SQL, and the marts and indicators are built by running the project's own SQL files (the same
computation, so the same results) on a bare connection.

- bound (a): read, type, pseudonymise, load, build marts and indicators, publish a copy;
- bound (b): the same plus every contract rule on the data rows, compiled below into SQL
  from the same ODCS contracts the pipeline uses (one query per rule, counting failures per file).
"""

from __future__ import annotations

import io
import shutil
import time
import zipfile
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts.model import DATA_TABLES, Contracts, Rule, load_contracts
from pipelines.contracts.referential import load_sites
from pipelines.warehouse.models import build
from pipelines.warehouse.store import ensure_schema

KEY = "cle-de-banc-d-essai"


# --------------------------------------------------------------------------- reading


def extract(files: list[Path], folder: Path) -> None:
    """Write each table of each file as a UTF-8 CSV: folder/<sep>/<table>/<file>.csv."""
    for path in files:
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "xl/workbook.xml" in names:
                sheets = pl.read_excel(io.BytesIO(data), sheet_id=0, engine="calamine", infer_schema_length=0)
                for sheet, frame in sheets.items():
                    name = sheet.strip().lower()
                    if name in ("manifeste", *DATA_TABLES):
                        _write(folder / "virgule" / name / f"{path.name}.csv", frame.write_csv().encode())
                continue
            for member in names:
                name = member.lower().removesuffix(".csv")
                raw = archive.read(member)
                try:
                    text = raw.decode("utf-8-sig")
                except UnicodeDecodeError:
                    text = raw.decode("cp1252")
                sep = "pointvirgule" if text.split("\n", 1)[0].count(";") else "virgule"
                _write(folder / sep / name / f"{path.name}.csv", text.encode())


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _raw(con: duckdb.DuckDBPyConnection, folder: Path, table: str) -> None:
    """raw_<table>: every cell as text, plus the file it came from.

    The columns are named from one file's header: all files of a group share it (the sniffer
    on every file would cost more than reading them).
    """
    parts = []
    for sep, delim in (("virgule", ","), ("pointvirgule", ";")):
        found = sorted((folder / sep / table).glob("*.csv"))
        if not found:
            continue
        header = found[0].read_text(encoding="utf-8").split("\n", 1)[0].strip().split(delim)
        columns = "{" + ", ".join(f"'{c.strip()}': 'VARCHAR'" for c in header) + "}"
        parts.append(f"select * from read_csv('{folder / sep / table / '*.csv'}', delim='{delim}', header=true, "
                     f"auto_detect=false, columns={columns}, quote='\"', filename=true)")
    con.execute(f"create or replace table raw_{table} as " + " union all by name ".join(parts))
    con.execute(f"update raw_{table} set filename = regexp_extract(filename, '[^/]+$')")


def _date(x: str) -> str:
    return (f"coalesce(try_strptime(left({x}, 10), '%Y-%m-%d'), try_strptime({x}, '%d/%m/%Y'))::date")


def _typed_expr(column, name: str) -> str:
    x = f"nullif(trim({name}), '')"
    if column.logical_type == "date":
        return _date(x)
    if column.logical_type == "integer":
        return f"try_cast(try_cast(replace({x}, ',', '.') as double) as bigint)"
    if column.logical_type == "number":
        return f"try_cast(replace(replace({x}, ' ', ''), ',', '.') as double)"
    if column.nature == "code":
        return f"upper({x})"
    return x


def load(con: duckdb.DuckDBPyConnection, folder: Path, contracts: Contracts) -> None:
    """typed_<table> with code_pre from each file's manifest (identifiers still in clear)."""
    for table in ("manifeste", *DATA_TABLES):
        _raw(con, folder, table)
    con.execute(f"""
        create or replace table fichiers as
        select filename,
               max(valeur) filter (where cle = 'code_pre') as code_pre,
               {_date("max(valeur) filter (where cle = 'date_extraction')")} as date_extraction,
               {_date("max(valeur) filter (where cle = 'date_debut_donnees')")} as date_debut_donnees,
               max(valeur) filter (where cle = 'version_format') as version_format
        from raw_manifeste group by filename""")
    for table in DATA_TABLES:
        columns = contracts.tables[table].columns
        typed = ", ".join(f"{_typed_expr(c, 'r.' + c.name)} as {c.name}" for c in columns)
        con.execute(f"""create or replace table typed_{table} as
            select f.code_pre, r.filename, row_number() over (partition by r.filename) + 1 as ligne, {typed}
            from raw_{table} r join fichiers f using (filename)""")


# --------------------------------------------------------------------------- rules as SQL


def _sql_list(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _operand(rule: Rule) -> str:
    other = rule.params["other"]
    return {"manifeste.date_extraction": "f.date_extraction", "parcours.date_entree": "p.date_entree"}.get(
        other, f"t.{other}")


def rule_sql(rule: Rule, contracts: Contracts) -> str | None:
    """A query giving (filename, failures) for one data-row rule, or None for file-level rules."""
    table, col, p = rule.table, rule.column, rule.params
    base = (f"typed_{table} t join fichiers f using (filename) "
            + ("left join typed_parcours p on p.filename = t.filename and p.id_parcours = t.id_parcours "
               if table in ("actions", "bilans", "attentes") else ""))
    where = None
    kind = rule.kind
    if kind == "required":
        where = f"t.{col} is null"
    elif kind == "type":
        typed = _typed_expr(contracts.tables[table].column(col), col)
        return (f"select filename, count(*) from (select filename, {col} as r, {typed} as v from raw_{table}) "
                "where nullif(trim(r), '') is not null and v is null group by 1")
    elif kind == "in_set":
        where = f"t.{col} not in ({_sql_list(p['values'])})"
    elif kind == "pattern":
        where = f"not regexp_full_match(t.{col}, '{p['pattern']}')"
    elif kind == "not_pattern":
        where = " or ".join(f"regexp_matches(t.{col}, '{x.replace(chr(39), chr(39) * 2)}')" for x in p["patterns"])
    elif kind == "range":
        lo, hi = p.get("min"), p.get("max")
        fmt = (lambda v: f"date '{v}'") if isinstance(lo or hi, str) else str
        where = " or ".join(x for x in ((f"t.{col} < {fmt(lo)}" if lo is not None else None),
                                        (f"t.{col} > {fmt(hi)}" if hi is not None else None)) if x)
    elif kind == "age_range":
        where = f"year(t.date_entree) - t.annee_naissance not between {p['min']} and {p['max']}"
    elif kind == "compare":
        where = f"not (t.{col} {p['op']} {_operand(rule)})"
    elif kind == "pair_in_set":
        pairs = [f"{v}|{x}" for v, types in p["pairs"].items() for x in types]
        where = f"t.{p['other']} || '|' || t.{col} not in ({_sql_list(pairs)})"
    elif kind == "present_iff":
        where = f"(t.{col} is null) <> (t.{p['other']} is null)"
    elif kind == "exclusive":
        where = f"t.{col} is not null and t.{p['other']} is not null"
    elif kind == "foreign_key":
        parent, key = p["references"].split(".")
        where = f"t.{col} is not null and p.{key} is null" if parent == "parcours" else None
    elif kind == "parent_value_required":
        where = (f"t.{p['when_column']} in ({_sql_list(p['when_values'])}) "
                 f"and p.{p['parent_column']} is null and p.{p['parent_key']} is not null")
    elif kind == "unique":
        return _duplicates(table, col, f"{col} is not null")
    elif kind == "unique_per_key":
        return _duplicates(table, f"{p['key']}, {col}", f"{col} in ({_sql_list(p['values'])})")
    elif kind == "consistent_per_key":
        return (f"select filename, count(*) from (select filename, {p['key']} from typed_{table} "
                f"group by all having count(distinct {col}) > 1) group by 1")
    elif kind == "no_overlap":
        return (f"select filename, count(*) from (select filename, {p['start']} s, "
                f"lag(coalesce({p['end']}, date '9999-12-31')) over "
                f"(partition by filename, {p['key']} order by {p['start']}) prev from typed_{table}) "
                f"where prev is not null and s < prev group by 1")
    elif kind == "known_site":
        return ("select filename, count(*) from fichiers where code_pre not in "
                "(select code_pre from ingestion.sites) group by 1")
    if where is None:
        return None
    return f"select t.filename, count(*) from {base} where {where} group by 1"


def _duplicates(table: str, keys: str, where: str) -> str:
    """(filename, rows beyond the first) for rows sharing `keys` within a file."""
    return (f"select filename, sum(n - 1) from (select filename, {keys}, count(*) n from typed_{table} "
            f"where {where} group by all having n > 1) group by 1")


def check_rules(con: duckdb.DuckDBPyConnection, contracts: Contracts) -> tuple[int, int]:
    """Run every compilable rule; (rules run, failing rows found)."""
    run = failures = 0
    for table in contracts.tables.values():
        for rule in table.rules:
            if rule.table == "manifeste" and rule.kind not in ("known_site",):
                continue  # file-level: five values per file
            query = rule_sql(rule, contracts)
            if query is None:
                continue
            run += 1
            failures += sum(n or 0 for _, n in con.execute(query).fetchall())
    return run, failures


# --------------------------------------------------------------------------- the whole bound


def lower_bound(files: list[Path], work: Path, *, with_rules: bool, home) -> dict:
    """Time (seconds) per phase of the plain-DuckDB route; the warehouse is built in `work`."""
    contracts = load_contracts()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    phases: dict[str, float] = {}
    t = time.perf_counter()
    extract(files, work / "csv")
    con = duckdb.connect(str(work / "entrepot.duckdb"))
    con.execute("set enable_progress_bar = false")
    ensure_schema(con)
    sites = load_sites(home)  # noqa: F841 - read by DuckDB by name
    con.execute("insert into ingestion.sites by name select * from sites")
    load(con, work / "csv", contracts)
    phases["lecture"] = time.perf_counter() - t
    rules = failures = 0
    if with_rules:
        t = time.perf_counter()
        rules, failures = check_rules(con, contracts)
        phases["controle"] = time.perf_counter() - t
    t = time.perf_counter()
    for table in DATA_TABLES:
        columns = [c for c in contracts.tables[table].columns]
        select = ", ".join(
            f"left(sha256('{KEY}' || code_pre || {c.name}), 32) as {c.name}" if c.nature == "identifiant"
            else c.name for c in columns)
        con.execute(f"insert into ingestion.{table} by name select code_pre, {select} from typed_{table}")
    con.execute("""insert into ingestion.depots
        select md5(filename), filename, code_pre, date_extraction, date_debut_donnees, now(), now(), 'accepte',
               true, 0, 0, 0, 0, 0, 0, '', '', null from fichiers""")
    phases["chargement"] = time.perf_counter() - t
    t = time.perf_counter()
    build(con)
    phases["marts"] = time.perf_counter() - t
    t = time.perf_counter()
    con.execute(f"attach '{work / 'publie.duckdb'}' as publie")
    con.execute("create schema publie.marts")
    for (name,) in con.execute("select table_name from duckdb_tables() where database_name = current_database() "
                               "and schema_name = 'marts' union select view_name from duckdb_views() "
                               "where database_name = current_database() and schema_name = 'marts' "
                               "and not internal").fetchall():
        con.execute(f"create table publie.marts.{name} as select * from marts.{name}")
    con.execute("detach publie")
    con.close()
    phases["publication"] = time.perf_counter() - t
    return {"phases": phases, "total": sum(phases.values()), "regles": rules, "echecs": failures}
