"""The conductor's behaviours on a fake clock: silence check-ins, the reconnect grace window
and how they meet (a candidate who dropped is not silent), and the time limit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from livekit.rtc import EventEmitter

from agent.agent_voice import AgentVoice
from agent.reconnect import ReconnectGrace
from agent.settings import AgentSettings
from agent.silence import SilenceWatch
from agent.timekeeper import Timekeeper
from interview.store import InterviewStatus, QuestionOutcome
from tests.unit.test_agent_tools import _setup

pytestmark = pytest.mark.unit


class FakeClock:
    """`sleep` returns only when the test advances the clock past its end."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.t + seconds, fut))
        await fut

    async def advance(self, seconds: float, step: float = 0.5) -> None:
        """Move time on in steps, letting woken tasks run (and sleep again) at each one."""
        end = self.t + seconds
        await _settle()  # tasks started before the call begin their sleep at the current time
        while self.t < end:
            self.t = min(self.t + step, end)
            for due, fut in list(self._sleepers):
                if due <= self.t:
                    self._sleepers.remove((due, fut))
                    if not fut.done():
                        fut.set_result(None)
            await _settle()


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class FakeSession(EventEmitter[str]):
    def __init__(self) -> None:
        super().__init__()
        self.user_state = "listening"
        self.agent_state = "listening"
        self.replies: list[str] = []
        self.interrupts = 0

    def generate_reply(self, *, instructions: str) -> None:
        self.replies.append(instructions)

    def interrupt(self) -> None:
        self.interrupts += 1

    def user(self, new: str) -> None:
        old, self.user_state = self.user_state, new
        self.emit("user_state_changed", SimpleNamespace(old_state=old, new_state=new))

    def agent(self, new: str) -> None:
        self.agent_state = new
        self.emit("agent_state_changed", SimpleNamespace(new_state=new))


@dataclass
class Rig:
    session: FakeSession
    room: EventEmitter[str]
    clock: FakeClock
    silence: SilenceWatch
    grace: ReconnectGrace
    state: Any
    audits: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return [k for k, _ in self.audits]

    def check_ins(self) -> int:
        return sum("silent for a while" in r for r in self.session.replies)

    def candidate_leaves(self) -> None:
        self.room.emit("participant_disconnected", SimpleNamespace(identity="cand-1"))

    def candidate_returns(self) -> None:
        self.room.emit("participant_connected", SimpleNamespace(identity="cand-1"))

    async def agent_speaks(self) -> None:
        self.session.agent("speaking")
        await _settle()
        self.session.agent("listening")
        await _settle()


def _rig(**settings: Any) -> Rig:
    options = {"silence_checkin_s": 2, "silence_max_checkins": 1, "reconnect_grace_s": 60}
    options.update(settings)
    config = AgentSettings(**options)
    _, ctx, _ = _setup()
    state = ctx.userdata
    session, room, clock = FakeSession(), EventEmitter[str](), FakeClock()
    audits: list[tuple[str, dict[str, object]]] = []

    def audit(kind: str, **detail: object) -> None:
        audits.append((kind, detail))

    silence = SilenceWatch(session, state, config, AgentVoice(session), audit, sleep=clock.sleep)
    grace = ReconnectGrace(
        room,  # type: ignore[arg-type]
        state,
        config,
        audit,
        on_leave=silence.pause,
        on_return=silence.resume,
        sleep=clock.sleep,
    )
    silence.start()
    return Rig(session, room, clock, silence, grace, state, audits)


async def test_silence_gets_a_check_in_then_ends_the_interview() -> None:
    rig = _rig()

    rig.session.user("away")
    await rig.agent_speaks()
    await rig.clock.advance(2)

    assert rig.check_ins() == 1
    assert rig.state.end_status is InterviewStatus.abandoned
    assert rig.state.summary == "Ended after repeated silence."


async def test_speech_resets_the_count() -> None:
    rig = _rig()
    rig.session.user("away")
    await rig.agent_speaks()

    rig.session.user("speaking")
    rig.session.user("listening")
    await rig.clock.advance(10)
    rig.session.user("away")

    assert rig.check_ins() == 2
    assert not rig.state.ended


async def test_a_dropped_candidate_is_not_silent_during_the_grace_window() -> None:
    rig = _rig()

    rig.candidate_leaves()
    rig.session.user("away")  # the session goes on timing the empty room
    await rig.clock.advance(30)
    rig.session.user("away")
    await rig.clock.advance(29)

    assert rig.check_ins() == 0 and "candidate_silent" not in rig.kinds()
    assert not rig.state.ended
    await rig.clock.advance(1)
    assert rig.state.summary == "The candidate left and did not return."


async def test_a_check_in_under_way_stops_when_the_candidate_drops() -> None:
    rig = _rig(silence_max_checkins=2)
    rig.session.user("away")
    await rig.agent_speaks()

    rig.candidate_leaves()
    await rig.clock.advance(30)

    assert rig.check_ins() == 1 and not rig.state.ended


async def test_the_silence_watch_starts_over_when_the_candidate_rejoins() -> None:
    rig = _rig()
    rig.session.user("away")  # one check-in before the drop
    await rig.agent_speaks()
    rig.candidate_leaves()
    await rig.clock.advance(20)

    rig.candidate_returns()
    await rig.clock.advance(2)  # silent since rejoining: the session will not say `away` again

    assert rig.kinds()[-1] == "candidate_silent" and rig.audits[-1][1] == {"count": 1}
    assert rig.check_ins() == 2 and not rig.state.ended  # a check-in, not the goodbye
    await rig.clock.advance(60)
    assert not rig.state.ended, "the grace window was not closed on rejoining"
    await rig.agent_speaks()
    await rig.clock.advance(2)
    assert rig.state.summary == "Ended after repeated silence."


async def test_the_time_limit_wraps_up_then_ends_and_times_out_the_open_question() -> None:
    _, ctx, _ = _setup()
    state = ctx.userdata
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = FakeClock()
    state.now = lambda: start + timedelta(seconds=clock.t)
    session = FakeSession()
    audits: list[str] = []
    keeper = Timekeeper(
        session,
        state,
        AgentSettings(wrap_up_lead_s=10),
        lambda kind, **_: audits.append(kind),
        duration_s=60,
        sleep=clock.sleep,
    )
    agent, _, _ = _setup()
    await agent.fetch_next_question(ctx)

    keeper.start(start)
    await clock.advance(50)
    wrapped = list(audits)
    await clock.advance(10)

    assert keeper.deadline == start + timedelta(seconds=60)
    assert wrapped == ["wrap_up_started"]
    assert audits == ["wrap_up_started", "time_limit_reached"]
    assert state.end_status is InterviewStatus.completed
    assert [q.outcome for q in state.asked.values()] == [QuestionOutcome.timed_out]
