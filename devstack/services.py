"""The real services, each started on free 127.0.0.1 ports with its own data directory.

Every class has `start()` (returns once the service answers) and `stop()` (leaves no process
behind). Services are independent so that a fault test can stop and restart one of them while
the others keep running.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import jwt
import yaml

from devstack import tools
from devstack.errors import ServiceError
from devstack.proc import ManagedProcess, free_port, free_udp_port, http_ok, tcp_open

log = logging.getLogger("devstack.services")

MIGRATIONS_DIR = tools.REPO_ROOT / "supabase" / "migrations"
SQL_DIR = Path(__file__).resolve().parent / "sql"


def _running_as_root() -> bool:
    return os.geteuid() == 0


# --------------------------------------------------------------------------------------------
# LiveKit


class LiveKitServer:
    """`livekit-server` configured from the repo's `livekit.yaml`, with ports and keys set here."""

    def __init__(
        self,
        run_dir: Path,
        *,
        api_key: str = "devkey",
        api_secret: str,
        port: int | None = None,
        redis_address: str | None = None,
        webhook_urls: list[str] | None = None,
        config_file: Path = tools.REPO_ROOT / "livekit.yaml",
    ) -> None:
        if len(api_secret) < 32:
            raise ValueError("LiveKit API secrets must be at least 32 characters")
        self.run_dir = run_dir
        self.api_key = api_key
        self.api_secret = api_secret
        self.port = port or free_port()
        self.tcp_port = free_port()
        self.udp_port = free_udp_port()
        self.redis_address = redis_address
        self.webhook_urls = webhook_urls or []
        self.config_file = config_file
        self._proc: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def render_config(self) -> dict[str, Any]:
        config: dict[str, Any] = yaml.safe_load(self.config_file.read_text()) or {}
        config["port"] = self.port
        config["bind_addresses"] = ["127.0.0.1"]
        rtc = config.setdefault("rtc", {})
        rtc.update(
            tcp_port=self.tcp_port,
            udp_port=str(self.udp_port),
            node_ip="127.0.0.1",
            use_external_ip=False,
            enable_loopback_candidate=True,
        )
        rtc.pop("port_range_start", None)
        rtc.pop("port_range_end", None)
        config["keys"] = {self.api_key: self.api_secret}
        if self.redis_address:
            config["redis"] = {"address": self.redis_address}
        if self.webhook_urls:
            config["webhook"] = {"api_key": self.api_key, "urls": list(self.webhook_urls)}
        return config

    def start(self, timeout: float = 30.0) -> None:
        binary = tools.livekit_server()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        config_path = self.run_dir / "livekit.yaml"
        config_path.write_text(yaml.safe_dump(self.render_config()))
        config_path.chmod(0o600)
        self._proc = ManagedProcess(
            "livekit-server",
            [str(binary), "--config", str(config_path)],
            self.run_dir / "livekit.log",
        )
        self._proc.start()
        self._proc.wait_ready(lambda: http_ok(self.http_url), timeout, "its HTTP port answered")

    def stop(self) -> None:
        if self._proc:
            self._proc.stop()

    def running(self) -> bool:
        return self._proc is not None and self._proc.running()


# --------------------------------------------------------------------------------------------
# Postgres


