"""Model usage of one interview: counted across its jobs, priced, written as it goes.

The session reports running totals for this job only. A resumed interview's earlier jobs have
already recorded theirs, so the stored usage read at job start is the base this job adds to
(`Usage` in the store is the interview's running total: the latest write replaces the last).
Usage is written every `usage_write_interval_s` while it changes, so a job that dies loses at
most one interval of it, and once more at the end.

Against the offline rehearsal server (`rehearsal_model`) the tokens are still counted, but
nothing is paid for: the cost is 0 and the `interview_ended` audit event says
`pricing: "rehearsal"`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Literal
from uuid import UUID

from livekit.agents.metrics.usage import LLMModelUsage
from livekit.agents.voice.events import SessionUsageUpdatedEvent

from agent.settings import AgentSettings
from interview.store import Store, Usage

log = logging.getLogger("agent.usage")

Pricing = Literal["openai", "rehearsal"]


class UsageMeter:
    """This job's model usage on top of what earlier jobs of the interview recorded."""

    def __init__(self, settings: AgentSettings, base: Usage | None = None) -> None:
        self.settings = settings
        self.base = base or Usage()
        self.text_in = self.text_out = self.audio_in = self.audio_out = 0
        self.cached_text_in = self.cached_audio_in = 0

    @property
    def pricing(self) -> Pricing:
        return "rehearsal" if self.settings.rehearsal_model else "openai"

    def update(self, ev: SessionUsageUpdatedEvent) -> None:
        models = [u for u in ev.usage.model_usage if isinstance(u, LLMModelUsage)]
        self.audio_in = sum(u.input_audio_tokens for u in models)
        self.text_in = sum(u.input_tokens - u.input_audio_tokens for u in models)
        self.cached_audio_in = sum(u.input_cached_audio_tokens for u in models)
        self.cached_text_in = sum(
            u.input_cached_tokens - u.input_cached_audio_tokens for u in models
        )
        self.audio_out = sum(u.output_audio_tokens for u in models)
        self.text_out = sum(u.output_tokens - u.output_audio_tokens for u in models)

    def cost_usd(self) -> float:
        """This job's cost."""
        if self.pricing == "rehearsal":
            return 0.0
        s = self.settings
        # Cached input is part of the input counts; it is billed at the cached rate instead.
        cached_text = min(self.cached_text_in, self.text_in)
        cached_audio = min(self.cached_audio_in, self.audio_in)
        return (
            (self.text_in - cached_text) * s.price_text_in
            + cached_text * s.price_text_in_cached
            + (self.audio_in - cached_audio) * s.price_audio_in
            + cached_audio * s.price_audio_in_cached
            + self.text_out * s.price_text_out
            + self.audio_out * s.price_audio_out
        ) / 1_000_000

    def usage(self) -> Usage:
        """The interview's running total: earlier jobs' plus this one's."""
        b = self.base
        return Usage(
            input_tokens=b.input_tokens + self.text_in + self.audio_in,
            output_tokens=b.output_tokens + self.text_out + self.audio_out,
            input_audio_tokens=b.input_audio_tokens + self.audio_in,
            output_audio_tokens=b.output_audio_tokens + self.audio_out,
            cost_usd=round(b.cost_usd + self.cost_usd(), 6),
        )

    def summary(self) -> dict[str, object]:
        """For the audit log: how it was priced, and the cached share of this job's input."""
        return {
            "pricing": self.pricing,
            "cost_usd": self.usage().cost_usd,
            "cached_input_tokens": self.cached_text_in + self.cached_audio_in,
        }


class UsageWriter:
    """Writes the meter's totals while they change, every `interval` seconds, and at the end."""

    def __init__(self, meter: UsageMeter, store: Store, interview_id: UUID, interval: float):
        self.meter = meter
        self.store = store
        self.interview_id = interview_id
        self.interval = interval
        self._written: Usage | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.write()

    def write(self) -> None:
        usage = self.meter.usage()
        if usage != self._written and usage != self.meter.base:
            self.store.record_usage(self.interview_id, usage)
            self._written = usage

    async def aclose(self) -> None:
        """Stop the periodic writes and write the final totals."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.write()
