"""The distro, the cost pipeline the configurator builds, the post-instrument check, instrument()."""

from __future__ import annotations

import logging
import os
import sys
import types
from collections.abc import Collection, Iterator
from typing import Any

import openai
import pytest
from opentelemetry.instrumentation.dependencies import DependencyConflictError
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._importlib_metadata import EntryPoint
from tests.support.telemetry import metric_points

import genai_cost
from genai_cost import autoinstrument, instrumentors
from genai_cost.autoinstrument import GenAICostConfigurator, GenAICostDistro, _CostPipeline, check_configuration
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.semconv import GenAI, Metrics, Ours

FAKE_MODULE = "genai_cost_test_fake_provider"


class MissingSdkInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Stands for a provider instrumentor whose SDK is not installed."""

    instrumented = False

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("genai-cost-no-such-sdk >= 1.0",)

    def _instrument(self, **kwargs: Any) -> None:
        type(self).instrumented = True

    def _uninstrument(self, **kwargs: Any) -> None:
        type(self).instrumented = False


@pytest.fixture
def fake_entry_point(monkeypatch: pytest.MonkeyPatch) -> Iterator[EntryPoint]:
    module = types.ModuleType(FAKE_MODULE)
    module.MissingSdkInstrumentor = MissingSdkInstrumentor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FAKE_MODULE, module)
    MissingSdkInstrumentor.instrumented = False
    yield EntryPoint(
        name="genai_cost_missing", value=f"{FAKE_MODULE}:MissingSdkInstrumentor", group="opentelemetry_instrumentor"
    )
    instrumentor = MissingSdkInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


def test_distro_sets_defaults_only_for_unset_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_PYTHON_CONFIGURATOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")

    GenAICostDistro().configure()

    assert os.environ["OTEL_TRACES_EXPORTER"] == "otlp"
    assert os.environ["OTEL_METRICS_EXPORTER"] == "otlp"
    assert os.environ["OTEL_PYTHON_CONFIGURATOR"] == "genai_cost"
    assert os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"


def test_distro_checks_each_of_our_instrumentors_sdk(fake_entry_point: EntryPoint) -> None:
    # What opentelemetry-instrument passes after checking the whole distribution.
    with pytest.raises(DependencyConflictError, match="genai-cost-no-such-sdk"):
        GenAICostDistro().load_instrumentor(fake_entry_point, skip_dep_check=True)

    assert MissingSdkInstrumentor.instrumented is False


def test_distro_leaves_other_packages_instrumentors_alone(fake_entry_point: EntryPoint) -> None:
    foreign = EntryPoint(name="missing", value=fake_entry_point.value, group=fake_entry_point.group)

    GenAICostDistro().load_instrumentor(foreign, skip_dep_check=True)

    assert MissingSdkInstrumentor.instrumented is True


def test_pipeline_puts_every_exporter_behind_one_cost_processor() -> None:
    reader = InMemoryMetricReader()
    pipeline = _CostPipeline(meter_provider=MeterProvider(metric_readers=[reader]))
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(pipeline.front)
    for exporter in (first, second):
        provider.add_span_processor(pipeline.export_processor(exporter))
    usage = {GenAI.REQUEST_MODEL: "gpt-4o-mini", GenAI.PROVIDER_NAME: "openai", GenAI.USAGE_INPUT_TOKENS: 10}

    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("request"), tracer.start_as_current_span("llm", attributes=usage):
        pass
    provider.force_flush()

    for exporter in (first, second):
        spans = {span.name: span for span in exporter.get_finished_spans()}
        assert set(spans) == {"request", "llm"}
        assert GenAI.USAGE_COST_AMOUNT in spans["llm"].attributes
        assert spans["request"].attributes[Ours.SUBTREE_CALLS] == 1
    (point,) = metric_points(reader, Metrics.OPERATION_COST)
    assert point.count == 1
    provider.shutdown()


@pytest.mark.parametrize(
    ("chosen", "level"),
    [pytest.param(None, logging.WARNING, id="first-found"), pytest.param("configurator", logging.INFO, id="named")],
)
def test_check_configuration_explains_when_another_configurator_ran(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, chosen: str | None, level: int
) -> None:
    monkeypatch.setattr(GenAICostConfigurator, "cost_processor", None)
    if chosen is None:
        monkeypatch.delenv("OTEL_PYTHON_CONFIGURATOR", raising=False)
    else:
        monkeypatch.setenv("OTEL_PYTHON_CONFIGURATOR", chosen)

    with caplog.at_level(logging.DEBUG, logger=autoinstrument.__name__):
        check_configuration()

    (record,) = caplog.records
    assert record.levelno == level
    assert "OTEL_PYTHON_CONFIGURATOR=genai_cost" in record.getMessage()


def test_check_configuration_is_silent_when_ours_ran(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(GenAICostConfigurator, "cost_processor", _CostPipeline().front)

    with caplog.at_level(logging.DEBUG, logger=autoinstrument.__name__):
        check_configuration()

    assert caplog.records == []


def test_instrument_turns_on_every_installed_provider_and_uninstrument_undoes_it(
    fake_openai: FakeOpenAIServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
) -> None:
    with openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=0) as client:
        try:
            names = genai_cost.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
            client.embeddings.create(model="text-embedding-3-small", input="hi")
        finally:
            genai_cost.uninstrument()
        client.embeddings.create(model="text-embedding-3-small", input="hi")

    assert "genai_cost_openai" in names
    assert all(name.startswith("genai_cost_") for name in names)
    (span,) = span_exporter.get_finished_spans()
    assert GenAI.USAGE_COST_AMOUNT in span.attributes


def test_instrument_skips_a_provider_whose_sdk_is_missing(
    monkeypatch: pytest.MonkeyPatch, fake_entry_point: EntryPoint, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(instrumentors, "entry_points", lambda group: [fake_entry_point])

    with caplog.at_level(logging.WARNING):
        assert genai_cost.instrument() == ()

    assert MissingSdkInstrumentor.instrumented is False
    assert caplog.records == []
