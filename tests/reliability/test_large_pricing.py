"""A large user pricing file: read when the instrumentation is set up, and regex lookups that scale.

The file (``GENAI_COST_PRICING_FILE``) is read when the instrumentors and ``CostSpanProcessor``
are built, never inside the first LLM call: removing it right after ``instrument()`` changes
nothing. A call whose model only a regex can price runs the few regexes that can match its
name, not all of them (checked by how many patterns were ever compiled, not by timing).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.reliability.support import wire
from tests.reliability.support.fault_server import FaultServer
from tests.reliability.support.harness import Telemetry, client

from genai_cost.config import ENV
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.pricing import table as table_module
from genai_cost.pricing.match import Regex
from genai_cost.processor import CostSpanProcessor
from genai_cost.semconv import GenAI, Ours, PricingStatus

REGEX_ENTRIES = 3_000
REGEX_MODEL = "house-model-1234-2025-06-01"
"""Priced by the regex entry ``house-model-1234(-YYYY-MM-DD)?`` of the file alone."""


def _entries() -> list[dict[str, object]]:
    regexes = [
        {
            "id": f"house:{i}",
            "provider": "openai",
            "match": {"regex": rf"house-model-{i}(-\d{{4}}-\d{{2}}-\d{{2}})?"},
            "input": 1,
            "output": 2,
        }
        for i in range(REGEX_ENTRIES)
    ]
    exact = {"id": "house:exact", "provider": "openai", "match": {"exact": "house-exact"}, "input": 3, "output": 4}
    return [*regexes, exact]


@pytest.fixture
def pricing_file(tmp_path: Path, settings_env: Callable[..., None]) -> Iterator[Path]:
    """A large pricing file in ``GENAI_COST_PRICING_FILE``, with the process default table rebuilt around it."""
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"entries": _entries()}))
    settings_env(**{ENV.PRICING_FILE: str(path)})
    saved = list(table_module._default)
    table_module._default.clear()
    yield path
    table_module._default[:] = saved


def _compiled_regexes(table: PricingTable) -> int:
    leaves = (leaf for entry in table.entries for leaf in entry.match.leaves())
    return sum(1 for leaf in leaves if isinstance(leaf, Regex) and leaf._compiled)


def test_pricing_file_is_read_by_instrument_not_by_the_first_call(
    telemetry: Telemetry, faults: FaultServer, pricing_file: Path
) -> None:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    pricing_file.unlink()  # read already: the calls below price with it all the same
    sdk = client(faults.base_url)
    try:
        for model in ("house-exact", REGEX_MODEL):
            reply = faults.headers(wire.json_reply(wire.chat_completion(model)))
            sdk.chat.completions.create(model=model, messages=[], extra_headers=reply)
    finally:
        instrumentor.uninstrument()

    exact, regex = telemetry.finished()
    assert [span.attributes.get(Ours.PRICING_ENTRY) for span in (exact, regex)] == ["house:exact", "house:1234"]
    assert regex.attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED


def test_a_call_priced_by_regex_runs_only_the_regexes_that_can_match(
    telemetry: Telemetry, faults: FaultServer, tmp_path: Path
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"entries": _entries()}))
    table = PricingTable.load(files=[path], include_bundled=False)
    sdk = client(faults.base_url)
    with telemetry.instrumented(pricing=table):
        for model in (REGEX_MODEL, "house-model-unknown"):
            reply = faults.headers(wire.json_reply(wire.chat_completion(model)))
            sdk.chat.completions.create(model=model, messages=[], extra_headers=reply)

    priced, unknown = telemetry.finished()
    assert priced.attributes.get(Ours.PRICING_ENTRY) == "house:1234"
    assert unknown.attributes[Ours.PRICING_STATUS] == PricingStatus.UNKNOWN_MODEL
    assert _compiled_regexes(table) <= 50  # of 3,000: a full scan would have run (and compiled) them all


def test_processor_reads_the_pricing_file_when_built(pricing_file: Path) -> None:
    exporter = InMemorySpanExporter()
    processor = CostSpanProcessor(SimpleSpanProcessor(exporter), meter_provider=MeterProvider())
    pricing_file.unlink()
    provider = TracerProvider()
    provider.add_span_processor(processor)
    attributes = {
        GenAI.PROVIDER_NAME: "openai",
        GenAI.RESPONSE_MODEL: REGEX_MODEL,
        GenAI.USAGE_INPUT_TOKENS: 10,
        GenAI.USAGE_OUTPUT_TOKENS: 5,
    }
    with provider.get_tracer("another-instrumentation").start_as_current_span("chat", attributes=attributes):
        pass
    provider.shutdown()

    (span,) = exporter.get_finished_spans()
    assert span.attributes.get(Ours.PRICING_ENTRY) == "house:1234"


def test_without_a_pricing_file_the_bundled_table_is_built_by_instrument_not_by_the_first_call(
    telemetry: Telemetry, faults: FaultServer, settings_env: Callable[..., None]
) -> None:
    settings_env(**{ENV.PRICING_FILE: ""})
    saved = list(table_module._default)
    table_module._default.clear()
    instrumentor = OpenAIInstrumentor()
    try:
        instrumentor.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
        built = list(table_module._default)
        decoded = set(built[0]._decoded) if built else set()
        reply = faults.headers(wire.json_reply(wire.chat_completion()))
        client(faults.base_url).chat.completions.create(model="gpt-4o-mini", messages=[], extra_headers=reply)
        after_call = list(table_module._default)
    finally:
        instrumentor.uninstrument()
        table_module._default[:] = saved

    # instrument() builds the table and decodes the OpenAI prices: the first call pays for neither.
    assert len(built) == 1 and after_call == built
    assert {"openai", "azure.ai.openai"} <= decoded
    assert telemetry.only_span().attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
