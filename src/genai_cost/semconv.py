"""Every attribute name, metric name and enum value genai-cost emits or reads.

The ``gen_ai.*`` names follow the OpenTelemetry GenAI semantic conventions; the cost
attributes follow the open semconv cost proposal; everything else lives under our own
``genai_cost.*`` namespace. No other module spells these strings.
"""

from __future__ import annotations

__all__ = [
    "SEMCONV_LATEST_COMMIT",
    "CostSource",
    "GenAI",
    "Langfuse",
    "LatestMetrics",
    "Legacy",
    "Logfire",
    "Metrics",
    "Modality",
    "OpenInference",
    "Operation",
    "Ours",
    "PricingModelSource",
    "PricingStatus",
    "Provider",
    "RefreshFailure",
    "TokenType",
]


class GenAI:
    """``gen_ai.*`` and neighbouring semconv attribute names."""

    OPERATION_NAME = "gen_ai.operation.name"
    PROVIDER_NAME = "gen_ai.provider.name"
    REQUEST_MODEL = "gen_ai.request.model"
    REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
    REQUEST_TEMPERATURE = "gen_ai.request.temperature"
    REQUEST_TOP_P = "gen_ai.request.top_p"
    REQUEST_TOP_K = "gen_ai.request.top_k"
    REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
    REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
    REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
    REQUEST_SEED = "gen_ai.request.seed"
    REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
    REQUEST_STREAM = "gen_ai.request.stream"
    REQUEST_ENCODING_FORMATS = "gen_ai.request.encoding_formats"
    EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"
    REQUEST_SERVICE_TIER = "openai.request.service_tier"
    OUTPUT_TYPE = "gen_ai.output.type"
    RESPONSE_ID = "gen_ai.response.id"
    RESPONSE_MODEL = "gen_ai.response.model"
    RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
    RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
    RESPONSE_SERVICE_TIER = "openai.response.service_tier"
    USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
    USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
    USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
    USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
    USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.usage.cache_write.input_tokens"
    """The GenAI conventions' newer name for ``cache_creation``; emitted beside it, read like it."""
    USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
    USAGE_TEXT_INPUT_TOKENS = "gen_ai.usage.text.input_tokens"
    USAGE_AUDIO_INPUT_TOKENS = "gen_ai.usage.audio.input_tokens"
    USAGE_IMAGE_INPUT_TOKENS = "gen_ai.usage.image.input_tokens"
    USAGE_VIDEO_INPUT_TOKENS = "gen_ai.usage.video.input_tokens"
    USAGE_AUDIO_OUTPUT_TOKENS = "gen_ai.usage.audio.output_tokens"
    USAGE_IMAGE_OUTPUT_TOKENS = "gen_ai.usage.image.output_tokens"
    USAGE_VIDEO_OUTPUT_TOKENS = "gen_ai.usage.video.output_tokens"
    USAGE_COST_AMOUNT = "gen_ai.usage.cost.amount"
    USAGE_COST_CURRENCY = "gen_ai.usage.cost.currency"
    USAGE_COST_SOURCE = "gen_ai.usage.cost.source"
    INPUT_MESSAGES = "gen_ai.input.messages"
    OUTPUT_MESSAGES = "gen_ai.output.messages"
    SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
    TOKEN_TYPE = "gen_ai.token.type"
    TOKEN_MODALITY = "gen_ai.token.modality"
    SERVER_ADDRESS = "server.address"
    SERVER_PORT = "server.port"
    ERROR_TYPE = "error.type"
    AWS_REQUEST_ID = "aws.request_id"
    AGENT_NAME = "gen_ai.agent.name"
    AGENT_ID = "gen_ai.agent.id"
    WORKFLOW_NAME = "gen_ai.workflow.name"
    """Semconv v1.41's invoke_workflow span name attribute (later merged into ``gen_ai.agent.name``)."""


class Legacy:
    """Attribute names written by older semconv versions and by other instrumentations."""

    USAGE_PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
    USAGE_COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"
    SYSTEM = "gen_ai.system"


