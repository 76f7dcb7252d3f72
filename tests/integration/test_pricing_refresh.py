"""Runtime refresh of the process-wide pricing table from a local pricing source.

A :class:`~tests.support.price_server.PriceServer` on 127.0.0.1 serves a table; the refresher
(``GENAI_COST_PRICING_URL``, a short ``GENAI_COST_PRICING_REFRESH``) checks it continuously.
A test never sleeps for it: it waits until the refresher has completed a check that started
after the change (two more checks than when it changed the server).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.genai_prices_json import installed_data_json
from tests.support.price_server import PriceServer, price_document
from tests.support.telemetry import metric_points

from genai_cost.config import ENV, get_settings
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.metrics import Instruments
from genai_cost.pricing import PricingTable, fetch, refresh
from genai_cost.pricing import table as table_module
from genai_cost.pricing.documents import Layer
from genai_cost.pricing.provenance import bundled_provenance
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus, RefreshFailure

WAIT = 60.0
"""Seconds a check may take on a loaded machine before a test gives up (never reached when it works)."""
MODEL = "acme-chat"
BUNDLED = bundled_provenance().version


@pytest.fixture
def prices() -> Iterator[PriceServer]:
    with PriceServer() as server:
        yield server


Refreshing = Callable[..., refresh.Refresher]


@pytest.fixture
def refreshing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Refreshing]:
    """``refreshing(url)``: the process-wide table rebuilt with refresh from ``url`` on; its refresher."""

    def start(url: str, *, interval: str = "0.05") -> refresh.Refresher:
        monkeypatch.setenv(ENV.PRICING_URL, url)
        monkeypatch.setenv(ENV.PRICING_REFRESH, interval)
        get_settings.cache_clear()
        monkeypatch.setattr(table_module, "_default", [])
        PricingTable.default()  # builds the table, which starts the refresher
        refresher = refresh.active()
        assert refresher is not None and refresher.running
        return refresher

    yield start
    refresh.stop(timeout=WAIT)
    monkeypatch.undo()
    get_settings.cache_clear()


def next_check(refresher: refresh.Refresher) -> None:
    """Wait for a check that started after now (the one under way may have read the old document)."""
    assert refresher.wait_for_checks(refresher.checks + 2, WAIT), "the refresher stopped checking"


def checked(refresher: refresh.Refresher) -> PricingTable:
    next_check(refresher)
    return PricingTable.default()


Instrument = Callable[[], openai.OpenAI]


@pytest.fixture
def instrumented(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[Instrument]:
    """``instrumented()``: an OpenAI client to the fake server, instrumented (now, as an app does
    at start-up, after the environment is set) into the test's telemetry."""
    instrumentor = OpenAIInstrumentor()
    with FakeOpenAIServer() as fake, openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0) as sdk:

        def instrument() -> openai.OpenAI:
            instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
            return sdk

        try:
            yield instrument
        finally:
            instrumentor.uninstrument()


def chat(sdk: openai.OpenAI, model: str = MODEL) -> None:
    sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])


def stated_cost(span: ReadableSpan, input_price: str, output_price: str) -> float:
    """The cost of the span's tokens at the stated prices per 1M tokens (no cache price: all input alike)."""
    attributes = span.attributes or {}
    tokens_in, tokens_out = attributes[GenAI.USAGE_INPUT_TOKENS], attributes[GenAI.USAGE_OUTPUT_TOKENS]
    assert isinstance(tokens_in, int) and isinstance(tokens_out, int)
    return float((tokens_in * Decimal(input_price) + tokens_out * Decimal(output_price)) / 1_000_000)


def refresh_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == refresh.__name__ and record.levelno == logging.WARNING
    ]


def _printed(span: ReadableSpan) -> str:
    keys = (GenAI.REQUEST_MODEL, GenAI.USAGE_INPUT_TOKENS, GenAI.USAGE_OUTPUT_TOKENS, GenAI.USAGE_COST_AMOUNT,
            Ours.PRICING_STATUS, Ours.PRICING_ENTRY, Ours.PRICING_VERSION)  # fmt: skip
    return json.dumps({key: (span.attributes or {}).get(key) for key in keys})


# --- a changed price, a new model, 304 ----------------------------------------------------------


