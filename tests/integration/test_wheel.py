"""The package installs as a wheel: contracts, SQL, catalogue and referentials travel inside it.

The wheel is built from the repository and installed without its dependencies (`pip install --no-deps`)
into a new virtual environment outside the repository, which finds the dependencies in the project's
environment (a `.pth` line naming its site-packages, whose own `.pth` files, the editable install of
`pipelines` included, are not read): what runs is the wheel's own content, its package data and its
`pre-eval` entry point, from a folder outside the repository: `pre-eval generate`, `validate` and
`process` work there on their own. The dependency pins themselves are installed by scripts/setup.sh.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

from support import REPO_ROOT

pytestmark = pytest.mark.slow


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=900, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("roue")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
                  "-w", str(work), str(REPO_ROOT)])
    assert built.returncode == 0, built.stderr[-3000:]
    return next(work.glob("pre_eval-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    created = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    install = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    "--disable-pip-version-check", str(wheel)])
    assert install.returncode == 0, install.stderr[-3000:]
    # Then (so that pip saw an empty environment) the dependencies: the site-packages this test runs from.
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    assert site.returncode == 0, site.stderr
    ours = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    Path(site.stdout.strip(), "dependances_du_projet.pth").write_text("".join(f"{p}\n" for p in ours))
    return venv


def test_the_wheel_carries_the_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for contract in (REPO_ROOT / "data_contracts").glob("*.odcs.yaml"):
        assert f"pipelines/contracts/odcs/{contract.name}" in names
    for sql in (REPO_ROOT / "sql").glob("*/*.sql"):
        assert f"pipelines/warehouse/sql/{sql.parent.name}/{sql.name}" in names
    for data in ("pipelines/warehouse/catalogue_indicateurs.yaml", "pipelines/contracts/referentiel/sites.csv",
                 "pipelines/contracts/referentiel/departements.csv", "pipelines/contracts/referentiel/regions.csv"):
        assert data in names
    assert not any(n.startswith(("tests/", "dashboards/", "benchmarks/")) for n in names)


def test_every_module_imports_from_the_installed_wheel(installed, tmp_path):
    code = ("import importlib, pkgutil, pipelines; "
            "mods = [m.name for m in pkgutil.walk_packages(pipelines.__path__, 'pipelines.')]; "
            "[importlib.import_module(m) for m in mods]; print(pipelines.__file__); print(len(mods))")
    run = _run([str(installed / "bin" / "python"), "-c", code], cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    location, count = run.stdout.split()
    assert Path(location).is_relative_to(installed) and int(count) > 30


def test_validate_and_process_outside_the_repository(installed, tmp_path):
    pre_eval = str(installed / "bin" / "pre-eval")
    env = {"PATH": f"{installed / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "PRE_HOME": str(tmp_path / "donnees")}
    generated = _run([pre_eval, "generate", "--out", "depots", "--seed", "5", "--sites", "PRE51454,PRE10387",
                      "--from-year", "2023", "--to-year", "2024", "--with-errors"], cwd=tmp_path, env=env)
    assert generated.returncode == 0, generated.stderr[-3000:]
    valid = sorted((tmp_path / "depots").glob("PRE*.*"))
    flawed = sorted((tmp_path / "depots" / "erreurs").iterdir())
    assert len(valid) == 2 and flawed

    accepted = _run([pre_eval, "validate", "--resume", *map(str, valid)], cwd=tmp_path, env=env)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    refused = _run([pre_eval, "validate", "--resume", str(flawed[0])], cwd=tmp_path, env=env)
    assert refused.returncode == 1 and "REFUSÉ" in refused.stdout

    inbox = tmp_path / "donnees" / "inbox"
    inbox.mkdir(parents=True)
    for path in [*valid, flawed[0]]:
        (inbox / path.name).write_bytes(path.read_bytes())
    processed = _run([pre_eval, "process"], cwd=tmp_path, env=env)
    assert processed.returncode == 0, processed.stdout + processed.stderr
    assert processed.stdout.count("ACCEPTÉ") == 2 and processed.stdout.count("REFUSÉ") == 1

    con = duckdb.connect(str(tmp_path / "donnees" / "published" / "entrepot.duckdb"), read_only=True)
    try:
        sites = con.execute("select count(distinct territoire) from marts.indicateurs where niveau = 'pre'").fetchone()
        assert sites == (2,)
    finally:
        con.close()
