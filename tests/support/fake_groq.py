"""Groq's OpenAI-shaped API (``/openai/v1/...``) over :mod:`tests.support.fake_http`, with recorded shapes.

The bodies keep what real Groq responses carry; ids and texts are shortened:
- ``CHAT``: a llama-3.1-8b-instant completion from Groq's batch documentation
  (console.groq.com/docs/batch, the example output line): ``usage`` with Groq's timing fields
  (``queue_time``, ``prompt_time``...) next to the counts, and ``x_groq.id``.
- ``STREAM``: the last chunks of a gemma2-9b-it stream from the Vercel AI SDK's Groq provider
  tests (vercel/ai, packages/groq/src/groq-chat-language-model.test.ts): no top-level
  ``usage``; the counts arrive in the final chunk's ``x_groq.usage`` without ``include_usage``.
- errors: Groq's ``{"error": {"message", "type", "code"}}`` body.
"""

from __future__ import annotations

from typing import Any

from tests.support.fake_http import FakeHTTPServer, Reply, Request, sse_frame

__all__ = ["CHAT", "EMBEDDING", "STREAM_CHUNKS", "fake_groq_server"]

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
    if request.json().get("stream"):
        frames = (*(sse_frame(chunk) for chunk in STREAM_CHUNKS), b"data: [DONE]\n\n")
        reset = 1 if request.headers.get("x-fake-scenario") == "reset_mid_stream" else None
        return Reply(frames=frames, reset_after_frames=reset)
    return Reply(body=CHAT)


def fake_groq_server() -> FakeHTTPServer:
    return FakeHTTPServer(_answer)
