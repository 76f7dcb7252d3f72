"""Property tests: generated provider responses and usage payloads never hurt the app or the data.

Two levels: generated payloads fed as dicts through the OpenAI extractors and the shared
lifecycle (many examples, cheap), and generated payloads served over HTTP to the real SDK,
uninstrumented then instrumented (fewer examples). Properties: no exception reaches the app
(the outcome equals the uninstrumented one), every emitted attribute has a valid OTel type,
cost is never negative, and tokens add up: a count reaches the span and the ``track_usage``
totals exactly when it is a valid count, and the cost is the stated prices times those counts.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.reliability.support import wire
from tests.reliability.support.checks import assert_valid_attributes
from tests.reliability.support.fault_server import FaultServer
from tests.reliability.support.harness import PRICES, client, outcome, pricing_table
from tests.reliability.support.harness import Telemetry as Pipeline

from genai_cost.config import Settings
from genai_cost.costing import Costing
from genai_cost.instrumentation._core import Invocation, Operation, Telemetry
from genai_cost.instrumentation.openai.chat import ChunkAccumulator, read_chat_request, read_completion_response
from genai_cost.metrics import Instruments
from genai_cost.semconv import GenAI, Ours, PricingStatus
from genai_cost.tracking import active_trackers, track_usage

_MAX_COUNT = 2**63 - 1

counts = st.one_of(
    st.none(),
    st.integers(min_value=-5, max_value=10**7),
    st.integers(min_value=2**62, max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
prompt_details = st.one_of(
    st.none(), st.text(max_size=4), st.fixed_dictionaries({}, optional={"cached_tokens": counts})
)
completion_details = st.one_of(
    st.none(), st.integers(), st.fixed_dictionaries({}, optional={"reasoning_tokens": counts})
)
usages = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.fixed_dictionaries(
        {},
        optional={
            "prompt_tokens": counts,
            "completion_tokens": counts,
            "total_tokens": counts,
            "prompt_tokens_details": prompt_details,
            "completion_tokens_details": completion_details,
            "cost": st.one_of(st.none(), st.floats(), st.text(max_size=4), st.integers(min_value=-3, max_value=3)),
        },
    ),
)
models = st.one_of(
    st.just("gpt-4o-mini"), st.text(max_size=40), st.integers(), st.none(), st.lists(st.text(), max_size=2)
)


def _valid(value: Any) -> int | None:
    """The oracle for a reported count: what must reach the span (``None``: nothing)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value) if 0 <= value <= _MAX_COUNT else None


def _get(obj: Any, key: str) -> Any:
    """A field of a payload dict or of the SDK object the app received."""
    if isinstance(obj, dict):
        return obj.get(key)
    return None if isinstance(obj, (str, int, float, list)) else getattr(obj, key, None)


def _expected(usage: Any) -> tuple[int | None, int | None, int | None]:
    return (
        _valid(_get(usage, "prompt_tokens")),
        _valid(_get(usage, "completion_tokens")),
        _valid(_get(_get(usage, "prompt_tokens_details"), "cached_tokens")),
    )


def _stated_cost(input_tokens: int | None, output_tokens: int | None, cached: int | None) -> Decimal:
    """Stated prices times the counts: cache reads at their price, the rest of input and output at base."""
    millionths = Decimal(0)
    if cached is not None:
        millionths += cached * PRICES["cache_read"]
    if input_tokens is not None:
        millionths += max(input_tokens - (cached or 0), 0) * PRICES["input"]
    if output_tokens is not None:
        millionths += output_tokens * PRICES["output"]
    return millionths / Decimal(1_000_000)


