"""A dispatch of a newer schema version is told apart from an invalid one."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from interview.contract import (
    SCHEMA_VERSION,
    InterviewPlan,
    MetadataError,
    NewerSchemaVersion,
    decode_metadata,
    dispatch_metadata,
)

pytestmark = pytest.mark.unit

PLAN = InterviewPlan(
    candidate_name="A", role="Backend engineer", level="mid", type="technical", mode="practice"
)


def _with(**changes: object) -> str:
    data = json.loads(dispatch_metadata(uuid4(), PLAN))
    data.update(changes)
    return json.dumps(data)


def test_a_newer_version_is_its_own_error() -> None:
    with pytest.raises(NewerSchemaVersion) as newer:
        decode_metadata(_with(schema_version=SCHEMA_VERSION + 1, a_new_field="x"))

    assert newer.value.version == SCHEMA_VERSION + 1
    assert isinstance(newer.value, MetadataError)  # callers that only know MetadataError


@pytest.mark.parametrize("version", [0, "2", None, True, 1.5])
def test_other_versions_are_invalid_not_newer(version: object) -> None:
    with pytest.raises(MetadataError) as invalid:
        decode_metadata(_with(schema_version=version))

    assert not isinstance(invalid.value, NewerSchemaVersion)


def test_an_invalid_current_version_payload_is_not_newer() -> None:
    with pytest.raises(MetadataError) as invalid:
        decode_metadata(_with(level="wizard"))

    assert not isinstance(invalid.value, NewerSchemaVersion)
