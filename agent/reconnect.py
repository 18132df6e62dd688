"""The reconnect grace window: a candidate who drops has `reconnect_grace_s` to come back.

Subscribes to the room's participant events. While the window is open the other behaviours
that time the candidate are told (`on_leave`, `on_return`: the silence watch pauses); when it
runs out the interview ends as abandoned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from livekit import rtc

from agent.interviewer import InterviewState
from agent.settings import AgentSettings
from interview.store import InterviewStatus

log = logging.getLogger("agent.reconnect")

Audit = Callable[..., None]


class ReconnectGrace:
    def __init__(
        self,
        room: rtc.Room,
        state: InterviewState,
        settings: AgentSettings,
        audit: Audit,
        *,
        on_leave: Callable[[], None] = lambda: None,
        on_return: Callable[[], None] = lambda: None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.state = state
        self.settings = settings
        self.audit = audit
        self.on_leave = on_leave
        self.on_return = on_return
        self._sleep = sleep
        self._window: asyncio.Task[None] | None = None
        self._identity = state.meta.candidate_identity
        room.on("participant_connected", self._on_connected)
        room.on("participant_disconnected", self._on_disconnected)

    @property
    def _extra(self) -> dict[str, object]:
        return {"interview_id": str(self.state.interview_id)}

    @property
    def open(self) -> bool:
        return self._window is not None

    def _on_connected(self, p: rtc.RemoteParticipant) -> None:
        if p.identity != self._identity or self._window is None:
            return
        self._window.cancel()
        self._window = None
        self.audit("candidate_rejoined")
        log.info("candidate rejoined", extra=self._extra)
        self.on_return()

    def _on_disconnected(self, p: rtc.RemoteParticipant) -> None:
        if p.identity != self._identity or self.state.ended:
            return
        self.audit("candidate_left")
        log.info(
            "candidate left; grace window",
            extra={**self._extra, "grace_s": self.settings.reconnect_grace_s},
        )
        if self._window is None:
            self.on_leave()
            self._window = asyncio.ensure_future(self._run_out())

    async def _run_out(self) -> None:
        await self._sleep(self.settings.reconnect_grace_s)
        self._window = None
        if not self.state.ended:
            self.state.end(InterviewStatus.abandoned, "The candidate left and did not return.")

    def stop(self) -> None:
        if self._window is not None:
            self._window.cancel()
            self._window = None