def _provider_cost(value: Any) -> bool:
    """A cost the API reported: a finite, non-negative number, also as a numeric string."""
    if isinstance(value, str):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            return False
        return amount.is_finite() and amount >= 0 and math.isfinite(float(amount))
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _check(span: Any, totals: Any, usage: Any, response_model: Any) -> None:
    assert_valid_attributes(span)
    attributes = span.attributes
    input_tokens, output_tokens, cached = _expected(usage)
    assert attributes.get(GenAI.USAGE_INPUT_TOKENS) == input_tokens
    assert attributes.get(GenAI.USAGE_OUTPUT_TOKENS) == output_tokens
    assert attributes.get(GenAI.USAGE_CACHE_READ_INPUT_TOKENS) == cached
    assert (totals.prompt_tokens, totals.completion_tokens) == (input_tokens or 0, output_tokens or 0)
    assert totals.total_cost >= 0
    status = attributes[Ours.PRICING_STATUS]
    if _provider_cost(_get(usage, "cost")):
        assert status == PricingStatus.PROVIDER
    elif status == PricingStatus.PRICED:
        assert totals.total_cost == _stated_cost(input_tokens, output_tokens, cached)
        breakdown = sum(v for k, v in attributes.items() if k.startswith(Ours.COST_PREFIX))
        assert math.isclose(breakdown, attributes[GenAI.USAGE_COST_AMOUNT], rel_tol=1e-9, abs_tol=1e-18)
    else:
        unpriced_model = not (
            response_model == "gpt-4o-mini" or not isinstance(response_model, str) or not response_model
        )
        no_usage = (input_tokens, output_tokens, cached) == (None, None, None) and _valid(
            _get(_get(usage, "completion_tokens_details"), "reasoning_tokens")
        ) is None
        assert (status, no_usage or unpriced_model) in {
            (PricingStatus.NO_USAGE, True),
            (PricingStatus.UNKNOWN_MODEL, True),
        }


# --- level 1: extractors + lifecycle, fed dicts -------------------------------------------------


def _lifecycle() -> tuple[Telemetry, InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    instruments = Instruments(MeterProvider(), model_limit=100)
    telemetry = Telemetry(tracer_provider.get_tracer("properties"), instruments,
                          Costing(instruments, pricing_table()), Settings())  # fmt: skip
    return telemetry, spans


_TELEMETRY, _SPANS = _lifecycle()
_OPERATION = Operation(read_chat_request, read_completion_response)


@settings(max_examples=200, deadline=None, database=None)
@given(usage=usages, model=models, stream=st.booleans())
def test_generated_payloads_through_extractors_and_lifecycle(usage: Any, model: Any, stream: bool) -> None:
    _SPANS.clear()
    body = wire.chat_completion(model=model, usage=usage)
    with track_usage() as totals:
        request = {"model": "gpt-4o-mini", "messages": []}
        invocation = _TELEMETRY.start(_OPERATION, None, (), request, active_trackers())
        if stream:
            accumulator = ChunkAccumulator(hide_usage_chunk=False)
            for chunk in wire.chat_chunks(model=model, usage=usage):
                accumulator.add(chunk)
            invocation.finish(accumulator.result())
        else:
            assert invocation.succeed(body) is body
    assert isinstance(invocation, Invocation)
    (span,) = _SPANS.get_finished_spans()
    _check(span, totals, usage, model)


# --- level 2: the real SDK over HTTP ---------------------------------------------------------


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage=usages, model=models, stream=st.booleans())
def test_generated_responses_served_to_the_real_sdk(
    module_telemetry: Pipeline, faults: FaultServer, usage: Any, model: Any, stream: bool
) -> None:
    script = (
        wire.sse_reply(wire.chat_chunks(model=model, usage=usage))
        if stream
        else wire.json_reply(wire.chat_completion(model=model, usage=usage))
    )
    sdk = client(faults.base_url)
    headers = faults.headers(script)

    def call() -> Any:
        return sdk.chat.completions.create(model="gpt-4o-mini", messages=[], stream=stream, extra_headers=headers)

    module_telemetry.clear()
    plain = outcome(call)
    with module_telemetry.instrumented(), track_usage() as totals:
        traced = outcome(call)
    assert traced == plain
    if plain.error is not None:  # the SDK itself rejected the payload: recorded as a failure
        assert module_telemetry.only_span().attributes[GenAI.ERROR_TYPE]
        return
    # The oracle is the object the app received: the SDK coerces some nested values (False -> 0).
    received = _received(call(), stream=stream)
    _check(module_telemetry.only_span(), totals, _get(received, "usage"), _get(received, "model"))


def _received(result: Any, *, stream: bool) -> Any:
    """The response object, or the stream's last chunk with usage (else its first chunk)."""
    if not stream:
        return result
    chunks = list(result)
    with_usage = [chunk for chunk in chunks if chunk.usage is not None]
    return with_usage[-1] if with_usage else chunks[0]
