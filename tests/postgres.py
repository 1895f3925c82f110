"""A throwaway PostgreSQL server for the tests, from Debian's `postgresql` package.

`temporary_server()` makes a new cluster in a temporary folder (`initdb`), starts it on a free
local port (`pg_ctl start`: TCP on 127.0.0.1 only, its unix socket in that folder, fsync off since
nothing needs to survive a crash), creates a user with a password and a database, and at the end
stops it and deletes the folder. `initdb` and `postgres` refuse to run as root: as root they are run
as the `postgres` account (`runuser -u postgres --`), which then owns the folder.

Over TCP the server asks for the password (scram-sha-256): a test that connects with the URL really
uses the password it holds. The superuser is reached through the unix socket only (trust), to create
one database per test (`Server.new_database`).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = ("PostgreSQL est nécessaire pour les tests de l'instance Dagster de production : "
                "installez-le avec « apt-get install postgresql » (bash scripts/test.sh le fait en root).")
USER = "pre_essai"
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """Debian's server binaries are missing, or the server would not start (French message)."""


def server_binaries() -> Path | None:
    """The `bin/` folder of the newest PostgreSQL version installed, if any."""
    found = []
    for folder in PG_ROOT.glob("*/bin") if PG_ROOT.is_dir() else []:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file() and (folder / "postgres").is_file():
            try:
                found.append((int(folder.parent.name.split(".")[0]), folder))
            except ValueError:
                continue
    return max(found)[1] if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    folder: Path
    port: int
    password: str
    bin: Path
    _databases: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The URL of the first database (created with the server)."""
        return self.url_of(self._databases[0])

    def url_of(self, database: str) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def superuser(self, database: str = "postgres"):
        """A psycopg2 connection as the superuser, through the unix socket (autocommit)."""
        import psycopg2

        con = psycopg2.connect(host=str(self.folder), port=self.port, user=SUPERUSER, dbname=database)
        con.autocommit = True
        return con

    def new_database(self) -> str:
        """A new empty database owned by the test user; its URL."""
        name = f"essai_{len(self._databases)}_{secrets.token_hex(3)}"
        con = self.superuser()
        try:
            with con.cursor() as cur:
                cur.execute(f'create database "{name}" owner {USER}')
        finally:
            con.close()
        self._databases.append(name)
        return self.url_of(name)


def _as_server_account(command: list[str]) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], folder: Path, what: str) -> None:
    result = subprocess.run(_as_server_account(command), cwd=folder, capture_output=True, text=True, timeout=120)
    if result.returncode:
        raise PostgresUnavailable(f"PostgreSQL : échec de {what} ({result.returncode}) :\n"
                                  f"{result.stdout[-2000:]}{result.stderr[-2000:]}")


@contextmanager
def temporary_server() -> Iterator[Server]:
    """A running PostgreSQL server with one database for `pre_essai`; stopped and deleted at the end."""
    bin_dir = server_binaries()
    if bin_dir is None:
        raise PostgresUnavailable(INSTALL_HINT)
    # Under /tmp (not pytest's tmp_path, whose parents are private to root): the server's account
    # must reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="pre-postgres-"))
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SUPERUSER)
        except KeyError:
            shutil.rmtree(folder)
            raise PostgresUnavailable("PostgreSQL : le compte « postgres » manque (il est créé par "
                                      "« apt-get install postgresql »).") from None
        os.chown(folder, account.pw_uid, account.pw_gid)
    data = folder / "donnees"
    server = Server(folder, 0, secrets.token_urlsafe(18), bin_dir)
    started = False
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--encoding=UTF8", "--locale=C",
              "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"], folder, "initdb")
        options = (f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        for _ in range(3):  # another process may take the free port first
            server.port = _free_port()
            try:
                _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "serveur.log"), "-w", "-t", "60",
                      "-o", f"-p {server.port} {options}", "start"], folder, "pg_ctl start")
            except PostgresUnavailable:
                continue
            started = True
            break
        if not started:
            log = folder / "serveur.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise PostgresUnavailable(f"PostgreSQL ne démarre pas :\n{tail}")
        con = server.superuser()
        try:
            with con.cursor() as cur:
                cur.execute(f"create role {USER} login password %s", [server.password])
        finally:
            con.close()
        server.new_database()
        yield server
    finally:
        if started:
            subprocess.run(_as_server_account([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                               "stop"]), cwd=folder, capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
