"""What ``opentelemetry-instrument`` loads from genai-cost: a distro, a configurator, a check.

* :class:`GenAICostDistro` (entry point ``opentelemetry_distro: genai_cost``) sets defaults
  for unset variables: OTLP traces and metrics over HTTP/protobuf, and
  ``OTEL_PYTHON_CONFIGURATOR=genai_cost`` so that our configurator is the one used even when
  another package (``opentelemetry-distro``) also declares one.
* :class:`GenAICostConfigurator` (``opentelemetry_configurator: genai_cost``) builds the SDK
  exactly like the SDK's own configurator does from the ``OTEL_*`` variables (exporters
  ``otlp``/``otlp_proto_http``/``otlp_proto_grpc``/``console``/``none``, ``prometheus`` when
  ``opentelemetry-exporter-prometheus`` is installed, sampler, resource detection), with one
  :class:`~genai_cost.processor.CostSpanProcessor` in front of the export processors of all
  trace exporters. It checks the pricing configuration first.
* :func:`check_configuration` (``opentelemetry_post_instrument: genai_cost``) explains, once,
  when another configurator set up the SDK instead.

Private SDK names relied on (``opentelemetry.sdk._configuration``): ``_OTelSDKConfigurator``
and the ``span_processors``/``export_span_processor`` arguments it passes on to
``_initialize_components`` (opentelemetry-sdk >= 1.39).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from opentelemetry.environment_variables import OTEL_METRICS_EXPORTER, OTEL_TRACES_EXPORTER
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.instrumentation.environment_variables import OTEL_PYTHON_CONFIGURATOR
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_OTLP_PROTOCOL
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.util._importlib_metadata import EntryPoint

from genai_cost.instrumentors import ENTRY_POINT_PREFIX
from genai_cost.pricing import PricingError, PricingTable
from genai_cost.processor import CostSpanProcessor

__all__ = [
    "CONFIGURATOR_NAME",
    "GenAICostConfigurator",
    "GenAICostDistro",
    "check_before_instrumenting",
    "check_configuration",
    "check_pricing",
]

logger = logging.getLogger(__name__)

CONFIGURATOR_NAME = "genai_cost"
"""Our name in the ``opentelemetry_distro`` and ``opentelemetry_configurator`` groups."""

_DEFAULTS = {
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    OTEL_PYTHON_CONFIGURATOR: CONFIGURATOR_NAME,
}


class GenAICostDistro(BaseDistro):  # type: ignore[misc]
    """Defaults for ``opentelemetry-instrument``; variables the user set are left alone."""

    def _configure(self, **kwargs: Any) -> None:
        for name, value in _DEFAULTS.items():
            os.environ.setdefault(name, value)

    def load_instrumentor(self, entry_point: EntryPoint, **kwargs: Any) -> None:
        """Check each of our instrumentors' own SDK requirement, not just the package's.

        ``opentelemetry-instrument`` checks the ``instruments-any`` requirements of the whole
        genai-cost distribution; with several providers in one package, each instrumentor is
        checked here too, so one whose SDK is missing is skipped (logged at debug level) and
        the others still load.
        """
        if entry_point.name.startswith(ENTRY_POINT_PREFIX):
            kwargs.update(skip_dep_check=False, raise_exception_on_conflict=True)
        super().load_instrumentor(entry_point, **kwargs)


def check_pricing() -> PricingTable:
    """Build the process-wide pricing table now, so a bad pricing file shows up at startup.

    A bad ``GENAI_COST_PRICING_FILE`` is logged once and the bundled table used; with
    ``GENAI_COST_STRICT=true`` the process stops with the error instead.
    """
    try:
        return PricingTable.default()
    except PricingError as exc:
        raise SystemExit(
            f"genai-cost: GENAI_COST_STRICT is set and the pricing configuration is invalid: {exc}"
        ) from None


def _check_pricing_at_startup() -> None:
    """:func:`check_pricing` for ``opentelemetry-instrument``, which runs us while Python imports ``site``.

    An exception there, even ``SystemExit``, ends in "Fatal Python error: init_import_site" and
    a traceback before the message; so the message is printed alone and the process ends here.
    """
    try:
        check_pricing()
    except SystemExit as stop:
        print(stop.code, file=sys.stderr, flush=True)
        os._exit(1)


class _CostPipeline:
    """One ``CostSpanProcessor`` in front of the export processors of every trace exporter.

    The SDK asks for one export processor per exporter; each is added behind the single
    cost processor (so a span is priced and its cost metric recorded once, whatever the
    number of exporters) and the SDK gets a no-op processor in return.
    """

    def __init__(self, exporting: Sequence[SpanProcessor] = (), meter_provider: MeterProvider | None = None) -> None:
        self._exporting = SynchronousMultiSpanProcessor()  # type: ignore[no-untyped-call]
        for processor in exporting:
            self._exporting.add_span_processor(processor)
        self.front = CostSpanProcessor(self._exporting, meter_provider=meter_provider)

    def export_processor(self, exporter: SpanExporter, *args: Any, **kwargs: Any) -> SpanProcessor:
        self._exporting.add_span_processor(BatchSpanProcessor(exporter))
        return SpanProcessor()


class GenAICostConfigurator(_OTelSDKConfigurator):
    """The SDK's configurator with ``CostSpanProcessor`` in front of the export processors.

    Besides the SDK configurator's keyword arguments it accepts ``exporting_span_processors``:
    processors placed behind the cost processor next to the exporters' ones (the demo prints
    spans this way).
    """

    cost_processor: CostSpanProcessor | None = None
    """The cost processor of the pipeline this configurator built, once it ran."""

    def _configure(self, **kwargs: Any) -> None:
        if "auto_instrumentation_version" in kwargs:  # passed by opentelemetry-instrument only
            _check_pricing_at_startup()
        else:
            check_pricing()
        pipeline = _CostPipeline(kwargs.pop("exporting_span_processors", ()))
        super()._configure(  # type: ignore[no-untyped-call]
            span_processors=[*kwargs.pop("span_processors", ()), pipeline.front],
            export_span_processor=pipeline.export_processor,
            **kwargs,
        )
        type(self).cost_processor = pipeline.front


def check_before_instrumenting() -> None:
    """Before ``opentelemetry-instrument`` loads the instrumentors: the pricing check, when our
    configurator (which runs it first thing) did not run. An instrumentor built on an invalid
    strict configuration would fail inside OpenTelemetry's loader, which logs a traceback."""
    if GenAICostConfigurator.cost_processor is None:
        _check_pricing_at_startup()


def check_configuration() -> None:
    """After ``opentelemetry-instrument`` set everything up: say so if our configurator did not run."""
    if GenAICostConfigurator.cost_processor is not None:
        return
    chosen = os.environ.get(OTEL_PYTHON_CONFIGURATOR)
    logger.log(
        logging.INFO if chosen else logging.WARNING,
        "genai-cost: OpenTelemetry was configured by %s, not by genai-cost: spans of genai-cost's "
        "instrumentors still carry their cost, but CostSpanProcessor (pricing other instrumentations' "
        "spans, cost rollup onto parent spans) is not installed. Set %s=%s to use genai-cost's configurator.",
        f"the {chosen!r} configurator" if chosen else "another configurator",
        OTEL_PYTHON_CONFIGURATOR,
        CONFIGURATOR_NAME,
    )