class OpenInference:
    """OpenInference attribute names: read by ``CostSpanProcessor``, written with ``GENAI_COST_COMPAT=openinference``.

    From the OpenInference specification (``spec/semantic_conventions.md``, Arize-ai/openinference
    at 00e2b51591f324f020677beba37b14a8fd4e517f).
    """

    SPAN_KIND = "openinference.span.kind"
    SPAN_KIND_LLM = "LLM"
    MODEL_NAME = "llm.model_name"
    EMBEDDING_MODEL_NAME = "embedding.model_name"
    PROVIDER = "llm.provider"
    SYSTEM = "llm.system"
    TOKEN_COUNT_PROMPT = "llm.token_count.prompt"
    TOKEN_COUNT_COMPLETION = "llm.token_count.completion"
    TOKEN_COUNT_TOTAL = "llm.token_count.total"
    TOKEN_COUNT_PROMPT_CACHE_READ = "llm.token_count.prompt_details.cache_read"
    TOKEN_COUNT_PROMPT_CACHE_WRITE = "llm.token_count.prompt_details.cache_write"
    TOKEN_COUNT_PROMPT_AUDIO = "llm.token_count.prompt_details.audio"
    TOKEN_COUNT_COMPLETION_REASONING = "llm.token_count.completion_details.reasoning"
    TOKEN_COUNT_COMPLETION_AUDIO = "llm.token_count.completion_details.audio"
    COST_TOTAL = "llm.cost.total"
    COST_PROMPT = "llm.cost.prompt"
    COST_COMPLETION = "llm.cost.completion"
    COST_PROMPT_INPUT = "llm.cost.prompt_details.input"
    COST_PROMPT_CACHE_READ = "llm.cost.prompt_details.cache_read"
    COST_PROMPT_CACHE_WRITE = "llm.cost.prompt_details.cache_write"
    COST_PROMPT_AUDIO = "llm.cost.prompt_details.audio"
    COST_COMPLETION_OUTPUT = "llm.cost.completion_details.output"
    COST_COMPLETION_REASONING = "llm.cost.completion_details.reasoning"
    COST_COMPLETION_AUDIO = "llm.cost.completion_details.audio"


class Langfuse:
    """The cost attribute Langfuse (and OpenLIT) read: ``GENAI_COST_COMPAT=langfuse``.

    Opt-in only: ``gen_ai.usage.cost`` is both an attribute and the namespace of
    ``gen_ai.usage.cost.amount``, which the OpenTelemetry naming rules forbid.
    """

    USAGE_COST = "gen_ai.usage.cost"


class Logfire:
    """The cost attribute Pydantic Logfire's LLM panels read: ``GENAI_COST_COMPAT=logfire``."""

    OPERATION_COST = "operation.cost"


class Ours:
    """Attributes under the ``genai_cost.*`` namespace."""

    COST_PREFIX = "genai_cost.cost."
    USAGE_PREFIX = "genai_cost.usage."
    """Followed by a usage count the GenAI conventions have no name for (``web_searches``,
    ``cache_audio_read_tokens``, ...): the :class:`~genai_cost.usage.Usage` field's name."""
    PRICING_ENTRY = "genai_cost.pricing.entry"
    PRICING_STATUS = "genai_cost.pricing.status"
    PRICING_CONTEXT_PREFIX = "genai_cost.pricing.context."
    """Followed by a pricing context key (``service_tier``, ``processing``, ``speed``...): the
    value the provider served, set only when it is not the default (and so priced differently)."""
    PRICING_VERSION = "genai_cost.pricing.version"
    """The pricing table that priced the call: its sources, each with its ``generated_at`` (or
    ETag, or content digest), e.g. ``bundled@2026-12-04T20:22:34Z+https://example.com/prices.json@...``.
    On the instrumentation scope when the table cannot change during the process; on each
    priced span when it can (runtime refresh) and on spans priced by ``CostSpanProcessor``."""
    PRICING_MODEL_SOURCE = "genai_cost.pricing.model_source"
    """Set when the entry was matched by another name than the response model (``PricingModelSource``)."""
    SUBTREE_COST_AMOUNT = "genai_cost.subtree.cost.amount"
    SUBTREE_INPUT_TOKENS = "genai_cost.subtree.input_tokens"
    SUBTREE_OUTPUT_TOKENS = "genai_cost.subtree.output_tokens"
    SUBTREE_CALLS = "genai_cost.subtree.calls"
    UNPRICED_REASON = "genai_cost.unpriced.reason"
    BILLED_APART = "genai_cost.billed_apart"
    """True on the span of a call billed as other model calls, each a priced span below it (a
    Groq compound system's underlying models, a Bedrock agent's model invocations): tokens it
    reports are theirs, priced and counted there."""
    ATTRIBUTION_PREFIX = "genai_cost.attribution."
    """Followed by an attribution key (``tenant``, ``feature``, ``agent``, ...): on spans, and on
    metrics for the keys in ``GENAI_COST_METRIC_ATTRIBUTION``."""
    OVERFLOW_KEY = "genai_cost.overflow.key"
    """On the overflow counter: the key whose value was folded into ``_other``."""


class Metrics:
    """Metric instrument names."""

    TOKEN_USAGE = "gen_ai.client.token.usage"
    OPERATION_DURATION = "gen_ai.client.operation.duration"
    TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
    OPERATION_COST = "gen_ai.client.operation.cost"
    UNPRICED_CALLS = "genai_cost.client.unpriced_calls"
    TOKEN_DETAIL = "genai_cost.client.token.detail"
    """Counter of the cached and reasoning parts of input/output tokens, by token type."""
    ATTRIBUTION_OVERFLOW = "genai_cost.client.attribution.overflow"
    """Counter of calls whose value of an allowlisted attribution key was recorded as ``_other``."""
    PRICING_AGE = "genai_cost.pricing.age"
    """Gauge: seconds since the process-wide pricing table's prices were generated."""
    PRICING_REFRESH_FAILURES = "genai_cost.pricing.refresh.failures"
    """Counter of failed pricing refresh checks, by ``error.type`` (a ``RefreshFailure`` value)."""
    OVERFLOW = "otel.metric.overflow"
    """The attribute of the one series that stands for all series beyond a cardinality limit."""


