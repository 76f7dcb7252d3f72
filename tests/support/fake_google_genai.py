"""A fake Gemini API and Vertex AI (Google models) server, speaking the real JSON and SSE formats.

Paths (``{m}`` a model id):

- Gemini API: ``/{version}/models/{m}:generateContent``, ``:streamGenerateContent?alt=sse``,
  ``:batchEmbedContents`` (embeddings carry no usage, as on the real API).
- Vertex AI: ``/v1beta1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent``,
  ``:streamGenerateContent?alt=sse``, ``:embedContent`` (with ``usageMetadata``) and ``:predict``
  (``predictions[].embeddings.statistics.token_count``).

``usageMetadata`` has ``promptTokenCount`` (cached tokens included), ``candidatesTokenCount``,
``cachedContentTokenCount``, ``thoughtsTokenCount``, ``toolUsePromptTokenCount`` and the
per-modality ``promptTokensDetails``/``cacheTokensDetails``/``candidatesTokensDetails``/
``toolUsePromptTokensDetails``. Streams send the full usage on the last chunk; earlier chunks
carry the prompt count (Gemini API) or only ``trafficType`` (Vertex AI), as the real services do.

A grounded answer (Google Search) has ``groundingMetadata`` on its candidate, with the
``webSearchQueries`` the model ran; streamed, every chunk's candidate carries an empty
``groundingMetadata`` and the last one the whole of it, as in a recorded gemini-2.5-pro stream
(pydantic-ai's cassette test_google_model_web_search_tool_stream, which also has the
``toolUsePromptTokensDetails`` shape).

Every answer names the service tier it was served at in an ``x-gemini-service-tier`` header,
as the Gemini API does: the request's ``serviceTier`` (``standard`` without one), or the
``x-fake-served-tier`` request header's value (a priority request over its limit is served at
standard).

Streams are SSE when the client asks for ``alt=sse`` (google-genai); otherwise, as the REST
transport of the older GAPIC SDKs (google-generativeai, vertexai: ``$alt=json``) gets them, one
JSON array whose elements arrive as they are generated, ``[{...}\n,\r\n{...}\n]`` (recorded from
the Gemini API in simonw/llm-gemini's tests/cassettes/test_gemini/test_prompt.yaml, and from
Vertex AI in elastic/elasticsearch's GoogleVertexAiChatCompletionResponseEntity.java).

The Interactions API (``POST /{version}/interactions``, google-genai's ``client.interactions``)
answers one ``Interaction`` (``id``, ``model``, ``status``, ``steps`` with a ``model_output``
step, ``usage``), or with ``"stream": true`` the SSE events ``interaction.created``,
``step.start``, ``step.delta`` (``{"type": "text", "text": ...}``), ``step.stop``,
``interaction.completed`` (the interaction with its ``usage``, no outputs) and ``[DONE]``. Its
``usage`` has the scenario's counts under the Interactions names (``total_input_tokens``,
``total_cached_tokens``, ``total_output_tokens``, ``total_thought_tokens``,
``total_tool_use_tokens``, ``total_tokens``, ``*_tokens_by_modality`` as
``{"modality": "text", "tokens": n}``). Shapes from the SDK's generated types
(``google.genai._gaos.types.interactions``: ``Interaction``, ``Usage``, ``ModalityTokens``,
``InteractionSSEEvent``) and the events of its own tests (``tests/interactions/
test_automatic_continuation.py``); the counts are the scenarios', not a recording. Scenario
``continued``: a request without a ``continuation_token`` stops at the decode limit
(``status: requires_continuation`` and a token), the request that passes the token back
completes, each hop with usage of its own (:data:`CONTINUED_HOPS`).

A create with ``"background": true`` answers the interaction ``in_progress`` without usage or
steps (a fresh id per create, ``v1_fakeBackground<n>``); ``GET /{version}/interactions/{id}`` of
an interaction created before answers it finished, with the scenario's usage (``?stream=true``: the SSE events a
streamed create sends), or with the ``x-fake-status`` header's status and no usage (a poll still
``in_progress``). An Interaction on the wire carries no ``background`` field: the SDK's
``Interaction`` type has none, ``CreateModelInteraction.background`` is "Input only".

The ``x-fake-scenario`` header picks a :data:`SCENARIOS` entry, ``x-fake-chunks`` the number of
stream chunks.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_http import FakeHTTPServer, Reply, Request, sse_frame

__all__ = [
    "CONTINUED_HOPS",
    "SCENARIOS",
    "Scenario",
    "answer",
    "fake_google_genai_server",
    "generate_bodies",
    "interaction_usage",
]


@dataclass(frozen=True)
class Scenario:
    prompt: int = 12
    candidates: int = 20
    cached: int | None = None
    thoughts: int | None = None
    tool_use_prompt: int | None = None
    prompt_modalities: dict[str, int] = field(default_factory=dict)
    cache_modalities: dict[str, int] = field(default_factory=dict)
    candidate_modalities: dict[str, int] = field(default_factory=dict)
    tool_use_modalities: dict[str, int] = field(default_factory=dict)
    web_search_queries: tuple[str, ...] | None = None
    """Set: the answer is grounded with Google Search and reports these queries."""
    usage: bool = True
    status: int = 200
    error_status: str | None = None
    reset_after_frames: int | None = None
    finish_reason: str = "STOP"


SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(),
    "cached": Scenario(
        prompt=4000,
        candidates=100,
        cached=3000,
        prompt_modalities={"TEXT": 4000},
        cache_modalities={"TEXT": 3000},
    ),
    "thinking": Scenario(prompt=30, candidates=100, thoughts=250),
    "audio": Scenario(
        prompt=1500,
        candidates=50,
        cached=1000,
        prompt_modalities={"TEXT": 300, "AUDIO": 1200},
        cache_modalities={"TEXT": 200, "AUDIO": 800},
        candidate_modalities={"TEXT": 50},
    ),
    "long_context": Scenario(prompt=250_000, candidates=1000, cached=50_000, thoughts=500),
    "tool_use": Scenario(prompt=100, candidates=20, tool_use_prompt=400),
    # Every modality genai-prices reads: PDF pages (DOCUMENT) count as image tokens, tool-use
    # prompt tokens (here a page fetched by URL context) are input of their own modality.
    "multimodal": Scenario(
        prompt=1224,
        candidates=1310,
        cached=458,
        tool_use_prompt=40,
        prompt_modalities={"TEXT": 100, "IMAGE": 258, "DOCUMENT": 516, "VIDEO": 300, "AUDIO": 50},
        cache_modalities={"IMAGE": 258, "DOCUMENT": 200},
        tool_use_modalities={"TEXT": 30, "DOCUMENT": 10},
        candidate_modalities={"TEXT": 20, "IMAGE": 1290},
    ),
    # The recorded gemini-2.5-pro grounded stream's counts, with the queries a gemini-3-flash-preview
    # answer reported (Google AI forum, "Are empty-string entries in
    # groundingMetadata.webSearchQueries billed", 2026): empty strings beside real queries.
    "grounded": Scenario(
        prompt=17,
        candidates=205,
        thoughts=319,
        tool_use_prompt=104,
        prompt_modalities={"TEXT": 17},
        tool_use_modalities={"TEXT": 104},
        web_search_queries=("", "best equity crowdfunding platforms 2026", "", "Wefunder vs Republic"),
    ),
    "no_usage": Scenario(usage=False),
    # Interactions: two hops (CONTINUED_HOPS); elsewhere the default answer.
    "continued": Scenario(),
    "max_tokens": Scenario(finish_reason="MAX_TOKENS"),
    "error_400": Scenario(status=400, error_status="INVALID_ARGUMENT"),
    "error_429": Scenario(status=429, error_status="RESOURCE_EXHAUSTED"),
    "error_500": Scenario(status=500, error_status="INTERNAL"),
    "reset_mid_stream": Scenario(reset_after_frames=2),
}

_WORDS = ("Hello", " from", " a", " fake", " Gemini", " model", " over", " real", " HTTP", ".")
_PATH = re.compile(
    r"^/(?P<version>v1[a-z0-9]*)/(?P<vertex>projects/[^/]+/locations/[^/]+/publishers/google/)?"
    r"models/(?P<model>[^:/]+):(?P<method>\w+)$"
)


def _details(modalities: dict[str, int]) -> list[dict[str, Any]]:
    return [{"modality": name, "tokenCount": tokens} for name, tokens in modalities.items()]


def _usage(scenario: Scenario, *, vertex: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {"promptTokenCount": scenario.prompt, "candidatesTokenCount": scenario.candidates}
    optional = (
        ("cachedContentTokenCount", scenario.cached),
        ("thoughtsTokenCount", scenario.thoughts),
        ("toolUsePromptTokenCount", scenario.tool_use_prompt),
    )
    usage.update({name: value for name, value in optional if value is not None})
    usage["totalTokenCount"] = sum(
        value or 0 for value in (scenario.prompt, scenario.candidates, scenario.thoughts, scenario.tool_use_prompt)
    )
    for name, modalities in (
        ("promptTokensDetails", scenario.prompt_modalities),
        ("cacheTokensDetails", scenario.cache_modalities),
        ("candidatesTokensDetails", scenario.candidate_modalities),
        ("toolUsePromptTokensDetails", scenario.tool_use_modalities),
    ):
        if modalities:
            usage[name] = _details(modalities)
    if vertex:
        usage["trafficType"] = "ON_DEMAND"
    return usage


def _grounding(queries: tuple[str, ...]) -> dict[str, Any]:
    return {
        "searchEntryPoint": {"renderedContent": "<style></style><div class=\"container\"></div>"},
        "groundingChunks": [{"web": {"uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/x",
                                     "title": "example.com"}}],
        "groundingSupports": [{"segment": {"startIndex": 0, "endIndex": 5, "text": "Hello"},
                               "groundingChunkIndices": [0]}],
        "webSearchQueries": list(queries),
    }  # fmt: skip


def _chunk(
    model: str, text: str, usage: dict[str, Any] | None, finish: str | None, grounding: dict[str, Any] | None = None
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    if grounding is not None:
        candidate["groundingMetadata"] = grounding
    body: dict[str, Any] = {"candidates": [candidate]}
    if usage is not None:
        body["usageMetadata"] = usage
    body["modelVersion"] = model
    body["responseId"] = "7sNJafakeResponseIdQ"
    return body


def generate_bodies(model: str, scenario: Scenario, chunks: int, *, vertex: bool, stream: bool) -> list[dict[str, Any]]:
    """The response of one call: its one body, or a stream's chunks (the full usage on the last)."""
    usage = _usage(scenario, vertex=vertex) if scenario.usage else None
    queries = scenario.web_search_queries
    grounding = None if queries is None else _grounding(queries)
    if not stream:
        text = "".join(_WORDS[i % len(_WORDS)] for i in range(chunks))
        return [_chunk(model, text, usage, scenario.finish_reason, grounding)]
    running: dict[str, Any] | None = None
    if scenario.usage:
        running = {"trafficType": "ON_DEMAND"} if vertex else {"promptTokenCount": scenario.prompt}
    pending = None if grounding is None else {}
    bodies = [_chunk(model, _WORDS[i % len(_WORDS)], running, None, pending) for i in range(chunks - 1)]
    bodies.append(_chunk(model, ".", usage, scenario.finish_reason, grounding))
    return bodies


