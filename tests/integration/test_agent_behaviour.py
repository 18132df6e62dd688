"""The interviewer's rules on the real stack: the time cap, silence, bad dispatches, who it
listens to, and several interviews on one worker."""

from __future__ import annotations

import asyncio
import json

import pytest
from livekit import api, rtc

from devstack import LiveKitServer, SupabaseStack
from interview.store import InterviewStatus, QuestionOutcome
from interview.supabase_store import SupabaseStore
from realtime_local.audio import SIGNATURE_TONES_HZ
from tests.fixtures.agent import (
    Candidate,
    WorkerStarter,
    audit_kinds,
    dispatch,
    eventually,
    interview_closed,
    join_candidate,
    new_plan,
    rows,
    token,
)

pytestmark = pytest.mark.integration


async def _rooms(livekit: LiveKitServer, name: str) -> list[str]:
    async with api.LiveKitAPI(livekit.http_url, livekit.api_key, livekit.api_secret) as lk:
        found = await lk.room.list_rooms(api.ListRoomsRequest(names=[name]))
    return [r.name for r in found.rooms]


def _linked(log: str) -> list[str]:
    """Identities the worker's RoomIO linked to, from its JSON log."""
    linked = []
    for line in log.splitlines():
        if "RoomIO linked to participant" in line:
            record = json.loads(line)
            linked.append(next(v for k, v in record.items() if k.endswith("participant_identity")))
    return linked


