"""The planner's checks of the model's answer, the request checks and the summaries, and the
offline planner (realtime_local.planner) that stands in for the model."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import pytest

from interview.contract import InterviewPlan, InterviewType, Level
from interview.planner import (
    DraftQuestionOut,
    PlanDraftOut,
    PlanInputError,
    asks_what_resume_answers,
    build_input,
    check_draft,
    check_request,
    scrub_summary,
)
from interview.planning import CustomQuestion, FollowUp, QuestionSource
from interview.store import BankQuestion
from interview.textmodel import ModelFailure
from realtime_local.planner import PlanInput, draft_plan, spoil, states_experience

pytestmark = pytest.mark.unit

SETTINGS = InterviewPlan(
    candidate_name="Alex Example",
    role="Backend engineer",
    level=Level.senior,
    type=InterviewType.technical,
    mode="screening",  # type: ignore[arg-type]
    question_count=4,
)
CUSTOM = [
    CustomQuestion(
        text="Why do you want to join our payments team?",
        verbatim=True,
        ideal_answer="Knows the team.",
        time_limit_s=120,
        follow_up=FollowUp.none,
    )
]


def bank_question(text: str, topic: str = "databases") -> BankQuestion:
    return BankQuestion(
        id=uuid4(),
        role="backend-engineer",
        level=Level.senior,
        type=InterviewType.technical,
        topic=topic,
        difficulty=4,
        text=text,
        strong_answer="What the bank says a strong answer covers.",
    )


BANK = [
    bank_question("A single Postgres instance is reaching its write capacity. What now?"),
    bank_question("How would you design an idempotent payment API?", "api-design"),
]


def out(*questions: DraftQuestionOut) -> PlanDraftOut:
    return PlanDraftOut(
        questions=list(questions),
        role_summary="A senior backend role on payments.",
        candidate_summary="Five years of Go.",
    )


def custom_out(text: str = CUSTOM[0].text) -> DraftQuestionOut:
    return DraftQuestionOut(
        source="custom",
        bank_question_id=None,
        text=text,
        topic="motivation",
        difficulty=2,
        strong_answer=None,
        rationale="theirs",
    )


def bank_out(q: BankQuestion | UUID, text: str = "paraphrased") -> DraftQuestionOut:
    qid = q.id if isinstance(q, BankQuestion) else q
    return DraftQuestionOut(
        source="bank",
        bank_question_id=str(qid),
        text=text,
        topic="x",
        difficulty=1,
        strong_answer=None,
        rationale="The job description names Postgres.",
    )


def generated_out(text: str, strong: str | None = "Pods, probes, rollouts.") -> DraftQuestionOut:
    return DraftQuestionOut(
        source="generated",
        bank_question_id=None,
        text=text,
        topic="kubernetes",
        difficulty=4,
        strong_answer=strong,
        rationale="The job description names Kubernetes.",
    )


GOOD = out(
    custom_out(),
    bank_out(BANK[0]),
    generated_out("Tell me about a Kubernetes incident you debugged."),
    generated_out("Describe a concurrent Go service you wrote."),
)


def check(answer: PlanDraftOut, custom: list[CustomQuestion] = CUSTOM) -> Any:
    return check_draft(answer, settings=SETTINGS, custom=custom, bank=BANK)


def test_a_good_answer_keeps_the_teams_custom_question_and_the_banks_own_words() -> None:
    plan = check(GOOD)

    first, second, third = plan.questions[:3]
    assert first.text == CUSTOM[0].text
    assert (first.source, first.verbatim, first.time_limit_s, first.follow_up) == (
        QuestionSource.custom,
        True,
        120,
        FollowUp.none,
    )
    assert first.ideal_answer == "Knows the team."
    assert (second.source, second.bank_question_id, second.text) == (
        QuestionSource.bank,
        BANK[0].id,
        BANK[0].text,
    )
    assert second.strong_answer == BANK[0].strong_answer
    assert (third.source, third.strong_answer) == (
        QuestionSource.generated,
        "Pods, probes, rollouts.",
    )


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (out(*GOOD.questions[:3]), "wrong_count"),
        (out(*GOOD.questions, generated_out("One question too many here.")), "wrong_count"),
        (out(custom_out("Why do you want to join us?"), *GOOD.questions[1:]), "custom_changed"),
        (out(GOOD.questions[1], GOOD.questions[0], *GOOD.questions[2:]), "custom_changed"),
        (out(*GOOD.questions[:3], custom_out("An extra custom question?")), "custom_changed"),
        (out(*GOOD.questions[:3], bank_out(uuid4())), "unknown_bank_id"),
        (out(*GOOD.questions[:3], bank_out(BANK[0])), "duplicate_question"),
        (
            out(
                *GOOD.questions[:3],
                generated_out("Tell me about a KUBERNETES incident you debugged!"),
            ),
            "duplicate_question",
        ),
        (
            out(*GOOD.questions[:3], generated_out("A question without notes.", None)),
            "missing_strong_answer",
        ),
        (out(*GOOD.questions[:3], generated_out("Hi?")), "invalid_output"),
    ],
)
def test_a_bad_answer_is_refused_with_its_code(answer: PlanDraftOut, code: str) -> None:
    with pytest.raises(ModelFailure) as caught:
        check(answer)
    assert caught.value.code == code


def test_summaries_lose_contact_details_and_the_name_and_are_bounded() -> None:
    text = (
        "Alex Example (alex.example@mail.com, +1 (555) 010-9999, https://alex.dev) has five "
        "years of Go. Alex led a team."
    )

    got = scrub_summary(text, "Alex Example")

    assert "Alex" not in got and "@" not in got and "555" not in got and "http" not in got
    assert "five years of Go" in got
    assert len(scrub_summary("word " * 500)) <= 600


def test_the_request_is_refused_when_the_custom_questions_cannot_fit() -> None:
    many = [CustomQuestion(text=f"Custom question {n}?") for n in range(5)]
    with pytest.raises(PlanInputError) as caught:
        check_request(SETTINGS, many)
    assert (caught.value.code, caught.value.field) == (
        "too_many_custom_questions",
        "custom_questions",
    )

    twice = [CustomQuestion(text="Why this team?"), CustomQuestion(text="why this team")]
    with pytest.raises(PlanInputError) as caught:
        check_request(SETTINGS, twice)
    assert caught.value.field == "custom_questions[1].text"


def test_custom_time_limits_over_the_duration_are_a_warning() -> None:
    timed = [CustomQuestion(text=f"Custom question {n}?", time_limit_s=600) for n in range(3)]

    warnings = check_request(SETTINGS, timed)

    assert warnings == [
        "the custom questions' time limits add up to 30 minutes, more than the interview's 20"
    ]


def test_the_model_input_has_no_candidate_name() -> None:
    given = build_input(SETTINGS, job_description="Go", resume_text="Go", custom=CUSTOM, bank=BANK)

    assert "Alex" not in given.model_dump_json()
    assert given.kind == "interview_plan_draft"
    assert given.bank_candidates[0].tags[:2] == ["backend-engineer", "technical"]


# ---- the offline planner ----------------------------------------------------------------------


def offline(
    jd: str, resume: str, *, count: int = 4, bank: list[BankQuestion] = BANK
) -> list[dict[str, Any]]:
    settings = SETTINGS.model_copy(update={"question_count": count})
    given = build_input(settings, job_description=jd, resume_text=resume, custom=CUSTOM, bank=bank)
    drafted = draft_plan(PlanInput.model_validate(json.loads(given.model_dump_json())))
    # The offline answer is the planner's own answer type and passes its checks.
    checked = check_draft(
        PlanDraftOut.model_validate(drafted.model_dump()),
        settings=settings,
        custom=CUSTOM,
        bank=bank,
        resume_text=resume,
    )
    assert len(checked.questions) == count
    return [q.model_dump() for q in drafted.questions]


def test_offline_custom_first_then_the_skills_named_in_both_documents_first() -> None:
    questions = offline(
        "We run Kubernetes and Postgres; services in Go.", "Five years of Go. Some Python."
    )

    assert questions[0]["text"] == CUSTOM[0].text
    # Go (in both documents) before Kubernetes and Postgres (the job description only).
    assert [q["topic"] for q in questions[1:]] == ["go", "kubernetes", "databases"]
    assert questions[3]["source"] == "bank" and questions[3]["bank_question_id"] == str(BANK[0].id)


def test_offline_never_asks_for_experience_the_resume_states() -> None:
    stated = offline("Go services.", "I have 5+ years of Go.", count=2)[1]
    unstated = offline("Go services.", "I like Go.", count=2)[1]

    assert stated["topic"] == unstated["topic"] == "go"
    assert "how much" not in stated["text"].lower()
    assert "how much go experience" in unstated["text"].lower()
    assert states_experience_of("Go", "Go (five years)")
    assert not states_experience_of("Go", "Go. Five years of Java.")


def states_experience_of(name: str, resume: str) -> bool:
    from realtime_local.planner import SKILLS

    return states_experience(next(s for s in SKILLS if s.name == name), resume)


def test_offline_fills_the_count_from_the_bank_then_general_questions() -> None:
    questions = offline("Nothing in the vocabulary.", "", count=6, bank=BANK)

    assert len({q["text"] for q in questions}) == 6
    assert [q["source"] for q in questions] == [
        "custom",
        "bank",
        "bank",
        "generated",
        "generated",
        "generated",
    ]


@pytest.mark.parametrize("how", ["plan_unknown_bank_id", "plan_wrong_count", "plan_custom_changed"])
def test_a_spoiled_offline_plan_fails_the_planners_checks(how: str) -> None:
    given = build_input(
        SETTINGS, job_description="Postgres and Go", resume_text="", custom=CUSTOM, bank=BANK
    )
    drafted = draft_plan(PlanInput.model_validate(json.loads(given.model_dump_json())))

    spoiled = PlanDraftOut.model_validate(spoil(drafted.model_dump(), how))

    with pytest.raises(ModelFailure) as caught:
        check(spoiled)
    assert caught.value.code == how.removeprefix("plan_")


def test_the_bank_pool_keeps_type_and_nearby_levels_role_first() -> None:
    from interview.question_choice import bank_pool

    def q(role: str, level: Level, type: InterviewType, topic: str) -> BankQuestion:
        return bank_question(f"A question about {topic} for {role}?", topic).model_copy(
            update={"role": role, "level": level, "type": type}
        )

    own = q("backend-engineer", Level.senior, InterviewType.technical, "scaling")
    near = q("backend-engineer", Level.lead, InterviewType.technical, "architecture")
    general = q("general", Level.senior, InterviewType.technical, "debugging")
    far = q("backend-engineer", Level.junior, InterviewType.technical, "http")
    other = q("backend-engineer", Level.senior, InterviewType.behavioral, "conflict")

    pool = bank_pool(
        [general, far, other, near, own],
        role="backend-engineer",
        level=Level.senior,
        type=InterviewType.technical,
        limit=10,
    )
    mixed = bank_pool(
        [general, other, own],
        role="backend-engineer",
        level=Level.senior,
        type=InterviewType.mixed,
        limit=2,
    )

    assert pool == [own, near, general]
    assert mixed == [other, own]


@pytest.mark.parametrize(
    ("question", "resume", "asks"),
    [
        ("How much Go experience do you have?", "Five years of Go building APIs.", True),
        ("How long have you worked with Postgres?", "Postgres (6 yrs), Redis.", True),
        ("How long have you worked with Python?", "Five years of Go. Some Python.", False),
        ("How much Go experience do you have?", "I like Go.", False),
        ("Describe a concurrent service you wrote in Go.", "Five years of Go.", False),
    ],
)
def test_a_question_the_resume_answers_is_recognised(
    question: str, resume: str, asks: bool
) -> None:
    assert asks_what_resume_answers(question, resume) is asks


def test_a_generated_question_the_resume_answers_is_refused() -> None:
    answer = out(*GOOD.questions[:3], generated_out("How much Go experience do you have?"))

    with pytest.raises(ModelFailure) as caught:
        check_draft(
            answer, settings=SETTINGS, custom=CUSTOM, bank=BANK, resume_text="Five years of Go."
        )
    assert caught.value.code == "asks_what_resume_answers"
    # Without the years in the résumé the same question is fair.
    assert check_draft(answer, settings=SETTINGS, custom=CUSTOM, bank=BANK, resume_text="Go.")
