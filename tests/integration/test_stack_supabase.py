"""supabase-py's async client talks to the real PostgREST through the `/rest/v1` gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from postgrest.exceptions import APIError

from devstack import SupabaseStack
from supabase import create_async_client

pytestmark = pytest.mark.integration

TABLE = "stack_probe"


@pytest.fixture(scope="module")
def probe_table(supabase_stack: SupabaseStack) -> Iterator[str]:
    supabase_stack.postgres.psql(
        f"create table {TABLE} (id bigint generated always as identity primary key,"
        f" note text not null); alter table {TABLE} enable row level security;"
    )
    # A schema reload is asynchronous and PostgREST 12 can refuse writes to a brand-new table for
    # a moment after it already serves reads; a restart loads the schema before /ready answers.
    supabase_stack.postgrest.stop()
    supabase_stack.postgrest.start()
    yield TABLE
    supabase_stack.postgres.psql(f"drop table {TABLE}")
    supabase_stack.postgrest.reload_schema()


async def test_service_role_inserts_and_reads_back(
    supabase_stack: SupabaseStack, probe_table: str
) -> None:
    client = await create_async_client(supabase_stack.url, supabase_stack.service_role_key)
    inserted = await client.table(probe_table).insert({"note": "hello"}).execute()
    row_id = inserted.data[0]["id"]

    read = await client.table(probe_table).select("id, note").eq("id", row_id).execute()

    assert read.data == [{"id": row_id, "note": "hello"}]


async def test_anon_key_is_refused(supabase_stack: SupabaseStack, probe_table: str) -> None:
    service = await create_async_client(supabase_stack.url, supabase_stack.service_role_key)
    await service.table(probe_table).insert({"note": "private"}).execute()
    anon = await create_async_client(supabase_stack.url, supabase_stack.anon_key)

    with pytest.raises(APIError) as refused:
        await anon.table(probe_table).insert({"note": "intruder"}).execute()
    visible = await anon.table(probe_table).select("id").execute()

    assert refused.value.code == "42501"  # row-level security: insufficient privilege
    assert visible.data == []
    notes = supabase_stack.postgres.psql(f"select note from {TABLE}").split()
    assert "private" in notes
    assert "intruder" not in notes


async def test_a_forged_key_is_refused(supabase_stack: SupabaseStack, probe_table: str) -> None:
    from devstack.services import make_supabase_key

    forged = make_supabase_key("x" * 40, "service_role")
    client = await create_async_client(supabase_stack.url, forged)

    with pytest.raises(APIError) as refused:
        await client.table(probe_table).select("id").execute()

    assert refused.value.code == "PGRST301"  # JWT signature could not be verified
