"""Writes that reach PostgREST before the migration they need: the table or column is not in
the schema cache yet (PGRST204/PGRST205, or Postgres' 42P01/42703). They must wait in the
outbox and land once the migration is applied, never be parked as dead letters.

Each test makes a scratch table of its own (the product's tables stay untouched) and drops it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from devstack import SupabaseStack
from interview.supabase_store import SupabaseStore
from interview.writes import Op
from tests.fixtures.store import StoreFactory

pytestmark = pytest.mark.integration


@pytest.fixture
def scratch(supabase_stack: SupabaseStack) -> Iterator[str]:
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    yield name
    supabase_stack.postgres.psql(f"drop table if exists public.{name}")
    supabase_stack.postgrest.reload_schema()


def _write(store: SupabaseStore, table: str, row: dict[str, object]) -> None:
    store.writer.submit(Op(table=table, kind="upsert", row=row, key=("id",)))


async def _until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def _retried_not_parked(store: SupabaseStore) -> None:
    retries = store.stats.retries
    await _until(lambda: store.stats.retries >= retries + 2)
    counts = await store.outbox.counts()
    assert (counts.live, counts.dead) == (1, 0)


async def test_a_write_to_a_table_not_created_yet_lands_once_it_is(
    store_factory: StoreFactory, supabase_stack: SupabaseStack, scratch: str
) -> None:
    store = await store_factory(retry_base=0.05, retry_cap=0.2)

    _write(store, scratch, {"id": 1, "note": "kept"})
    await _retried_not_parked(store)
    supabase_stack.postgres.psql(
        f"create table public.{scratch} (id int primary key, note text);"
        f" grant all on public.{scratch} to service_role"
    )
    supabase_stack.postgrest.reload_schema(wait_for=scratch)

    assert await store.flush(15) == 0
    assert supabase_stack.postgres.psql(f"select note from public.{scratch}").split() == ["kept"]
    assert (await store.outbox.counts()).dead == 0


async def test_a_write_to_a_column_not_added_yet_lands_once_it_is(
    store_factory: StoreFactory, supabase_stack: SupabaseStack, scratch: str
) -> None:
    supabase_stack.postgres.psql(
        f"create table public.{scratch} (id int primary key);"
        f" grant all on public.{scratch} to service_role"
    )
    supabase_stack.postgrest.reload_schema(wait_for=scratch)
    store = await store_factory(retry_base=0.05, retry_cap=0.2)

    _write(store, scratch, {"id": 1, "later": "kept"})
    await _retried_not_parked(store)
    supabase_stack.postgres.psql(f"alter table public.{scratch} add column later text")
    supabase_stack.postgrest.reload_schema()

    assert await store.flush(15) == 0
    assert supabase_stack.postgres.psql(f"select later from public.{scratch}").split() == ["kept"]
    assert (await store.outbox.counts()).dead == 0
