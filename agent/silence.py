"""Check-ins when the candidate stays silent, then a polite end.

The session reports the candidate `away` after `silence_checkin_s` without speech (its
`user_away_timeout`). Each silence gets a spoken check-in, up to `silence_max_checkins`; the
silence after that ends the interview as abandoned. The watch is paused while the candidate is
disconnected (the reconnect grace window owns that time: a dropped connection is not silence)
and starts over, with no check-ins counted, when they rejoin.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from livekit.agents.voice.events import UserStateChangedEvent

from agent import instructions
from agent.agent_voice import AgentVoice
from agent.interviewer import InterviewState
from agent.settings import AgentSettings
from interview.store import InterviewStatus

log = logging.getLogger("agent.silence")

Audit = Callable[..., None]


class SilenceWatch:
    def __init__(
        self,
        session: Any,
        state: InterviewState,
        settings: AgentSettings,
        voice: AgentVoice,
        audit: Audit,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.session = session
        self.state = state
        self.settings = settings
        self.voice = voice
        self.audit = audit
        self._sleep = sleep
        self.count = 0
        self._started = False
        self._paused = False
        self._watch: asyncio.Task[None] | None = None
        session.on("user_state_changed", self._on_user_state)

    @property
    def _extra(self) -> dict[str, object]:
        return {"interview_id": str(self.state.interview_id)}

    @property
    def watching(self) -> bool:
        return self._started and not self._paused and not self.state.ended

    def start(self) -> None:
        """From the greeting on."""
        self._started = True

    def pause(self) -> None:
        """The candidate left: their silence is not counted until they are back."""
        self._paused = True
        self._cancel_watch()

    def resume(self) -> None:
        """The candidate is back: a fresh start, timed from now (the session reported `away`
        while they were gone and will not report it again for the same silence)."""
        self._paused = False
        self.count = 0
        self._cancel_watch()
        if self.watching:
            self._watch = asyncio.ensure_future(self._time_silence(after_check_in=False))

    def stop(self) -> None:
        self._started = False
        self._cancel_watch()

    def _cancel_watch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        if ev.new_state == "speaking":
            self.count = 0
            self._cancel_watch()
            return
        if ev.new_state == "away" and self.watching:
            self._silent()

    def _silent(self) -> None:
        self.count += 1
        self.audit("candidate_silent", count=self.count)
        if self.count <= self.settings.silence_max_checkins:
            log.info("silence check-in", extra={**self._extra, "count": self.count})
            self.session.generate_reply(instructions=instructions.silence_checkin_instructions())
            self._cancel_watch()
            self._watch = asyncio.ensure_future(self._time_silence(after_check_in=True))
        else:
            log.info("ending after repeated silence", extra=self._extra)
            self.session.generate_reply(instructions=instructions.silence_goodbye_instructions())
            self.state.end(InterviewStatus.abandoned, "Ended after repeated silence.")

    async def _time_silence(self, *, after_check_in: bool) -> None:
        """The session reports `away` once per silence, so a silence that goes on (after a
        check-in has been spoken, or from a rejoin) is timed here; speech cancels this."""
        if after_check_in:
            await self.voice.done_speaking(start_timeout=10)
        await self._sleep(self.settings.silence_checkin_s)
        self._watch = None
        if self.watching and self.session.user_state != "speaking":
            self._silent()