async def test_the_time_cap_wraps_up_then_ends_and_times_out_the_open_question(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(
        questions=5, DURATION_OVERRIDE_S="14", WRAP_UP_LEAD_S="4", SILENCE_CHECKIN_S="120"
    )
    interview = await dispatch(livekit_server, store, worker, new_plan(question_count=5))
    await join_candidate(livekit_server, interview, candidates)

    await eventually(
        lambda: interview_closed(supabase_stack, interview.interview_id), "the end", 60
    )
    final = await store.get_interview(interview.interview_id)
    detail = await store.interview_detail(interview.interview_id)

    assert final is not None and detail is not None
    kinds = audit_kinds(supabase_stack, interview.interview_id)
    assert kinds.index("wrap_up_started") < kinds.index("time_limit_reached")
    assert final.status is InterviewStatus.completed
    assert final.summary == "Ended at the time limit."
    # The candidate never answered: the one open question timed out.
    assert [(q.ordinal, q.outcome) for q in detail.questions] == [(1, QuestionOutcome.timed_out)]
    assert detail.answers == []


async def test_silence_gets_a_check_in_then_a_polite_end(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(SILENCE_CHECKIN_S="3", SILENCE_MAX_CHECKINS="1")
    interview = await dispatch(livekit_server, store, worker, new_plan())
    candidate = await join_candidate(livekit_server, interview, candidates)

    await eventually(
        lambda: interview_closed(supabase_stack, interview.interview_id), "the end", 60
    )
    final = await store.get_interview(interview.interview_id)

    assert final is not None
    silences = rows(
        supabase_stack,
        "select detail->>'count' from audit_events where kind = 'candidate_silent' "
        f"and interview_id = '{interview.interview_id}' order by occurred_at",
    )
    assert [r[0] for r in silences] == ["1", "2"]  # one check-in, then the goodbye
    assert final.status is InterviewStatus.abandoned
    assert final.summary == "Ended after repeated silence."
    # The interviewer spoke after the last check-in: the goodbye reached the room.
    assert candidate.agent_frames > 0


async def test_invalid_metadata_ends_the_job_cleanly_and_marks_the_interview_failed(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
) -> None:
    worker = start_worker()
    bad = json.dumps({"schema_version": 1, "role": "x", "level": "wizard"})
    interview = await dispatch(livekit_server, store, worker, new_plan(), raw_metadata=bad)

    async def failed() -> bool:
        found = await store.get_interview(interview.interview_id)
        return found is not None and found.status is InterviewStatus.failed

    await eventually(failed, "the interview to be marked failed", 30)
    # The worker is still healthy: it takes and runs the next interview.
    good = await dispatch(livekit_server, store, worker, new_plan())

    async def live() -> bool:
        found = await store.get_interview(good.interview_id)
        return found is not None and found.status is not InterviewStatus.waiting

    candidate = Candidate(
        livekit_server.url, token(livekit_server, good.candidate_identity, good.room)
    )
    await candidate.join()
    try:
        await eventually(live, "the next interview to go live", 30)
    finally:
        await candidate.leave()

    log = worker.log()
    assert log.count("invalid dispatch metadata; ending the job") == 1
    assert "wizard" not in log  # the reason names fields, never values
    assert "invalid_metadata" in audit_kinds(supabase_stack, interview.interview_id)
    assert "Traceback" not in log


async def test_only_the_candidate_is_linked_and_heard(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(SILENCE_CHECKIN_S="120")
    candidate_tone, stranger_tone = SIGNATURE_TONES_HZ[:2]
    # Each voice is registered with its own words: the stranger's, if heard, would show.
    worker.realtime.set_scenario(
        {
            "user_transcripts_by_tone": {
                str(candidate_tone): ["The candidate."],
                str(stranger_tone): ["The stranger."],
            }
        }
    )
    interview = await dispatch(livekit_server, store, worker, new_plan())
    # A hidden observer and a visible stranger are in the room before the candidate arrives.
    observer = Candidate(
        livekit_server.url,
        token(livekit_server, "observer-1", interview.room, hidden=True),
    )
    stranger = Candidate(
        livekit_server.url,
        token(livekit_server, "stranger-1", interview.room),
        tone_hz=stranger_tone,
    )
    candidate = Candidate(
        livekit_server.url,
        token(livekit_server, interview.candidate_identity, interview.room),
        tone_hz=candidate_tone,
    )
    candidates.extend([observer, stranger, candidate])
    await observer.join(microphone=False)
    await stranger.join()

    async def agent_in_room() -> bool:
        return stranger.agent is not None

    # The interviewer is in the room with the stranger before the candidate comes.
    await eventually(agent_in_room, "the interviewer to join", 60)
    await candidate.join()

    await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)
    await stranger.say("I am not the candidate, listen to me instead.")
    await candidate.say("The candidate.")

    async def candidate_heard() -> list[list[str]]:
        return rows(
            supabase_stack,
            "select text from transcript_messages where speaker = 'candidate' "
            f"and interview_id = '{interview.interview_id}'",
        )

    lines = await eventually(candidate_heard, "the candidate's words in the transcript", 30)
    heard = [
        e["event"]["transcript"]
        for e in worker.realtime.events("server")
        if e["event"].get("type") == "conversation.item.input_audio_transcription.completed"
    ]

    assert heard == ["The candidate."]  # the stranger's voice never reached the model
    assert [r[0] for r in lines] == ["The candidate."]
    assert _linked(worker.log()) == [interview.candidate_identity]
    # The observer stayed invisible to the candidate and the stranger.
    assert "observer-1" not in candidate.room.remote_participants
    assert "observer-1" not in stranger.room.remote_participants


async def test_three_interviews_at_once_on_one_worker_stay_apart(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(questions=1, AGENT_IDLE_PROCESSES="3")
    names = ["Alice Archer", "Bruno Baker", "Chen Carter"]
    words = {name: f"My name is {name.split()[0]} and this is my answer." for name in names}
    tones = dict(zip(names, SIGNATURE_TONES_HZ, strict=False))
    # What the server hears comes from each voice's signature tone, not from the session it
    # arrives on: audio that crossed rooms would be stored as the other candidate's words.
    worker.realtime.set_scenario(
        {"user_transcripts_by_tone": {str(tones[n]): [w] for n, w in words.items()}}
    )
    interviews = [
        await dispatch(
            livekit_server, store, worker, new_plan(candidate_name=name, question_count=1)
        )
        for name in names
    ]
    people = [
        Candidate(
            livekit_server.url,
            token(livekit_server, iv.candidate_identity, iv.room),
            tone_hz=tones[name],
        )
        for iv, name in zip(interviews, names, strict=True)
    ]
    candidates.extend(people)
    await asyncio.gather(*(p.join() for p in people))

    async def answer(person: Candidate, name: str) -> None:
        await person.wait_until_agent("listening", timeout=90, after_speaking=True)
        await person.say(words[name])

    await asyncio.gather(*(answer(p, n) for p, n in zip(people, names, strict=True)))
    for iv in interviews:
        await eventually(
            lambda iv=iv: interview_closed(supabase_stack, iv.interview_id), "the end", 90
        )

    for name, iv in zip(names, interviews, strict=True):
        detail = await store.interview_detail(iv.interview_id)
        assert detail is not None
        assert detail.interview.status is InterviewStatus.completed
        assert [a.transcript for a in detail.answers] == [words[name]]
        assert len(detail.questions) == 1
        said = rows(
            supabase_stack,
            "select text from transcript_messages where speaker = 'candidate' "
            f"and interview_id = '{iv.interview_id}'",
        )
        assert [r[0] for r in said] == [words[name]]
    # The three rooms each had their own job process.
    assert sorted(_linked(worker.log())) == sorted(iv.candidate_identity for iv in interviews)


async def test_audio_carrying_another_candidates_signature_is_heard_as_theirs(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    """The check above can fail: audio from Bruno's room arriving in Alice's session is
    stored as Bruno's words, not hers."""
    worker = start_worker(questions=1, SILENCE_CHECKIN_S="120")
    alice_tone, bruno_tone = SIGNATURE_TONES_HZ[:2]
    worker.realtime.set_scenario(
        {
            "user_transcripts_by_tone": {
                str(alice_tone): ["Alice's own answer."],
                str(bruno_tone): ["Bruno's answer from another room."],
            }
        }
    )
    interview = await dispatch(
        livekit_server, store, worker, new_plan(candidate_name="Alice Archer", question_count=1)
    )
    # Alice's microphone carries what Bruno's would: crossed audio, as a leak would deliver.
    alice = await join_candidate(livekit_server, interview, candidates, tone_hz=bruno_tone)
    await alice.wait_until_agent("listening", timeout=60, after_speaking=True)
    await alice.say("My name is Alice and this is my answer.")

    await eventually(
        lambda: interview_closed(supabase_stack, interview.interview_id), "the end", 60
    )
    detail = await store.interview_detail(interview.interview_id)

    assert detail is not None
    assert [a.transcript for a in detail.answers] == ["Bruno's answer from another room."]


async def test_a_candidate_who_drops_and_rejoins_within_the_grace_window_carries_on(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(questions=1, RECONNECT_GRACE_S="30", SILENCE_CHECKIN_S="120")
    worker.realtime.set_scenario({"user_transcripts": ["Back again, here is my answer."]})
    interview = await dispatch(livekit_server, store, worker, new_plan(question_count=1))
    first = Candidate(
        livekit_server.url, token(livekit_server, interview.candidate_identity, interview.room)
    )
    await first.join()
    await first.wait_until_agent("listening", timeout=60, after_speaking=True)
    await first.leave()  # the phone lost its connection

    async def noticed() -> bool:
        return "candidate_left" in audit_kinds(supabase_stack, interview.interview_id)

    await eventually(noticed, "the agent to notice the candidate left", 30)
    again = await join_candidate(livekit_server, interview, candidates)
    await again.wait_until_agent("listening", timeout=30)
    await again.wait_for_mic_subscription(0, timeout=30)  # the agent listens to the new track
    await again.say("Back again, here is my answer.")

    await eventually(
        lambda: interview_closed(supabase_stack, interview.interview_id), "the end", 60
    )
    detail = await store.interview_detail(interview.interview_id)

    assert detail is not None
    assert detail.interview.status is InterviewStatus.completed
    assert [a.transcript for a in detail.answers] == ["Back again, here is my answer."]
    kinds = audit_kinds(supabase_stack, interview.interview_id)
    assert kinds.index("candidate_left") < kinds.index("candidate_rejoined")


async def test_a_candidate_who_talks_before_hearing_the_interviewer_still_hears_it(
    livekit_server: LiveKitServer,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    """The candidate's page is still subscribing to the interviewer's voice while the candidate
    is already talking (seen in Chromium: the microphone is live before the join). A reply
    interrupted then, before anyone subscribed, left livekit-agents' room audio output unable
    to play anything again: the interview ran to the end with a silent interviewer."""
    worker = start_worker(questions=2, SILENCE_CHECKIN_S="120")
    worker.realtime.set_scenario({"user_transcripts": ["Hello, can you hear me?"]})
    interview = await dispatch(livekit_server, store, worker, new_plan(question_count=2))
    candidate = await join_candidate(livekit_server, interview, candidates, auto_subscribe=False)
    await candidate.say("Hello, can you hear me? I am here and ready to start the interview.")

    async def voice_published() -> bool:
        agent = candidate.agent
        return agent is not None and any(
            p.kind == rtc.TrackKind.KIND_AUDIO for p in agent.track_publications.values()
        )

    await eventually(voice_published, "the interviewer's voice track", 60)
    assert candidate.agent_frames == 0  # not subscribed yet: nothing could be heard
    candidate.subscribe_to_the_interviewer()

    await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)
    await eventually(lambda: _loud(candidate), "the interviewer's voice", 10)


async def _loud(candidate: Candidate) -> bool:
    return candidate.agent_frames_loud > 25  # half a second of voice


async def test_the_candidate_ends_the_interview_from_the_page(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(questions=3, SILENCE_CHECKIN_S="120", RECONNECT_GRACE_S="120")
    worker.realtime.set_scenario({"user_transcripts": ["My only answer."]})
    interview = await dispatch(livekit_server, store, worker, new_plan(question_count=3))
    candidate = await join_candidate(livekit_server, interview, candidates)
    await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)
    await candidate.say("My only answer.")
    await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)
    agent = candidate.agent
    assert agent is not None

    reply = await candidate.room.local_participant.perform_rpc(
        destination_identity=agent.identity, method="interview.end", payload=""
    )
    await candidate.leave()
    # Ends well before the two-minute grace window a dropped connection would get.
    await eventually(
        lambda: interview_closed(supabase_stack, interview.interview_id), "the end", 30
    )
    detail = await store.interview_detail(interview.interview_id)

    assert reply == "ended"
    assert detail is not None
    assert detail.interview.status is InterviewStatus.completed
    assert detail.interview.summary == "The candidate ended the interview."
    assert [a.transcript for a in detail.answers] == ["My only answer."]
    assert [q.outcome for q in detail.questions] == [
        QuestionOutcome.answered,
        QuestionOutcome.skipped,
    ]
    assert "candidate_ended" in audit_kinds(supabase_stack, interview.interview_id)


async def test_a_fatal_model_error_fails_the_interview_and_closes_the_room(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(SILENCE_CHECKIN_S="120")
    # The model refuses the very first reply for good (as OpenAI does when the quota is gone).
    worker.realtime.set_scenario(
        {"responses": [[{"error": {"code": "insufficient_quota", "message": "quota exceeded"}}]]}
    )
    interview = await dispatch(livekit_server, store, worker, new_plan())
    await join_candidate(livekit_server, interview, candidates)

    await eventually(
        lambda: interview_closed(supabase_stack, interview.interview_id), "the end", 60
    )
    final = await store.get_interview(interview.interview_id)

    assert final is not None
    assert final.status is InterviewStatus.failed
    assert final.summary == "The interviewer could not continue."
    rooms = await _rooms(livekit_server, interview.room)
    assert rooms == []  # the candidate is not left alone in the room