def test_a_price_changed_on_the_server_prices_the_next_call_at_the_new_rate_with_the_new_version(
    prices: PriceServer, refreshing: Refreshing, instrumented: Instrument, span_exporter: InMemorySpanExporter
) -> None:
    prices.serve(price_document({MODEL: (1.0, 2.0)}, generated_at="2026-12-01T00:00:00Z"))
    refresher = refreshing(prices.url)
    sdk = instrumented()
    checked(refresher)
    chat(sdk)
    prices.serve(price_document({MODEL: (3.0, 5.0)}, generated_at="2026-12-02T00:00:00Z"))
    checked(refresher)
    chat(sdk)

    before, after = span_exporter.get_finished_spans()
    print("\nbefore:", _printed(before), "\nafter: ", _printed(after))
    assert before.attributes is not None and after.attributes is not None
    assert before.attributes[GenAI.USAGE_COST_AMOUNT] == stated_cost(before, "1.0", "2.0")
    assert after.attributes[GenAI.USAGE_COST_AMOUNT] == stated_cost(after, "3.0", "5.0")
    assert before.attributes[Ours.PRICING_VERSION] == f"{BUNDLED}+{prices.url}@2026-12-01T00:00:00Z"
    assert after.attributes[Ours.PRICING_VERSION] == f"{BUNDLED}+{prices.url}@2026-12-02T00:00:00Z"
    assert after.attributes[Ours.PRICING_ENTRY] == f"refresh:{MODEL}"
    # Refresh on: the table can change, so the span names it, not the scope.
    assert after.instrumentation_scope is not None and not after.instrumentation_scope.attributes


def test_a_new_model_goes_from_unknown_model_to_priced_without_a_restart(
    prices: PriceServer, refreshing: Refreshing, instrumented: Instrument, span_exporter: InMemorySpanExporter
) -> None:
    prices.serve(price_document({MODEL: (1.0, 2.0)}))
    refresher = refreshing(prices.url)
    sdk = instrumented()
    checked(refresher)
    chat(sdk, "acme-next")
    prices.serve(price_document({MODEL: (1.0, 2.0), "acme-next": (4.0, 8.0)}))
    checked(refresher)
    chat(sdk, "acme-next")

    unknown, priced = span_exporter.get_finished_spans()
    assert unknown.attributes is not None and priced.attributes is not None
    assert unknown.attributes[Ours.PRICING_STATUS] == PricingStatus.UNKNOWN_MODEL
    assert GenAI.USAGE_COST_AMOUNT not in unknown.attributes
    assert priced.attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert priced.attributes[GenAI.USAGE_COST_AMOUNT] == stated_cost(priced, "4.0", "8.0")
    assert unknown.attributes[Ours.PRICING_VERSION] != priced.attributes[Ours.PRICING_VERSION]


@pytest.mark.parametrize(
    ("etags", "header"),
    [pytest.param(True, "if_none_match", id="etag"), pytest.param(False, "if_modified_since", id="last-modified")],
)
def test_an_unchanged_document_is_answered_304_and_the_table_stays(
    refreshing: Refreshing, etags: bool, header: str
) -> None:
    with PriceServer(etags=etags, last_modified=True) as prices:
        prices.serve(price_document({MODEL: (1.0, 2.0)}))
        refresher = refreshing(prices.url)
        installed = checked(refresher)
        checked(refresher)
        still = checked(refresher)
        refresh.stop(timeout=WAIT)

    first, *later = prices.seen
    assert first.status == 200 and getattr(first, header) is None
    assert later and {seen.status for seen in later} == {304}
    assert all(getattr(seen, header) for seen in later)  # each asked "changed since?"
    assert still is installed  # nothing rebuilt


# --- failures keep the last good table, one warning per kind -------------------------------------


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/prices.json"


FAILURES = [
    pytest.param("status:500", None, RefreshFailure.http(500), id="http-500"),
    pytest.param("ok", b'{"entries": [', RefreshFailure.BAD_DOCUMENT, id="bad-json"),
    pytest.param("ok", b'"a string"', RefreshFailure.BAD_DOCUMENT, id="not-a-document"),
    pytest.param(
        "ok",
        json.dumps({"entries": [{"id": "x", "match": {"exact": MODEL}, "input": -1, "output": 1}]}).encode(),
        RefreshFailure.INVALID_TABLE,
        id="invalid-table",
    ),
    pytest.param("ok", b"[{}]", RefreshFailure.INVALID_TABLE, id="invalid-genai-prices-data"),
    pytest.param("huge_declared", None, RefreshFailure.TOO_LARGE, id="50MB-declared"),
    pytest.param("huge_streamed", None, RefreshFailure.TOO_LARGE, id="50MB-streamed"),
    pytest.param("hang", None, RefreshFailure.TIMEOUT, id="hang"),
    pytest.param("closed", None, RefreshFailure.CONNECTION, id="connection-refused"),
]


