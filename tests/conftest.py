"""Shared fixtures. Tests live in three folders by what they run:

- `unit/`: one module or one SQL layer, in memory or in a temporary folder;
- `integration/`: the pipeline through its Dagster definitions or `pre-eval` commands;
- `e2e/`: the running services (Dagster daemon and sensors, Streamlit server in Chromium).

Markers (registered in pyproject.toml): `slow` (minutes: national-scale, crash trials, wheel
build), `browser` (needs Debian's Chromium). The quick loop is `pytest -m "not slow and not browser"`.
"""

from __future__ import annotations

import os

import pytest

from pipelines.contracts.model import Contracts, load_contracts
from support import ProcessedHomes


def pytest_addoption(parser):
    parser.addoption("--crash-trials", type=int, default=3,
                     help="number of SIGKILL trials of integration/test_crash_safety.py, their kill points "
                          "spread evenly over a run (default 3)")


def pytest_generate_tests(metafunc):
    if "trial" in metafunc.fixturenames:
        metafunc.parametrize("trial", range(metafunc.config.getoption("--crash-trials")))


@pytest.fixture(scope="session")
def contracts() -> Contracts:
    return load_contracts()


@pytest.fixture(scope="session")
def processed_homes(tmp_path_factory) -> ProcessedHomes:
    """Data homes generated and processed once per run (pytest-xdist's workers share them through the run's
    temporary folder), shared by the modules that need "a processed home":
    `processed_homes.get(**THREE_SITES).copy(tmp_path / "donnees")` gives a test its own copy
    (shutil.copytree: seconds, where generating and processing take a minute)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    return ProcessedHomes(base / "traites")


@pytest.fixture(autouse=True)
def _no_platform_settings_from_the_runner(monkeypatch):
    """Tests start from the platform's defaults, whatever the runner's environment holds."""
    import os

    for name in [n for n in os.environ if n.startswith("PRE_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server (tests/postgres.py), one per test process; fails, never skips,
    when Debian's `postgresql` package is missing."""
    from postgres import PostgresUnavailable, temporary_server

    try:
        with temporary_server() as server:
            yield server
    except PostgresUnavailable as exc:  # raised while starting (pytest never throws a test's error in here)
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The `postgresql://` URL of a new, empty database on the test server (user with password)."""
    return postgres_server.new_database()
