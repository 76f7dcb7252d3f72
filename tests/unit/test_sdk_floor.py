"""``benchmarks/sdk_floor.py``'s straight-line wrapper is a bound for genai-cost's own code only
if it emits the same telemetry: the same span, attributes and histogram points for the same call."""

import pytest
from benchmarks import sdk_floor


def test_the_straight_line_wrapper_emits_what_genai_cost_emits() -> None:
    ours = sdk_floor.capture(sdk_floor._genai_cost)
    bound = sdk_floor.capture(sdk_floor._straight_line)

    assert (bound.span_name, bound.span_kind) == (ours.span_name, ours.span_kind)
    assert bound.span_attributes.keys() == ours.span_attributes.keys()
    for key, value in ours.span_attributes.items():
        if key == "gen_ai.response.id":  # the mock server makes a new one per call
            continue
        assert bound.span_attributes[key] == (pytest.approx(value) if isinstance(value, float) else value), key
    points = sorted(bound.histogram_records, key=repr)
    expected = sorted(ours.histogram_records, key=repr)
    assert [(name, attributes) for name, _, attributes in points] == [
        (name, attributes) for name, _, attributes in expected
    ]
    for (name, value, _), (_, expected_value, _) in zip(points, expected, strict=True):
        if name != "gen_ai.client.operation.duration":
            assert value == pytest.approx(expected_value), name
