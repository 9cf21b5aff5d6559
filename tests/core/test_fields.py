"""core.fields.JSONField reads every stored value back as Django's JSONField
does, faster where orjson reads it the same."""

import json
import math

import pytest
from django.db import connection, models

from agents.models import Agent
from core.fields import JSONField

VALUES = [
    {},
    {"nodes": [{"id": "a", "type": "llm_call", "data": {"prompt": "Hé ☃ \u2028 😀"}}], "edges": []},
    [1, -2, 3.5, 1e-7, 0.1, True, False, None, "x"],
    {"wide": 2**64, "wider": -(2**70), "edge": 2**63 - 1, "u64": 2**64 - 1},
    {"eighteen_digits": 10**18 - 1, "negative": -(10**18 - 1)},  # orjson reads these itself
    {"phone": "12345678901234567890"},  # 19+ digits inside a string
    "a string", 42, None, 3.141592653589793,
]


def _read(field, text):
    return field.from_db_value(text, None, connection)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_value_reads_back_as_djangos_field_reads_it(value):
    text = json.dumps(value)

    ours, djangos = _read(JSONField(), text), _read(models.JSONField(), text)

    assert ours == djangos == value
    assert type(ours) is type(djangos)
    if isinstance(value, dict) and "wide" in value:
        assert all(isinstance(number, int) for number in ours.values())  # never a float


@pytest.mark.parametrize("text", ["NaN", "[Infinity, -Infinity]", '"\\ud800"', '"\ud800"', "not json"])
def test_what_orjson_refuses_is_read_by_json(text):
    ours, djangos = _read(JSONField(), text), _read(models.JSONField(), text)

    assert repr(ours) == repr(djangos)
    if text == "NaN":
        assert math.isnan(ours)


def test_a_custom_decoder_is_still_used():
    class Upper(json.JSONDecoder):
        def decode(self, s, *args):
            return super().decode(s.upper(), *args)

    assert _read(JSONField(decoder=Upper), '"abc"') == "ABC"


def test_migrations_see_djangos_field():
    assert JSONField(default=dict).deconstruct()[1] == "django.db.models.JSONField"


def test_an_agent_config_round_trips_through_the_database(make_agent, user):
    config = {"model": "gpt-4o-mini", "budget": 2**65, "ratio": 0.25, "notes": "é" * 3}
    agent = make_agent(user)
    Agent.objects.filter(pk=agent.pk).update(config=config)

    assert Agent.objects.get(pk=agent.pk).config == config
