"""The evaluation job: picks ended interviews up from the store, asks the text model, stores
the checked report. Never in the interview's job process.

It runs as a background task of the token server (its lifespan starts `EvaluationRunner.start`
unless EVALUATOR_ENABLED is off) or as a worker of its own::

    python -m interview.evaluator            # poll for ever
    python -m interview.evaluator --once     # evaluate what is due, then exit

One claim at a time per runner. A claim is a lease on the interview's `evaluations` row taken in
one statement (`Store.claim_evaluation`), so several runners (token server replicas, a worker)
share the work and never evaluate an interview twice; a runner that dies loses its lease and a
later claim takes the interview over. Each model call counts an attempt and extends the lease
(`begin_evaluation_attempt`); a failed call (an API error, a timeout, a refusal, an answer that
does not validate) is retried with exponential backoff and jitter (tenacity), each retry audited.
Interviews with nothing to evaluate (no candidate answer) are finished as `skipped`, with no
model call.

Audit events (detail: codes and counts, never content): `evaluation_started`,
`evaluation_retried`, `evaluation_done`, `evaluation_failed`, `evaluation_skipped`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from openai import AsyncOpenAI
from tenacity import RetryCallState

from interview.evaluation import (
    SYSTEM_PROMPT,
    EvaluationInput,
    EvaluationOut,
    build_input,
    check_evaluation,
)
from interview.settings import EvaluatorSettings
from interview.store import (
    Evaluation,
    EvaluationResult,
    EvaluationState,
    InterviewDetail,
    Store,
    StoreUnavailable,
)
from interview.textmodel import (
    ModelFailure,
    StructuredAnswer,
    backoff,
    failure_code,
    parse_structured,
    text_client,
)

log = logging.getLogger("interview.evaluator")

MAX_TRANSCRIPT_MESSAGES = 5_000


async def load_input(store: Store, detail: InterviewDetail) -> EvaluationInput:
    """The evaluation input of a stored interview: its questions with their notes (from its
    plan, when it has one, and from the bank) and its transcript."""
    iid = detail.interview.id
    transcript = await store.transcript_page(iid, limit=MAX_TRANSCRIPT_MESSAGES, offset=0)
    bank_ids = {q.bank_question_id for q in detail.questions if q.bank_question_id}
    bank = await store.bank_questions(bank_ids)
    plan_id = detail.interview.plan_id
    plan = await store.load_plan(plan_id) if plan_id is not None else None
    return build_input(
        detail.interview,
        detail.questions,
        transcript,
        {qid: q.strong_answer for qid, q in bank.items()},
        plan,
    )


class LostClaim(Exception):
    """The lease ran out and another runner took the interview over."""


ModelAnswer = StructuredAnswer[EvaluationOut]


async def ask_model(client: AsyncOpenAI, model: str, given: EvaluationInput) -> ModelAnswer:
    """One Chat Completions call with structured outputs; raises `ModelFailure`."""
    return await parse_structured(
        client, model, SYSTEM_PROMPT, given.model_dump_json(), EvaluationOut
    )


def build_client(settings: EvaluatorSettings) -> AsyncOpenAI:
    """The client the runner calls; its own retries are off (the runner's are counted)."""
    return text_client(settings, timeout_s=settings.evaluator_timeout_s)


def runner_id() -> str:
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class _Totals:
    attempts: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    last_error: str | None = None


@dataclass
class EvaluationRunner:
    """See the module docstring. `run_once()` evaluates one due interview (its id, or None when
    nothing was due); `start()` / `aclose()` run it in a loop as a background task."""

    store: Store
    settings: EvaluatorSettings
    client: AsyncOpenAI
    owner: str = field(default_factory=runner_id)
    _task: asyncio.Task[None] | None = None

    # ---- the loop -------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name="evaluation-runner")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_forever(self) -> None:
        log.info("evaluation runner started", extra={"owner": self.owner})
        while True:
            try:
                done = await self.run_once()
            except StoreUnavailable:
                done = None  # logged by the store; look again after the interval
            except Exception as exc:
                log.error("evaluation runner error", exc_info=exc)
                done = None
            if done is None:
                await asyncio.sleep(self.settings.evaluator_interval_s)

    async def run_due(self) -> list[UUID]:
        """Evaluate every interview due now, one after the other; their ids."""
        done: list[UUID] = []
        while (one := await self.run_once()) is not None:
            done.append(one)
        return done

    async def run_once(self, interview_id: UUID | None = None) -> UUID | None:
        s = self.settings
        claim = await self.store.claim_evaluation(
            owner=self.owner,
            lease_s=s.evaluator_lease_s,
            settle_s=s.evaluator_settle_s,
            ended_after=s.evaluator_ended_after,
            interview_id=interview_id,
            max_claims=s.evaluator_max_claims,
        )
        if claim is None:
            return None
        try:
            await self._evaluate(claim)
        except LostClaim:
            log.warning("evaluation claim lost", extra={"interview_id": str(claim.interview_id)})
        return claim.interview_id

    # ---- one claim ------------------------------------------------------------------------

    async def _evaluate(self, claim: Evaluation) -> None:
        iid = claim.interview_id
        extra: dict[str, object] = {"interview_id": str(iid), "claim": claim.claims}
        detail = await self.store.interview_detail(iid)
        if detail is None:
            await self._finish(
                iid, EvaluationResult(state=EvaluationState.failed, error_code="interview_missing")
            )
            return
        given = await load_input(self.store, detail)
        if not given.evaluable():
            await self._finish(iid, EvaluationResult(state=EvaluationState.skipped))
            self.store.audit(
                "evaluation_skipped",
                interview_id=iid,
                detail={"reason": "no_answer"},
                key=f"evaluation_skipped:{iid}",
            )
            log.info("evaluation skipped: no answer", extra=extra)
            return

        model = self.settings.evaluator_model
        self.store.audit(
            "evaluation_started",
            interview_id=iid,
            detail={"model": model, "claim": claim.claims, "owner": self.owner},
            key=f"evaluation_started:{iid}:{claim.claims}",
        )
        totals = _Totals(attempts=claim.attempts)
        try:
            answer = await self._ask_with_retries(iid, given, totals)
        except ModelFailure as exc:
            await self._finish(
                iid,
                EvaluationResult(
                    state=EvaluationState.failed,
                    model=model,
                    input_tokens=totals.input_tokens,
                    output_tokens=totals.output_tokens,
                    cost_usd=self._cost(totals),
                    error_code=exc.code,
                ),
            )
            self.store.audit(
                "evaluation_failed",
                interview_id=iid,
                detail={"code": exc.code, "attempts": totals.attempts},
                key=f"evaluation_failed:{iid}:{claim.claims}",
            )
            log.warning("evaluation failed", extra={**extra, "code": exc.code})
            return

        report = check_evaluation(answer.out, given)
        cost = self._cost(totals)
        await self._finish(
            iid,
            EvaluationResult(
                state=EvaluationState.done,
                model=model,
                input_tokens=totals.input_tokens,
                output_tokens=totals.output_tokens,
                cost_usd=cost,
                report=report.model_dump(mode="json"),
            ),
        )
        self.store.audit(
            "evaluation_done",
            interview_id=iid,
            detail={
                "attempts": totals.attempts,
                "recommendation": report.recommendation,
                "scored_questions": report.scored_questions,
                "dropped_quotes": report.dropped_quotes,
                "cost_usd": cost,
            },
            key=f"evaluation_done:{iid}",
        )
        log.info(
            "evaluation done",
            extra={**extra, "attempts": totals.attempts, "dropped_quotes": report.dropped_quotes},
        )

    async def _ask_with_retries(
        self, iid: UUID, given: EvaluationInput, totals: _Totals
    ) -> ModelAnswer:
        s = self.settings

        def retried(state: RetryCallState) -> None:
            code = failure_code(state)
            wait_s = state.next_action.sleep if state.next_action else 0.0
            self.store.audit(
                "evaluation_retried",
                interview_id=iid,
                detail={"attempt": totals.attempts, "code": code, "wait_s": round(wait_s, 2)},
                key=f"evaluation_retried:{iid}:{totals.attempts}",
            )
            log.info(
                "evaluation attempt failed; retrying",
                extra={"interview_id": str(iid), "attempt": totals.attempts, "code": code},
            )

        retrying = backoff(
            attempts=s.evaluator_attempts,
            base_s=s.evaluator_retry_base_s,
            cap_s=s.evaluator_retry_cap_s,
            before_sleep=retried,
        )
        async for attempt in retrying:
            with attempt:
                number = await self.store.begin_evaluation_attempt(
                    iid, owner=self.owner, lease_s=s.evaluator_lease_s
                )
                if number is None:
                    raise LostClaim(str(iid))
                totals.attempts = number
                try:
                    answer = await ask_model(self.client, s.evaluator_model, given)
                except ModelFailure as exc:
                    totals.input_tokens += exc.input_tokens
                    totals.output_tokens += exc.output_tokens
                    totals.last_error = exc.code
                    raise
                totals.input_tokens += answer.input_tokens
                totals.cached_tokens += answer.cached_tokens
                totals.output_tokens += answer.output_tokens
                return answer
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def _cost(self, totals: _Totals) -> float:
        s = self.settings
        if s.rehearsal_model:
            return 0.0
        cached = min(totals.cached_tokens, totals.input_tokens)
        return round(
            (
                (totals.input_tokens - cached) * s.evaluator_price_in
                + cached * s.evaluator_price_in_cached
                + totals.output_tokens * s.evaluator_price_out
            )
            / 1_000_000,
            6,
        )

    async def _finish(self, iid: UUID, result: EvaluationResult) -> None:
        if not await self.store.finish_evaluation(iid, owner=self.owner, result=result):
            raise LostClaim(str(iid))


# ---- python -m interview.evaluator ---------------------------------------------------------


class WorkerSettings(EvaluatorSettings):
    """The worker's settings: the evaluator's, and where its store keeps its outbox."""

    outbox_dir: Path | None = None


async def _main(settings: EvaluatorSettings, *, once: bool, outbox: Path) -> int:
    from interview.supabase_store import open_store

    store = open_store(settings, outbox)
    await store.start()
    client = build_client(settings)
    runner = EvaluationRunner(store, settings, client)
    try:
        if once:
            done = await runner.run_due()
            log.info("evaluations run", extra={"count": len(done)})
        else:
            await runner.run_forever()
    finally:
        await client.close()
        await store.aclose(timeout=10.0)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m interview.evaluator",
        description="Evaluate ended interviews with the text model (settings: EVALUATOR_*).",
    )
    parser.add_argument("--once", action="store_true", help="evaluate what is due, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    settings = WorkerSettings()
    outbox = (settings.outbox_dir or Path(".local/outbox")) / "evaluator.sqlite3"
    try:
        return asyncio.run(_main(settings, once=args.once, outbox=outbox))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
