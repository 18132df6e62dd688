"""The interview's clock: a spoken wrap-up `wrap_up_lead_s` before the end, then a hard cap.

A resumed interview keeps its original clock (`started_at` is when the first agent greeted).
At the cap the open question is closed as timed out and the interview completes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from agent import instructions
from agent.interviewer import InterviewState
from agent.settings import AgentSettings
from interview.store import InterviewStatus, QuestionOutcome

log = logging.getLogger("agent.timekeeper")

Audit = Callable[..., None]


class Timekeeper:
    def __init__(
        self,
        session: Any,
        state: InterviewState,
        settings: AgentSettings,
        audit: Audit,
        *,
        duration_s: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.session = session
        self.state = state
        self.settings = settings
        self.audit = audit
        self.duration_s = duration_s
        self._sleep = sleep
        self.started_at: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def deadline(self) -> datetime | None:
        if self.started_at is None:
            return None
        return self.started_at + timedelta(seconds=self.duration_s)

    def start(self, started_at: datetime) -> None:
        self.started_at = started_at
        self._task = asyncio.ensure_future(self._keep_time())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _remaining_s(self) -> float:
        assert self.deadline is not None
        return (self.deadline - self.state.now()).total_seconds()

    async def _keep_time(self) -> None:
        extra = {"interview_id": str(self.state.interview_id)}
        lead = min(self.settings.wrap_up_lead_s, self.duration_s / 4)
        await self._sleep(max(self._remaining_s() - lead, 0))
        if self.state.ended:
            return
        log.info("wrap-up time", extra=extra)
        self.audit("wrap_up_started")
        self.session.generate_reply(instructions=instructions.wrap_up_instructions(self.state.meta))
        await self._sleep(max(min(lead, self._remaining_s()), 0))
        if self.state.ended:
            return
        log.info("time limit reached", extra=extra)
        self.audit("time_limit_reached")
        self.session.interrupt()
        self.state.end(
            InterviewStatus.completed,
            "Ended at the time limit.",
            open_outcome=QuestionOutcome.timed_out,
        )
