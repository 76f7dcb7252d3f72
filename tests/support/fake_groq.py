"""Groq's OpenAI-shaped API (``/openai/v1/...``) over :mod:`tests.support.fake_http`, with recorded shapes.

The bodies keep what real Groq responses carry; ids and texts are shortened:
- ``CHAT``: a llama-3.1-8b-instant completion from Groq's batch documentation
  (console.groq.com/docs/batch, the example output line): ``usage`` with Groq's timing fields
  (``queue_time``, ``prompt_time``...) next to the counts, and ``x_groq.id``.
- ``STREAM``: the last chunks of a gemma2-9b-it stream from the Vercel AI SDK's Groq provider
  tests (vercel/ai, packages/groq/src/groq-chat-language-model.test.ts): no top-level
  ``usage``; the counts arrive in the final chunk's ``x_groq.usage`` without ``include_usage``.
- ``COMPOUND`` / ``COMPOUND_STREAM_CHUNKS`` (a request for ``groq/compound*``): made up in the
  groq SDK's shape (no recorded sample found): ``ChatCompletion.usage_breakdown.models[]``
  (``model``, ``usage``) next to a ``usage`` that is their sum; a stream carries both in the last
  chunk's ``x_groq`` (``XGroq.usage``, ``XGroq.usage_breakdown``).
- errors: Groq's ``{"error": {"message", "type", "code"}}`` body.
"""

from __future__ import annotations

from typing import Any

from tests.support.fake_http import FakeHTTPServer, Reply, Request, sse_frame

__all__ = ["CHAT", "COMPOUND", "COMPOUND_STREAM_CHUNKS", "EMBEDDING", "STREAM_CHUNKS", "fake_groq_server"]

CHAT: dict[str, Any] = {
    "id": "chatcmpl-recorded",
    "object": "chat.completion",
    "created": 1742425217,
    "model": "llama-3.1-8b-instant",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hola, ¿cómo estás hoy?"},
         "logprobs": None, "finish_reason": "stop"}
    ],
    "usage": {"queue_time": 1.0087154420000002, "prompt_tokens": 55, "prompt_time": 0.009901563,
              "completion_tokens": 55, "completion_time": 0.073333333, "total_tokens": 110,
              "total_time": 0.083234896},
    "system_fingerprint": "fp_076aab041c",
    "x_groq": {"id": "req_01jpra5n2qef6s66k65v8sy51h"},
}  # fmt: skip

_CHUNK = {"id": "chatcmpl-e7f8e220", "object": "chat.completion.chunk", "created": 1711357598,
          "model": "gemma2-9b-it", "system_fingerprint": "fp_3bc1b5746c"}  # fmt: skip
STREAM_CHUNKS: tuple[dict[str, Any], ...] = (
    {**_CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Sparkle"}, "finish_reason": None}],
     "x_groq": {"id": "req_01jadadp0femyae9kav1gpkhe8"}},
    {**_CHUNK, "choices": [{"index": 0, "delta": {"content": " Day"}, "finish_reason": None}]},
    {**_CHUNK, "system_fingerprint": "fp_10c08bf97d",
     "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}],
     "x_groq": {"id": "req_01jadadp0femyae9kav1gpkhe8",
                "usage": {"queue_time": 0.061348671, "prompt_tokens": 18, "prompt_time": 0.000211569,
                          "completion_tokens": 439, "completion_time": 0.798181818, "total_tokens": 457,
                          "total_time": 0.798393387}}},
)  # fmt: skip

_BREAKDOWN = {
    "models": [
        {"model": "llama-3.3-70b-versatile",
         "usage": {"queue_time": 0.05, "prompt_tokens": 620, "prompt_time": 0.03, "completion_tokens": 35,
                   "completion_time": 0.1, "total_tokens": 655, "total_time": 0.13}},
        {"model": "openai/gpt-oss-120b",
         "usage": {"queue_time": 0.06, "prompt_tokens": 2410, "prompt_time": 0.08, "completion_tokens": 412,
                   "completion_time": 0.9, "total_tokens": 2822, "total_time": 0.98,
                   "prompt_tokens_details": {"cached_tokens": 1024},
                   "completion_tokens_details": {"reasoning_tokens": 180}}},
    ]
}  # fmt: skip
_COMPOUND_USAGE = {
    "prompt_tokens": 3030, "completion_tokens": 447, "total_tokens": 3477,
    "queue_time": 0.11, "prompt_time": 0.11, "completion_time": 1.0, "total_time": 1.11,
}  # fmt: skip
COMPOUND: dict[str, Any] = {
    "id": "chatcmpl-compound",
    "object": "chat.completion",
    "created": 1756000000,
    "model": "groq/compound",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "It is sunny in Paris today."},
         "logprobs": None, "finish_reason": "stop"}
    ],
    "usage": _COMPOUND_USAGE,
    "usage_breakdown": _BREAKDOWN,
    "system_fingerprint": None,
    "x_groq": {"id": "req_compound"},
}  # fmt: skip

_COMPOUND_CHUNK = {"id": "chatcmpl-compound", "object": "chat.completion.chunk", "created": 1756000000,
                   "model": "groq/compound", "system_fingerprint": None}  # fmt: skip
COMPOUND_STREAM_CHUNKS: tuple[dict[str, Any], ...] = (
    {**_COMPOUND_CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "It is sunny"},
                                      "finish_reason": None}], "x_groq": {"id": "req_compound"}},
    {**_COMPOUND_CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
     "x_groq": {"id": "req_compound", "usage": _COMPOUND_USAGE, "usage_breakdown": _BREAKDOWN}},
)  # fmt: skip

# Groq's embeddings answer in OpenAI's shape (its SDK's CreateEmbeddingResponse).
EMBEDDING: dict[str, Any] = {
    "object": "list",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2, 0.3]}],
    "model": "nomic-embed-text-v1_5",
    "usage": {"prompt_tokens": 7, "total_tokens": 7},
}

_RATE_LIMITED = {
    "error": {"message": "Rate limit reached for model `llama-3.1-8b-instant`", "type": "tokens",
              "code": "rate_limit_exceeded"}
}  # fmt: skip


def _answer(request: Request) -> Reply:
    if request.headers.get("x-fake-scenario") == "error_429":
        return Reply(status=429, body=_RATE_LIMITED)
    if request.path.endswith("/embeddings"):
        return Reply(body=EMBEDDING)
    body = request.json()
    compound = str(body.get("model")).startswith("groq/compound")
    if body.get("stream"):
        chunks = COMPOUND_STREAM_CHUNKS if compound else STREAM_CHUNKS
        frames = (*(sse_frame(chunk) for chunk in chunks), b"data: [DONE]\n\n")
        reset = 1 if request.headers.get("x-fake-scenario") == "reset_mid_stream" else None
        return Reply(frames=frames, reset_after_frames=reset)
    return Reply(body=COMPOUND if compound else CHAT)


def fake_groq_server() -> FakeHTTPServer:
    return FakeHTTPServer(_answer)
