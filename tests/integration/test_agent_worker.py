"""The worker process on the real stack: what it takes, what it declines, what it sweeps, and
that an interview it cannot read is never started again as new."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.outboxes import outbox_path
from devstack import LiveKitServer, SupabaseStack
from devstack.proc import free_port
from interview.contract import InterviewMetadata
from interview.store import AskedQuestion, InterviewStatus
from interview.supabase_store import SupabaseStore, open_store
from tests.fixtures.agent import (
    Candidate,
    WorkerStarter,
    agents_in_room,
    audit_kinds,
    dispatch,
    dispatch_only,
    eventually,
    interview_closed,
    join_candidate,
    new_plan,
    start_workers_named,
    token,
)
from tests.fixtures.store import new_interview, store_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def postgrest_restored(supabase_stack: SupabaseStack) -> Iterator[SupabaseStack]:
    yield supabase_stack
    if not supabase_stack.postgrest.running():
        supabase_stack.postgrest.start()


@pytest.fixture
def postgrest_frozen(supabase_stack: SupabaseStack) -> Iterator[Callable[[bool], None]]:
    """Freeze (SIGSTOP) or thaw the session's PostgREST: requests hang instead of failing, as
    with an overloaded Supabase. Thawed after the test."""
    assert supabase_stack.postgrest._proc is not None
    pid = supabase_stack.postgrest._proc.pid
    assert pid is not None

    def freeze(frozen: bool) -> None:
        os.kill(pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    yield freeze
    os.kill(pid, signal.SIGCONT)


def _metadata(interview_id: object, **changes: object) -> str:
    meta = InterviewMetadata(
        **new_plan().model_dump(),
        interview_id=interview_id,  # type: ignore[arg-type]
        candidate_identity=f"candidate-{interview_id}",
    )
    data = json.loads(meta.encode())
    data.update(changes)
    return json.dumps(data)


def _lock_held(path: Path) -> bool:
    """Whether some process holds `path`'s outbox lock (a job, or a sweep replaying it)."""
    lock = path.with_suffix(".lock")
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


async def _strand(supabase_stack: SupabaseStack, into: Path, name: str, *qs: AskedQuestion) -> Path:
    """An outbox with undelivered writes, as a job leaves it when Supabase was down at its end:
    written elsewhere, then moved into `into` whole."""
    scratch = into.parent / f"scratch-{name}"
    path = outbox_path(scratch, name)
    unreachable = open_store(
        store_settings(f"http://127.0.0.1:{free_port()}", supabase_stack.service_role_key),
        path,
        retry_cap=0.2,
    )
    await unreachable.start()
    for q in qs:
        unreachable.record_question(q)
    await unreachable.aclose(0.5)
    into.mkdir(parents=True, exist_ok=True)
    for f in scratch.iterdir():
        if not f.name.endswith(".lock"):
            shutil.move(f, into / f.name)
    return outbox_path(into, name)


def _question(interview_id: object, text: str) -> AskedQuestion:
    return AskedQuestion(
        interview_id=interview_id,  # type: ignore[arg-type]
        ordinal=1,
        bank_question_id=None,
        text=text,
        topic="t",
        difficulty=2,
        asked_at=datetime.now(UTC),
    )


async def test_a_dispatch_of_a_newer_schema_version_is_declined_and_the_interview_untouched(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
) -> None:
    worker = start_worker()
    interview = await store.create_interview(new_interview())
    before = await store.get_interview(interview.id)
    assert before is not None

    await dispatch_only(
        livekit_server,
        worker.agent_name,
        f"iv-{interview.id}",
        _metadata(interview.id, schema_version=3, a_field_of_version_3="x"),
    )

    async def answered() -> bool:
        found = await store.get_interview(interview.id)
        declined = "declined a dispatch of a newer schema version" in worker.log()
        return declined or (found is not None and found.status is not before.status)

    await eventually(answered, "the worker to decline the dispatch", 30)
    after = await store.get_interview(interview.id)
    assert after is not None and after.status is before.status, after
    assert "invalid_metadata" not in audit_kinds(supabase_stack, interview.id)
    assert "interview job started" not in worker.log()  # no job process ran it
    # An invalid payload of the current version still fails its interview, as before.
    bad = await dispatch(
        livekit_server,
        store,
        worker,
        new_plan(),
        raw_metadata=json.dumps({"schema_version": 1, "role": "x", "level": "wizard"}),
    )

    async def failed() -> bool:
        found = await store.get_interview(bad.interview_id)
        return found is not None and found.status is InterviewStatus.failed

    await eventually(failed, "the invalid dispatch's interview to be marked failed", 30)


