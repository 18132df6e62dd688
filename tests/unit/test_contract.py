"""The dispatch-metadata contract: round trip, versioning, bounds, and errors without values."""

from __future__ import annotations

import json
import uuid

import pytest

from interview.contract import (
    MAX_METADATA_BYTES,
    InterviewMetadata,
    Level,
    MetadataError,
    Mode,
    decode_metadata,
)

pytestmark = pytest.mark.unit


def _meta(**overrides: object) -> InterviewMetadata:
    fields: dict[str, object] = {
        "interview_id": uuid.uuid4(),
        "candidate_identity": "candidate-1",
        "candidate_name": "Ada Lovelace",
        "role": "Backend engineer",
        "level": "senior",
        "type": "technical",
        "mode": "practice",
        "focus_areas": ["APIs", "databases"],
    }
    fields.update(overrides)
    return InterviewMetadata.model_validate(fields)


def test_round_trip_keeps_every_field() -> None:
    meta = _meta()

    decoded = decode_metadata(meta.encode())

    assert decoded == meta
    assert decoded.level is Level.senior
    assert decoded.mode is Mode.practice
    assert json.loads(meta.encode())["schema_version"] == 2


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "no metadata"),
        ("", "no metadata"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"schema_version": 0}', "schema_version 0 is not supported"),
        ('{"role": "x"}', "schema_version None is not supported"),
    ],
)
def test_malformed_payloads_say_what_is_wrong(raw: str | None, reason: str) -> None:
    with pytest.raises(MetadataError, match=reason):
        decode_metadata(raw)


def test_invalid_fields_are_named_but_their_values_are_not_echoed() -> None:
    data = json.loads(_meta().encode())
    data["level"] = "wizard"
    data["candidate_name"] = "x" * 200

    with pytest.raises(MetadataError) as err:
        decode_metadata(json.dumps(data))

    assert "level" in str(err.value)
    assert "candidate_name" in str(err.value)
    assert "wizard" not in str(err.value)


def test_oversized_payload_is_refused() -> None:
    with pytest.raises(MetadataError, match="over"):
        decode_metadata(" " * (MAX_METADATA_BYTES + 1))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration_minutes", 4),
        ("duration_minutes", 91),
        ("question_count", 0),
        ("question_count", 21),
        ("focus_areas", ["a"] * 9),
        ("language", "English"),
        ("language", "en" + "-abcd" * 10),
        ("candidate_identity", "has space"),
        ("role", ""),
    ],
)
def test_bounds(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        _meta(**{field: value})
