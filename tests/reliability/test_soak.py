"""Bounded memory and metric cardinality, checked structurally (never by timing).

The full soak (a million spans) is ``python -m benchmarks.soak_processor``; here a scaled-down
run checks that every structure that grows with traffic stays under its cap.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from benchmarks.soak_processor import soak
from tests.reliability.support import wire
from tests.reliability.support.fault_server import FaultServer
from tests.reliability.support.harness import Telemetry, client

from genai_cost.config import ENV
from genai_cost.metrics import OTHER_MODEL
from genai_cost.pricing.table import CACHE_SIZE
from genai_cost.semconv import GenAI, Metrics


@pytest.mark.slow
def test_scaled_down_soak_keeps_every_structure_under_its_cap() -> None:
    report = soak(calls=20_000, models=10_000, open_traces=96, max_traces=64)

    assert report.priced_spans == report.calls == 20_000
    assert report.tracked_traces <= report.max_traces
    assert report.evicted_traces > 0  # more traces were open than the cap: the rollup dropped some
    assert report.pricing_cache_entries <= CACHE_SIZE
    assert report.metric_model_names == report.metric_model_limit
    assert report.cost_series_model_values - {OTHER_MODEL} <= {f"soak-model-{i}" for i in range(10_000)}
    assert len(report.cost_series_model_values) == report.metric_model_limit + 1
    assert OTHER_MODEL in report.cost_series_model_values


def test_rollup_is_exact_when_traces_fit_under_the_cap() -> None:
    report = soak(calls=2_000, models=50, open_traces=16, max_traces=64)
    assert report.evicted_traces == 0
    assert report.rolled_up_calls == report.priced_spans == 2_000


def test_instrumentor_folds_model_names_beyond_the_limit(
    telemetry: Telemetry, faults: FaultServer, settings_env: Callable[..., None]
) -> None:
    settings_env(**{ENV.METRIC_MODEL_LIMIT: "3"})
    models = ["gpt-4o-mini", "m" * 10_240, "模型-🚀", "fourth", "fifth", "gpt-4o-mini"]
    sdk = client(faults.base_url)
    with telemetry.instrumented():
        for model in models:
            headers = faults.headers(wire.json_reply(wire.chat_completion(model=model)))
            sdk.chat.completions.create(model=model, messages=[], extra_headers=headers)

    assert [span.attributes[GenAI.REQUEST_MODEL] for span in telemetry.finished()] == models
    values = {point.attributes[GenAI.REQUEST_MODEL] for point in telemetry.points(Metrics.OPERATION_DURATION)}
    # The 10 KB name is longer than any model name: it folds at once and takes no place.
    assert values == {models[0], *models[2:4], OTHER_MODEL}
