"""One-time work of a job process, done once in the forkserver instead of in every job.

The worker lists this module in livekit-agents' `preload_modules`: the forkserver imports it
before it forks any job process (and before the framework's `_preload_freeze`, which freezes
what is loaded here so the job processes keep sharing its pages copy-on-write). Without it,
each job process paid for the same work itself, much of it on the event loop while the
candidate waited for the greeting (measured on a 2-core host with four interviews starting at
once: 0.2-0.9 s stalls each, CPU-bound, inside `run_interview` and `session.start`):

- importing the agent's own modules and their dependencies (supabase, httpx, ...: ~280
  modules, 0.7 s of CPU, private memory in every process);
- httpx's lazy import of httpcore on the first client and anyio's on its first request, and the
  store's TLS context (`shared_ssl_context`);
- the SSL context livekit-agents builds for its shared HTTP session (parses the CA bundle);
- pydantic schemas of the openai Realtime event types, which the SDK defers to first use;
- the Silero VAD's ONNX session (1.6-2.6 s per process, 5 s under load), now loaded once.

Everything here is fork-safe: imports, a cached SSL context, built schemas and an ONNX session
that runs on the calling thread (the Silero plugin sets one intra- and inter-op thread, so
onnxruntime starts no pool). No thread, no event loop, no network.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import time

from livekit.agents import vad
from livekit.plugins import silero

import agent.job  # noqa: F401  (the job entry and everything it imports)

log = logging.getLogger("agent.warmup")

_VAD: vad.VAD | None = None


def shared_vad() -> vad.VAD:
    """The Silero VAD loaded in the forkserver (or here, in a process that did not preload)."""
    global _VAD
    if _VAD is None:
        _VAD = silero.VAD.load()
    return _VAD


def _httpx_transport() -> None:
    import httpx

    from interview.supabase_store import shared_ssl_context

    httpx.AsyncClient(verify=shared_ssl_context())
    # What httpx's first request imports (through anyio), lazily otherwise.
    for name in ("anyio._backends._asyncio", "anyio._core._sockets"):
        importlib.import_module(name)


def _ssl_context() -> None:
    from livekit.agents.utils import http_context

    http_context._create_ssl_context()


def _realtime_schemas() -> None:
    import openai.types.realtime as realtime
    from pydantic import BaseModel

    for info in pkgutil.iter_modules(realtime.__path__):
        module = importlib.import_module(f"{realtime.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseModel) and cls.__module__ == module.__name__:
                cls.model_rebuild()


def _step(name: str, work: object) -> None:
    started = time.perf_counter()
    try:
        work()  # type: ignore[operator]
    except Exception:
        # Only a speed-up: the first real use reports a proper error.
        log.debug("warm-up step failed", extra={"step": name}, exc_info=True)
        return
    log.debug("warmed up", extra={"step": name, "s": round(time.perf_counter() - started, 3)})


_step("httpx transport", _httpx_transport)
_step("ssl context", _ssl_context)
_step("realtime schemas", _realtime_schemas)
_step("silero vad", shared_vad)