@pytest.mark.parametrize(("mode", "body", "kind"), FAILURES)
def test_a_failing_source_keeps_the_last_good_table_with_one_warning_and_counts_each_failure(
    refreshing: Refreshing,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    body: bytes | None,
    kind: str,
) -> None:
    monkeypatch.setattr(fetch, "TIMEOUT", 0.3)  # a hang ends in a timeout quickly
    reader = InMemoryMetricReader()
    Instruments(MeterProvider(metric_readers=[reader]), model_limit=10)
    prices = PriceServer().__enter__()
    try:
        prices.serve(price_document({MODEL: (1.0, 2.0)}))
        refresher = refreshing(prices.url)
        good = checked(refresher)
        counted_before = refresh.failure_counts().get(kind, 0)
        if mode == "closed":
            prices.__exit__()  # the same URL, nobody listening now
        elif body is not None:
            prices.serve(body)
        prices.mode = mode
        for _ in range(3):
            kept = checked(refresher)
            assert kept is good
    finally:
        refresh.stop(timeout=WAIT)
        prices.__exit__()

    assert kept.match(MODEL, "openai") is not None and kept.version == good.version
    warnings = refresh_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert f"({kind}:" in warnings[0] and good.version in warnings[0]
    failed = refresh.failure_counts()[kind] - counted_before
    assert failed >= 3
    (point,) = [
        p for p in metric_points(reader, Metrics.PRICING_REFRESH_FAILURES) if p.attributes[GenAI.ERROR_TYPE] == kind
    ]
    assert point.value == refresh.failure_counts()[kind]


def _alone(layer: Layer) -> PricingTable:
    return PricingTable.of_layers([layer])


def test_after_failures_checks_come_sooner_then_back_off_to_the_interval(prices: PriceServer) -> None:
    refresher = refresh.Refresher(fetch.Fetcher(_closed_port_url()), interval=3600, rebuild=_alone)
    delays = []
    for _ in range(9):
        assert refresher.check() is False
        delays.append(refresher._delay())
    refresher._failures_in_a_row = 5000  # a source down for months
    assert refresher._delay() == 3600
    refresher.fetcher = fetch.Fetcher(prices.url)
    prices.serve(price_document({MODEL: (1.0, 2.0)}))
    assert refresher.check() is True

    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert 0.9 * 3600 <= refresher._delay() <= 3600  # back to the interval, with jitter


def test_a_call_never_waits_for_a_hanging_refresh(
    prices: PriceServer, refreshing: Refreshing, instrumented: Instrument, span_exporter: InMemorySpanExporter
) -> None:
    prices.serve(price_document({MODEL: (1.0, 2.0)}))
    refresher = refreshing(prices.url)
    sdk = instrumented()
    good = checked(refresher)
    prices.mode = "hang"  # the server holds the next request until released (TIMEOUT is 10 s)
    assert prices.hanging.wait(WAIT)
    chat(sdk)
    still_hanging = prices.hanging.is_set()
    prices.release()

    assert still_hanging  # the call was made and priced while the refresh was stuck
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes[Ours.PRICING_VERSION] == good.version
    assert span.attributes[GenAI.USAGE_COST_AMOUNT] == stated_cost(span, "1.0", "2.0")


# --- sources: genai-prices' data JSON, a file ------------------------------------------------------


def test_genai_prices_data_json_is_converted_as_pricing_sync_converts_the_package_data(
    prices: PriceServer, refreshing: Refreshing
) -> None:
    from genai_cost.pricing.documents import load_layer

    prices.serve(installed_data_json())
    table = checked(refreshing(prices.url))

    refreshed = table.provenance[1]
    assert refreshed.source == prices.url and refreshed.etag == prices.etag
    synced = {entry.id: entry.to_json() for entry in load_layer("genai-prices").entries}
    served = {entry.id: entry.to_json() for entry in table.entries if table._layer.get(entry.id) == 1}
    assert served == synced


def test_a_file_source_is_read_again_when_it_changes_and_only_then(refreshing: Refreshing, tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(price_document({MODEL: (1.0, 2.0)}, generated_at="2026-12-01T00:00:00Z")))
    refresher = refreshing(str(path))
    first = checked(refresher)
    unchanged = checked(refresher)
    path.write_text(json.dumps(price_document({MODEL: (1.5, 2.0)}, generated_at="2026-12-03T00:00:00Z")))
    changed = checked(refresher)

    assert unchanged is first
    assert first.version == f"{BUNDLED}+{path}@2026-12-01T00:00:00Z"
    assert changed.version == f"{BUNDLED}+{path}@2026-12-03T00:00:00Z"
    entry = changed.match(MODEL, "openai")
    assert entry is not None and entry.rates.input == Decimal("1.5")


