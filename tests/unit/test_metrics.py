"""Metric instruments: the running totals behind the token-detail counter lose nothing past the cardinality limit."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from tests.support.telemetry import metric_points

from genai_cost.metrics import Instruments
from genai_cost.semconv import GenAI, Metrics, TokenType
from genai_cost.usage import Usage


def test_token_detail_beyond_the_cardinality_limit_is_folded_not_lost() -> None:
    reader = InMemoryMetricReader()
    instruments = Instruments(MeterProvider(metric_readers=[reader]), model_limit=10_000)
    limit = 2000
    servers = limit + 50
    for server in range(servers):
        usage = Usage(input_tokens=10, output_tokens=5, cache_read_tokens=3)
        instruments.record_tokens(usage, {GenAI.SERVER_ADDRESS: f"host-{server}.example"})

    points = metric_points(reader, Metrics.TOKEN_DETAIL)
    assert len(points) == limit + 1
    (overflow,) = [point for point in points if point.attributes.get(Metrics.OVERFLOW) is True]
    assert overflow.value >= 3 * (servers - limit)
    assert sum(point.value for point in points) == 3 * servers
    assert {point.attributes.get(GenAI.TOKEN_TYPE) for point in points if point is not overflow} == {
        TokenType.CACHE_READ
    }