def _json_array(bodies: list[dict[str, Any]]) -> tuple[bytes, ...]:
    elements = [(b"[" if i == 0 else b"\n,\r\n") + json.dumps(body).encode() for i, body in enumerate(bodies)]
    return (*elements, b"\n]")


def _generate(model: str, scenario: Scenario, chunks: int, *, vertex: bool, stream: bool, sse: bool) -> Reply:
    bodies = generate_bodies(model, scenario, chunks, vertex=vertex, stream=stream)
    if not stream:
        return Reply(body=bodies[0])
    if sse:
        frames = tuple(sse_frame(body) for body in bodies)
        return Reply(frames=frames, reset_after_frames=scenario.reset_after_frames)
    content_type = {"content-type": "application/json; charset=UTF-8"}
    return Reply(frames=_json_array(bodies), headers=content_type, reset_after_frames=scenario.reset_after_frames)


def _embed(method: str, request: dict[str, Any]) -> Reply:
    vector = [0.0123, -0.0456, 0.0789]
    if method == "batchEmbedContents":
        count = len(request.get("requests") or [None])
        return Reply(body={"embeddings": [{"values": vector} for _ in range(count)]})
    if method == "embedContent":
        usage = {"promptTokenCount": 7, "totalTokenCount": 7}
        return Reply(body={"embedding": {"values": vector}, "usageMetadata": usage, "truncated": False})
    instances = request.get("instances") or [None]
    statistics = {"token_count": 6, "truncated": False}
    predictions = [{"embeddings": {"values": vector, "statistics": statistics}} for _ in instances]
    return Reply(body={"predictions": predictions, "metadata": {"billableCharacterCount": 40}})


