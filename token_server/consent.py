"""The consent text the candidate reads before joining, and its version.

The page shows exactly the text this module builds (the session endpoint sends it), and the
decision is stored with `CONSENT_VERSION`, so a stored version always names what was shown.
Rule: any change to the wording below needs a new `CONSENT_VERSION`. The retention and the
privacy notice are settings filled into the text; the `consent_given` audit event records the
retention the candidate was shown.

Who sees the interview is "the hiring team that invited you": the interviewers of the
organisation that created it. The retention is one token server setting (`RETENTION_DAYS`)
until organisations set their own.
"""

from __future__ import annotations

from token_server.settings import Settings

CONSENT_VERSION = "consent-2026-12-01"


def consent_text(settings: Settings) -> list[str]:
    """The paragraphs of the consent text, in order."""
    days = settings.retention_days
    kept = f"{days} day" if days == 1 else f"{days} days"
    notice = (
        "The organisation's privacy notice explains how your data is handled and how to ask "
        "for it to be deleted."
        if settings.privacy_notice_url
        else "Ask the hiring team that invited you how they handle your data and how to ask "
        "for it to be deleted."
    )
    return [
        "This interview is conducted by an AI interviewer, not a person.",
        "The conversation is recorded as a written transcript (your words and the "
        "interviewer's). Your answers are scored, and a report is written from them.",
        "The transcript and the report on your answers are seen by the hiring team of the "
        f"organisation that invited you. They are kept for {kept}, then deleted.",
        notice,
        "If you do not agree, the interview will not take place and the hiring team is told.",
    ]
