"""The candidate's consent decision, as stored (one per interview; the first one stands).

The text and its version are the token server's (`token_server.consent`); the store keeps
which version was shown and what the candidate decided, nothing that names them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class ConsentDecision(StrEnum):
    agreed = "agreed"
    declined = "declined"


class Consent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    interview_id: UUID
    decision: ConsentDecision
    text_version: str = Field(min_length=1, max_length=64)
    decided_at: datetime
