"""A local server that speaks the OpenAI Realtime protocol (tests and offline rehearsal).

The real `livekit.plugins.openai.realtime.RealtimeModel` runs against it unchanged when its
`base_url` (or `OPENAI_BASE_URL`) points here. See `server` for in-process and thread use,
`__main__` for the subprocess, `scenario` for scripts and `brain` for the rehearsal interviewer.
"""

from realtime_local.brain import EchoBrain, RehearsalBrain, ResponseContext, fill_arguments
from realtime_local.faults import Faults
from realtime_local.scenario import (
    CallTool,
    Drop,
    Fail,
    Say,
    Scenario,
    ScenarioError,
    SendError,
    Turn,
    Wait,
)
from realtime_local.server import (
    EventLog,
    LoggedEvent,
    RealtimeServer,
    ServerOptions,
    serve_in_thread,
)

__all__ = [
    "CallTool",
    "Drop",
    "EchoBrain",
    "EventLog",
    "Fail",
    "Faults",
    "LoggedEvent",
    "RealtimeServer",
    "RehearsalBrain",
    "ResponseContext",
    "Say",
    "Scenario",
    "ScenarioError",
    "SendError",
    "ServerOptions",
    "Turn",
    "Wait",
    "fill_arguments",
    "serve_in_thread",
]
