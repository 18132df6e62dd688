"""One interview from the candidate's arrival to the room's deletion.

The conductor owns what the framework leaves to the application: waiting for the candidate,
the greeting, saving both sides of the transcript, and an orderly end (status, session closed,
room deleted). The rest are small behaviours beside it, each subscribed to the session or room
events it needs: the time limit (`agent.timekeeper`), check-ins when the candidate stays silent
(`agent.silence`), the grace window when the candidate drops (`agent.reconnect`), each planned
question's time limit and follow-up policy (`agent.question_clock`) and model usage
(`agent.usage`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from livekit import api, rtc
from livekit.agents import AgentSession, JobContext, llm, room_io
from livekit.agents.voice.events import (
    CloseEvent,
    ConversationItemAddedEvent,
    ErrorEvent,
    UserStateChangedEvent,
)

from agent import instructions, one_interviewer
from agent.agent_voice import AgentVoice
from agent.interviewer import Interviewer, InterviewState
from agent.question_clock import QuestionClock
from agent.reconnect import ReconnectGrace
from agent.settings import AgentSettings
from agent.silence import SilenceWatch
from agent.timekeeper import Timekeeper
from agent.usage import UsageMeter, UsageWriter
from interview.store import (
    InterviewStatus,
    QuestionOutcome,
    Speaker,
    TranscriptMessage,
)

log = logging.getLogger("agent.conductor")

# The candidate's page calls this on the agent before it leaves, so a deliberate end is not
# mistaken for a dropped connection (which would wait out the grace window).
END_RPC = "interview.end"


def _ts(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


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
        self.usage = UsageMeter(settings, state.usage_base)
        self._usage_writer = UsageWriter(
            self.usage, state.store, state.interview_id, settings.usage_write_interval_s
        )
        self._done = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Left without running the interview (no candidate came, or another interviewer was
        # first): the session's close is then no end of the interview.
        self._left_unheard = False
        self.voice = AgentVoice(session)
        self.timekeeper = Timekeeper(
            session, state, settings, self._audit, duration_s=self.duration_s
        )
        self.silence = SilenceWatch(session, state, settings, self.voice, self._audit)
        self.question_clock = QuestionClock(session, state, settings, self.voice, self._audit)
        state.on_asked = self.question_clock.asked
        self.grace = ReconnectGrace(
            ctx.room,
            state,
            settings,
            self._audit,
            on_leave=self.silence.pause,
            on_return=self.silence.resume,
        )
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

        agent = Interviewer(self.state, instructions.build_instructions(self.meta, self.state.plan))
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
                # Browsers apply their own gain control to the microphone before sending;
                # livekit-agents' default adds a WebRTC AGC pass on every input frame.
                audio_input=room_io.AudioInputOptions(auto_gain_control=False),
                # The interviewer's words go to the room as the model produces them instead of
                # paced word by word with its voice: the pacing estimates the speaking rate
                # with an STFT of every outgoing frame and hyphenates every word, about a
                # quarter of a job's Python CPU. Traded away: the page's transcript runs ahead
                # of the voice, and after a barge-in the stored interviewer line holds the
                # whole reply the model wrote rather than the part played before the
                # interruption. The `lk.transcription` streams and their attributes
                # (segment id, final) that the pages read are unchanged.
                text_output=room_io.TextOutputOptions(sync_transcription=False),
            ),
            record=False,
            # No remote session host: it would broadcast every session event (tool calls with
            # their scores) to the room and let any participant read the chat history, inject
            # input or switch the interviewer's audio off.
            session_host=False,
        )
        if self.usage.pricing == "rehearsal":
            log.info("offline rehearsal model: usage is counted, cost is 0", extra=self._extra())
        self._usage_writer.start()
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
            await self._leave_unheard()
            return

        await self._wait_until_it_can_be_heard()
        session.input.set_audio_enabled(True)
        if one_interviewer.is_later_interviewer(self.ctx.room):
            # Dispatches raced: the interview belongs to the interviewer that was first.
            log.warning(
                "another interviewer was first in the room; leaving unheard", extra=self._extra()
            )
            await self._leave_unheard()
            return
        # The candidate is here and can hear the interviewer: from here on it speaks.
        self._begin()
        await self._done.wait()

    async def _leave_unheard(self) -> None:
        self._left_unheard = True
        await self._usage_writer.aclose()
        with contextlib.suppress(Exception):
            await self.session.aclose()

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
            started_at = self.resumed_from
            covered = len(self.state.finished)
            self._audit("interview_resumed", covered=covered)
            log.info("interview resumed", extra=self._extra(covered=covered))
            reply = instructions.resume_instructions(self.meta, covered)
        else:
            started_at = now
            self.state.store.record_status(self.meta.interview_id, InterviewStatus.live, at=now)
            self._audit("interview_live")
            log.info("interview live", extra=self._extra(duration_s=self.duration_s))
            reply = instructions.greeting_instructions(self.meta)
        self.timekeeper.start(started_at)
        self.silence.start()
        self.question_clock.start()
        self._spawn(self._publish_attributes())
        self.session.generate_reply(instructions=reply)

    async def _publish_attributes(self) -> None:
        """Progress and time for the candidate's page: nothing private (no scores)."""
        attrs = {
            "interview.question": str(len(self.state.asked)),
            "interview.question_count": str(self.state.question_count),
            "interview.status": (
                self.state.end_status.value if self.state.end_status else InterviewStatus.live
            ),
        }
        if self.timekeeper.deadline:
            attrs["interview.ends_at"] = self.timekeeper.deadline.isoformat()
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
        spoken = _ts(item.metrics.get("started_speaking_at"))
        started = spoken or _ts(item.created_at)
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
            # Without the turn's start, the item is dated when its transcript arrived, which
            # may be after the reply (and the next question) it prompted.
            self.state.note_candidate_words(text, spoken or self.state.speech_start_before(started))

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        if ev.new_state == "speaking":
            at = _ts(ev.created_at)
            if at is not None:
                self.state.note_speech_started(at)

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
        if self.state.ended or self._left_unheard:
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
            if not await self.voice.wait(lambda quiet: quiet, deadline - loop.time()):
                break
            # Quiet now; done once it stays quiet a moment (a reply may be about to start).
            if not await self.voice.wait(lambda quiet: not quiet, 1.5):
                break
        await self._close()

    async def _close(self) -> None:
        self.grace.stop()
        self.silence.stop()
        self.question_clock.stop()
        self.timekeeper.stop()
        await self._usage_writer.aclose()
        status = str(self.state.end_status)
        self._audit("interview_ended", status=status, **self.usage.summary())
        log.info("interview ended", extra=self._extra(status=status))
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
