"""`python -m devstack` (the README's run command) starts everything and Ctrl-C stops it all."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from devstack.tools import REPO_ROOT

pytestmark = pytest.mark.integration


def _wait_for_line(proc: subprocess.Popen[str], pattern: str, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line.rstrip())
        if re.search(pattern, line):
            return seen
    raise AssertionError(f"no line matching {pattern!r}; output so far:\n" + "\n".join(seen))


def test_dev_command_runs_everything_and_ctrl_c_leaves_nothing_behind() -> None:
    data = Path(tempfile.mkdtemp(prefix="iv-devcmd-"))
    data.chmod(0o755)
    env = {**os.environ, "DEVSTACK_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = _wait_for_line(proc, r"Press Ctrl-C", timeout=150)
        health_url = next(
            m.group(1) for line in output if (m := re.search(r"Health\s+(\S+)", line))
        )
        children = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        cmdlines: dict[int, list[str]] = {}
        environs: dict[str, dict[str, str]] = {}
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):  # short-lived helpers come and go
                cmdlines[child.pid] = child.cmdline()
                if any(m in cmdlines[child.pid] for m in ("agent", "token_server")):
                    environs[" ".join(cmdlines[child.pid])] = child.environ()
        rehearsal_pid, rehearsal_cmd = next(
            (pid, cmd) for pid, cmd in cmdlines.items() if "realtime_local" in cmd
        )
        rehearsal_port = rehearsal_cmd[rehearsal_cmd.index("--port") + 1]
        with urllib.request.urlopen(f"http://127.0.0.1:{rehearsal_port}/health", timeout=5) as r:
            rehearsal_health = json.loads(r.read())

        with urllib.request.urlopen(health_url, timeout=5) as resp:
            health = resp.read()
        agent_log = (data / "run" / "agent.log").read_text()

        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)

    assert b'"ok"' in health
    # no OPENAI_API_KEY: the worker talks to the local rehearsal server, and the token server's
    # evaluation job to its text API; neither is priced
    assert "--rehearsal" in rehearsal_cmd
    assert rehearsal_health["mode"] == "rehearsal"
    assert any(re.search(r"Model\s+offline rehearsal", line) for line in output)
    worker_env = next(e for cmd, e in environs.items() if "-m agent" in cmd)
    token_env = next(e for cmd, e in environs.items() if "token_server" in cmd)
    assert worker_env["OPENAI_BASE_URL"] == f"http://127.0.0.1:{rehearsal_port}/v1"
    assert worker_env["OPENAI_API_KEY"]
    assert token_env["OPENAI_BASE_URL"] == worker_env["OPENAI_BASE_URL"]
    assert token_env["OPENAI_API_KEY"] and token_env["REHEARSAL_MODEL"] == "true"
    assert rehearsal_pid in [c.pid for c in children]
    assert "registered worker" in agent_log
    programs = ("postgres", "postgrest", "nginx", "--config", "token_server", "agent")
    for program in (*programs, "realtime_local"):
        assert program in names, f"{program} was not started"
    survivors = [c.pid for c in children if psutil.pid_exists(c.pid) and c.status() != "zombie"]
    assert survivors == [], f"processes left behind: {survivors}"
    assert proc.returncode == 0
