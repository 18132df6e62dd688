"""Whether the interviewer is speaking, and waiting for it to start or stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from livekit.agents.voice.events import AgentStateChangedEvent

_QUIET = ("listening", "idle", "initializing")


class AgentVoice:
    """Follows the session's agent state (subscribes to `agent_state_changed`)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._changed = asyncio.Event()
        session.on("agent_state_changed", self._on_agent_state)

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        self._changed.set()

    @property
    def quiet(self) -> bool:
        return bool(self.session.agent_state in _QUIET)

    async def wait(self, want: Callable[[bool], bool], timeout: float | None) -> bool:
        """Wait until `want(agent is quiet)` holds; False if `timeout` passed first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not want(self.quiet):
            self._changed.clear()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return False
        return True

    async def done_speaking(self, *, start_timeout: float) -> None:
        """Until a reply that is about to start (within `start_timeout`) has been spoken."""
        await self.wait(lambda quiet: not quiet, start_timeout)
        await self.wait(lambda quiet: quiet, None)