def test_the_age_gauge_counts_from_the_refreshed_tables_generated_at(
    prices: PriceServer, refreshing: Refreshing, metric_reader: InMemoryMetricReader, meter_provider: MeterProvider
) -> None:
    import time

    Instruments(meter_provider, model_limit=10)
    generated = 1_764_547_200  # 2025-12-01T00:00:00Z
    prices.serve(price_document({MODEL: (1.0, 2.0)}, generated_at="2025-12-01T00:00:00Z"))
    checked(refreshing(prices.url))
    before = time.time()
    (point,) = metric_points(metric_reader, Metrics.PRICING_AGE)
    after = time.time()

    assert before - generated <= point.value <= after - generated


# --- off by default; fork ------------------------------------------------------------------------

_NO_REFRESH_APP = textwrap.dedent(
    """
    import sys, threading
    connects = []
    sys.addaudithook(lambda event, args: connects.append(args[1]) if event == "socket.connect" else None)
    import openai
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from genai_cost import instrument
    from genai_cost.demo.fake_openai import FakeOpenAIServer
    from genai_cost.pricing import PricingTable

    reader = InMemoryMetricReader()
    instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider(metric_readers=[reader]))
    PricingTable.default()
    with FakeOpenAIServer() as fake:
        before = set(threading.enumerate())
        with openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0) as sdk:
            sdk.chat.completions.create(model="gpt-4o-mini", messages=[])
        reader.get_metrics_data()
        fake_port = int(fake.base_url.split(":")[2].split("/")[0])
        print(sorted(t.name for t in threading.enumerate()))
        print(sorted({a[1] for a in connects if isinstance(a, tuple)} - {fake_port}))
        print("genai_cost.pricing.refresh" in sys.modules, "genai_cost.pricing.fetch" in sys.modules)
    """
)


def test_refresh_is_off_by_default_no_thread_no_socket(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(_NO_REFRESH_APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENAI_COST_")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    threads, other_ports, imported = done.stdout.strip().splitlines()

    assert refresh.THREAD_NAME not in threads
    assert other_ports == "[]"  # the app's own call to the fake server is the only connection
    assert imported == "False False"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_runs_its_own_refresher_and_sees_a_change(prices: PriceServer, refreshing: Refreshing) -> None:
    prices.serve(price_document({MODEL: (1.0, 2.0)}))
    parent = refreshing(prices.url)
    checked(parent)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            code = _child(prices.url, parent)
        finally:
            os.write(write, str(code).encode())
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        reported = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert (reported, os.waitstatus_to_exitcode(status)) == ("0", 0)


def _child(url: str, parent: refresh.Refresher) -> int:
    """In the child: its own running refresher picks up a price the child itself put on the server."""
    import urllib.request

    child = refresh.active()
    if child is None or child is parent or not child.running:
        return 2
    if [t for t in threading.enumerate() if t.name == refresh.THREAD_NAME] != [child._thread]:
        return 3
    body = json.dumps(price_document({MODEL: (7.0, 9.0)})).encode()
    urllib.request.urlopen(urllib.request.Request(url, data=body, method="PUT"), timeout=WAIT).close()
    entry = checked(child).match(MODEL, "openai")
    return 0 if entry is not None and entry.rates.input == Decimal("7.0") else 4


# --- provenance when the table cannot change -------------------------------------------------------


def test_without_refresh_the_scope_names_the_table_and_spans_do_not(
    instrumented: Instrument, span_exporter: InMemorySpanExporter
) -> None:
    chat(instrumented(), "gpt-4o-mini")

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes is not None and Ours.PRICING_VERSION not in span.attributes
    assert span.instrumentation_scope is not None and span.instrumentation_scope.attributes is not None
    assert span.instrumentation_scope.attributes[Ours.PRICING_VERSION] == PricingTable.default().version


def test_spans_priced_by_the_processor_name_the_table(refreshing: Refreshing, prices: PriceServer) -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from genai_cost.processor import CostSpanProcessor

    prices.serve(price_document({MODEL: (1.0, 2.0)}, generated_at="2026-12-01T00:00:00Z"))
    checked(refreshing(prices.url))
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(exporter), meter_provider=MeterProvider()))
    usage = {GenAI.PROVIDER_NAME: "openai", GenAI.RESPONSE_MODEL: MODEL, GenAI.USAGE_INPUT_TOKENS: 1000,
             GenAI.USAGE_OUTPUT_TOKENS: 500}  # fmt: skip
    with provider.get_tracer("another-instrumentation").start_as_current_span("chat", attributes=usage):
        pass

    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes[Ours.PRICING_VERSION] == f"{BUNDLED}+{prices.url}@2026-12-01T00:00:00Z"
    assert span.attributes[GenAI.USAGE_COST_AMOUNT] == stated_cost(span, "1.0", "2.0")
