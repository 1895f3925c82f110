"""What many tests share: where things are, the environment a `pre-eval` child process gets, signing in,
local servers (a free port, who listens, Streamlit's health), and data homes processed once per test process."""

from __future__ import annotations

import fcntl
import hashlib
import pickle
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipelines.common.datahome import DataHome, write_once
from pipelines.publication.published import SEED_FILE

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PRE_EVAL = str(BIN / "pre-eval")


def isolated_env(home_root: Path, user_home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment for a child process: system PATH, its own HOME, the data home
    `home_root`, and nothing else of the test runner's environment (no stray PRE_* setting).

    `PRE_PROCESSUS=1`: the suite already runs two tests at once on two cores, so a child's worker
    processes would only add their start-up (measured: a publication of 3 sites, 31,3 s of CPU with 2
    workers, 27,2 s without). The worker path stays tested: in-process tests, the benchmark test and
    `tests/unit/test_disclosure.py` run with the default."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(user_home), "PRE_HOME": str(home_root), "PRE_PROCESSUS": "1",
            **extra}


# --- signing in (access.md) -------------------------------------------------------------------------------

# Sign-in variables for AppTest runs (no provider is contacted: AppTest gives the signed-in user).
OIDC_ENV = {"PRE_OIDC_METADATA_URL": "http://127.0.0.1:9/.well-known/openid-configuration",
            "PRE_OIDC_CLIENT_ID": "essai", "PRE_OIDC_CLIENT_SECRET": "secret-essai",
            "PRE_OIDC_REDIRECT_URI": "http://127.0.0.1:8501/oauth2callback", "PRE_COOKIE_SECRET": "cookie-essai"}
# One account per role, on the shipped referential (Grand Est: region 44, Marne 51, Reims PRE51454).
ACCOUNTS = {
    "national": ("anct@essai.fr", "national", "FR"),
    "region": ("dreets@essai.fr", "region", "44"),
    "departement": ("ddets51@essai.fr", "departement", "51"),
    "site": ("reims@essai.fr", "site", "PRE51454"),
    "exploitant": ("ops@essai.fr", "exploitant", "FR"),
}


def authorise(home_root: Path, accounts=None) -> Path:
    """Write the data home's authorisations file with these accounts (email, role, perimeter; default:
    one per role)."""
    accounts = ACCOUNTS.values() if accounts is None else accounts
    folder = home_root / "acces"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "habilitations.csv"
    path.write_text("email,role,perimetre,nom\n" + "".join(f"{e},{r},{p},\n" for e, r, p in accounts),
                    encoding="utf-8")
    return path


def signed_in(at, role: str = "national"):
    """Make an AppTest session that of the account of `role` (signed in through the provider)."""
    at.user = {"is_logged_in": True, "email": ACCOUNTS[role][0], "name": role, "iat": int(time.time())}
    return at


# --- local servers -----------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port of 127.0.0.1 free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> set[str]:
    """Local addresses listening on `port`, from the kernel's tables (IPv4 and IPv6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            if width == 8:
                found.add(f"{socket.inet_ntop(socket.AF_INET, raw[::-1])}:{port}")
            else:
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                found.add(f"[{socket.inet_ntop(socket.AF_INET6, words)}]:{port}")
    return found


def streamlit_healthy(port: int, timeout: float = 90) -> bool:
    """Whether the Streamlit server on 127.0.0.1:`port` answers its health check within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return True
        except OSError:
            time.sleep(0.5)
    return False


# --- processed data homes ----------------------------------------------------------------------------------

# Three sites of two départements (Aube, Marne) of the Grand Est, one submission each (in code order: ZIP of
# UTF-8 CSV, ZIP of Windows-1252 CSV, XLSX workbook), generated for 2024 (pathways opened earlier and still open
# go back to 2020): the home of modules that need "a processed home" whatever its volume.
THREE_SITES = {"seed": 23, "sites": ["PRE10387", "PRE51108", "PRE51454"], "from_year": 2024, "to_year": 2024}
# Six sites, four of them in the Marne, 2022–2024: the published copy the dashboard is tested on (AppTest, browser).
SIX_SITES = {"seed": 11, "sites": ["PRE10387", "PRE51108", "PRE51230", "PRE51454", "PRE51649", "PRE57463"],
             "from_year": 2022, "to_year": 2024}


@dataclass(frozen=True)
class Processed:
    """A data home generated and processed once per test run (`processed_homes` in conftest.py)."""

    root: Path  # the reference data home: never handed to a test, only copied
    files: tuple  # the GeneratedFile of each submission (paths to untouched copies of what was dropped)
    stdout: str  # what `pre-eval process` printed

    def copy(self, target: Path) -> DataHome:
        """A private copy of the processed data home at `target` (files, modes, warehouse and Dagster's
        SQLite instance under `dagster/`)."""
        shutil.copytree(self.root, target, symlinks=True)
        return DataHome(target)


class ProcessedHomes:
    """Data homes generated and processed with `pre-eval process` (the installed command, in a child
    process), one for each set of generation parameters, built on first use. `folder` may be shared by the
    test processes of one run (pytest-xdist's workers): the first to need a home builds it under a file lock,
    the others wait for it and reuse it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.built: dict[tuple, Processed] = {}

    def get(self, *, seed: int, sites: list[str], from_year: int, to_year: int) -> Processed:
        key = (seed, tuple(sorted(sites)), from_year, to_year)
        if key not in self.built:
            name = f"traite-{seed}-{from_year}-{to_year}-" + hashlib.sha256(repr(key).encode()).hexdigest()[:10]
            work, done = self.folder / name, self.folder / name / "fait.pickle"
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.folder / f"{name}.verrou", "w") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file is closed
                if not done.exists():
                    shutil.rmtree(work, ignore_errors=True)  # what a failed build left
                    done.parent.mkdir(parents=True)
                    done.write_bytes(pickle.dumps(self._build(key, work)))
                self.built[key] = pickle.loads(done.read_bytes())
        return self.built[key]

    @staticmethod
    def _build(key: tuple, work: Path) -> Processed:
        from pipelines.demo.generate import generate

        seed, sites, from_year, to_year = key
        home = DataHome(work / "donnees").ensure()
        files = generate(work / "depots", seed=seed, sites=list(sites), from_year=from_year, to_year=to_year,
                         home=home)
        for file in files:
            shutil.copy(file.path, home.inbox / file.path.name)
        # A fixed key for the draws among equivalent complements (the platform creates a random one): the
        # same masks in every run, so that a page test meets the same shown and masked cells each time.
        home.secret.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_once(home.secret / SEED_FILE, hashlib.sha256(repr(key).encode()).hexdigest().encode("ascii"))
        run = subprocess.run([PRE_EVAL, "process"], capture_output=True, text=True, timeout=900,
                             env=isolated_env(home.root, work))
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
        assert run.stdout.count("ACCEPTÉ") == len(sites), run.stdout
        return Processed(home.root, tuple(files), run.stdout)
