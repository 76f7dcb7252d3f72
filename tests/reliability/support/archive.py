"""Everything the reliability suite exported or logged, kept for the session-wide secret scan.

Every telemetry pipeline built by the suite's fixtures feeds an :class:`Archive`: finished
spans (with their events and links), collected metric data, and every record logged under
``genai_cost`` and ``opentelemetry`` (formatted with its traceback). The scan encodes the
spans and metrics to real OTLP protobuf bytes and searches those too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics.export import MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["SECRETS", "Archive"]

API_KEY = "sk-proj-RELIABILITYsecretKEY0123456789abcdef"
AZURE_KEY = "azure0f1e2d3c4b5a69788796a5b4c3d2e1f0secret"
COOKIE = "session=cookieSECRETvalue31415926"
SIGNATURE = "sigSECRETqueryvalue27182818"

SECRETS: dict[str, str] = {
    "API key": API_KEY,
    "Azure api-key": AZURE_KEY,
    "cookie": COOKIE.partition("=")[2],
    "signed-URL signature": SIGNATURE,
}
"""Values every client of the suite sends; none may appear in exported data or logs."""

_WATCHED_LOGGERS = ("genai_cost", "opentelemetry")


class _ArchiveExporter(SpanExporter):
    def __init__(self, archive: Archive) -> None:
        self._archive = archive

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._archive.lock:
            self._archive.spans.extend(spans)
        return SpanExportResult.SUCCESS


class _ArchiveHandler(logging.Handler):
    def __init__(self, archive: Archive) -> None:
        super().__init__(logging.DEBUG)
        self._archive = archive
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        with self._archive.lock:
            self._archive.logs.append(text)


class Archive:
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []
        self.metrics: list[MetricsData] = []
        self.logs: list[str] = []
        self.lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Archive({len(self.spans)} spans, {len(self.metrics)} metric collections, {len(self.logs)} logs)"

    def exporter(self) -> SpanExporter:
        return _ArchiveExporter(self)

    def add_metrics(self, data: MetricsData | None) -> None:
        if data is not None:
            with self.lock:
                self.metrics.append(data)

    @contextmanager
    def watch_logs(self) -> Iterator[None]:
        """Capture every record of the watched loggers, at DEBUG, while the generator is open."""
        handler = _ArchiveHandler(self)
        loggers = [logging.getLogger(name) for name in _WATCHED_LOGGERS]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.addHandler(handler)
            logger.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.removeHandler(handler)
                logger.setLevel(level)

    def texts(self) -> Iterator[tuple[str, str]]:
        """(where, text) for every piece of exported or logged data."""
        with self.lock:
            spans, metrics, logs = list(self.spans), list(self.metrics), list(self.logs)
        for span in spans:
            yield f"span {span.name[:60]!r}", span.to_json()
        for data in metrics:
            yield "metrics", data.to_json()
        for line in logs:
            yield "log", line

    def otlp_payloads(self) -> Iterator[tuple[str, bytes]]:
        """The spans and metrics as the OTLP exporters would send them."""
        with self.lock:
            spans, metrics = list(self.spans), list(self.metrics)
        if spans:
            yield "OTLP spans", encode_spans(spans).SerializeToString()
        for data in metrics:
            yield "OTLP metrics", encode_metrics(data).SerializeToString()
