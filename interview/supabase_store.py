"""The `Store` on Supabase (supabase-py's async client over PostgREST): reads, row mapping and
the send function of its writer.

Writes (`record_*`, `append_transcript`, `audit`) turn the model into a row (`interview.rows`)
and hand it to an `interview.writer.Writer`, which queues it and delivers it in batches through
`_send` (one bulk upsert per group on the table's natural key, or a guarded update), with the
SQLite outbox for outages and bisection for refused writes. A write parked as a dead letter is
audited (`write_parked`: table, key and error code, never content).

Reads wait, bounded by `read_timeout`, and raise `StoreUnavailable` when Supabase cannot answer.
Question-bank reads are cached for `bank_ttl` seconds (`interview.cache.StaleCache`, served
stale if a refresh fails), so the interviewer can still draw questions during a short outage.

Build it with `open_store(settings, outbox_path)`. Use it from one event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from postgrest import APIResponse
from postgrest.types import ReturnMethod

from interview import rows
from interview.cache import StaleCache
from interview.consent import Consent
from interview.contract import InterviewType, Level
from interview.outbox import Outbox
from interview.planning import InterviewDocuments, StoredPlan
from interview.question_choice import GENERAL_ROLE, bank_pool, choose_question, match_role
from interview.review import NewReviewEvent, ReviewEvent
from interview.settings import ServiceSettings
from interview.steering import Steer, SteerUpdate
from interview.store import (
    INTERVIEW_LIST_VIEW,
    Answer,
    AskedQuestion,
    BankQuestion,
    DecisionFilter,
    Evaluation,
    EvaluationResult,
    Feedback,
    Interview,
    InterviewDetail,
    InterviewStatus,
    ListedInterview,
    NewInterview,
    StoreRejected,
    StoreUnavailable,
    Table,
    TranscriptEntry,
    TranscriptMessage,
    Usage,
)
from interview.writer import Writer, WriterStats
from interview.writes import Failure, Group, Op, classify
from supabase import AsyncClient, AsyncClientOptions, create_async_client

log = logging.getLogger("interview.store")

_HEX64 = frozenset("0123456789abcdef")
_MAX_LIST = 200


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """httpx's default TLS context, built once per process: building one parses the whole CA
    bundle (70 ms of CPU, 0.6 s on a busy host), which each store otherwise paid as it started,
    on the event loop. The agent builds it in its forkserver (agent/warmup.py)."""
    return httpx.create_ssl_context()


class SupabaseStore:
    """See the module docstring. Build it with `open_store`."""

    def __init__(
        self,
        url: str,
        service_role_key: str,
        outbox_path: Path,
        *,
        read_timeout: float = 2.0,
        write_timeout: float = 5.0,
        batch_rows: int = 500,
        retry_base: float = 0.2,
        retry_cap: float = 5.0,
        bank_ttl: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        self._url = url
        self._key = service_role_key
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._rng = rng or random.Random()
        self.outbox = Outbox(outbox_path)
        self.writer = Writer(
            self._send,
            self.outbox,
            batch_rows=batch_rows,
            retry_base=retry_base,
            retry_cap=retry_cap,
            rng=self._rng,
            on_parked=_audit_parked,
        )
        self._http: httpx.AsyncClient | None = None
        self._client: AsyncClient | None = None
        self._started = False
        self._bank: StaleCache[str, list[BankQuestion]] = StaleCache(
            bank_ttl, stale_on=(StoreUnavailable,)
        )
        self._roles: StaleCache[str, frozenset[str]] = StaleCache(
            bank_ttl, stale_on=(StoreUnavailable,)
        )

    @property
    def stats(self) -> WriterStats:
        return self.writer.stats

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the outbox and start the writer. Needs no network: a store starts (and takes
        writes into its outbox) while Supabase is down."""
        if self._started:
            return
        self._http = httpx.AsyncClient(
            verify=shared_ssl_context(),
            timeout=httpx.Timeout(self._write_timeout, connect=min(2.0, self._write_timeout)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )
        options = AsyncClientOptions(
            httpx_client=self._http,
            postgrest_client_retry=False,  # retries are the writer's, with backoff and the outbox
            auto_refresh_token=False,
            persist_session=False,
        )
        self._client = await create_async_client(self._url, self._key, options=options)
        await self.writer.start()
        self._started = True

    async def flush(self, timeout: float) -> int:
        """Deliver what is queued (retrying now, whatever the backoff); wait at most `timeout`
        seconds; return how many writes are still undelivered (queued or in the outbox)."""
        return await self.writer.flush(timeout)

    async def aclose(self, timeout: float = 5.0) -> None:
        """Flush within `timeout`, stop the writer and keep whatever did not land in the outbox
        for the next start."""
        await self.writer.aclose(timeout)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def undelivered(self) -> int:
        return self.writer.undelivered()

    # ---- queued writes --------------------------------------------------------------------

    def _enqueue(self, op: Op) -> None:
        self.writer.submit(op)

    def record_status(
        self,
        interview_id: UUID,
        status: InterviewStatus,
        *,
        at: datetime,
        summary: str | None = None,
    ) -> None:
        self._enqueue(rows.status_op(interview_id, status, at=at, summary=summary))

    def record_question(self, question: AskedQuestion) -> None:
        self._enqueue(rows.question_op(question))

    def record_answer(self, answer: Answer) -> None:
        self._enqueue(rows.answer_op(answer))

    def record_feedback(self, feedback: Feedback) -> None:
        self._enqueue(rows.feedback_op(feedback))

    def append_transcript(self, message: TranscriptMessage) -> None:
        self._enqueue(rows.transcript_op(message))

    def record_usage(self, interview_id: UUID, usage: Usage) -> None:
        self._enqueue(rows.usage_op(interview_id, usage))

    def audit(
        self,
        kind: str,
        *,
        interview_id: UUID | None,
        detail: dict[str, object],
        key: str | None = None,
    ) -> None:
        at = datetime.now(UTC)
        self._enqueue(rows.audit_op(kind, interview_id=interview_id, detail=detail, key=key, at=at))

    # ---- the writer's send function -------------------------------------------------------

    async def _send(self, group: Group) -> None:
        client = self._require_client()
        table = client.table(group.table)
        async with asyncio.timeout(self._write_timeout):
            if group.kind == "upsert":
                await table.upsert(
                    [op.row for op in group.ops],
                    on_conflict=",".join(group.key),
                    ignore_duplicates=not group.merge,
                    returning=ReturnMethod.minimal,
                ).execute()
                return
            (op,) = group.ops
            body = {k: v for k, v in op.row.items() if k not in op.key}
            query = table.update(body, returning=ReturnMethod.minimal)
            for column in op.key:
                query = query.eq(column, op.row[column])
            if op.only_from:
                query = query.in_("status", list(op.only_from))
            await query.execute()

    def _require_client(self) -> AsyncClient:
        if self._client is None:
            raise StoreUnavailable("the store is not started")
        return self._client

    # ---- reads ----------------------------------------------------------------------------

    async def _read(
        self, what: str, call: Callable[[AsyncClient], Awaitable[APIResponse]]
    ) -> list[dict[str, Any]]:
        """Run a select, bounded by the read timeout; the rows it returned."""
        client = self._require_client()
        try:
            async with asyncio.timeout(self._read_timeout):
                response = await call(client)
            return [row for row in response.data if isinstance(row, dict)]
        except Exception as exc:
            failure = classify(exc)
            log.warning(
                "store read failed",
                extra={"read": what, "code": failure.code, "error": failure.message},
            )
            raise StoreUnavailable(f"{what} failed ({failure.code})") from exc

    async def get_interview(self, interview_id: UUID) -> Interview | None:
        found = await self._read(
            "get_interview",
            lambda c: (
                c.table(Table.interviews)
                .select(rows.INTERVIEW_COLUMNS)
                .eq("id", str(interview_id))
                .limit(1)
                .execute()
            ),
        )
        return rows.interview_from_row(found[0]) if found else None

    async def get_interview_by_invite(self, invite_hash: str) -> Interview | None:
        if len(invite_hash) != 64 or not set(invite_hash) <= _HEX64:
            return None
        found = await self._read(
            "get_interview_by_invite",
            lambda c: (
                c.table(Table.interviews)
                .select(rows.INTERVIEW_COLUMNS)
                .eq("invite_hash", invite_hash)
                .limit(1)
                .execute()
            ),
        )
        return rows.interview_from_row(found[0]) if found else None

    async def list_interviews(
        self,
        *,
        status: InterviewStatus | None = None,
        q: str | None = None,
        decision: DecisionFilter | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ListedInterview]:
        limit = max(1, min(limit, _MAX_LIST))
        offset = max(0, offset)

        def call(c: AsyncClient) -> Awaitable[Any]:
            # The view carries each interview's decision and recommendation: one request a page.
            query = c.table(INTERVIEW_LIST_VIEW).select(rows.LISTED_COLUMNS)
            if status is not None:
                query = query.eq("status", status.value)
            if q:
                query = query.or_(rows.contains_any(("candidate_name", "role"), q))
            if decision is DecisionFilter.none:
                query = query.is_("decision", "null")
            elif decision is not None:
                query = query.eq("decision", decision.value)
            return (
                query.order("created_at", desc=True)
                .order("id")
                .range(offset, offset + limit - 1)
                .execute()
            )

        found = await self._read("list_interviews", call)
        return [rows.listed_interview_from_row(row) for row in found]

    async def review_events(self, interview_id: UUID) -> list[ReviewEvent]:
        found = await self._read(
            "review_events",
            lambda c: (
                c.table(Table.review_events)
                .select(rows.REVIEW_COLUMNS)
                .eq("interview_id", str(interview_id))
                .order("id")
                .limit(10_000)
                .execute()
            ),
        )
        return [rows.review_event_from_row(row) for row in found]

    async def interview_detail(self, interview_id: UUID) -> InterviewDetail | None:
        # One request, so questions, answers and feedback come from one snapshot.
        select = (
            f"{rows.INTERVIEW_COLUMNS},"
            f"questions:interview_questions!interview_questions_interview_fk({rows.QUESTION_COLUMNS}),"
            f"answers:answers!answers_interview_fk({rows.ANSWER_COLUMNS}),"
            f"feedback:feedback!feedback_interview_fk({rows.FEEDBACK_COLUMNS})"
        )
        found = await self._read(
            "interview_detail",
            lambda c: (
                c.table(Table.interviews)
                .select(select)
                .eq("id", str(interview_id))
                .limit(1)
                .execute()
            ),
        )
        if not found:
            return None
        row = found[0]
        return InterviewDetail(
            interview=rows.interview_from_row(row),
            questions=sorted(
                (rows.question_from_row(q) for q in row["questions"]), key=lambda q: q.ordinal
            ),
            answers=sorted(
                (rows.answer_from_row(a) for a in row["answers"]), key=lambda a: a.ordinal
            ),
            feedback=sorted(
                (rows.feedback_from_row(f) for f in row["feedback"]),
                key=lambda f: (f.ordinal is None, f.ordinal or 0),
            ),
        )

    async def transcript(self, interview_id: UUID) -> list[TranscriptMessage]:
        """The interview's transcript in speaking order (not part of the `Store` protocol)."""
        found = await self._read(
            "transcript",
            lambda c: (
                c.table(Table.transcript_messages)
                .select("interview_id,item_id,speaker,text,started_at,ended_at,interrupted")
                .eq("interview_id", str(interview_id))
                .order("started_at")
                .order("id")
                .limit(10_000)
                .execute()
            ),
        )
        return [rows.transcript_from_row(row) for row in found]

    async def transcript_page(
        self, interview_id: UUID, *, limit: int, offset: int = 0
    ) -> list[TranscriptEntry]:
        limit = max(1, min(limit, 10_000))
        offset = max(0, offset)
        found = await self._read(
            "transcript_page",
            lambda c: (
                c.table(Table.transcript_messages)
                .select(rows.TRANSCRIPT_COLUMNS)
                .eq("interview_id", str(interview_id))
                .order("started_at")
                .order("id")
                .range(offset, offset + limit - 1)
                .execute()
            ),
        )
        return [rows.transcript_entry_from_row(row) for row in found]

    async def transcript_after(
        self, interview_id: UUID, after_id: int, *, limit: int
    ) -> list[TranscriptEntry]:
        limit = max(1, min(limit, 10_000))
        found = await self._read(
            "transcript_after",
            lambda c: (
                c.table(Table.transcript_messages)
                .select(rows.TRANSCRIPT_COLUMNS)
                .eq("interview_id", str(interview_id))
                .gt("id", after_id)
                .order("id")
                .limit(limit)
                .execute()
            ),
        )
        return [rows.transcript_entry_from_row(row) for row in found]

    async def bank_questions(self, ids: set[UUID]) -> dict[UUID, BankQuestion]:
        if not ids:
            return {}
        wanted = sorted(str(i) for i in ids)
        found = await self._read(
            "bank_questions",
            lambda c: (
                c.table(Table.question_bank)
                .select(rows.BANK_COLUMNS)
                .in_("id", wanted)
                .limit(len(wanted))
                .execute()
            ),
        )
        questions = [rows.bank_question_from_row(row) for row in found]
        return {q.id: q for q in questions}

    async def get_evaluation(self, interview_id: UUID) -> Evaluation | None:
        found = await self._read(
            "get_evaluation",
            lambda c: (
                c.table(Table.evaluations)
                .select(rows.EVALUATION_COLUMNS)
                .eq("interview_id", str(interview_id))
                .limit(1)
                .execute()
            ),
        )
        return rows.evaluation_from_row(found[0]) if found else None

    # ---- the evaluation job's claim (confirmed writes: the caller acts on the answer) -------

    async def _confirmed(
        self, what: str, call: Callable[[AsyncClient], Awaitable[APIResponse]]
    ) -> Any:
        """Run a write the caller needs the answer of, bounded by the write timeout."""
        client = self._require_client()
        try:
            async with asyncio.timeout(self._write_timeout):
                response = await call(client)
        except Exception as exc:
            failure = classify(exc)
            log.warning(
                "store write failed",
                extra={"write": what, "code": failure.code, "error": failure.message},
            )
            raise StoreUnavailable(f"{what} failed ({failure.code})") from exc
        return response.data

    async def list_steers(self, interview_id: UUID) -> list[Steer]:
        found = await self._read(
            "list_steers",
            lambda c: (
                c.table(Table.steers)
                .select(rows.STEER_COLUMNS)
                .eq("interview_id", str(interview_id))
                .order("created_at")
                .order("id")
                .limit(1000)
                .execute()
            ),
        )
        return [rows.steer_from_row(row) for row in found]

    async def load_plan(self, plan_id: UUID) -> StoredPlan | None:
        found = await self._read(
            "load_plan",
            lambda c: (
                c.table(Table.question_plans)
                .select(rows.PLAN_COLUMNS)
                .eq("id", str(plan_id))
                .limit(1)
                .execute()
            ),
        )
        return rows.plan_from_row(found[0]) if found else None

    async def create_steer(self, steer: Steer) -> Steer:
        """Insert the steer and return it as stored; a retry with the same id returns the
        first row."""
        created = await self._insert_once(
            "create_steer",
            Table.steers,
            rows.steer_row(steer),
            "id",
            "a steer",
            steer.interview_id,
        )
        if created:
            return rows.steer_from_row(created[0])
        for stored in await self.list_steers(steer.interview_id):
            if stored.id == steer.id:
                return stored
        raise StoreUnavailable("create_steer: the steer vanished after a conflict")

    async def advance_steer(self, update: SteerUpdate) -> bool:
        params = {
            "p_id": str(update.steer_id),
            "p_state": update.state.value,
            "p_detail": update.detail,
        }
        data = await self._confirmed(
            "advance_steer", lambda c: c.rpc("advance_steer", params).execute()
        )
        return data is True

    async def claim_evaluation(
        self,
        *,
        owner: str,
        lease_s: float,
        settle_s: float = 0.0,
        ended_after: datetime | None = None,
        interview_id: UUID | None = None,
        max_claims: int = 3,
    ) -> Evaluation | None:
        params = {
            "p_owner": owner,
            "p_lease_seconds": lease_s,
            "p_settle_seconds": settle_s,
            "p_ended_after": ended_after.isoformat() if ended_after else None,
            "p_interview_id": str(interview_id) if interview_id else None,
            "p_max_claims": max_claims,
        }
        data = await self._confirmed(
            "claim_evaluation", lambda c: c.rpc("claim_evaluation", params).execute()
        )
        found = [row for row in data or [] if isinstance(row, dict)]
        return rows.evaluation_from_row(found[0]) if found else None

    async def begin_evaluation_attempt(
        self, interview_id: UUID, *, owner: str, lease_s: float
    ) -> int | None:
        params = {"p_interview_id": str(interview_id), "p_owner": owner, "p_lease_seconds": lease_s}
        data = await self._confirmed(
            "begin_evaluation_attempt",
            lambda c: c.rpc("begin_evaluation_attempt", params).execute(),
        )
        return int(data) if isinstance(data, int) else None

    async def finish_evaluation(
        self, interview_id: UUID, *, owner: str, result: EvaluationResult
    ) -> bool:
        body = rows.evaluation_result_row(result, at=datetime.now(UTC))
        data = await self._confirmed(
            "finish_evaluation",
            lambda c: (
                c.table(Table.evaluations)
                .update(body, returning=ReturnMethod.representation)
                .eq("interview_id", str(interview_id))
                .eq("lease_owner", owner)
                .eq("state", "running")
                .execute()
            ),
        )
        return bool(data)

    async def next_question(
        self,
        *,
        role: str,
        level: Level,
        type: InterviewType,
        exclude: set[UUID],
        topic: str | None = None,
        difficulty: int | None = None,
    ) -> BankQuestion | None:
        matched = match_role(role, await self._bank_roles())
        questions = await self._bank_questions(matched)
        return choose_question(
            questions,
            role=matched,
            level=level,
            type=type,
            exclude=exclude,
            topic=topic,
            difficulty=difficulty,
            rng=self._rng,
        )

    async def bank_candidates(
        self, *, role: str, level: Level, type: InterviewType, limit: int
    ) -> list[BankQuestion]:
        matched = match_role(role, await self._bank_roles())
        questions = await self._bank_questions(matched)
        return bank_pool(questions, role=matched, level=level, type=type, limit=limit)

    async def _bank_roles(self) -> frozenset[str]:
        async def load() -> frozenset[str]:
            found = await self._read(
                "question_bank roles",
                lambda c: (
                    c.table(Table.question_bank)
                    .select("role")
                    .eq("active", True)
                    .limit(100_000)
                    .execute()
                ),
            )
            return frozenset(str(row["role"]) for row in found)

        return await self._roles.get("roles", load)

    async def _bank_questions(self, role: str | None) -> list[BankQuestion]:
        wanted = [r for r in (role, GENERAL_ROLE) if r]

        async def load() -> list[BankQuestion]:
            found = await self._read(
                "question_bank",
                lambda c: (
                    c.table(Table.question_bank)
                    .select(rows.BANK_COLUMNS)
                    .in_("role", wanted)
                    .eq("active", True)
                    .limit(5_000)
                    .execute()
                ),
            )
            return [rows.bank_question_from_row(row) for row in found]

        return await self._bank.get(",".join(wanted), load)

    # ---- the confirmed write --------------------------------------------------------------

    async def _insert_once(
        self,
        op: str,
        table: Table,
        row: dict[str, Any],
        on_conflict: str,
        refused: str,
        interview_id: UUID,
    ) -> list[dict[str, Any]]:
        """Insert a row keyed by `on_conflict` unless it is there, and return what was inserted
        (empty when a retry found the first row). Transient failures are `StoreUnavailable`,
        refusals `StoreRejected`; neither log line carries the row."""
        return await self._write_once(
            op,
            lambda c: (
                c.table(table)
                .upsert(
                    row,
                    on_conflict=on_conflict,
                    ignore_duplicates=True,
                    returning=ReturnMethod.representation,
                )
                .execute()
            ),
            refused,
            interview_id,
        )

    async def _write_once(
        self,
        op: str,
        call: Callable[[AsyncClient], Awaitable[APIResponse]],
        refused: str,
        interview_id: UUID,
    ) -> list[dict[str, Any]]:
        """Run an idempotent confirmed write and return the rows it answered. Transient
        failures are `StoreUnavailable`, refusals `StoreRejected`; neither log line carries the
        rows."""
        client = self._require_client()
        try:
            async with asyncio.timeout(self._write_timeout):
                response = await call(client)
        except Exception as exc:
            failure = classify(exc)
            if failure.transient:
                log.warning(
                    "%s failed",
                    op,
                    extra={"code": failure.code, "error": failure.message},
                )
                raise StoreUnavailable(f"{op} failed ({failure.code})") from exc
            log.error(
                "supabase refused %s",
                refused,
                extra={
                    "interview_id": str(interview_id),
                    "code": failure.code,
                    "error": failure.message,
                },
            )
            raise StoreRejected(failure.message, code=failure.code) from exc
        data = response.data
        return [r for r in (data if isinstance(data, list) else [data]) if isinstance(r, dict)]

    async def create_interview(
        self,
        new: NewInterview,
        *,
        plan: StoredPlan | None = None,
        documents: InterviewDocuments | None = None,
    ) -> Interview:
        """Insert the interview and return it; a retry with the same id returns the first row.
        With a plan, one SQL function (`create_planned_interview`) writes the interview, the
        plan and the documents in one transaction."""
        if plan is not None:
            if plan.interview_id != new.id:
                raise ValueError("the plan belongs to another interview")
            params = {
                "p_interview": rows.new_interview_row(new),
                "p_plan": rows.plan_row(plan),
                "p_documents": rows.documents_row(new.id, documents) if documents else None,
            }
            stored = await self._write_once(
                "create_interview",
                lambda c: c.rpc("create_planned_interview", params).execute(),
                "an interview with its plan",
                new.id,
            )
            if not stored:
                raise StoreUnavailable("create_interview: the function returned no interview")
            return rows.interview_from_row(stored[0])
        created = await self._insert_once(
            "create_interview",
            Table.interviews,
            rows.new_interview_row(new),
            "id",
            "an interview",
            new.id,
        )
        if created:
            return rows.interview_from_row(created[0])
        existing = await self.get_interview(new.id)
        if existing is None:
            raise StoreUnavailable("create_interview: the interview vanished after a conflict")
        return existing

    async def add_review_event(self, event: NewReviewEvent) -> ReviewEvent:
        """Insert the change and return the stored row; a retry with the same event id returns
        the first row. Confirmed, not queued: the caller answers with the updated report."""
        created = await self._insert_once(
            "add_review_event",
            Table.review_events,
            rows.review_event_row(event),
            "event_id",
            "a review event",
            event.interview_id,
        )
        if created:
            return rows.review_event_from_row(created[0])
        for stored in await self.review_events(event.interview_id):
            if stored.event_id == event.event_id:
                return stored
        raise StoreUnavailable("add_review_event: the event vanished after a conflict")

    # ---- the candidate's consent ----------------------------------------------------------

    async def get_consent(self, interview_id: UUID) -> Consent | None:
        found = await self._read(
            "get_consent",
            lambda c: (
                c.table(Table.consents)
                .select(rows.CONSENT_COLUMNS)
                .eq("interview_id", str(interview_id))
                .limit(1)
                .execute()
            ),
        )
        return rows.consent_from_row(found[0]) if found else None

    async def record_consent(self, consent: Consent) -> tuple[Consent, bool]:
        """Insert the decision unless the interview has one; confirmed, not queued: the join
        that follows reads it."""
        created = await self._insert_once(
            "record_consent",
            Table.consents,
            rows.consent_row(consent),
            "interview_id",
            "a consent decision",
            consent.interview_id,
        )
        if created:
            return rows.consent_from_row(created[0]), True
        stored = await self.get_consent(consent.interview_id)
        if stored is None:
            raise StoreUnavailable("record_consent: the decision vanished after a conflict")
        return stored, False


def _audit_parked(op: Op, failure: Failure) -> Op | None:
    """The audit event of a parked write: kind, table, key and error code, never content. A
    refused audit event is not audited in turn (it could be refused the same way, for ever)."""
    if op.table == Table.audit_events.value:
        return None
    interview_id = op.row.get("interview_id") or (
        op.row.get("id") if op.table == Table.interviews.value else None
    )
    return rows.audit_op(
        "write_parked",
        interview_id=UUID(str(interview_id)) if interview_id else None,
        detail={"op_kind": op.kind, "code": failure.code, **op.describe()},
        key=op.op_id,
        at=datetime.now(UTC),
    )


def open_store(settings: ServiceSettings, outbox_path: Path, **options: Any) -> SupabaseStore:
    """The store a service uses, on `settings`' Supabase, its outbox at `outbox_path`. Call
    `await store.start()` before use and `await store.aclose(timeout)` at shutdown. `options`
    are `SupabaseStore`'s keyword arguments (timeouts, batch size, retry backoff)."""
    return SupabaseStore(
        settings.supabase_url,
        settings.supabase_service_role_key.get_secret_value(),
        outbox_path,
        **options,
    )
