"""The folders read as the data flow and imports only point down.

Layers, top to bottom (a module may import its own layer and the layers below it):

    dashboards/                                   the Streamlit app
    pipelines/cli.py, dev.py, process.py          commands
    pipelines/definitions.py, pipelines/defs/     Dagster
    pipelines/ingest/, pipelines/demo/            inbox to warehouse; synthetic submissions
    pipelines/publication/                        what people see: published copy, disclosure, views
    pipelines/warehouse/                          DuckDB file, SQL graph, indicator catalogue
    pipelines/contracts/                          ODCS contracts, referentials, reader, validator, reports
    pipelines/common/                             formatting, progress, timings, workers, data home
    pipelines/settings.py                         the PRE_* settings
"""

from __future__ import annotations

import ast

import pytest

from support import REPO_ROOT

RANKS = {
    "pipelines.settings": 0,
    "pipelines.common": 1,
    "pipelines.contracts": 2,
    "pipelines.warehouse": 3,
    "pipelines.publication": 4,
    "pipelines.access": 4.5,
    "pipelines.ingest": 5,
    "pipelines.demo": 5,
    "pipelines.defs": 6,
    "pipelines.definitions": 6,
    "pipelines.cli": 7,
    "pipelines.dev": 7,
    "pipelines.process": 7,
    "dashboards": 8,
}


def rank(module: str) -> int:
    if module == "pipelines":
        return 0  # the package's own __init__: a docstring
    for prefix in sorted(RANKS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return RANKS[prefix]
    raise KeyError(module)


def module_name(path) -> str:
    relative = path.relative_to(REPO_ROOT).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join(parts)


def imported(path) -> list[str]:
    """Every pipelines.* module a file imports, at any depth (lazy imports inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return [m for m in found if m.startswith("pipelines.")]


SOURCES = sorted((REPO_ROOT / "pipelines").rglob("*.py")) + sorted((REPO_ROOT / "dashboards").rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_imports_point_down(path):
    own = rank(module_name(path)) if path.is_relative_to(REPO_ROOT / "pipelines") else RANKS["dashboards"]
    upward = [m for m in imported(path) if _known(m) and rank(m) > own]
    assert upward == [], f"{path.relative_to(REPO_ROOT)} imports a layer above it: {upward}"


def _known(module: str) -> bool:
    try:
        rank(module)
        return True
    except KeyError:
        return False


def test_every_module_has_a_layer():
    for path in (REPO_ROOT / "pipelines").rglob("*.py"):
        rank(module_name(path))  # raises for a module outside the layers above


def test_no_flat_module_left_at_the_top_of_the_package():
    top = sorted(p.name for p in (REPO_ROOT / "pipelines").glob("*.py"))
    assert top == ["__init__.py", "cli.py", "definitions.py", "dev.py", "process.py", "settings.py"]


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "dashboards").rglob("*.py")), ids=lambda p: p.name)
def test_the_dashboard_reads_publications_not_the_pipeline(path):
    """The dashboard uses the publication and access layers and what lies below them, never ingestion or
    Dagster."""
    too_high = [m for m in imported(path) if _known(m) and rank(m) > RANKS["pipelines.access"]]
    assert too_high == []
