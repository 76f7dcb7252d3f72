"""Response shapes from real recorded API traffic, served over HTTP by :func:`server`.

Issue 23 replayed 2,456 API calls recorded in the test suites of opentelemetry-python-contrib,
OpenLLMetry, OpenInference and pydantic-ai through our instrumentors. The bodies and headers
below keep the facts those recordings carried (field names, which fields are present, the
counts, the model names the APIs answered with); ids, texts and timestamps are shortened.
Each reply says which of the issue's findings it carries; the issue gives the facts (model
names, counts, figures), not the suite each recording came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from tests.support.fake_http import FakeHTTPServer, Reply, Request, sse_frame

__all__ = [
    "DAVINCI_COMPLETION",
    "GPT_5_6_SOL_CACHE_WRITE",
    "GPT_5_6_SOL_COMPACTION",
    "GPT_5_6_SOL_ZEROS",
    "NOVA_LITE_GUARDRAIL",
    "NOVA_LITE_GUARDRAIL_HEADERS",
    "server",
]

_CREATED = 1_763_000_000


def _response(model: str, usage: dict[str, Any]) -> dict[str, Any]:
    """A Responses API ``response`` object, reduced to what the SDK needs and the usage."""
    return {
        "id": "resp_recorded",
        "object": "response",
        "created_at": _CREATED,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_recorded",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Done.", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "service_tier": "default",
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }


# Issue 23, item 1: a gpt-5.6-sol Responses call with 4,418 cache-write tokens, billed above
# the input rate. Input and output counts are the ones that give the two figures
# ($0.039762 with the writes at their rate, $0.035344 without), no cache reads or reasoning.
GPT_5_6_SOL_CACHE_WRITE = _response(
    "gpt-5.6-sol",
    {
        "input_tokens": 4421,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 4418},
        "output_tokens": 883,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 5304,
    },
)

# Issue 23, item 1: the 12 other Responses recordings report every detail, as zeros.
GPT_5_6_SOL_ZEROS = _response(
    "gpt-5.6-sol",
    {
        "input_tokens": 37,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 12,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 49,
    },
)

# Issue 23, item 6: ``responses.compact`` is billed and reports usage. The shape is the one the
# openai SDK (3.60, ``CompactedResponse``) declares: no model and no status; the output is the
# conversation's user messages and one opaque compaction item. The issue gives no counts:
# these exercise every detail (cache reads, reasoning, a zero cache write).
GPT_5_6_SOL_COMPACTION = {
    "id": "resp_compacted",
    "object": "response.compaction",
    "created_at": _CREATED,
    "output": [
        {"type": "message", "id": "msg_user", "status": "completed", "role": "user",
         "content": [{"type": "input_text", "text": "Plan the trip."}]},
        {"type": "compaction", "id": "cmp_recorded", "encrypted_content": "gAAAAB-opaque"},
    ],
    "usage": {
        "input_tokens": 18250,
        "input_tokens_details": {"cached_tokens": 16384, "cache_write_tokens": 0},
        "output_tokens": 1210,
        "output_tokens_details": {"reasoning_tokens": 704},
        "total_tokens": 19460,
    },
    "service_tier": "default",
}  # fmt: skip

# Issue 23, item 2: 27 legacy completions requested as ``davinci-002``; the API answers with
# the model's build name, ``davinci:2023-07-21-v2``, which no price list carries.
DAVINCI_COMPLETION = {
    "id": "cmpl-recorded",
    "object": "text_completion",
    "created": _CREATED,
    "model": "davinci:2023-07-21-v2",
    "choices": [{"text": " a test.", "index": 0, "logprobs": None, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 16, "total_tokens": 21},
}

# Issue 23, item 3: invoke_model on amazon.nova-lite with a guardrail: the body's usage has
# the input count only; the headers, what AWS bills, count the 51 output tokens too.
NOVA_LITE_GUARDRAIL = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Sorry, I can't help with that."}]}},
    "stopReason": "guardrail_intervened",
    "usage": {"inputTokens": 30},
    "amazon-bedrock-guardrailAction": "INTERVENED",
}
NOVA_LITE_GUARDRAIL_HEADERS = {
    "x-amzn-requestid": "recorded-request-0001",
    "x-amzn-bedrock-invocation-latency": "412",
    "x-amzn-bedrock-input-token-count": "30",
    "x-amzn-bedrock-output-token-count": "51",
}


def _openai(body: Mapping[str, Any]) -> Reply:
    return Reply(200, body, headers={"x-request-id": "req_recorded"})


def _responses(request: Request) -> Reply:
    body = GPT_5_6_SOL_ZEROS if request.headers.get("x-recorded") == "zeros" else GPT_5_6_SOL_CACHE_WRITE
    if request.json().get("stream") is not True:
        return _openai(body)
    # The stream's first and last events; usage arrives with the final response only.
    events = [("response.created", {**body, "status": "in_progress", "output": [], "usage": None}),
              ("response.completed", body)]  # fmt: skip
    frames = [sse_frame({"type": kind, "sequence_number": number, "response": response}, kind)
              for number, (kind, response) in enumerate(events)]  # fmt: skip
    return Reply(200, frames=(*frames, b"data: [DONE]\n\n"))


_ROUTES: dict[str, Callable[[Request], Reply]] = {
    "/v1/completions": lambda request: _openai(DAVINCI_COMPLETION),
    "/v1/responses/compact": lambda request: _openai(GPT_5_6_SOL_COMPACTION),
    "/v1/responses": _responses,
}


def _answer(request: Request) -> Reply:
    path = unquote(request.path.split("?")[0])
    if path.startswith("/model/amazon.nova-lite") and path.endswith("/invoke"):
        return Reply(200, NOVA_LITE_GUARDRAIL, headers=NOVA_LITE_GUARDRAIL_HEADERS)
    route = _ROUTES.get(path)
    return Reply(404, {"message": f"no recording for {path}"}) if route is None else route(request)


def server() -> FakeHTTPServer:
    """``with server() as fake:``; OpenAI clients at ``fake.origin + "/v1"``, boto3 at ``fake.origin``."""
    return FakeHTTPServer(_answer)
