"""The review log's derived state, and the list search's PostgREST filter (escaping)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from interview.review import NewReviewEvent, ReviewEvent, ReviewState, Rubric
from interview.rows import contains_any, like_literal, quoted_value

pytestmark = pytest.mark.unit

_T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
_IID = uuid.uuid4()


def _events(*changes: dict[str, object]) -> list[ReviewEvent]:
    out = []
    for seq, change in enumerate(changes, start=1):
        fields = {"event_id": uuid.uuid4(), "interview_id": _IID, "reviewer": "key-a", **change}
        new = NewReviewEvent.model_validate(fields)
        out.append(ReviewEvent(**new.model_dump(), seq=seq, created_at=_T0))
    return out


def test_the_latest_change_per_score_is_in_effect_and_a_removal_clears_it() -> None:
    events = _events(
        {"kind": "score_override", "ordinal": 1, "rubric": "depth", "value": 2, "text": "thin"},
        {"kind": "score_override", "ordinal": 1, "rubric": "depth", "value": 4, "text": "ok"},
        {"kind": "score_override", "ordinal": 2, "rubric": "clarity", "value": 5, "text": "x"},
        {"kind": "override_removed", "ordinal": 2, "rubric": "clarity"},
        {"kind": "decision", "decision": "reject"},
        {"kind": "note", "text": "first"},
        {"kind": "decision", "decision": "advance"},
        {"kind": "note", "text": "second"},
    )

    # Shuffled input: order is the log's (seq), not the list's; created_at ties do not matter.
    state = ReviewState.from_events(list(reversed(events)))

    assert {k: (v.value, v.reason) for k, v in state.overrides.items()} == {
        (1, Rubric.depth): (4, "ok")
    }
    assert state.decision is not None and state.decision.decision == "advance"
    assert [n.text for n in state.notes] == ["first", "second"]
    assert [e.seq for e in state.history] == list(range(1, 9))


def test_an_override_can_be_set_again_after_its_removal() -> None:
    events = _events(
        {"kind": "score_override", "ordinal": 1, "rubric": "depth", "value": 2, "text": "a"},
        {"kind": "override_removed", "ordinal": 1, "rubric": "depth"},
        {"kind": "score_override", "ordinal": 1, "rubric": "depth", "value": 3, "text": "b"},
    )

    assert ReviewState.from_events(events).overrides[(1, Rubric.depth)].value == 3


def test_no_events_no_state() -> None:
    state = ReviewState.from_events([])

    assert (state.overrides, state.decision, state.notes, state.history) == ({}, None, [], [])


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("ada", "ada"),
        ("50%", "50\\%"),
        ("a_b", "a\\_b"),
        ("back\\slash", "back\\\\slash"),
        # PostgREST reads * as % in like patterns with no escape for it: one character instead.
        ("c*", "c_"),
        ("\\%_", "\\\\\\%\\_"),
    ],
)
def test_like_literal_escapes_the_wildcards(text: str, pattern: str) -> None:
    assert like_literal(text) == pattern


def test_quoted_values_keep_the_logic_tree_separators_as_data() -> None:
    assert quoted_value('a,b.(c):"d"\\') == '"a,b.(c):\\"d\\"\\\\"'


def test_the_search_filter_is_one_or_over_both_columns() -> None:
    assert contains_any(("candidate_name", "role"), 'O"Brien, 5%') == (
        'candidate_name.ilike."%O\\"Brien, 5\\\\%%",role.ilike."%O\\"Brien, 5\\\\%%"'
    )


def test_review_events_refuse_values_out_of_range() -> None:
    with pytest.raises(ValueError, match="less than or equal to 5"):
        _events({"kind": "score_override", "ordinal": 1, "rubric": "depth", "value": 6})
