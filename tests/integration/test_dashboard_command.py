"""`pre-eval dashboard [--port N]`: the dashboard alone, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from support import PRE_EVAL, isolated_env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> set[str]:
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


def test_the_dashboard_starts_alone_on_the_loopback(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([PRE_EVAL, "dashboard", "--port", str(port)],
                            env=isolated_env(tmp_path / "donnees", tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, healthy = time.monotonic() + 90, False
        while time.monotonic() < deadline and not healthy:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                    healthy = answer.read() == b"ok"
            except OSError:
                time.sleep(0.5)
        assert healthy
        assert _listening(port) == {f"127.0.0.1:{port}"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert f"Tableau de bord : http://127.0.0.1:{port}/" in out


def test_a_bad_port_is_refused_in_french(tmp_path):
    done = subprocess.run([PRE_EVAL, "dashboard", "--port", "99999"], env=isolated_env(tmp_path, tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "le port doit être un entier entre 1 et 65535" in done.stderr
