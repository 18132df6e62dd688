"""One interview from the candidate's arrival to the room's deletion.

The conductor owns what the framework leaves to the application: waiting for the candidate,
the greeting, the time limit (a spoken wrap-up shortly before a hard cap), check-ins when the
candidate stays silent, a grace window when the candidate drops, saving both sides of the
transcript, model usage, and an orderly end (status, session closed, room deleted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from livekit import api, rtc
from livekit.agents import AgentSession, JobContext, llm, room_io
from livekit.agents.metrics.usage import LLMModelUsage
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    CloseEvent,
    ConversationItemAddedEvent,
    ErrorEvent,
    SessionUsageUpdatedEvent,
    UserStateChangedEvent,
)

from agent import instructions, one_interviewer
from agent.interviewer import Interviewer, InterviewState
from agent.settings import AgentSettings
from interview.store import (
    InterviewStatus,
    QuestionOutcome,
    Speaker,
    TranscriptMessage,
    Usage,
)

log = logging.getLogger("agent.conductor")

_QUIET = ("listening", "idle", "initializing")

# The candidate's page calls this on the agent before it leaves, so a deliberate end is not
# mistaken for a dropped connection (which would wait out the grace window).
END_RPC = "interview.end"


def _ts(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


class UsageMeter:
    """The session's running model-usage totals, priced."""

    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings
        self.text_in = self.text_out = self.audio_in = self.audio_out = 0

    def update(self, ev: SessionUsageUpdatedEvent) -> None:
        models = [u for u in ev.usage.model_usage if isinstance(u, LLMModelUsage)]
        self.audio_in = sum(u.input_audio_tokens for u in models)
        self.text_in = sum(u.input_tokens - u.input_audio_tokens for u in models)
        self.audio_out = sum(u.output_audio_tokens for u in models)
        self.text_out = sum(u.output_tokens - u.output_audio_tokens for u in models)

    def usage(self) -> Usage:
        s = self.settings
        cost = (
            self.text_in * s.price_text_in
            + self.text_out * s.price_text_out
            + self.audio_in * s.price_audio_in
            + self.audio_out * s.price_audio_out
        ) / 1_000_000
        return Usage(
            input_tokens=self.text_in + self.audio_in,
            output_tokens=self.text_out + self.audio_out,
            input_audio_tokens=self.audio_in,
            output_audio_tokens=self.audio_out,
            cost_usd=round(cost, 6),
        )


