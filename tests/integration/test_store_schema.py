"""The migrations on real Postgres + PostgREST: constraints, row-level security, idempotent keys,
and the question bank seed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from postgrest.exceptions import APIError

from devstack import SupabaseStack
from interview.rows import new_interview_row
from interview.store import Table
from supabase import AsyncClient, create_async_client
from tests.fixtures.store import new_interview

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(supabase_stack: SupabaseStack) -> AsyncIterator[AsyncClient]:
    client = await create_async_client(supabase_stack.url, supabase_stack.service_role_key)
    yield client
    await client.postgrest.aclose()


async def _interview(service: AsyncClient) -> str:
    row = new_interview_row(new_interview())
    await service.table("interviews").insert(row).execute()
    return str(row["id"])


async def _question(service: AsyncClient, interview_id: str, ordinal: int = 1) -> None:
    await (
        service.table("interview_questions")
        .insert(
            {
                "interview_id": interview_id,
                "ordinal": ordinal,
                "text": "Explain an index.",
                "topic": "databases",
                "difficulty": 2,
                "asked_at": datetime.now(UTC).isoformat(),
            }
        )
        .execute()
    )


def _answer(interview_id: str, ordinal: int = 1, **scores: int) -> dict[str, Any]:
    values = {"clarity": 3, "relevance": 3, "depth": 3, "accuracy": 3, **scores}
    return {"interview_id": interview_id, "ordinal": ordinal, "transcript": "words", **values}


def _public_tables(stack: SupabaseStack) -> list[str]:
    return stack.postgres.psql(
        "select tablename from pg_tables where schemaname = 'public' order by tablename"
    ).split()


def test_every_product_table_exists(supabase_stack: SupabaseStack) -> None:
    tables = set(_public_tables(supabase_stack))

    assert {t.value for t in Table} <= tables


def test_every_public_table_has_row_level_security(supabase_stack: SupabaseStack) -> None:
    tables = _public_tables(supabase_stack)
    without = supabase_stack.postgres.psql(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'public' and c.relkind = 'r' and not c.relrowsecurity"
    ).split()

    assert tables, "no tables found in public"
    assert without == []


async def test_anon_is_refused_on_every_table(supabase_stack: SupabaseStack) -> None:
    tables = _public_tables(supabase_stack)
    anon = await create_async_client(supabase_stack.url, supabase_stack.anon_key)
    refused_reads: dict[str, str | None] = {}
    refused_writes: dict[str, str | None] = {}
    try:
        for table in tables:
            with pytest.raises(APIError) as read:
                await anon.table(table).select("*").limit(1).execute()
            refused_reads[table] = read.value.code
            with pytest.raises(APIError) as write:
                await anon.table(table).insert({}).execute()
            refused_writes[table] = write.value.code
    finally:
        await anon.postgrest.aclose()

    # 42501: permission denied (not an empty result): anon has no grant on any table.
    assert refused_reads == dict.fromkeys(tables, "42501")
    assert refused_writes == dict.fromkeys(tables, "42501")


async def test_a_score_outside_one_to_five_is_rejected(service: AsyncClient) -> None:
    interview_id = await _interview(service)
    await _question(service, interview_id)

    with pytest.raises(APIError) as rejected:
        await service.table("answers").insert(_answer(interview_id, depth=6)).execute()

    assert rejected.value.code == "23514"  # check_violation
    assert "answers_depth_range" in str(rejected.value.message)


@pytest.mark.parametrize(
    ("column", "value", "constraint"),
    [
        ("level", "principal", "interviews_level_valid"),
        ("type", "trivia", "interviews_type_valid"),
        ("mode", "exam", "interviews_mode_valid"),
        ("status", "paused", "interviews_status_valid"),
        ("invite_hash", "not-a-hash", "interviews_invite_hash_format"),
        ("duration_minutes", 500, "interviews_duration_range"),
    ],
)
async def test_interview_enums_and_ranges_are_checked(
    service: AsyncClient, column: str, value: object, constraint: str
) -> None:
    row = new_interview_row(new_interview())
    row[column] = value

    with pytest.raises(APIError) as rejected:
        await service.table("interviews").insert(row).execute()

    assert rejected.value.code == "23514"
    assert constraint in str(rejected.value.message)


async def test_an_unknown_outcome_is_rejected(service: AsyncClient) -> None:
    interview_id = await _interview(service)
    await _question(service, interview_id)

    with pytest.raises(APIError) as rejected:
        await (
            service.table("interview_questions")
            .update({"outcome": "forgotten"})
            .eq("interview_id", interview_id)
            .execute()
        )

    assert rejected.value.code == "23514"
    assert "interview_questions_outcome_valid" in str(rejected.value.message)


async def test_an_answer_needs_its_question(service: AsyncClient) -> None:
    interview_id = await _interview(service)

    with pytest.raises(APIError) as rejected:
        await service.table("answers").insert(_answer(interview_id, ordinal=7)).execute()

    assert rejected.value.code == "23503"  # foreign_key_violation
    assert "answers_question_fk" in str(rejected.value.message)


async def test_one_final_feedback_per_interview(service: AsyncClient) -> None:
    interview_id = await _interview(service)
    final = {"interview_id": interview_id, "ordinal": None, "bullets": ["Clear answers."]}
    await service.table("feedback").insert(final).execute()

    with pytest.raises(APIError) as rejected:
        await service.table("feedback").insert(final).execute()

    assert rejected.value.code == "23505"  # unique_violation, with NULLS NOT DISTINCT
    assert "feedback_interview_ordinal_unique" in str(rejected.value.message)


async def test_the_overall_score_is_computed(service: AsyncClient) -> None:
    interview_id = await _interview(service)
    await _question(service, interview_id)
    answer = _answer(interview_id, clarity=5, relevance=4, depth=3, accuracy=3)
    await service.table("answers").insert(answer).execute()

    read = (
        await service.table("answers").select("overall").eq("interview_id", interview_id).execute()
    )

    assert read.data == [{"overall": 3.75}]


async def test_a_replayed_batch_yields_one_row_per_write(
    service: AsyncClient, supabase_stack: SupabaseStack
) -> None:
    interview_id = await _interview(service)
    questions = [
        {
            "interview_id": interview_id,
            "ordinal": n,
            "text": f"Question {n}",
            "topic": "t",
            "difficulty": 3,
            "asked_at": datetime.now(UTC).isoformat(),
        }
        for n in range(1, 6)
    ]
    answers = [_answer(interview_id, ordinal=n) for n in range(1, 6)]
    finals = [{"interview_id": interview_id, "ordinal": None, "bullets": ["Good."]}]
    messages = [
        {
            "interview_id": interview_id,
            "item_id": f"item_{n}",
            "speaker": "candidate",
            "text": "hello",
            "started_at": datetime.now(UTC).isoformat(),
        }
        for n in range(5)
    ]
    events = [
        {"event_id": str(uuid.uuid4()), "kind": "participant.joined", "interview_id": interview_id}
        for _ in range(3)
    ]
    batches: list[tuple[str, list[dict[str, Any]], str, bool]] = [
        ("interview_questions", questions, "interview_id,ordinal", False),
        ("answers", answers, "interview_id,ordinal", False),
        ("feedback", finals, "interview_id,ordinal", False),
        ("transcript_messages", messages, "interview_id,item_id", False),
        ("audit_events", events, "event_id", True),
    ]

    for _ in range(3):  # the first send and two replays
        for table, batch, key, ignore in batches:
            await (
                service.table(table)
                .upsert(batch, on_conflict=key, ignore_duplicates=ignore)
                .execute()
            )

    counts = {
        table: int(
            supabase_stack.postgres.psql(
                f"select count(*) from {table} where interview_id = '{interview_id}'"
            )
        )
        for table, *_ in batches
    }
    assert counts == {
        "interview_questions": 5,
        "answers": 5,
        "feedback": 1,
        "transcript_messages": 5,
        "audit_events": 3,
    }


def test_the_question_bank_seed_covers_roles_levels_and_types(
    supabase_stack: SupabaseStack,
) -> None:
    total = int(supabase_stack.postgres.psql("select count(*) from question_bank"))
    cells = supabase_stack.postgres.psql(
        "select role, level, type, count(*) from question_bank where role <> 'general'"
        " group by role, level, type"
    ).split()
    roles = {cell.split("|")[0] for cell in cells}
    incomplete = supabase_stack.postgres.psql(
        "select count(*) from question_bank where topic = '' or strong_answer = ''"
        " or difficulty not between 1 and 5"
    )

    assert total >= 120
    assert roles >= {
        "backend-engineer",
        "frontend-engineer",
        "data-scientist",
        "product-manager",
        "salesforce-administrator",
        "account-executive",
    }
    # Every role has every level and both types.
    assert len(cells) == len(roles) * 4 * 2
    assert incomplete.strip() == "0"


def test_the_seed_is_idempotent(supabase_stack: SupabaseStack) -> None:
    from devstack.services import MIGRATIONS_DIR

    seed = next(MIGRATIONS_DIR.glob("*_question_bank_seed.sql"))
    before = supabase_stack.postgres.psql("select count(*) from question_bank")

    supabase_stack.postgres.psql_file(seed)

    assert supabase_stack.postgres.psql("select count(*) from question_bank") == before
