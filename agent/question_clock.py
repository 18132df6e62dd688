"""Each planned question's time limit and follow-up policy, kept in code beside the conductor.

A question of the interview's plan may carry a time limit (`time_limit_s`) and a follow-up
policy (none, one, open). The model is told both with the question (fetch_next_question); this
behaviour holds it to them, whatever the model does:

- Time limit: counted from when the interviewer has finished asking. When it runs out, the
  question closes as `timed_out` at the next turn boundary, never while the candidate is
  speaking (their turn ends first, and the model's reply to it is let through) nor over the
  interviewer's own words. Then the conductor asks for the next question itself: a reply whose
  tool choice is `fetch_next_question` (after the plan's last question, the wrap-up).
- Follow-up policy: the candidate's turns on the open question are counted (one per committed
  user turn). Once they have answered as far as the policy allows (none: one turn; one: two)
  and the model's reply to that turn has left the question open, the conductor asks for the
  score itself: a reply whose tool choice is `store_answer`, so the next question comes and no
  further follow-up. Open: as the model judges.

Questions drawn from the bank (no plan) are left to the model, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from livekit.agents import llm
from livekit.agents.voice.events import ConversationItemAddedEvent, UserStateChangedEvent

from agent import instructions
from agent.agent_voice import AgentVoice
from agent.interviewer import InterviewState
from agent.settings import AgentSettings
from interview.planning import FollowUp, PlannedQuestion
from interview.store import AskedQuestion, QuestionOutcome

log = logging.getLogger("agent.question_clock")

Audit = Callable[..., None]

FETCH_TOOL = "fetch_next_question"
STORE_ANSWER_TOOL = "store_answer"
# The candidate's turns a question takes before its answer is complete, by policy.
ANSWER_TURNS = {FollowUp.none: 1, FollowUp.one: 2}


def named_tool(name: str) -> llm.ToolChoice:
    return {"type": "function", "function": {"name": name}}


class QuestionClock:
    def __init__(
        self,
        session: Any,
        state: InterviewState,
        settings: AgentSettings,
        voice: AgentVoice,
        audit: Audit,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        reply_wait_s: float = 3.0,
        settle_s: float = 1.0,
    ) -> None:
        self.session = session
        self.state = state
        self.settings = settings
        self.voice = voice
        self.audit = audit
        self._sleep = sleep
        # How long a reply to the candidate's turn may take to start (server VAD's silence
        # window plus the model's first audio).
        self.reply_wait_s = reply_wait_s
        # How long both sides must stay quiet to count as a turn boundary: a reply's speech
        # and its tool calls may leave a moment of quiet between them.
        self.settle_s = settle_s
        self._started = False
        self._timers: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # The candidate's committed turns on each planned question, and the questions whose
        # answer is complete (their policy is being held).
        self.turns: dict[int, int] = {}
        self._held: set[int] = set()
        self._user_changed = asyncio.Event()
        self._candidate_stopped_at: float | None = None
        session.on("user_state_changed", self._on_user_state)
        session.on("conversation_item_added", self._on_item)

    @property
    def _extra(self) -> dict[str, object]:
        return {"interview_id": str(self.state.interview_id)}

    def start(self) -> None:
        self._started = True

    def stop(self) -> None:
        self._started = False
        for task in [*self._timers.values(), *self._tasks]:
            task.cancel()
        self._timers.clear()

    def time_limit_s(self, planned: PlannedQuestion) -> float | None:
        if planned.time_limit_s is None:
            return None
        override = self.settings.question_time_limit_override_s
        return override if override is not None else float(planned.time_limit_s)

    def asked(self, state: InterviewState, asked: AskedQuestion) -> None:
        """The `on_asked` hook: a question was handed out (again, after a resume)."""
        planned = state.planned(asked.ordinal)
        if planned is None or not self._started:
            return
        self.turns[asked.ordinal] = 0
        self._held.discard(asked.ordinal)
        limit = self.time_limit_s(planned)
        if limit is not None:
            old = self._timers.pop(asked.ordinal, None)
            if old is not None:
                old.cancel()
            self._timers[asked.ordinal] = asyncio.ensure_future(
                self._time_out(asked.ordinal, limit)
            )

    # ---- events ---------------------------------------------------------------------------

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        if ev.old_state == "speaking" and ev.new_state != "speaking":
            self._candidate_stopped_at = asyncio.get_running_loop().time()
        self._user_changed.set()

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if not self._started or not isinstance(item, llm.ChatMessage) or item.role != "user":
            return
        ordinal = self.state.current
        if ordinal is None or ordinal not in self.turns:
            return
        planned = self.state.planned(ordinal)
        said_at = item.metrics.get("started_speaking_at") or item.created_at
        # A turn transcribed late may belong to the question before.
        if planned is None or datetime.fromtimestamp(said_at, UTC) < self.state.asked[
            ordinal
        ].asked_at.astimezone(UTC):
            return
        self.turns[ordinal] += 1
        allowed = ANSWER_TURNS.get(planned.follow_up)
        if allowed is not None and self.turns[ordinal] >= allowed and ordinal not in self._held:
            self._held.add(ordinal)
            self._spawn(self._hold_to_policy(ordinal, planned.follow_up))

    # ---- keeping the rules ----------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _open(self, ordinal: int) -> bool:
        return self._started and not self.state.ended and self.state.current == ordinal

    async def _hold_to_policy(self, ordinal: int, policy: FollowUp) -> None:
        # The model's reply to the answer comes first: it may store the answer itself.
        await self.voice.done_speaking(start_timeout=self.reply_wait_s)
        await self._turn_boundary()
        if not self._open(ordinal):
            return
        log.info(
            "answer complete by the follow-up policy; asking for the score",
            extra={**self._extra, "ordinal": ordinal, "policy": policy.value},
        )
        self.audit("follow_up_limit", question=ordinal, policy=policy.value)
        self.session.generate_reply(
            instructions=instructions.follow_up_limit_instructions(ordinal, policy),
            tool_choice=named_tool(STORE_ANSWER_TOOL),
        )

    async def _time_out(self, ordinal: int, limit: float) -> None:
        # Timed from when the question has been asked, not from when it was fetched.
        await self.voice.done_speaking(start_timeout=self.reply_wait_s)
        await self._sleep(limit)
        if not self._open(ordinal):
            return
        await self._turn_boundary()
        if not self._open(ordinal):
            return
        asked = self.state.asked[ordinal]
        self.state.finish_question(ordinal, QuestionOutcome.timed_out)
        if self.state.on_progress:
            self.state.on_progress(self.state)
        log.info(
            "question time limit reached",
            extra={**self._extra, "ordinal": ordinal, "limit_s": limit},
        )
        self.audit("question_timed_out", question=ordinal, plan_item=asked.plan_item, limit_s=limit)
        more = self.state.plan is not None and self.state.next_plan_item() is not None
        self.session.generate_reply(
            instructions=instructions.question_time_up_instructions(more),
            tool_choice=named_tool(FETCH_TOOL) if more else "auto",
        )

    async def _turn_boundary(self) -> None:
        """Until neither side is speaking and the model's reply to a turn that just ended (if
        one comes) has been spoken."""
        loop = asyncio.get_running_loop()
        while not self.state.ended:
            if self.session.user_state == "speaking":
                self._user_changed.clear()
                await self._user_changed.wait()
                continue
            stopped = self._candidate_stopped_at
            since = loop.time() - stopped if stopped is not None else None
            if since is not None and since < self.reply_wait_s:
                await self.voice.done_speaking(start_timeout=self.reply_wait_s - since)
            else:
                await self.voice.wait(lambda quiet: quiet, None)
            if self.session.user_state == "speaking":
                continue
            settled = not await self.voice.wait(lambda quiet: not quiet, self.settle_s)
            if settled and self.session.user_state != "speaking":
                return