class Conductor:
    def __init__(
        self,
        ctx: JobContext,
        session: AgentSession[InterviewState],
        state: InterviewState,
        settings: AgentSettings,
        *,
        resumed_from: datetime | None = None,
    ) -> None:
        self.ctx = ctx
        self.resumed_from = resumed_from
        self.session = session
        self.state = state
        self.settings = settings
        self.meta = state.meta
        self.usage = UsageMeter(settings)
        self._done = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._grace: asyncio.Task[None] | None = None
        self._silences = 0
        self._silence_watch: asyncio.Task[None] | None = None
        self._agent_state_changed = asyncio.Event()
        self._left_waiting = False
        self._started_at: datetime | None = None
        self._deadline: datetime | None = None
        state.on_progress = lambda _s: self._spawn(self._publish_attributes())
        state.on_end = lambda _s: self._spawn(self._finish_after_goodbye())

    # ---- helpers ------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _extra(self, **more: object) -> dict[str, object]:
        return {"interview_id": str(self.meta.interview_id), "room": self.ctx.room.name, **more}

    def _audit(self, kind: str, **detail: object) -> None:
        self.state.store.audit(kind, interview_id=self.meta.interview_id, detail=dict(detail))

    @property
    def duration_s(self) -> float:
        override = self.settings.duration_override_s
        return override if override is not None else self.meta.duration_minutes * 60.0

    # ---- the interview ------------------------------------------------------------------

    async def run(self) -> None:
        session = self.session
        session.on("conversation_item_added", self._on_item)
        session.on("user_state_changed", self._on_user_state)
        session.on("session_usage_updated", self.usage.update)
        session.on("close", self._on_close)
        session.on("error", self._on_error)
        session.on("agent_state_changed", self._on_agent_state)
        self.ctx.room.on("participant_connected", self._on_participant_connected)
        self.ctx.room.on("participant_disconnected", self._on_participant_disconnected)

        agent = Interviewer(self.state, instructions.build_instructions(self.meta))
        await session.start(
            agent=agent,
            room=self.ctx.room,
            room_options=room_io.RoomOptions(
                # Only the candidate is ever linked: hidden observers, a second visible
                # participant or another agent never get the interviewer's attention.
                participant_identity=self.meta.candidate_identity,
                participant_kinds=[rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD],
                # A dropped candidate gets a grace window instead of ending the interview.
                close_on_disconnect=False,
            ),
            record=False,
            # No remote session host: it would broadcast every session event (tool calls with
            # their scores) to the room and let any participant read the chat history, inject
            # input or switch the interviewer's audio off.
            session_host=False,
        )
        # Deaf until the interviewer can be heard; see _wait_until_it_can_be_heard.
        session.input.set_audio_enabled(False)
        self.ctx.room.local_participant.register_rpc_method(END_RPC, self._on_end_request)
        try:
            await asyncio.wait_for(
                self.ctx.wait_for_participant(identity=self.meta.candidate_identity),
                timeout=self.settings.candidate_join_timeout_s,
            )
        except TimeoutError:
            # Not an end: the invite stays valid, and the token server dispatches a new agent
            # when the candidate opens it.
            log.info("candidate has not come; leaving the room", extra=self._extra())
            self._audit("agent_left_waiting")
            self._left_waiting = True
            with contextlib.suppress(Exception):
                await self.session.aclose()
            return

        await self._wait_until_it_can_be_heard()
        session.input.set_audio_enabled(True)
        await one_interviewer.ensure_first_interviewer(self.ctx.room)
        self._begin()
        await self._done.wait()

    async def _wait_until_it_can_be_heard(self) -> None:
        """Until someone (the candidate, or an observer) subscribes to the interviewer's voice.

        livekit-agents' room audio output waits for that first subscription inside each frame's
        capture, on a future it does not shield. A reply interrupted during that wait (the
        candidate talking as they join, before their page has subscribed) cancels the future
        itself, and from then on every reply's audio is dropped: the interviewer stays silent
        for the whole interview while the tools go on. So no reply may start before the
        subscription: the session listens only once it is there (bounded: a client that never
        subscribes still gets its interview, greeted by text)."""
        sink = self.session.output.audio
        while sink is not None and not isinstance(
            getattr(sink, "subscribed", None), asyncio.Future
        ):
            sink = sink.next_in_chain
        if sink is None:
            return
        subscribed: asyncio.Future[None] = sink.subscribed  # type: ignore[attr-defined]
        try:
            await asyncio.wait_for(
                asyncio.shield(subscribed), timeout=self.settings.audio_subscription_timeout_s
            )
        except TimeoutError:
            log.warning(
                "nobody subscribed to the interviewer's voice; starting", extra=self._extra()
            )
            self._audit("voice_not_subscribed")

    def _begin(self) -> None:
        now = self.state.now()
        if self.resumed_from is not None:
            # A previous agent started this interview: keep its clock and carry on.
            self._started_at = self.resumed_from
            covered = len(self.state.finished)
            self._audit("interview_resumed", covered=covered)
            log.info("interview resumed", extra=self._extra(covered=covered))
            reply = instructions.resume_instructions(self.meta, covered)
        else:
            self._started_at = now
            self.state.store.record_status(self.meta.interview_id, InterviewStatus.live, at=now)
            self._audit("interview_live")
            log.info("interview live", extra=self._extra(duration_s=self.duration_s))
            reply = instructions.greeting_instructions(self.meta)
        self._deadline = self._started_at + timedelta(seconds=self.duration_s)
        self._spawn(self._publish_attributes())
        self.session.generate_reply(instructions=reply)
        self._spawn(self._keep_time())

    async def _keep_time(self) -> None:
        assert self._deadline is not None
        lead = min(self.settings.wrap_up_lead_s, self.duration_s / 4)
        remaining = (self._deadline - self.state.now()).total_seconds()
        await asyncio.sleep(max(remaining - lead, 0))
        if self.state.ended:
            return
        log.info("wrap-up time", extra=self._extra())
        self._audit("wrap_up_started")
        self.session.generate_reply(instructions=instructions.wrap_up_instructions(self.meta))
        await asyncio.sleep(max(min(lead, (self._deadline - self.state.now()).total_seconds()), 0))
        if self.state.ended:
            return
        log.info("time limit reached", extra=self._extra())
        self._audit("time_limit_reached")
        self.session.interrupt()
        self.state.end(
            InterviewStatus.completed,
            "Ended at the time limit.",
            open_outcome=QuestionOutcome.timed_out,
        )

    async def _publish_attributes(self) -> None:
        """Progress and time for the candidate's page: nothing private (no scores)."""
        attrs = {
            "interview.question": str(len(self.state.asked)),
            "interview.question_count": str(self.meta.question_count),
            "interview.status": (
                self.state.end_status.value if self.state.end_status else InterviewStatus.live
            ),
        }
        if self._deadline:
            attrs["interview.ends_at"] = self._deadline.isoformat()
        with contextlib.suppress(Exception):
            await self.ctx.room.local_participant.set_attributes(attrs)

    # ---- session events -----------------------------------------------------------------

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if not isinstance(item, llm.ChatMessage) or item.role not in ("user", "assistant"):
            return
        text = (item.text_content or "").strip()
        if not text:
            return
        speaker = Speaker.candidate if item.role == "user" else Speaker.interviewer
        started = _ts(item.metrics.get("started_speaking_at")) or _ts(item.created_at)
        assert started is not None
        self.state.store.append_transcript(
            TranscriptMessage(
                interview_id=self.meta.interview_id,
                item_id=item.id,
                speaker=speaker,
                text=text,
                started_at=started,
                ended_at=_ts(item.metrics.get("stopped_speaking_at")),
                interrupted=item.interrupted,
            )
        )
        if speaker is Speaker.candidate:
            self.state.note_candidate_words(text, started)

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        if ev.new_state == "speaking":
            self._silences = 0
            if self._silence_watch is not None:
                self._silence_watch.cancel()
                self._silence_watch = None
            return
        if ev.new_state == "away" and not self.state.ended and self._started_at is not None:
            self._silent()

    def _silent(self) -> None:
        self._silences += 1
        self._audit("candidate_silent", count=self._silences)
        if self._silences <= self.settings.silence_max_checkins:
            log.info("silence check-in", extra=self._extra(count=self._silences))
            self.session.generate_reply(instructions=instructions.silence_checkin_instructions())
            self._silence_watch = asyncio.ensure_future(self._watch_silence())
        else:
            log.info("ending after repeated silence", extra=self._extra())
            self.session.generate_reply(instructions=instructions.silence_goodbye_instructions())
            self.state.end(InterviewStatus.abandoned, "Ended after repeated silence.")

    async def _watch_silence(self) -> None:
        """The framework reports `away` once per silence, so a silence that goes on after a
        check-in is timed here: once the check-in has been spoken, another full silence period
        counts again. The candidate speaking cancels this."""
        await self._agent_done_speaking(start_timeout=10)
        await asyncio.sleep(self.settings.silence_checkin_s)
        self._silence_watch = None
        if not self.state.ended and self.session.user_state != "speaking":
            self._silent()

    async def _agent_done_speaking(self, *, start_timeout: float) -> None:
        await self._wait_agent(lambda quiet: not quiet, start_timeout)
        await self._wait_agent(lambda quiet: quiet, None)

    async def _wait_agent(self, want: Callable[[bool], bool], timeout: float | None) -> bool:
        """Wait until `want(agent is quiet)` holds; False if `timeout` passed first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not want(self.session.agent_state in _QUIET):
            self._agent_state_changed.clear()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._agent_state_changed.wait(), remaining)
            except TimeoutError:
                return False
        return True

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        self._agent_state_changed.set()

    def _on_error(self, ev: ErrorEvent) -> None:
        # livekit-agents 1.8.9 re-raises a fatal Realtime error while closing the session and
        # never emits `close`; an unrecoverable error is the signal to end.
        if getattr(ev.error, "recoverable", True) or self.state.ended:
            return
        log.error(
            "the model failed for good",
            extra=self._extra(error=type(ev.error).__name__, source=type(ev.source).__name__),
        )
        self.state.end(InterviewStatus.failed, "The interviewer could not continue.")

    def _on_close(self, ev: CloseEvent) -> None:
        """The session closed by itself (a fatal model error): end the interview; the end
        sequence then closes the room. After our own close this is a no-op."""
        if self.state.ended or self._left_waiting:
            return
        failed = ev.error is not None
        log.warning(
            "session closed before the interview ended",
            extra=self._extra(reason=str(ev.reason), error=type(ev.error).__name__),
        )
        self.state.end(
            InterviewStatus.failed if failed else InterviewStatus.abandoned,
            "The interviewer could not continue." if failed else None,
        )

    # ---- room events --------------------------------------------------------------------

    def _on_participant_connected(self, p: rtc.RemoteParticipant) -> None:
        if p.identity != self.meta.candidate_identity:
            return
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
            self._audit("candidate_rejoined")
            log.info("candidate rejoined", extra=self._extra())

    def _on_participant_disconnected(self, p: rtc.RemoteParticipant) -> None:
        if p.identity != self.meta.candidate_identity or self.state.ended:
            return
        self._audit("candidate_left")
        log.info(
            "candidate left; grace window",
            extra=self._extra(grace_s=self.settings.reconnect_grace_s),
        )
        if self._grace is None:
            self._grace = asyncio.ensure_future(self._grace_window())

    async def _grace_window(self) -> None:
        await asyncio.sleep(self.settings.reconnect_grace_s)
        self._grace = None
        if not self.state.ended:
            self.state.end(InterviewStatus.abandoned, "The candidate left and did not return.")

    # ---- the end ------------------------------------------------------------------------

    async def _on_end_request(self, data: rtc.RpcInvocationData) -> str:
        if data.caller_identity != self.meta.candidate_identity:
            raise rtc.RpcError(rtc.RpcError.ErrorCode.APPLICATION_ERROR, "only the candidate")
        if not self.state.ended:
            answered = any(o is QuestionOutcome.answered for o in self.state.finished.values())
            self._audit("candidate_ended")
            log.info("candidate ended the interview", extra=self._extra())
            self.session.interrupt()
            self.state.end(
                InterviewStatus.completed if answered else InterviewStatus.abandoned,
                "The candidate ended the interview.",
            )
        return "ended"

    async def _finish_after_goodbye(self) -> None:
        """Let the closing words play out, then close the session and delete the room."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.goodbye_timeout_s
        candidate_here = any(
            p.identity == self.meta.candidate_identity
            for p in self.ctx.room.remote_participants.values()
        )
        while candidate_here and loop.time() < deadline:
            if not await self._wait_agent(lambda quiet: quiet, deadline - loop.time()):
                break
            # Quiet now; done once it stays quiet a moment (a reply may be about to start).
            if not await self._wait_agent(lambda quiet: not quiet, 1.5):
                break
        await self._close()

    async def _close(self) -> None:
        for task in (self._grace, self._silence_watch):
            if task is not None:
                task.cancel()
        self.state.store.record_usage(self.meta.interview_id, self.usage.usage())
        self._audit("interview_ended", status=str(self.state.end_status))
        log.info("interview ended", extra=self._extra(status=str(self.state.end_status)))
        with contextlib.suppress(Exception):
            await self.session.aclose()
        # Deleting the room makes LiveKit send `room_finished`, on which the token server ends a
        # still-open interview as abandoned; the final status must land first.
        undelivered = await self.state.store.flush(self.settings.store_flush_timeout_s)
        if undelivered:
            log.warning("closing with writes queued", extra=self._extra(undelivered=undelivered))
        with contextlib.suppress(Exception):
            await self.ctx.api.room.delete_room(api.DeleteRoomRequest(room=self.ctx.room.name))
        self._done.set()
