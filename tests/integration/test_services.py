"""The production services (`deploy/systemd/*.service`) and the dashboard's Streamlit configuration.

Each unit is read as systemd reads it (`systemd-analyze verify`, with /opt/pre-eval pointed at this
checkout so that the commands it starts must exist here), its hardening checked directive by directive,
and its exposure scored by `systemd-analyze security --offline`."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import signal
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from support import BIN, REPO_ROOT, free_port, isolated_env, listening, streamlit_healthy

UNITS = REPO_ROOT / "deploy" / "systemd"
INSTALL = "/opt/pre-eval"
DATA = "/srv/pre/data"
NAMES = ["pre-dagster-code", "pre-dagster-daemon", "pre-dagster-web", "pre-dashboard"]
HARDENING = {  # written from the issue and systemd.exec(5), for every service
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
    "PrivateDevices": "yes", "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": "",
    "Restart": "on-failure",
}
# The dashboard gets an environment file of its own: the pipeline's holds the PostgreSQL password and
# may hold the pseudonymisation key, neither of which the dashboard may ever see.
ENVIRONMENT = {"pre-dashboard": "/etc/pre-eval/tableau.env"}
COMMANDS = {
    "pre-dagster-code": ["dagster", "code-server", "start", "-m", "pipelines.definitions", "-h", "127.0.0.1",
                         "-p", "4266", "--location-name", "pre_eval"],
    "pre-dagster-daemon": ["dagster-daemon", "run", "-w", f"{INSTALL}/deploy/workspace.yaml"],
    "pre-dagster-web": ["dagster-webserver", "-w", f"{INSTALL}/deploy/workspace.yaml", "-h", "127.0.0.1", "-p",
                        "3000", "--path-prefix", "/dagster"],
    "pre-dashboard": ["pre-eval", "dashboard", "--port", "8501"],
}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, empty_lines_in_values=False)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read(UNITS / f"{name}.service", encoding="utf-8")
    return parser


def test_the_four_services_are_there():
    assert sorted(p.stem for p in UNITS.glob("*.service")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_each_service_is_hardened(name):
    service = unit(name)["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == value, (name, key)
    assert service["EnvironmentFile"] == ENVIRONMENT.get(name, "/etc/pre-eval/env")
    assert unit(name)["Unit"]["Description"].startswith("PRE — ")
    if name == "pre-dashboard":
        # Its own account, in the platform's group; writes only where the portal and the journal write.
        assert (service["User"], service["Group"], service["UMask"]) == ("pre-tableau", "pre", "0027")
        assert service["ReadWritePaths"].split() == [f"{DATA}/inbox", f"{DATA}/journal", f"{DATA}/portail"]
        hidden = set(service["InaccessiblePaths"].split())
        assert {f"-{DATA}/{p}" for p in ("secret", "warehouse.duckdb", "archive", "quarantine")} <= hidden
    else:
        assert (service["User"], service["Group"], service["UMask"]) == ("pre", "pre", "0077")
        assert service["ReadWritePaths"] == DATA


@pytest.mark.parametrize("name", NAMES)
def test_each_service_starts_a_command_the_project_installs(name):
    command = shlex.split(unit(name)["Service"]["ExecStart"])
    program = Path(command[0])
    assert program.parent == Path(INSTALL) / ".venv" / "bin"
    assert (BIN / program.name).is_file() and os.access(BIN / program.name, os.X_OK), program.name
    assert [program.name, *command[1:]] == COMMANDS[name]
    for arg in command[1:]:
        if arg.startswith(INSTALL + "/"):
            assert (REPO_ROOT / arg.removeprefix(INSTALL + "/")).is_file(), arg
    if name == "pre-dashboard":
        from pipelines.cli import build_parser

        args = build_parser().parse_args(command[1:])
        assert (args.port, args.host) == (8501, "127.0.0.1")


def test_the_workspace_points_at_the_code_server_of_the_service():
    [location] = yaml.safe_load((REPO_ROOT / "deploy" / "workspace.yaml").read_text(encoding="utf-8"))["load_from"]
    server = location["grpc_server"]
    command = COMMANDS["pre-dagster-code"]
    assert (server["host"], str(server["port"]), server["location_name"]) == (
        command[command.index("-h") + 1], command[command.index("-p") + 1],
        command[command.index("--location-name") + 1])


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze absent (paquet systemd de Debian)")
    return found


def test_systemd_reads_every_unit_without_a_complaint(tmp_path):
    """`systemd-analyze verify` on copies where /opt/pre-eval is this checkout: unknown keys, bad values
    and missing programs are all reported on stderr (its exit status stays 0 for most of them)."""
    analyze = _analyze()
    for name in NAMES:
        text = (UNITS / f"{name}.service").read_text(encoding="utf-8").replace(INSTALL, str(REPO_ROOT))
        (tmp_path / f"{name}.service").write_text(text, encoding="utf-8")
    done = subprocess.run([analyze, "verify", "--man=no", *[f"{n}.service" for n in NAMES]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    # The check does catch a misspelt directive and a missing program.
    broken = (tmp_path / "pre-dashboard.service").read_text(encoding="utf-8")
    broken = broken.replace("NoNewPrivileges=yes", "NoNewPrivilege=yes").replace("bin/pre-eval", "bin/pre-evol")
    (tmp_path / "pre-dashboard.service").write_text(broken, encoding="utf-8")
    done = subprocess.run([analyze, "verify", "--man=no", "pre-dashboard.service"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert "NoNewPrivilege" in done.stderr and "pre-evol" in done.stderr


@pytest.mark.parametrize("name", NAMES)
def test_each_service_exposure_is_low(name):
    """systemd's own score (0 best, 10 worst): an unhardened service scores about 9.6."""
    done = subprocess.run([_analyze(), "security", "--offline=yes", "--no-pager", str(UNITS / f"{name}.service")],
                          capture_output=True, text=True, timeout=120)
    [score] = re.findall(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert float(score) <= 3.5, done.stdout[-2000:]


def test_streamlit_run_directly_listens_on_this_machine_only(tmp_path):
    """Someone starting the dashboard with `streamlit run app.py` (no --server.address) still gets
    127.0.0.1 from dashboards/.streamlit/config.toml; the launchers pass it explicitly as well."""
    config = tomllib.loads((REPO_ROOT / "dashboards" / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    from pipelines.dev import dashboard_command

    command = dashboard_command("127.0.0.1", 8501)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"

    port = free_port()
    proc = subprocess.Popen([str(BIN / "streamlit"), "run", "app.py", "--server.port", str(port)],
                            cwd=REPO_ROOT / "dashboards", env=isolated_env(tmp_path / "donnees", tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert streamlit_healthy(port)
        assert listening(port) == {f"127.0.0.1:{port}"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
