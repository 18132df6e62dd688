"""Writes Supabase refused for good ("dead letters"): count them, list them, put them back in line.

A refused write is parked in its store's SQLite outbox (`interview.outbox`), never retried on
its own. The token server keeps one outbox file in its outbox directory; an agent job that ends
with only dead letters left renames its file `<interview>.dead.sqlite` (`agent.outboxes`). After
fixing the cause (a missing migration, a row a foreign key needs):

    python -m interview.deadletters list [--outbox-dir DIR | FILE ...]
    python -m interview.deadletters requeue [--outbox-dir DIR | FILE ...]

`list` prints each parked write's file, table, key and error code (never its content).
`requeue` marks them live again, and renames a `*.dead.sqlite` file back to `*.sqlite` so the
next agent sweep replays it; the token server replays its own file when it next starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from interview.outbox import Outbox

DEAD_SUFFIX = ".dead.sqlite"
DEFAULT_DIR = Path(".local/outbox")


def outbox_files(directory: Path) -> list[Path]:
    """Every outbox file in `directory` (live and set-aside ones)."""
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix in {".sqlite", ".sqlite3"}
    )


def dead_files(directory: Path) -> list[Path]:
    """The outbox files agents set aside because only dead letters were left in them."""
    return [p for p in outbox_files(directory) if p.name.endswith(DEAD_SUFFIX)]


def count_dead(path: Path) -> int:
    """Dead letters in one outbox file, read-only (the file may be in use)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as c:
        try:
            (dead,) = c.execute("select count(*) from outbox where dead = 1").fetchone()
        except sqlite3.OperationalError:  # not an outbox (no such table)
            return 0
    return int(dead)


async def list_dead(paths: Sequence[Path]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for path in paths:
        outbox = Outbox(path)
        await outbox.open()
        try:
            for letter in await outbox.dead_letters(limit=100_000):
                found.append(
                    {
                        "file": str(path),
                        "seq": letter.seq,
                        "kind": letter.op.kind,
                        **letter.op.describe(),
                        "code": letter.error_code,
                        "attempts": letter.attempts,
                    }
                )
        finally:
            await outbox.close()
    return found


async def requeue(paths: Sequence[Path]) -> int:
    """Put every dead letter of `paths` back in line; return how many."""
    total = 0
    for path in paths:
        outbox = Outbox(path)
        await outbox.open()
        try:
            total += await outbox.requeue_dead()
        finally:
            await outbox.close()
        if path.name.endswith(DEAD_SUFFIX):
            await asyncio.to_thread(_revive, path)
    return total


def _revive(path: Path) -> None:
    """`x.dead.sqlite` -> `x.sqlite`, where the agents' sweep replays it."""
    live = path.with_name(path.name[: -len(DEAD_SUFFIX)] + ".sqlite")
    for extra in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{extra}").rename(f"{live}{extra}")


def _paths(args: argparse.Namespace) -> list[Path]:
    if args.files:
        return [Path(f) for f in args.files]
    directory = Path(args.outbox_dir or os.environ.get("OUTBOX_DIR") or DEFAULT_DIR)
    return [p for p in outbox_files(directory) if count_dead(p)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m interview.deadletters", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["list", "requeue"])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--outbox-dir", help="folder of outbox files (default: $OUTBOX_DIR)")
    where.add_argument("files", nargs="*", default=[], help="outbox files")
    args = parser.parse_args(argv)
    paths = _paths(args)
    if args.command == "list":
        for item in asyncio.run(list_dead(paths)):
            sys.stdout.write(json.dumps(item, default=str) + "\n")
        return 0
    count = asyncio.run(requeue(paths))
    sys.stdout.write(f"requeued {count} write(s) from {len(paths)} file(s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
