"""`pre-eval dashboard [--port N]`: the dashboard alone, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os
import signal
import subprocess

from support import PRE_EVAL, free_port, isolated_env, listening, streamlit_healthy


def test_the_dashboard_starts_alone_on_the_loopback(tmp_path):
    port = free_port()
    proc = subprocess.Popen([PRE_EVAL, "dashboard", "--port", str(port)],
                            env=isolated_env(tmp_path / "donnees", tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert streamlit_healthy(port)
        assert listening(port) == {f"127.0.0.1:{port}"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert f"Tableau de bord : http://127.0.0.1:{port}/" in out


def test_a_bad_port_is_refused_in_french(tmp_path):
    done = subprocess.run([PRE_EVAL, "dashboard", "--port", "99999"], env=isolated_env(tmp_path, tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "le port doit être un entier entre 1 et 65535" in done.stderr