CONTINUED_HOPS = (Scenario(prompt=40, candidates=8192, thoughts=300), Scenario(prompt=8532, candidates=900))
"""The usage of the ``continued`` scenario's two hops: the second re-prefills the first's output."""
_INTERACTIONS = re.compile(r"^/(?P<version>v1[a-z0-9]*)/interactions$")
_INTERACTION_BY_ID = re.compile(r"^/(?P<version>v1[a-z0-9]*)/interactions/(?P<id>[A-Za-z0-9_-]+)$")
_BACKGROUND_IDS = itertools.count(1)
_CREATED: dict[str, dict[str, Any]] = {}
"""The interactions created so far: id -> the model or agent their create named."""


def interaction_usage(scenario: Scenario) -> dict[str, Any]:
    """The scenario's counts as an Interaction's ``usage``."""
    counts = (
        ("total_input_tokens", scenario.prompt),
        ("total_output_tokens", scenario.candidates),
        ("total_cached_tokens", scenario.cached),
        ("total_thought_tokens", scenario.thoughts),
        ("total_tool_use_tokens", scenario.tool_use_prompt),
    )
    usage: dict[str, Any] = {name: value for name, value in counts if value is not None}
    usage["total_tokens"] = sum(value for name, value in usage.items() if name != "total_cached_tokens")
    for name, modalities in (
        ("input_tokens_by_modality", scenario.prompt_modalities),
        ("cached_tokens_by_modality", scenario.cache_modalities),
        ("output_tokens_by_modality", scenario.candidate_modalities),
        ("tool_use_tokens_by_modality", scenario.tool_use_modalities),
    ):
        if modalities:
            usage[name] = [{"modality": modality.lower(), "tokens": tokens} for modality, tokens in modalities.items()]
    return usage


