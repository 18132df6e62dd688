"""The worker's load: running interviews against a capacity, with the machine's CPU as a guard.

livekit-agents' default load is the whole machine's CPU moving average against 0.7. On a small
host that is shared with anything else (candidates' browsers in development, the test suite) it
reads as "full" at one or two interviews, and LiveKit then drops dispatches ("no servers
available"). What limits an interview host is how many interviews it runs: the model runs at
OpenAI, and a job's local work (WebRTC audio, Silero VAD) is small. So the load is
`running / capacity`, and the CPU only matters when the machine is truly saturated: above
`cpu_guard` the worker reports itself full whatever it runs.

The framework admits a job while `load + reserved * (load / running) < threshold` (reserved:
requests it said yes to that have not launched yet; with nothing running each reserved request
counts `threshold / idle processes`). With `load = running / capacity` that is
`(running + reserved) / capacity < threshold`; `threshold(capacity)` sits half a job below 1 so
floating-point sums such as 2/3 + 1/3 never admit one job too many, and the worker takes
exactly `capacity` interviews. The idle-process count must not exceed the capacity (see
`idle_processes`), or a burst arriving at an empty worker could be over-admitted.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from livekit.agents import utils
from livekit.agents.utils.hw import get_cpu_monitor

# The load reported when the worker must take nothing more.
FULL = 1.0


def threshold(capacity: int) -> float:
    """The load threshold at which a worker of `capacity` interviews is full."""
    return FULL - 0.5 / capacity


def idle_processes(configured: int, capacity: int) -> int:
    """Warm job processes beyond the capacity are never used; more would also let a burst of
    requests at an idle worker past the capacity (see the module docstring)."""
    return max(0, min(configured, capacity))


def interview_load(running: int, capacity: int, cpu: float, cpu_guard: float) -> float:
    """The load to report for `running` interviews on a worker of `capacity` with the machine's
    CPU use at `cpu` (0-1)."""
    if cpu > cpu_guard:
        return FULL
    return min(running / capacity, FULL)


class _Server(Protocol):
    @property
    def active_jobs(self) -> Sequence[object]: ...


class CpuAverage:
    """The machine's CPU use (0-1, cgroup-aware), averaged over the last few seconds by a
    daemon thread, as livekit-agents' default load does."""

    def __init__(self, samples: int = 5, interval: float = 0.5) -> None:
        self._avg = utils.MovingAverage(samples)
        self._monitor = get_cpu_monitor()
        self._interval = interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def value(self) -> float:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="agent_cpu_load")
            self._thread.start()
        with self._lock:
            return float(self._avg.get_avg())

    def _run(self) -> None:
        while True:
            sample = self._monitor.cpu_percent(interval=self._interval)
            with self._lock:
                self._avg.add_sample(sample)


class InterviewLoad:
    """The `load_fnc` of the worker: livekit-agents calls it with the server."""

    def __init__(self, capacity: int, cpu_guard: float, cpu: CpuAverage | None = None) -> None:
        self.capacity = capacity
        self.cpu_guard = cpu_guard
        self._cpu = cpu or CpuAverage()

    def __call__(self, server: _Server) -> float:
        return interview_load(
            len(server.active_jobs), self.capacity, self._cpu.value(), self.cpu_guard
        )
