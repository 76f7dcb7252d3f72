"""Which distro/configurator ``opentelemetry-instrument`` uses, pricing checks at start-up,
several exporters, and provider SDKs that are not installed.

``opentelemetry-distro`` is installed in the test environment (it is in the ``test`` extra), so
two distros (``genai_cost``, ``distro``) and two configurators (``genai_cost``,
``configurator``) are registered, as on many real machines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.otlp import APP, OtlpHttpReceiver, attributes, clean_env, run

from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.semconv import GenAI, Metrics, Ours

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
OUR_HINT = "OTEL_PYTHON_CONFIGURATOR=genai_cost"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[OtlpHttpReceiver]:
    with OtlpHttpReceiver() as receiver:
        yield receiver


def app_env(fake: FakeOpenAIServer, receiver: OtlpHttpReceiver, **env: str) -> dict[str, str]:
    defaults = {
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "sk-test",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    }
    return clean_env(**{**defaults, **env})


def parent_has_rollup(receiver: OtlpHttpReceiver) -> bool:
    (parent,) = [s for s in receiver.received.spans() if s.name == "handle-request"]
    return Ours.SUBTREE_COST_AMOUNT in attributes(parent)


def calls_are_priced(receiver: OtlpHttpReceiver) -> bool:
    priced = [s for s in receiver.received.spans() if GenAI.USAGE_COST_AMOUNT in attributes(s)]
    return len(priced) == 3 and receiver.received.metric(Metrics.OPERATION_COST) is not None


def test_our_distro_selects_our_configurator(fake: FakeOpenAIServer, receiver: OtlpHttpReceiver) -> None:
    # (test_opentelemetry_instrument.py names the configurator with OTEL_PYTHON_CONFIGURATOR.)
    result = run(APP, app_env(fake, receiver, OTEL_PYTHON_DISTRO="genai_cost"))

    assert result.returncode == 0, result.stderr
    assert calls_are_priced(receiver)
    assert parent_has_rollup(receiver)
    # The loader says it skipped opentelemetry-distro's configurator; we add nothing.
    assert "genai-cost" not in result.stderr


def test_without_a_choice_the_first_configurator_found_wins_and_either_way_is_explained(
    fake: FakeOpenAIServer, receiver: OtlpHttpReceiver
) -> None:
    # opentelemetry-distro's distro does not set OTEL_PYTHON_CONFIGURATOR: the loader takes the
    # first configurator in entry-point order and skips the other with a warning.
    result = run(APP, app_env(fake, receiver, OTEL_PYTHON_DISTRO="distro"))

    assert result.returncode == 0, result.stderr
    assert calls_are_priced(receiver)  # our instrumentor prices its own spans in any case
    if parent_has_rollup(receiver):
        assert "Configuration of configurator not loaded, genai_cost already loaded" in result.stderr
    else:
        assert "Configuration of genai_cost not loaded, configurator already loaded" in result.stderr
        assert OUR_HINT in result.stderr


def test_another_configurator_named_explicitly_is_respected(fake: FakeOpenAIServer, receiver: OtlpHttpReceiver) -> None:
    result = run(APP, app_env(fake, receiver, OTEL_PYTHON_CONFIGURATOR="configurator"))

    assert result.returncode == 0, result.stderr
    assert calls_are_priced(receiver)
    assert not parent_has_rollup(receiver)
    assert OUR_HINT not in result.stderr  # the user chose: logged at INFO only


def test_every_trace_exporter_is_behind_the_cost_processor(fake: FakeOpenAIServer, receiver: OtlpHttpReceiver) -> None:
    result = run(APP, app_env(fake, receiver, OTEL_TRACES_EXPORTER="otlp,console"))

    assert result.returncode == 0, result.stderr
    assert parent_has_rollup(receiver)
    # The console exporter prints each span as JSON after the app's own output.
    assert result.stdout.count(f'"{Ours.SUBTREE_CALLS}": 3') == 1


def test_a_bad_pricing_file_is_reported_once_and_the_bundled_table_used(
    fake: FakeOpenAIServer, receiver: OtlpHttpReceiver, tmp_path: Path
) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text('{"entries": [{"id": "mine", "match": {"exact": "m"}, "input": "cheap", "output": 1}]}')

    result = run(APP, app_env(fake, receiver, GENAI_COST_PRICING_FILE=str(bad)))

    assert result.returncode == 0, result.stderr
    assert calls_are_priced(receiver)
    notes = [line for line in result.stderr.splitlines() if "genai-cost" in line]
    assert len(notes) == 1
    assert str(bad) in notes[0]
    assert "'mine'" in notes[0]
    assert "input" in notes[0]


def test_a_bad_pricing_file_in_strict_mode_stops_before_the_app_runs(
    fake: FakeOpenAIServer, receiver: OtlpHttpReceiver, tmp_path: Path
) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text('{"entries": [{"id": "mine", "match": {"exact": "m"}, "input": "cheap", "output": 1}]}')

    result = run(APP, app_env(fake, receiver, GENAI_COST_PRICING_FILE=str(bad), GENAI_COST_STRICT="true"))

    assert result.returncode != 0
    assert result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert "GENAI_COST_STRICT" in last
    assert str(bad) in last


def run_hiding(modules: str, script: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Run ``python script`` under auto-instrumentation with ``modules`` unimportable."""
    env = {**env, "PYTHONPATH": str(HERE / "hide_modules"), "E2E_HIDE_MODULES": modules}
    result = run(script, env, instrumented=False)
    return result.returncode, result.stdout, result.stderr


def our_lines(stderr: str) -> list[str]:
    """Lines from genai-cost or any traceback, leaving out the loader's configurator note."""
    return [
        line
        for line in stderr.splitlines()
        if ("genai" in line.lower() or "Traceback" in line) and not line.startswith("Configuration of ")
    ]


def test_a_missing_provider_sdk_does_not_disable_the_others(fake: FakeOpenAIServer, receiver: OtlpHttpReceiver) -> None:
    code, _stdout, stderr = run_hiding("boto3,botocore", APP, app_env(fake, receiver))

    assert code == 0, stderr
    assert calls_are_priced(receiver)
    assert parent_has_rollup(receiver)
    assert our_lines(stderr) == []


def test_without_openai_the_other_instrumentors_still_load(fake: FakeOpenAIServer, receiver: OtlpHttpReceiver) -> None:
    def states(hidden: str) -> dict[str, str]:
        code, stdout, stderr = run_hiding(hidden, HERE / "probe.py", app_env(fake, receiver))
        assert code == 0, stderr
        assert our_lines(stderr) == []
        instrumented = dict(line.split() for line in stdout.splitlines())
        return {name: state for name, state in instrumented.items() if name != "genai_cost_openai"}

    # Instrumentors whose SDK this environment lacks (those tested in venvs of their own) are off
    # either way: hiding openai must change none of the others.
    others = states("openai")
    assert "True" in others.values()
    assert others == states("genai_cost_no_such_module")