SEMCONV_LATEST_COMMIT = "88eccb155ca7d6984826da1f4b1c08ee916e0f49"
"""The commit of open-telemetry/semantic-conventions-genai whose ``model/gen-ai/metrics.yaml``,
``model/gen-ai/token-metrics.yaml``, ``docs/gen-ai/gen-ai-token-metrics.md`` and
``docs/gen-ai/client-embeddings.md`` define :class:`LatestMetrics`, emitted (in addition to
:class:`Metrics`) with ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``."""


class LatestMetrics:
    """The GenAI conventions' unreleased metrics, as of :data:`SEMCONV_LATEST_COMMIT`."""

    OPT_IN = "gen_ai_latest_experimental"
    """The ``OTEL_SEMCONV_STABILITY_OPT_IN`` value that adds them."""
    INFERENCE_DURATION = "gen_ai.client.inference.duration"
    INFERENCE_TIME_TO_FIRST_CHUNK = "gen_ai.client.inference.time_to_first_chunk"
    USAGE_INPUT_TOKENS = "gen_ai.client.inference.usage.input_tokens"
    USAGE_OUTPUT_TOKENS = "gen_ai.client.inference.usage.output_tokens"
    USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.client.inference.usage.cache_read.input_tokens"
    USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.client.inference.usage.cache_write.input_tokens"
    USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.client.inference.usage.reasoning.output_tokens"
    """Counters, each by ``gen_ai.token.modality``; cache and reasoning are parts of input and output."""
    OPERATION_INPUT_TOKENS = "gen_ai.client.inference.operation.input_tokens"
    OPERATION_OUTPUT_TOKENS = "gen_ai.client.inference.operation.output_tokens"
    """Histograms of tokens per call (percentiles), not by modality."""
    EMBEDDINGS_DURATION = "gen_ai.client.embeddings.duration"
    EMBEDDINGS_INPUT_TOKENS = "gen_ai.client.embeddings.operation.input_tokens"
    """Embeddings calls have these two instead of the inference metrics."""


class Modality:
    """Values of ``gen_ai.token.modality`` (``video`` is not among the conventions' well-known values)."""

    TEXT = "text"
    AUDIO = "audio"
    IMAGE = "image"
    VIDEO = "video"
    UNKNOWN = "unknown"


class Operation:
    """Values of ``gen_ai.operation.name``."""

    CHAT = "chat"
    TEXT_COMPLETION = "text_completion"
    EMBEDDINGS = "embeddings"
    GENERATE_CONTENT = "generate_content"
    INVOKE_AGENT = "invoke_agent"
    TRANSCRIPTION = "transcription"
    """Speech to text (OpenAI Realtime input audio transcription): ours, the conventions name none."""


class Provider:
    """Values of ``gen_ai.provider.name``."""

    OPENAI = "openai"
    AZURE_OPENAI = "azure.ai.openai"
    ANTHROPIC = "anthropic"
    AWS_BEDROCK = "aws.bedrock"
    GCP_GEMINI = "gcp.gemini"
    GCP_VERTEX_AI = "gcp.vertex_ai"
    GCP_GEN_AI = "gcp.gen_ai"
    MISTRAL = "mistral_ai"
    COHERE = "cohere"
    GROQ = "groq"
    DEEPSEEK = "deepseek"
    XAI = "x_ai"
    PERPLEXITY = "perplexity"
    OPENROUTER = "openrouter"
    TOGETHER = "together"
    FIREWORKS = "fireworks"
    CEREBRAS = "cerebras"
    OLLAMA = "ollama"
    VLLM = "vllm"


class TokenType:
    """Values of ``gen_ai.token.type`` and the token types a price can name."""

    INPUT = "input"
    OUTPUT = "output"
    CACHE_READ = "cache_read"
    CACHE_CREATION = "cache_creation"
    REASONING = "reasoning"


class PricingStatus:
    """Values of ``genai_cost.pricing.status``."""

    PRICED = "priced"
    UNKNOWN_MODEL = "unknown_model"
    NO_USAGE = "no_usage"
    PROVIDER = "provider"
    ERROR = "error"
    """The pricing table raised (a bug or a broken custom table); logged once, the call is unaffected."""


class RefreshFailure:
    """Values of ``error.type`` on ``genai_cost.pricing.refresh.failures`` (besides ``http_<status>``)."""

    CONNECTION = "connection"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    BAD_DOCUMENT = "bad_document"
    """Not JSON (or TOML), or not a pricing document at all."""
    INVALID_TABLE = "invalid_table"
    """A pricing document whose entries do not validate."""

    @staticmethod
    def http(status: int) -> str:
        return f"http_{status}"


class PricingModelSource:
    """Values of ``genai_cost.pricing.model_source``."""

    REQUEST_MODEL = "request_model"
    """The response model matched no entry; ``gen_ai.request.model`` did."""


class CostSource:
    """Values of ``gen_ai.usage.cost.source``."""

    LOCAL = "local"
    PROVIDER = "provider"