async def test_a_stranded_outbox_is_replayed_by_a_worker_that_gets_no_job(
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
) -> None:
    worker = start_worker(OUTBOX_SWEEP_INTERVAL_S="1")
    interview = await store.create_interview(new_interview())
    # Left by a job that ended while Supabase was down; no job comes to this host again.
    stranded = await _strand(
        supabase_stack, worker.outbox_dir, str(interview.id), _question(interview.id, "Why?")
    )

    async def replayed() -> list[str]:
        detail = await store.interview_detail(interview.id)
        return [q.text for q in detail.questions] if detail else []

    assert await eventually(replayed, "the worker to replay the outbox", 30) == ["Why?"]
    await eventually(
        lambda: asyncio.to_thread(lambda: not stranded.exists()), "the outbox removed", 10
    )


async def test_a_job_is_not_turned_away_while_its_interviews_outbox_is_swept(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    postgrest_frozen: Callable[[bool], None],
    tmp_path: Path,
    candidates: list[Candidate],
) -> None:
    outboxes = tmp_path / "outbox"
    crashed = await store.create_interview(new_interview())
    other = await store.create_interview(new_interview())
    # The job of `crashed` died with a write undelivered; it is re-dispatched while Supabase
    # hangs, so whoever replays its outbox holds the lock for a whole write timeout or more.
    stranded = await _strand(
        supabase_stack, outboxes, str(crashed.id), _question(crashed.id, "Why?")
    )
    postgrest_frozen(True)
    worker = start_worker(OUTBOX_DIR=str(outboxes), OUTBOX_SWEEP_INTERVAL_S="3")
    # Before this change only a job swept: another interview's job on this host.
    await dispatch_only(livekit_server, worker.agent_name, f"iv-{other.id}", _metadata(other.id))
    await eventually(
        lambda: asyncio.to_thread(_lock_held, stranded), "a sweep to hold the outbox", 60
    )

    room = f"iv-{crashed.id}"
    await dispatch_only(livekit_server, worker.agent_name, room, _metadata(crashed.id))
    candidate = Candidate(
        livekit_server.url, token(livekit_server, f"candidate-{crashed.id}", room)
    )
    candidates.append(candidate)
    await candidate.join()

    async def decided() -> bool:
        log = worker.log()
        return "another job is running this interview" in log or room in log

    # The re-dispatched job has started (and, before this change, been turned away at once).
    await eventually(decided, "the re-dispatched job to start", 30)
    postgrest_frozen(False)

    async def outcome() -> str | None:
        if "another job is running this interview" in worker.log():
            return "turned away"
        return "joined" if await agents_in_room(livekit_server, room) else None

    assert await eventually(outcome, "the re-dispatched job to join or be turned away", 90) == (
        "joined"
    )


