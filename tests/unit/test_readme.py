"""The README's layout table matches the tree: every folder of the package and of the repository
is described, and every path the table names exists."""

from __future__ import annotations

import re

from support import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
LAYOUT = README[README.index("## Layout"):README.index("## How checks work")]
NAMED = re.findall(r"^\| `([^`]+)`", LAYOUT, flags=re.M)


def test_every_named_path_exists():
    for path in NAMED:
        assert (REPO_ROOT / path).exists(), path


def test_every_folder_is_described():
    ignored = {"data", "build", "test-artifacts"}  # and hidden folders
    top = {p.name + "/" for p in REPO_ROOT.iterdir()
           if p.is_dir() and p.name not in ignored and not p.name.startswith(".") and not p.name.endswith(".egg-info")}
    packages = {f"pipelines/{p.name}/" for p in (REPO_ROOT / "pipelines").iterdir()
                if p.is_dir() and (p / "__init__.py").is_file()}
    assert (top - {"pipelines/"}) | packages <= set(NAMED)


def test_status_is_current():
    assert "Next: national-scale benchmark" not in README
