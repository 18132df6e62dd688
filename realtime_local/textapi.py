"""The part of the OpenAI Chat Completions API the report's evaluator uses, served locally.

`POST /v1/chat/completions` (non-streaming) on the Realtime server's port. A request is checked
against the `openai` package's own `CompletionCreateParamsNonStreaming` (a bad one gets HTTP 400
with an OpenAI error body naming the parameter), and the answer is built as the package's
`ChatCompletion`, with `usage`. When a user message is a plan draft document
(`{"kind": "interview_plan_draft", ...}`, the token server's planner) the deterministic planner
in `realtime_local.planner` answers it; when it is an evaluation input document
(`{"kind": "interview_evaluation", ...}`, CONTRACT-12 §1) the deterministic evaluator in
`realtime_local.evaluator` answers it, and its output is checked against the JSON schema the
request carries in `response_format`, so a mismatch with the caller's model is a clear 500 and
a log line rather than a parse error far away. Other requests get a short plain reply (or, with
a JSON schema, a value filled in from it).

Faults (`Faults.text_failures` / `text_failure_kind`): the next N valid calls fail with HTTP 500
or answer with a refusal, or (`plan_unknown_bank_id`, `plan_wrong_count`, `plan_custom_changed`)
answer a plan draft with a plan the caller must refuse. `calls` counts every request received,
for tests that check the evaluation ran exactly once.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema
from aiohttp import web
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from pydantic import TypeAdapter, ValidationError

from realtime_local.brain import fill_arguments
from realtime_local.evaluator import EvaluationInput, evaluate, evaluation_input
from realtime_local.faults import Faults
from realtime_local.planner import SPOILERS, PlanInput, draft_plan, plan_input, spoil

log = logging.getLogger("realtime_local.textapi")

PARAMS_ADAPTER: TypeAdapter[Any] = TypeAdapter(CompletionCreateParamsNonStreaming)
KNOWN_PARAMS = frozenset(
    CompletionCreateParamsNonStreaming.__required_keys__
    | CompletionCreateParamsNonStreaming.__optional_keys__
)
PLAIN_REPLY = (
    "This is the local text model. Send an interview_evaluation document to get an evaluation."
)
REFUSAL = "I'm sorry, I can't help with that request."


def bearer_ok(request: web.Request, api_key: str | None) -> bool:
    """A non-empty Bearer token, equal to `api_key` when one is configured (as the WebSocket)."""
    auth = request.headers.get("Authorization", "")
    token = auth[7:] if auth.startswith("Bearer ") else ""
    return bool(token) and (api_key is None or token == api_key)


def error_body(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class RequestError(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


def _materialise(value: Any, path: tuple[Any, ...] = ()) -> Any:
    """Lists for pydantic's lazy iterators (`Iterable[...]` fields validate on iteration)."""
    if isinstance(value, Mapping):
        return {k: _materialise(v, (*path, k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_materialise(v, (*path, i)) for i, v in enumerate(value)]
    if isinstance(value, Iterator):
        items = []
        try:
            for item in value:
                items.append(item)
        except ValidationError as exc:  # its locations start inside this iterator
            param, msg = describe(exc, path)
            raise RequestError(
                f"Invalid value for '{param}': {msg}", param, "invalid_value"
            ) from exc
        return [_materialise(v, (*path, i)) for i, v in enumerate(items)]
    return value


def _param(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _is_branch(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _is_branch(part: Any) -> bool:
    """A union member's name in an error location (the openai types are CamelCase classes)."""
    return isinstance(part, str) and part[:1].isupper()


def _wrong_branch(err: Any) -> bool:
    loc = err["loc"]
    return bool(err["type"] == "literal_error" and loc and loc[-1] in ("type", "role"))


def describe(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> tuple[str, str]:
    """(param, message) for a validation error, choosing the telling one among union branches.

    A union member whose discriminating field (`role`, `type`) does not match is another kind
    of value, not the problem; when every member is ruled out that way, the field is.
    """
    errors = exc.errors()
    branches: dict[str, bool] = {}  # union member -> ruled out by its discriminator
    for err in errors:
        branch = next((str(p) for p in err["loc"] if _is_branch(p)), "")
        branches[branch] = branches.get(branch, False) or _wrong_branch(err)
    for err in errors:
        branch = next((str(p) for p in err["loc"] if _is_branch(p)), "")
        if not branches[branch]:
            return _param(prefix + tuple(err["loc"])), str(err["msg"])
    literal = [e for e in errors if _wrong_branch(e)]
    expected = [str(e.get("ctx", {}).get("expected", "")) for e in literal]
    param = _param(prefix + tuple(literal[0]["loc"]))
    return param, "Input should be " + " or ".join(dict.fromkeys(x for x in expected if x))


def validate_params(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestError("The request body must be a JSON object.")
    unknown = sorted(set(body) - KNOWN_PARAMS)
    if unknown:
        raise RequestError(
            f"Unrecognized request argument supplied: {unknown[0]}", unknown[0], "unknown_parameter"
        )
    try:
        validated = PARAMS_ADAPTER.validate_python(body)
    except ValidationError as exc:
        param, msg = describe(exc)
        raise RequestError(f"Invalid value for '{param}': {msg}", param, "invalid_value") from exc
    params: dict[str, Any] = _materialise(validated)
    if not params["messages"]:
        raise RequestError("'messages' must contain at least one message.", "messages")
    return params


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def _schema_of(params: Mapping[str, Any]) -> dict[str, Any] | None:
    fmt = params.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        schema = fmt["json_schema"].get("schema")
        return dict(schema) if isinstance(schema, Mapping) else {}
    return None


class SchemaMismatch(Exception):
    def __init__(self, message: str, where: str, rule: str) -> None:
        super().__init__(message)
        self.where = where
        self.rule = rule


class TextApi:
    """The `POST /v1/chat/completions` handler; reads the faults at call time (they reset)."""

    def __init__(self, faults: Callable[[], Faults], api_key: str | None = None) -> None:
        self._faults = faults
        self.api_key = api_key
        self.calls = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        if not bearer_ok(request, self.api_key):
            return web.json_response(
                error_body(
                    "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
                ),
                status=401,
            )
        try:
            body = await request.json()
        except ValueError:
            return self._bad(RequestError("The request body is not valid JSON."))
        try:
            params = validate_params(body)
            content, kind = self._answer(params)
        except RequestError as exc:
            return self._bad(exc)
        except SchemaMismatch as exc:
            # the path and the rule only: the message may quote the candidate's words
            log.error(
                "evaluator output does not match the caller's response_format schema",
                extra={"at": exc.where, "rule": exc.rule},
            )
            problem = f"The local evaluator's output {exc}"
            return web.json_response(
                error_body(problem, "server_error", "schema_mismatch"), status=500
            )
        failure = self._faults().take_text_failure()
        if failure in SPOILERS:
            # A plan the caller's checks must refuse; other requests answer as they would.
            if kind == "plan":
                content = json.dumps(spoil(json.loads(content), failure or ""))
        elif failure == "error":
            log.info("failing a chat completion on purpose")
            return web.json_response(
                error_body(
                    "The server had an error while processing your request (fault injection).",
                    "server_error",
                    "server_error",
                ),
                status=500,
            )
        message = (
            ChatCompletionMessage(role="assistant", content=None, refusal=REFUSAL)
            if failure == "refusal"
            else ChatCompletionMessage(role="assistant", content=content)
        )
        n = int(params.get("n") or 1)
        prompt = sum(len(_text_of(m.get("content"))) for m in params["messages"]) // 4 + 1
        completion_tokens = (len(content) // 4 + 1) * n
        completion = ChatCompletion(
            id=f"chatcmpl-{secrets.token_hex(12)}",
            object="chat.completion",
            created=int(time.time()),
            model=str(params["model"]),
            choices=[
                Choice(index=i, finish_reason="stop", message=message, logprobs=None)
                for i in range(n)
            ],
            usage=CompletionUsage(
                prompt_tokens=prompt,
                completion_tokens=completion_tokens,
                total_tokens=prompt + completion_tokens,
            ),
        )
        log.info(
            "chat completion",
            extra={"kind": kind, "model": params["model"], "fault": failure or "none"},
        )
        return web.json_response(completion.model_dump(mode="json"))

    def _bad(self, exc: RequestError) -> web.Response:
        log.info("rejected a chat completion request", extra={"param": exc.param})
        return web.json_response(
            error_body(exc.message, "invalid_request_error", exc.code, exc.param), status=400
        )

    def _answer(self, params: dict[str, Any]) -> tuple[str, str]:
        """(the reply's content, what kind of request it was)."""
        schema = _schema_of(params)
        for i, msg in enumerate(params["messages"]):
            if msg.get("role") != "user":
                continue
            planning = plan_input(_text_of(msg.get("content")))
            if planning is not None:
                try:
                    plan_doc = PlanInput.model_validate(planning)
                except ValidationError as exc:
                    param, problem = describe(exc)
                    raise RequestError(
                        f"Invalid interview_plan_draft document at '{param}': {problem}",
                        f"messages[{i}].content",
                        "invalid_plan_input",
                    ) from exc
                drafted = draft_plan(plan_doc).model_dump(mode="json")
                self._check(drafted, schema)
                return json.dumps(drafted), "plan"
            raw = evaluation_input(_text_of(msg.get("content")))
            if raw is None:
                continue
            try:
                doc = EvaluationInput.model_validate(raw)
            except ValidationError as exc:
                param, problem = describe(exc)
                raise RequestError(
                    f"Invalid interview_evaluation document at '{param}': {problem}",
                    f"messages[{i}].content",
                    "invalid_evaluation_input",
                ) from exc
            result = evaluate(doc).model_dump(mode="json")
            self._check(result, schema)
            return json.dumps(result), "evaluation"
        if schema is not None:
            filled = fill_arguments(schema, {})
            self._check(filled, schema)
            return json.dumps(filled), "schema"
        return PLAIN_REPLY, "plain"

    @staticmethod
    def _check(value: Any, schema: dict[str, Any] | None) -> None:
        if schema is None:
            return
        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            raise SchemaMismatch(
                f"fails the response_format schema at {where}: {exc.message}",
                where,
                str(exc.validator),
            ) from exc
        except jsonschema.SchemaError as exc:
            raise RequestError(
                f"Invalid JSON schema in response_format: {exc.message}",
                "response_format.json_schema.schema",
                "invalid_json_schema",
            ) from exc