async def test_a_live_interview_whose_state_cannot_be_read_is_not_started_again(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    postgrest_restored: SupabaseStack,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(SILENCE_CHECKIN_S="120")
    interview = await store.create_interview(new_interview())
    started = datetime.now(UTC)
    store.record_status(interview.id, InterviewStatus.live, at=started)
    store.record_question(_question(interview.id, "The first question, already asked."))
    await store.flush(10)
    room = f"iv-{interview.id}"

    supabase_stack.postgrest.stop()
    await dispatch_only(livekit_server, worker.agent_name, room, _metadata(interview.id))

    def read_step_decided() -> bool:
        log = worker.log()
        return "ending the job without joining" in log or "starting it as new" in log

    await eventually(lambda: asyncio.to_thread(read_step_decided), "the job to give up reading", 60)
    await asyncio.to_thread(supabase_stack.postgrest.start)
    candidate = Candidate(
        livekit_server.url, token(livekit_server, f"candidate-{interview.id}", room)
    )
    candidates.append(candidate)
    await candidate.join()

    async def settled() -> str | None:
        if "ending the job without joining" in worker.log():
            return "gave the interview back"
        if "interview_live" in audit_kinds(supabase_stack, interview.id):
            return "started it again"
        return None

    assert await eventually(settled, "the job to end or to begin", 90) == "gave the interview back"
    detail = await store.interview_detail(interview.id)
    assert detail is not None
    assert [q.text for q in detail.questions] == ["The first question, already asked."]
    assert detail.interview.status is InterviewStatus.live
    assert candidate.agent_states == []  # it never joined, let alone spoke

    # The next dispatch (the token server's) can read it, and resumes it.
    await dispatch_only(livekit_server, worker.agent_name, room, _metadata(interview.id))
    await eventually(
        lambda: asyncio.to_thread(
            lambda: "interview_resumed" in audit_kinds(supabase_stack, interview.id)
        ),
        "the next job to resume the interview",
        90,
    )
    kinds = audit_kinds(supabase_stack, interview.id)
    assert "interview_live" not in kinds


_BURNER = """
import time
while True:
    t = time.monotonic()
    while time.monotonic() - t < 0.075:
        pass
    time.sleep(0.025)
"""


@contextlib.contextmanager
def _busy_machine() -> Iterator[None]:
    """Every core about 75 % busy (niced, so the services under test still get their share):
    a host shared with candidates' browsers and other work."""
    procs = [
        subprocess.Popen(["nice", "-n", "19", sys.executable, "-c", _BURNER])
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


async def test_a_worker_on_a_busy_machine_takes_interviews_up_to_its_capacity(
    livekit_server: LiveKitServer,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(
        AGENT_CAPACITY="2",
        AGENT_CPU_GUARD="0.99",
        AGENT_IDLE_PROCESSES="2",
        # The load threshold a worker had by default before AGENT_CAPACITY (ignored now).
        AGENT_LOAD_THRESHOLD="0.7",
        SILENCE_CHECKIN_S="120",
    )
    with _busy_machine():
        taken = []
        for _ in range(2):
            interview = await dispatch(livekit_server, store, worker, new_plan())
            taken.append(interview)

            async def has_agent(room: str = interview.room) -> bool:
                return bool(await agents_in_room(livekit_server, room))

            await eventually(has_agent, f"interview {len(taken)} to get an interviewer", 45)
        await eventually(
            lambda: asyncio.to_thread(lambda: "worker is at full capacity" in worker.log()),
            "the worker to report itself full",
            15,
        )
        third = await dispatch(livekit_server, store, worker, new_plan())

        # A bounded window for what must not happen: LiveKit hands the third to no one.
        with pytest.raises(AssertionError, match="timed out"):
            await eventually(
                lambda: agents_in_room(livekit_server, third.room), "a third interviewer", 8
            )
    assert worker.log().count("interview job started") == 2


async def test_a_draining_worker_finishes_its_interview_and_takes_no_new_one(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    env = {"DURATION_OVERRIDE_S": "25", "WRAP_UP_LEAD_S": "4", "SILENCE_CHECKIN_S": "120"}
    workers = start_workers_named(start_worker, 2, **env)
    try:
        first = await dispatch(livekit_server, store, workers[0], new_plan())
        await join_candidate(livekit_server, first, candidates)

        async def running() -> list[int]:
            return [i for i, w in enumerate(workers) if "interview job started" in w.log()]

        [a] = await eventually(running, "a worker to take the interview", 45)
        draining, other = workers[a], workers[1 - a]
        await candidates[0].wait_until_agent("listening", timeout=60, after_speaking=True)
        assert draining.proc._proc is not None
        draining.proc._proc.send_signal(15)  # SIGTERM to the worker's main process only

        await eventually(
            lambda: asyncio.to_thread(lambda: "draining worker" in draining.log()),
            "the worker to start draining",
            15,
        )
        nxt = await dispatch(livekit_server, store, workers[0], new_plan())
        await join_candidate(livekit_server, nxt, candidates)

        async def taken_by_other() -> bool:
            return nxt.room in other.log()

        await eventually(taken_by_other, "the other worker to take the next interview", 45)
        await eventually(
            lambda: interview_closed(supabase_stack, first.interview_id),
            "the drained worker's interview to end",
            90,
        )
        final = await store.get_interview(first.interview_id)
        assert final is not None and final.status is InterviewStatus.completed, final
        assert nxt.room not in draining.log()
        exited = draining.proc._proc.wait(timeout=60)
        assert exited == 0
    finally:
        for w in workers:
            w.stop()


async def test_two_dispatches_for_one_room_leave_one_interviewer_and_only_it_speaks(
    livekit_server: LiveKitServer,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    workers = start_workers_named(start_worker, 2, SILENCE_CHECKIN_S="120")
    try:
        interview_id = (await store.create_interview(new_interview())).id
        room = f"iv-{interview_id}"
        meta = _metadata(interview_id)
        candidate = Candidate(
            livekit_server.url, token(livekit_server, f"candidate-{interview_id}", room)
        )
        candidates.append(candidate)
        await asyncio.gather(
            dispatch_only(livekit_server, workers[0].agent_name, room, meta),
            dispatch_only(livekit_server, workers[0].agent_name, room, meta),
        )
        await candidate.join()
        await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)

        async def one_agent() -> list[str]:
            agents = await agents_in_room(livekit_server, room)
            return agents if len(agents) == 1 else []

        [remaining] = await eventually(one_agent, "one interviewer to remain", 30)
        spoke = {identity for identity, state in candidate.agent_events if state == "speaking"}
        assert spoke == {remaining}, candidate.agent_events
    finally:
        for w in workers:
            w.stop()
