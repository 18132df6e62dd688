"""The worker's load: running interviews against a capacity, with its own CPU use as a guard.

livekit-agents' default load is the whole machine's CPU moving average against 0.7. On a small
host that is shared with anything else (candidates' browsers in development, the test suite) it
reads as "full" at one or two interviews, and LiveKit then drops dispatches ("no servers
available"). What limits an interview host is how many interviews it runs: the model runs at
OpenAI, and a job's local work (WebRTC audio, Silero VAD) is small. So the load is
`running / capacity`, and the CPU only matters when the worker saturates the host: above
`cpu_guard` the worker reports itself full whatever it runs.

The guard reads the CPU of the worker's own process tree (its main process, forkserver and job
processes) as a share of the host's cores (cgroup-aware), not the whole machine's: on a host
shared with other work (the candidates of a benchmark, a developer's browser, the test suite)
the machine's figure counted their CPU too, and the worker refused interviews at 4-5 whatever
its capacity. On a dedicated host the two readings are the same up to the OS's own work. The
other side of it: a worker no longer backs off because a neighbour saturates the host; size
`AGENT_CAPACITY` for the host it runs on.

The framework admits a job while `load + reserved * (load / running) < threshold` (reserved:
requests it said yes to that have not launched yet; with nothing running each reserved request
counts `threshold / idle processes`). With `load = running / capacity` that is
`(running + reserved) / capacity < threshold`; `threshold(capacity)` sits half a job below 1 so
floating-point sums such as 2/3 + 1/3 never admit one job too many, and the worker takes
exactly `capacity` interviews. The idle-process count must not exceed the capacity (see
`idle_processes`), or a burst arriving at an empty worker could be over-admitted.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import Protocol

import psutil  # type: ignore[import-untyped]
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
    """The load to report for `running` interviews on a worker of `capacity` whose processes
    use `cpu` (0-1) of the host's CPU."""
    if cpu > cpu_guard:
        return FULL
    return min(running / capacity, FULL)


class _Server(Protocol):
    @property
    def active_jobs(self) -> Sequence[object]: ...


class CpuAverage:
    """The CPU use (0-1 of the host's cores) of this process and its descendants, averaged
    over the last few seconds by a daemon thread."""

    def __init__(self, samples: int = 5, interval: float = 0.5) -> None:
        self._avg = utils.MovingAverage(samples)
        self._cores = max(get_cpu_monitor().cpu_count(), 0.01)
        self._interval = interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._root = psutil.Process(os.getpid())
        # Per process (by pid and start time, pids are reused): its CPU seconds at the last
        # sample, so a job process that started or ended between two samples counts its share.
        self._seen: dict[tuple[int, float], float] = {}
        self._sampled_at: float | None = None

    def value(self) -> float:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="agent_cpu_load")
            self._thread.start()
        with self._lock:
            return float(self._avg.get_avg())

    def _tree_seconds(self) -> float:
        """CPU seconds the tree spent since the previous call."""
        now = time.time()
        spent = 0.0
        seen: dict[tuple[int, float], float] = {}
        try:
            procs = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            procs = [self._root]
        for proc in procs:
            try:
                with proc.oneshot():
                    key = (proc.pid, proc.create_time())
                    times = proc.cpu_times()
            except psutil.Error:
                continue
            total = times.user + times.system
            seen[key] = total
            if key in self._seen:
                spent += total - self._seen[key]
            elif self._sampled_at is not None and key[1] >= self._sampled_at:
                spent += total  # started since the last sample
        self._seen = seen
        self._sampled_at = now
        return spent

    def _run(self) -> None:
        self._tree_seconds()
        last = time.monotonic()
        while True:
            time.sleep(self._interval)
            spent = self._tree_seconds()
            now = time.monotonic()
            share = min(spent / max(now - last, 1e-3) / self._cores, 1.0)
            last = now
            with self._lock:
                self._avg.add_sample(share)


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
