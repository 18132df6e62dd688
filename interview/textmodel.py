"""One structured call to the text model, shared by the evaluator and the planner.

`parse_structured` makes one Chat Completions call with structured outputs (the `openai`
package builds the strict JSON schema from the pydantic model) and turns every way it can fail
into a `ModelFailure` with a short code (`timeout`, `connection`, `http_500`, `length`,
`content_filter`, `invalid_output`, `refusal`, `empty`); the caller's own checks raise it too,
so one retry policy (`backoff`: tenacity, exponential with jitter) covers them all. The client
(`text_client`) has the package's own retries off, so every attempt is the caller's and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import openai
import pydantic
from openai import AsyncOpenAI
from pydantic import BaseModel
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from interview.settings import EvaluatorSettings

Out = TypeVar("Out", bound=BaseModel)


class ModelFailure(Exception):
    """One model call that gave no usable answer; `code` is stored and audited."""

    def __init__(self, code: str, *, input_tokens: int = 0, output_tokens: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens


@dataclass(frozen=True)
class StructuredAnswer(Generic[Out]):
    out: Out
    input_tokens: int
    cached_tokens: int
    output_tokens: int


def _usage(completion: Any) -> tuple[int, int, int]:
    usage = getattr(completion, "usage", None)
    if usage is None:
        return 0, 0, 0
    details = getattr(usage, "prompt_tokens_details", None)
    cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
    return int(usage.prompt_tokens or 0), cached, int(usage.completion_tokens or 0)


async def parse_structured(
    client: AsyncOpenAI, model: str, system: str, user: str, response_format: type[Out]
) -> StructuredAnswer[Out]:
    """One call: `system` and `user` messages, answered as `response_format`; raises
    `ModelFailure`."""
    try:
        completion = await client.chat.completions.parse(
            model=model,
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            response_format=response_format,
        )
    except openai.APITimeoutError:
        raise ModelFailure("timeout") from None
    except openai.APIConnectionError:
        raise ModelFailure("connection") from None
    except openai.APIStatusError as exc:
        raise ModelFailure(f"http_{exc.status_code}") from None
    except openai.LengthFinishReasonError:
        raise ModelFailure("length") from None
    except openai.ContentFilterFinishReasonError:
        raise ModelFailure("content_filter") from None
    except (pydantic.ValidationError, ValueError):
        raise ModelFailure("invalid_output") from None
    prompt, cached, completion_tokens = _usage(completion)
    message = completion.choices[0].message if completion.choices else None
    if message is None:
        raise ModelFailure("empty", input_tokens=prompt, output_tokens=completion_tokens)
    if message.refusal:
        raise ModelFailure("refusal", input_tokens=prompt, output_tokens=completion_tokens)
    if message.parsed is None:
        raise ModelFailure("empty", input_tokens=prompt, output_tokens=completion_tokens)
    return StructuredAnswer(message.parsed, prompt, cached, completion_tokens)


def text_client(settings: EvaluatorSettings, *, timeout_s: float) -> AsyncOpenAI:
    """A client on the configured OpenAI (or local) endpoint; its own retries are off."""
    return AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value() or "unset",
        base_url=settings.openai_base_url or None,
        timeout=timeout_s,
        max_retries=0,
    )


def backoff(
    *,
    attempts: int,
    base_s: float,
    cap_s: float,
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> AsyncRetrying:
    """Retry `ModelFailure` up to `attempts` calls in all, re-raising the last one."""
    return AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=base_s, max=cap_s, jitter=base_s),
        retry=retry_if_exception_type(ModelFailure),
        before_sleep=before_sleep,
        reraise=True,
    )


def failure_code(state: RetryCallState) -> str:
    failure = state.outcome.exception() if state.outcome else None
    return failure.code if isinstance(failure, ModelFailure) else "error"