def _interaction(request: dict[str, Any], scenario_name: str) -> Reply:
    scenario = SCENARIOS[scenario_name]
    interaction: dict[str, Any] = {"id": "v1_fakeInteraction01", "model": request.get("model"), "status": "completed",
                                   "created": "2026-01-12T10:00:00Z", "updated": "2026-01-12T10:00:02Z"}  # fmt: skip
    if request.get("background") is True:
        return _background_created(request)
    _CREATED[interaction["id"]] = _named(request)
    if scenario_name == "continued":
        hop = 1 if request.get("continuation_token") else 0
        scenario = CONTINUED_HOPS[hop]
        interaction["id"] = f"v1_fakeInteractionHop{hop}"
        if hop == 0:
            interaction |= {"status": "requires_continuation", "continuation_token": "fake-continuation-token"}
    if scenario.usage:
        interaction["usage"] = interaction_usage(scenario)
    if request.get("service_tier"):
        interaction["service_tier"] = request["service_tier"]
    return _interaction_reply(interaction, scenario, stream=bool(request.get("stream")))


def _interaction_reply(interaction: dict[str, Any], scenario: Scenario, *, stream: bool) -> Reply:
    """A finished interaction: its JSON with the answer's step, or the SSE events that stream it."""
    if not stream:
        text = "".join(_WORDS)
        step = {"type": "model_output", "content": [{"type": "text", "text": text}]}
        return Reply(body={**interaction, "role": "model", "steps": [step]})
    started = {key: interaction.get(key) for key in ("id", "model", "agent") if key in interaction}
    events: list[Any] = [{"event_type": "interaction.created", "interaction": {**started, "status": "in_progress"},
                          "event_id": "evt-0"},
                         {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}}]  # fmt: skip
    events += [{"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": word}} for word in _WORDS]
    events += [{"event_type": "step.stop", "index": 0},
               {"event_type": "interaction.completed", "interaction": interaction, "event_id": "evt-1"}]  # fmt: skip
    frames = (*(sse_frame(event) for event in events), b"data: [DONE]\n\n")
    return Reply(frames=frames, headers={"content-type": "text/event-stream"},
                 reset_after_frames=scenario.reset_after_frames)  # fmt: skip


