"""The live-path benchmark's memory figure: the resident memory of every process of a session, summed.
Checked against processes whose size is known: two children of one session, each holding 150 MB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from support import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from chemin_direct import MemorySampler

HOLD = ("import subprocess, sys, time\n"
        "block = bytearray(150 * 1024 * 1024)\n"  # written to, hence resident
        "child = subprocess.Popen([sys.executable, '-c', 'b = bytearray(150 * 1024 * 1024); import time; "
        "print(1, flush=True); time.sleep(60)'], stdout=subprocess.PIPE)\n"
        "child.stdout.readline()\n"
        "print(1, flush=True)\n"
        "time.sleep(60)\n")


def test_the_sampler_sums_a_session_s_processes_and_only_them():
    other = subprocess.Popen([sys.executable, "-c", "b = bytearray(400 * 1024 * 1024); import time; time.sleep(60)"])
    session = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, start_new_session=True)
    try:
        session.stdout.readline()  # both of the session's processes hold their block
        sampler = MemorySampler(session.pid)
        started = time.time()
        sampler.start()
        time.sleep(2.5)
        sampler.stopped.set()
        sampler.join(5)
        mb = sampler.peak_kb / 1024
        # 2 × 150 MB of blocks plus two interpreters (about 10 MB each), and not the other 400 MB process.
        assert 300 <= mb < 400, mb
        # Samples every half second, each with the largest process of the session: one of the two, 150 MB + ~10.
        assert len(sampler.samples) >= 4
        total, largest = sampler.peak_between(started, time.time())
        assert total == sampler.peak_kb and 150 <= largest / 1024 < 200, largest
        assert sampler.peak_between(started - 60, started - 30) == (0, 0)  # no sample then
    finally:
        os.killpg(session.pid, signal.SIGKILL)  # the child too
        other.kill()
        for process in (session, other):
            process.wait(10)
