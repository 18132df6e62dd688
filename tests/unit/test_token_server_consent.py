"""The candidate's consent over an in-memory store: the session endpoint sends the text, the
consent endpoint validates and records the decision once, join and the arrival refuse without
an agreement, and nothing is dispatched for an interview without one."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interview.consent import ConsentDecision
from interview.store import InterviewStatus
from tests.fixtures.token_server import CONSENT_PATH, MemoryStore, agree_and_join, consent_body
from tests.unit.test_token_server_api import add_interview, assert_error, make_settings
from token_server import tokens
from token_server.app import create_app
from token_server.arrival import ensure_interviewer
from token_server.consent import CONSENT_VERSION
from token_server.deps import Services
from token_server.routes.join import DECLINED_SUMMARY

pytestmark = pytest.mark.unit

NOTICE = "https://example.org/privacy"
# As tests/e2e look for them in what the candidate's page receives (SCORE, REPORT_WORDS).
CANDIDATE_LEAKS = re.compile(r'\bscores?\b|"(decision|recommendation|overall)"', re.I)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def app_client(tmp_path: Path, store: MemoryStore, **overrides: Any) -> TestClient:
    settings = make_settings(tmp_path, agent_arrival_timeout_s=30, **overrides)
    return TestClient(create_app(settings, store=store), base_url="http://127.0.0.1")


@pytest.fixture
def client(tmp_path: Path, store: MemoryStore) -> Iterator[TestClient]:
    with app_client(tmp_path, store, retention_days=90, privacy_notice_url=NOTICE) as c:
        yield c


def services(client: TestClient) -> Services:
    found: Services = client.app.state.services  # type: ignore[attr-defined]
    return found


def consent_audits(store: MemoryStore) -> list[str]:
    return [a.kind for a in store.audits if a.kind.startswith("consent_")]


# ---- what the page reads before joining -----------------------------------------------------


async def test_the_session_sends_the_text_its_version_retention_and_notice(
    client: TestClient, store: MemoryStore
) -> None:
    new, secret = await add_interview(store)
    resp = client.post("/api/join/session", json={"secret": secret})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["interview"]["candidate_name"] == new.plan.candidate_name
    assert body["agreed"] is False
    terms = body["consent"]
    assert terms["version"] == CONSENT_VERSION
    assert terms["retention_days"] == 90
    assert terms["privacy_notice_url"] == NOTICE
    text = " ".join(terms["text"])
    assert "AI interviewer" in text and "transcript" in text and "scored" in text
    assert "hiring team" in text and "90 days" in text and "privacy notice" in text
    # Reading it sends for no interviewer.
    assert services(client).arrivals.get(new.id) is None
    # The candidate's pages carry no word of the hiring team's (the e2e tests check them all).
    recorded = client.post(CONSENT_PATH, json=consent_body(secret))
    for candidate_body in (resp.text, recorded.text):
        assert not CANDIDATE_LEAKS.search(candidate_body), candidate_body


async def test_without_a_notice_url_the_text_says_to_ask_the_hiring_team(
    tmp_path: Path, store: MemoryStore
) -> None:
    _, secret = await add_interview(store)
    with app_client(tmp_path, store) as c:
        terms = c.post("/api/join/session", json={"secret": secret}).json()["consent"]
    assert terms["privacy_notice_url"] is None
    assert terms["retention_days"] == 180  # the default
    assert "Ask the hiring team" in " ".join(terms["text"])


def test_a_notice_that_is_not_a_web_address_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PRIVACY_NOTICE_URL"):
        make_settings(tmp_path, privacy_notice_url="javascript:alert(1)")


# ---- recording the decision --------------------------------------------------------------------


async def test_bad_input_is_refused_and_writes_nothing(
    client: TestClient, store: MemoryStore
) -> None:
    new, secret = await add_interview(store)
    unknown = client.post(CONSENT_PATH, json=consent_body(tokens.new_invite_secret()))
    assert_error(unknown, 404, "invite_not_found")
    assert_error(client.post(CONSENT_PATH, json=consent_body("short")), 422, "validation_error")
    for decision in ("yes", "agreed", "", None):
        bad = client.post(CONSENT_PATH, json={**consent_body(secret), "decision": decision})
        assert_error(bad, 422, "validation_error")
    extra = client.post(CONSENT_PATH, json={**consent_body(secret), "name": "Ada"})
    assert_error(extra, 422, "validation_error")
    no_version = {"secret": secret, "decision": "agree"}
    assert_error(client.post(CONSENT_PATH, json=no_version), 422, "validation_error")
    stale = client.post(CONSENT_PATH, json={**consent_body(secret), "text_version": "consent-old"})
    error = assert_error(stale, 409, "consent_version_mismatch")
    assert error["error"]["details"] == {"current_version": CONSENT_VERSION}
    assert store.consents == {} and consent_audits(store) == []
    assert store.interviews[new.id].status is InterviewStatus.waiting


async def test_agreeing_is_stored_with_the_version_and_agreeing_again_changes_nothing(
    client: TestClient, store: MemoryStore
) -> None:
    new, secret = await add_interview(store)
    first = client.post(CONSENT_PATH, json=consent_body(secret))
    again = client.post(CONSENT_PATH, json=consent_body(secret))
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json()
    assert first.json()["agreed"] is True
    stored = store.consents[new.id]
    assert stored.decision is ConsentDecision.agreed and stored.text_version == CONSENT_VERSION
    assert consent_audits(store) == ["consent_given"]
    given = next(a for a in store.audits if a.kind == "consent_given")
    assert given.detail == {"text_version": CONSENT_VERSION, "retention_days": 90}
    # The page reloaded: it is told the candidate already agreed.
    session = client.post("/api/join/session", json={"secret": secret}).json()
    assert session["agreed"] is True


async def test_declining_after_agreeing_is_refused_and_the_agreement_stands(
    client: TestClient, store: MemoryStore
) -> None:
    new, secret = await add_interview(store)
    assert client.post(CONSENT_PATH, json=consent_body(secret)).status_code == 200
    late = client.post(CONSENT_PATH, json=consent_body(secret, "decline"))
    error = assert_error(late, 409, "consent_already_decided")
    assert error["error"]["details"] == {"agreed": True}
    assert store.consents[new.id].decision is ConsentDecision.agreed
    assert consent_audits(store) == ["consent_given"]
    assert store.interviews[new.id].status is InterviewStatus.waiting


async def test_declining_cancels_the_interview_once_and_every_later_call_says_so(
    client: TestClient, store: MemoryStore
) -> None:
    new, secret = await add_interview(store)
    declined = client.post(CONSENT_PATH, json=consent_body(secret, "decline"))
    assert declined.status_code == 200, declined.text
    assert declined.json()["agreed"] is False
    interview = store.interviews[new.id]
    assert interview.status is InterviewStatus.cancelled
    assert interview.summary == DECLINED_SUMMARY
    assert consent_audits(store) == ["consent_declined"]

    for path, body in (
        (CONSENT_PATH, consent_body(secret, "decline")),
        (CONSENT_PATH, consent_body(secret)),
        ("/api/join/session", {"secret": secret}),
        ("/api/join", {"secret": secret}),
        ("/api/join/interviewer", {"secret": secret}),
    ):
        assert_error(client.post(path, json=body), 410, "consent_declined")
    assert consent_audits(store) == ["consent_declined"]
    assert services(client).arrivals.get(new.id) is None


async def test_an_ended_interview_takes_no_decision(client: TestClient, store: MemoryStore) -> None:
    _, secret = await add_interview(store, InterviewStatus.completed)
    assert_error(client.post(CONSENT_PATH, json=consent_body(secret)), 410, "interview_ended")
    assert store.consents == {}


# ---- joining depends on it ---------------------------------------------------------------------


async def test_joining_without_an_agreement_is_refused_and_sends_for_nobody(
    client: TestClient, store: MemoryStore
) -> None:
    new, secret = await add_interview(store)
    refused = client.post("/api/join", json={"secret": secret})
    error = assert_error(refused, 403, "consent_required")
    assert "consent" in error["error"]["message"]
    assert_error(
        client.post("/api/join/interviewer", json={"secret": secret}), 403, "consent_required"
    )
    assert services(client).arrivals.get(new.id) is None
    assert not [a for a in store.audits if a.kind == "candidate_token"]

    joined = agree_and_join(client, secret)
    assert joined.status_code == 200, joined.text
    assert joined.json()["token"]
    assert services(client).arrivals.get(new.id) is not None


async def test_an_arrival_started_without_an_agreement_dispatches_nothing(
    client: TestClient, store: MemoryStore
) -> None:
    # A participant webhook also starts the arrival task: it reads the decision itself and
    # stops at once (without it, it would keep at it until the bound and audit that).
    new, _ = await add_interview(store)
    interview = store.interviews[new.id]
    svc = services(client)

    async def run() -> None:
        arrival = ensure_interviewer(svc, interview, "candidate_joined")
        assert arrival is not None and arrival.task is not None
        await asyncio.wait_for(arrival.task, 5)
        assert arrival.state == "unavailable" and arrival.attempts == 0

    client.portal.call(run)  # type: ignore[union-attr]
    kinds = [a.kind for a in store.audits]
    assert "agent_dispatched" not in kinds and "agent_not_arrived" not in kinds
    [refused] = [a for a in store.audits if a.kind == "agent_not_dispatched"]
    assert refused.detail == {"reason": "no_consent", "trigger": "candidate_joined"}