def _named(request: dict[str, Any]) -> dict[str, Any]:
    return {key: request[key] for key in ("model", "agent") if isinstance(request.get(key), str)}


def _background_created(request: dict[str, Any]) -> Reply:
    interaction_id = f"v1_fakeBackground{next(_BACKGROUND_IDS)}"
    _CREATED[interaction_id] = named = _named(request)
    return Reply(body={"id": interaction_id, **named, "status": "in_progress", "created": "2026-01-12T10:00:00Z"})


def _got(interaction_id: str, scenario: Scenario, request: Request) -> Reply:
    named = _CREATED.get(interaction_id)
    if named is None:
        return Reply(404, {"error": {"code": "not_found", "message": f"no interaction {interaction_id}"}})
    interaction: dict[str, Any] = {"id": interaction_id, **named, "created": "2026-01-12T10:00:00Z"}
    status = request.headers.get("x-fake-status")
    if status is not None:
        return Reply(body={**interaction, "status": status})
    interaction |= {"status": "completed", "updated": "2026-01-12T10:04:00Z", "usage": interaction_usage(scenario)}
    return _interaction_reply(interaction, scenario, stream="stream=true" in request.path)


def answer(request: Request) -> Reply:
    """The fake API's reply to one request (also used by the benchmarks' mock transport)."""
    scenario_name = request.headers.get("x-fake-scenario", "default")
    scenario = SCENARIOS.get(scenario_name)
    path = request.path.split("?")[0]
    match, interactions = _PATH.match(path), _INTERACTIONS.match(path)
    by_id = _INTERACTION_BY_ID.match(path) if request.method == "GET" else None
    if scenario is not None and by_id is not None:
        return _got(by_id["id"], scenario, request)
    if scenario is None or (match is None and interactions is None):
        return Reply(404, {"error": {"code": 404, "message": f"no fake for {request.path}", "status": "NOT_FOUND"}})
    if scenario.error_status is not None:
        error = {"code": scenario.status, "message": f"fake {scenario.error_status}", "status": scenario.error_status}
        if interactions is not None:  # the Interactions API's error has a string code (the SDK's ``Error``)
            error = {"code": scenario.error_status, "message": error["message"]}
        return Reply(scenario.status, {"error": error})
    if interactions is not None:
        return _interaction(request.json(), scenario_name)
    assert match is not None
    method, vertex = match["method"], match["vertex"] is not None
    if method in ("generateContent", "streamGenerateContent"):
        chunks = int(request.headers.get("x-fake-chunks", "4"))
        stream, sse = method == "streamGenerateContent", "alt=sse" in request.path
        reply = _generate(match["model"], scenario, chunks, vertex=vertex, stream=stream, sse=sse)
        reply.headers["x-gemini-service-tier"] = _served_tier(request)
        return reply
    return _embed(method, request.json())


def _served_tier(request: Request) -> str:
    requested = request.json().get("serviceTier") or "standard"
    return request.headers.get("x-fake-served-tier", str(requested).lower())


def fake_google_genai_server() -> FakeHTTPServer:
    """A not yet started server; ``with fake_google_genai_server() as server:``."""
    return FakeHTTPServer(answer)