class Postgres:
    """A Postgres cluster of its own. As root, the server runs as the `postgres` user."""

    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.durable = durable
        self.bindir = tools.postgres_bindir()
        self.user = "postgres" if _running_as_root() else None
        self._proc: ManagedProcess | None = None

    def dsn(self, user: str = "postgres", database: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.data_dir, self.user, self.user)
            self._check_reachable_by(self.user)
        self.data_dir.chmod(0o700)
        argv = [
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        ]
        if not self.durable:
            argv.append("--no-sync")
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            user=self.user,
            group=self.user,
        )
        if result.returncode != 0:
            raise ServiceError(f"initdb failed for {self.data_dir}:\n{result.stderr[-2000:]}")

    def _check_reachable_by(self, user: str) -> None:
        for parent in self.data_dir.resolve().parents:
            if parent.stat().st_mode & 0o001 == 0:
                raise ServiceError(
                    f"Postgres runs as the `{user}` user when started by root, and it cannot "
                    f"enter {parent}. Put the data directory somewhere it can reach "
                    f"(for example under /tmp or /var/lib)."
                )

    def start(self, timeout: float = 30.0) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        argv = [
            str(self.bindir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            "-k",
            "",
            "-c",
            "max_connections=200",
        ]
        if not self.durable:
            # Test clusters are thrown away: trade crash safety for speed.
            argv += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        self._proc = ManagedProcess(
            "postgres", argv, self.data_dir.parent / f"{self.data_dir.name}.log", user=self.user
        )
        self._proc.start()
        self._proc.wait_ready(self._accepting, timeout, "it accepted connections")
        self.psql_file(SQL_DIR / "supabase_roles.sql")

    def _accepting(self) -> bool:
        result = subprocess.run(
            [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
        )
        return result.returncode == 0

    def stop(self) -> None:
        if self._proc:
            self._proc.stop(timeout=20)

    def _psql(self, *args: str, single_transaction: bool = False) -> str:
        argv = [
            shutil.which("psql") or str(self.bindir / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-d",
            self.dsn(),
        ]
        if single_transaction:
            argv.append("-1")
        result = subprocess.run([*argv, *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise ServiceError(f"psql {' '.join(args)[:200]} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def psql(self, sql: str) -> str:
        """Run SQL as the `postgres` superuser and return psql's unaligned output."""
        return self._psql("-c", sql)

    def psql_file(self, path: Path) -> None:
        self._psql("-f", str(path), single_transaction=True)

    def apply_migrations(self, directory: Path = MIGRATIONS_DIR) -> list[str]:
        """Apply the Supabase migrations not yet recorded, in order; return their versions.

        Versions are recorded in `supabase_migrations.schema_migrations`, the table the Supabase
        CLI uses, so a database migrated here and one migrated by the CLI agree.
        """
        applied = set(
            self.psql("select version from supabase_migrations.schema_migrations").split()
        )
        done: list[str] = []
        for path in sorted(directory.glob("*.sql")):
            version, _, name = path.stem.partition("_")
            if version in applied:
                continue
            record = (
                "insert into supabase_migrations.schema_migrations (version, name) "
                f"values ('{version}', '{name}')"
            )
            self._psql("-f", str(path), "-c", record, single_transaction=True)
            done.append(version)
        return done


# --------------------------------------------------------------------------------------------
# PostgREST and the /rest/v1 gateway


def make_supabase_key(jwt_secret: str, role: str) -> str:
    """An API key as Supabase issues them: an HS256 JWT whose `role` claim PostgREST switches to."""
    now = int(time.time())
    claims = {"iss": "supabase-local", "role": role, "iat": now, "exp": now + 10 * 365 * 86400}
    return jwt.encode(claims, jwt_secret, algorithm="HS256")


class PostgREST:
    def __init__(self, postgres: Postgres, run_dir: Path, *, jwt_secret: str) -> None:
        self.postgres = postgres
        self.run_dir = run_dir
        self.jwt_secret = jwt_secret
        self.port = free_port()
        self.admin_port = free_port()
        self._proc: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PGRST_DB_URI": self.postgres.dsn(user="authenticator"),
            "PGRST_DB_SCHEMAS": "public",
            "PGRST_DB_ANON_ROLE": "anon",
            "PGRST_JWT_SECRET": self.jwt_secret,
            "PGRST_SERVER_HOST": "127.0.0.1",
            "PGRST_SERVER_PORT": str(self.port),
            "PGRST_ADMIN_SERVER_PORT": str(self.admin_port),
            "PGRST_DB_POOL": "20",
            "PGRST_LOG_LEVEL": "warn",
        }
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._proc = ManagedProcess(
            "postgrest", [str(tools.postgrest())], self.run_dir / "postgrest.log", env=env
        )
        self._proc.start()
        ready = f"http://127.0.0.1:{self.admin_port}/ready"
        self._proc.wait_ready(lambda: http_ok(ready), timeout, "its /ready answered")

    def stop(self) -> None:
        if self._proc:
            self._proc.stop()

    def running(self) -> bool:
        return self._proc is not None and self._proc.running()

    def reload_schema(self, *, wait_for: str | None = None, timeout: float = 10.0) -> None:
        """Ask PostgREST to re-read the schema after DDL; with `wait_for`, wait until that
        table or view is served (the reload is asynchronous)."""
        self.postgres.psql("notify pgrst, 'reload schema'")
        if wait_for is None:
            return
        key = make_supabase_key(self.jwt_secret, "service_role")
        request = urllib.request.Request(
            f"{self.url}/{wait_for}?limit=0", headers={"Authorization": f"Bearer {key}"}
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(request, timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        raise ServiceError(
            f"PostgREST did not serve `{wait_for}` within {timeout:.0f}s of a reload"
        )


_NGINX_CONF = """\
worker_processes 1;
pid {run}/nginx.pid;
error_log stderr warn;
{user}
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {run}/tmp/body;
  proxy_temp_path {run}/tmp/proxy;
  fastcgi_temp_path {run}/tmp/fastcgi;
  uwsgi_temp_path {run}/tmp/uwsgi;
  scgi_temp_path {run}/tmp/scgi;
  client_max_body_size 16m;
  client_body_buffer_size 16m;
  upstream postgrest {{ server 127.0.0.1:{upstream}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{port};
    location = /health {{ return 200 "ok"; }}
    location /rest/v1/ {{
      proxy_pass http://postgrest/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_buffering off;
      proxy_connect_timeout 2s;
    }}
  }}
}}
"""


class Gateway:
    """nginx in front of PostgREST, serving it under `/rest/v1` as Supabase's Kong does."""

    def __init__(self, run_dir: Path, *, upstream_port: int) -> None:
        self.run_dir = run_dir
        self.upstream_port = upstream_port
        self.port = free_port()
        self._proc: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        nginx = tools.on_path("nginx", "nginx-light")
        (self.run_dir / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.run_dir / "nginx.conf"
        conf.write_text(
            _NGINX_CONF.format(
                run=self.run_dir,
                port=self.port,
                upstream=self.upstream_port,
                # Workers as root can use the temp folders; nginx would otherwise drop to nobody.
                user="user root;" if _running_as_root() else "",
            )
        )
        self._proc = ManagedProcess(
            "nginx",
            [
                str(nginx),
                "-e",
                "stderr",
                "-p",
                str(self.run_dir),
                "-c",
                str(conf),
                "-g",
                "daemon off;",
            ],
            self.run_dir / "nginx.log",
        )
        self._proc.start()
        self._proc.wait_ready(lambda: http_ok(f"{self.url}/health"), timeout, "/health answered")

    def stop(self) -> None:
        if self._proc:
            self._proc.stop()


class SupabaseStack:
    """Postgres + PostgREST + gateway: what supabase-py needs, with Supabase's roles and keys."""

    def __init__(self, run_dir: Path, *, pg_data_dir: Path, jwt_secret: str, durable: bool) -> None:
        if len(jwt_secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self.run_dir = run_dir
        self.jwt_secret = jwt_secret
        self.postgres = Postgres(pg_data_dir, durable=durable)
        self.postgrest = PostgREST(self.postgres, run_dir, jwt_secret=jwt_secret)
        self.gateway = Gateway(run_dir / "gateway", upstream_port=self.postgrest.port)
        self.anon_key = make_supabase_key(jwt_secret, "anon")
        self.service_role_key = make_supabase_key(jwt_secret, "service_role")

    @property
    def url(self) -> str:
        """The Supabase URL to give supabase-py (it appends `/rest/v1` itself)."""
        return self.gateway.url

    def start(self) -> None:
        self.postgres.start()
        applied = self.postgres.apply_migrations()
        if applied:
            log.info("applied migrations", extra={"versions": applied})
        self.postgrest.start()
        self.gateway.start()

    def stop(self) -> None:
        self.gateway.stop()
        self.postgrest.stop()
        self.postgres.stop()

    def describe(self) -> dict[str, str]:
        return {"url": self.url, "postgres": self.postgres.dsn()}

    def __repr__(self) -> str:
        return f"SupabaseStack({json.dumps(self.describe())})"


# --------------------------------------------------------------------------------------------
# Redis


class Redis:
    """An in-memory Redis, for running several LiveKit nodes as one cluster."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.port = free_port()
        self._proc: ManagedProcess | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        redis = tools.on_path("redis-server", "redis-server")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._proc = ManagedProcess(
            "redis-server",
            [
                str(redis),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.run_dir),
            ],
            self.run_dir / "redis.log",
        )
        self._proc.start()
        self._proc.wait_ready(self._pong, timeout, "it answered PING")

    def _pong(self) -> bool:
        import socket

        if not tcp_open(self.port):
            return False
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        if self._proc:
            self._proc.stop()
