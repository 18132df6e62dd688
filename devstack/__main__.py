"""`python -m devstack` (what `make dev` runs): the whole product on this machine.

Starts Postgres + PostgREST + the `/rest/v1` gateway (data kept between runs), the LiveKit
server, the token server and the agent worker; prints what to open; on Ctrl-C (or when any of
them dies) stops every process it started, in reverse order.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Protocol

from devstack import LiveKitServer, ServiceError, SupabaseStack, tools
from devstack.errors import MissingToolError
from devstack.proc import ManagedProcess, free_port, http_ok, tcp_open

log = logging.getLogger("devstack")


def data_dir() -> Path:
    override = os.environ.get("DEVSTACK_DATA_DIR")
    if override:
        return Path(override)
    # As root, Postgres runs as the `postgres` user, which must be able to reach its data.
    if os.geteuid() == 0:
        return Path("/var/lib/interview-room/dev")
    return tools.REPO_ROOT / ".local" / "dev"


def load_or_create_secrets(path: Path) -> dict[str, str]:
    """Local secrets, generated on the first run and kept so the database stays usable."""
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    values = {
        "livekit_api_key": "devkey",
        "livekit_api_secret": secrets.token_urlsafe(32),
        "jwt_secret": secrets.token_urlsafe(32),
        "interviewer_api_key": secrets.token_urlsafe(24),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2))
    path.chmod(0o600)
    return values


def preferred_port(port: int) -> int:
    return port if not tcp_open(port) else free_port()


class _Stoppable(Protocol):
    def stop(self) -> None: ...


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def run() -> int:
    root = data_dir()
    run_dir = root / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.glob("*.log"):
        stale.unlink()
    values = load_or_create_secrets(root / "secrets.json")

    token_port = preferred_port(8000)
    supabase = SupabaseStack(
        run_dir, pg_data_dir=root / "pgdata", jwt_secret=values["jwt_secret"], durable=True
    )
    livekit = LiveKitServer(
        run_dir,
        api_key=values["livekit_api_key"],
        api_secret=values["livekit_api_secret"],
        port=preferred_port(7880),
        webhook_urls=[f"http://127.0.0.1:{token_port}/webhooks/livekit"],
    )
    env = {
        **os.environ,
        "ENVIRONMENT": "dev",
        "LIVEKIT_URL": livekit.url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        "SUPABASE_URL": supabase.url,
        "SUPABASE_SERVICE_ROLE_KEY": supabase.service_role_key,
        "INTERVIEWER_API_KEYS": values["interviewer_api_key"],
        "PORT": str(token_port),
        "AGENT_HEALTH_PORT": str(free_port()),
        "LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE": "0",
    }
    python = sys.executable
    # Without an OpenAI key the agent talks to the local rehearsal server (realtime_local)
    # instead, and the token server's evaluation job uses its text API (chat completions).
    rehearsal: ManagedProcess | None = None
    worker_env = dict(env)
    server_env = dict(env)
    rehearsal_url = ""
    if not os.environ.get("OPENAI_API_KEY"):
        rehearsal_port = free_port()
        rehearsal_url = f"http://127.0.0.1:{rehearsal_port}"
        rehearsal = ManagedProcess(
            "rehearsal-model",
            [python, "-m", "realtime_local", "--port", str(rehearsal_port), "--rehearsal"],
            run_dir / "rehearsal_model.log",
            env=env,
            cwd=tools.REPO_ROOT,
        )
        worker_env["OPENAI_BASE_URL"] = f"{rehearsal_url}/v1"
        worker_env["OPENAI_API_KEY"] = "offline-rehearsal"
        # Counted but not priced: the rehearsal costs nothing (agent.usage).
        worker_env["REHEARSAL_MODEL"] = "true"
        for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "REHEARSAL_MODEL"):
            server_env[name] = worker_env[name]
    token_server = ManagedProcess(
        "token-server",
        [python, "-m", "token_server"],
        run_dir / "token_server.log",
        env=server_env,
        cwd=tools.REPO_ROOT,
    )
    worker = ManagedProcess(
        "agent-worker",
        [python, "-m", "agent", "start"],
        run_dir / "agent.log",
        env=worker_env,
        cwd=tools.REPO_ROOT,
    )
    started: list[tuple[str, _Stoppable]] = []
    # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        log.info("starting Postgres, PostgREST and the /rest/v1 gateway ...")
        supabase.start()
        started.append(("supabase", supabase))
        log.info("starting the LiveKit server ...")
        livekit.start()
        started.append(("livekit", livekit))
        # First: the token server's evaluation job calls it too.
        if rehearsal is not None:
            log.info("starting the offline rehearsal model (no OPENAI_API_KEY) ...")
            rehearsal.start()
            started.append(("rehearsal model", rehearsal))
            rehearsal.wait_ready(lambda: http_ok(f"{rehearsal_url}/health"), 30, "/health answered")
        log.info("starting the token server ...")
        token_server.start()
        started.append(("token server", token_server))
        token_server.wait_ready(
            lambda: http_ok(f"http://127.0.0.1:{token_port}/health"), 30, "/health answered"
        )
        log.info("starting the agent worker ...")
        worker.start()
        started.append(("agent worker", worker))
        worker.wait_ready(
            lambda: "registered worker" in worker.log_tail(200), 90, "it registered with LiveKit"
        )
        _print_summary(token_port, livekit, supabase, values, run_dir)
        while True:
            for name, child in ((n, p) for n, p in started if isinstance(p, ManagedProcess)):
                if not child.running():
                    raise ServiceError(f"{name} exited; its log: {child.log_path}")
            if not livekit.running() or not supabase.postgrest.running():
                raise ServiceError(f"a core service exited; logs are in {run_dir}")
            time.sleep(0.5)
    except (KeyboardInterrupt, _Stop):
        log.info("stopping ...")
        return 0
    except (ServiceError, MissingToolError) as exc:
        log.error("%s", exc)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for name, proc in reversed(started):
            with contextlib.suppress(Exception):
                proc.stop()
            log.info("stopped %s", name)


def _print_summary(
    token_port: int,
    livekit: LiveKitServer,
    supabase: SupabaseStack,
    values: dict[str, str],
    run_dir: Path,
) -> None:
    model = (
        "OpenAI Realtime"
        if os.environ.get("OPENAI_API_KEY")
        else "offline rehearsal interviewer (no OPENAI_API_KEY; local realtime_local server)"
    )
    lines = [
        "",
        "Interview room is running.",
        f"  Web client & API   http://127.0.0.1:{token_port}/   (API docs: /docs)",
        f"  Health             http://127.0.0.1:{token_port}/health",
        f"  Interviewer key    {values['interviewer_api_key']}   (Authorization: Bearer ...)",
        f"  LiveKit            {livekit.url}",
        f"  Supabase API       {supabase.url}/rest/v1",
        f"  Model              {model}",
        "  Agent worker       registered",
        f"  Logs               {run_dir}",
        "Press Ctrl-C to stop everything.",
        "",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="devstack: %(message)s")
    sys.exit(run())


if __name__ == "__main__":
    main()
