"""The Markdown export: every part of the report is there, the model's value beside an
override, and what people typed or said stays text (parsed back with markdown-it, the parser
behind most Markdown viewers' CommonMark mode)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from markdown_it import MarkdownIt

from token_server.report_markdown import escape, render_markdown, safe_filename
from token_server.report_schemas import Report, TranscriptItem

pytestmark = pytest.mark.unit

_AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
HOSTILE = "*Ada* <script>alert(1)</script> [x](http://e.vil) | # 1. `code` & _u_"


def _score(value: int, **extra: Any) -> dict[str, Any]:
    return {
        "value": value,
        "reason": f"reason {value}",
        "supported": True,
        "override": None,
        "effective": value,
        **extra,
    }


def _report(**changes: Any) -> Report:
    body: dict[str, Any] = {
        "interview": {
            "id": str(uuid.uuid4()),
            "candidate_name": "Zoë O'Brien",
            "role": "Backend engineer",
            "level": "senior",
            "type": "technical",
            "mode": "screening",
            "status": "completed",
            "created_at": _AT,
            "started_at": _AT,
            "ended_at": _AT,
            "duration_s": 754.0,
            "questions_planned": 5,
            "questions_asked": 2,
            "summary": "Solid on caching.\n- weak on queues",
        },
        "evaluation": {
            "state": "done",
            "model": "gpt-4.1-mini",
            "attempts": 1,
            "finished_at": _AT,
            "recommendation": "yes",
            "strengths": ["Explains trade-offs"],
            "concerns": ["Vague on retries"],
            "cost_usd": 0.0123,
        },
        "overall": {"clarity": 3.5, "relevance": 4.0, "depth": None, "accuracy": 2.25},
        "questions": [
            {
                "ordinal": 1,
                "text": "How would you cache reads?",
                "topic": "caching",
                "outcome": "answered",
                "live_scores": {"clarity": 3, "relevance": 3, "depth": 3, "accuracy": 3},
                "scores": {
                    "clarity": _score(
                        2,
                        override={
                            "value": 4,
                            "reason": "clear on replay",
                            "reviewer": "key-abc",
                            "at": _AT,
                        },
                        effective=4,
                    ),
                    "relevance": _score(4),
                    "depth": None,
                    "accuracy": _score(1, supported=False),
                },
                "evidence": [{"message_id": 42, "quote": "a TTL per key", "at_s": 83.4}],
                "answer_text": "With a TTL per key.",
                "feedback": ["Name the eviction policy"],
            }
        ],
        "review": {
            "decision": {"value": "advance", "reviewer": "key-abc", "at": _AT},
            "notes": [{"text": "Strong hire signal", "reviewer": "key-abc", "at": _AT}],
            "history": [
                {
                    "kind": "decision",
                    "detail": "decision: advance",
                    "reviewer": "key-abc",
                    "at": _AT,
                }
            ],
        },
        "cost": {"interview_usd": 0.5, "evaluation_usd": 0.0123},
    }
    body.update(changes)
    return Report.model_validate(body)


def _transcript(*lines: tuple[str, str]) -> list[TranscriptItem]:
    return [
        TranscriptItem(
            id=i, speaker=speaker, text=text, at_s=i * 10.0, started_at=_AT, interrupted=False
        )
        for i, (speaker, text) in enumerate(lines, start=1)
    ]


def test_the_export_carries_every_part_of_the_report() -> None:
    text = render_markdown(
        _report(),
        _transcript(
            ("interviewer", "How would you cache reads?"), ("candidate", "With a TTL per key.")
        ),
    )

    for expected in (
        "# Interview report: Zoë O'Brien",
        "- Role: Backend engineer (senior, technical, screening)",
        "- Duration: 12 min 34 s",
        "- Questions asked: 2 of 5",
        "- Recommendation: Yes",
        "- Decision: advance (by key-abc, 2026-12-02 09:30 UTC)",
        "| Clarity | 3.50 |",
        "| Depth | - |",
        "### Q1. How would you cache reads?",
        "Outcome: answered",
        # The model's value, then the override beside it, then what is in effect.
        "| Clarity | 2 | 4 (key-abc: clear on replay) | 4 | 3 | reason 2 |",
        "| Depth | - | - | - | 3 | not scored |",
        "| Accuracy | 1 | - | 1 | 3 | reason 1 (unsupported: no quote found) |",
        "> a TTL per key (01:23, message 42)",
        "- Explains trade-offs",
        "- Vague on retries",
        "\\- weak on queues",
        "- 2026-12-02 09:30 UTC, key-abc: Strong hire signal",
        "- 2026-12-02 09:30 UTC, key-abc: decision: advance",
        "**[00:10] Interviewer:** How would you cache reads?",
        "**[00:20] Candidate:** With a TTL per key.",
        "- Interview (realtime model): $0.5000",
        "- Evaluation (text model): $0.0123",
    ):
        assert expected in text, expected


def test_a_report_before_its_evaluation_says_so() -> None:
    report = _report(
        evaluation={
            "state": "pending",
            "model": None,
            "attempts": 0,
            "finished_at": None,
            "recommendation": None,
            "strengths": [],
            "concerns": [],
            "cost_usd": None,
        },
        questions=[],
        review={"decision": None, "notes": [], "history": []},
    )

    text = render_markdown(report, [])

    assert "- Recommendation: none (evaluation pending)" in text
    assert "- Decision: none yet" in text
    assert "No question was asked." in text
    assert "No transcript was stored." in text
    assert "- Evaluation (text model): $0.0123" in text


def test_what_people_typed_stays_text() -> None:
    report = _report()
    report = report.model_copy(
        update={"interview": report.interview.model_copy(update={"candidate_name": HOSTILE})}
    )

    html = (
        MarkdownIt("commonmark")
        .enable("table")
        .render(
            render_markdown(
                report, _transcript(("candidate", HOSTILE), ("candidate", "- 1. > # x"))
            )
        )
    )

    assert "<script>" not in html and "<em>" not in html and "<a " not in html
    assert "<code>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The transcript line starting with markup is not a list, a quote or a heading.
    assert "- 1. &gt; # x" in html


def test_escape_folds_lines_and_escapes_markup() -> None:
    assert escape("a\n\n*b*  |c|") == "a \\*b\\* \\|c\\|"
    assert escape("1. first") == "1\\. first"


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("Zoë O'Brien", "interview-report-zoe-o-brien.md"),
        ('../../etc/"passwd"\r\n', "interview-report-etc-passwd.md"),
        ("李雷", "interview-report.md"),
        ("A" * 80, "interview-report-" + "a" * 60 + ".md"),
    ],
)
def test_the_file_name_is_safe(name: str, filename: str) -> None:
    assert safe_filename(name) == filename
