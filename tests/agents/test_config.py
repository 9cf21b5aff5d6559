"""The agent config document: defaults, validation, secrets."""

import pytest

from agents.config import normalize_config, public_config
from core.errors import ValidationFailed


def test_defaults_fill_every_key():
    config = normalize_config({})
    assert config["model"] == {"provider": "echo", "model": "echo", "params": {
        "temperature": 0.7, "max_tokens": 1024, "top_p": 1, "stop": [], "seed": None}}
    assert config["heartbeat"] == {"enabled": False, "cron": "0 9 * * *", "timezone": "UTC", "prompt": ""}
    assert config["memory"] == {"enabled": True, "types": ["conversation"]}
    assert config["env"] == {}


@pytest.mark.parametrize("raw,path", [
    ({"model": {"provider": "nope", "model": "m"}}, "config.model.provider"),
    ({"model": {"provider": "echo", "model": "m", "params": {"temperature": 3}}}, "config.model.params.temperature"),
    ({"max_iterations": 0}, "config.max_iterations"),
    ({"heartbeat": {"cron": "61 * * * *"}}, "config.heartbeat.cron"),
    ({"heartbeat": {"cron": "* * *"}}, "config.heartbeat.cron"),
    ({"heartbeat": {"timezone": "Mars/Olympus"}}, "config.heartbeat.timezone"),
    ({"context_policy": {"kind": "forget"}}, "config.context_policy.kind"),
    ({"mcps": [{"id": "m", "transport": "stdio"}]}, "config.mcps[0].command"),
    ({"tools": [{"id": "t", "type": "http_request"}, {"id": "t", "type": "template"}]}, "config.tools"),
    ({"actions": [{"id": "a", "prompt": "p", "input": {"type": 5}}]}, "config.actions[0].input"),
    ({"env": {"1BAD": "x"}}, "config.env.1BAD"),
    ({"env": {"K": {"secret": True}}}, "config.env.K"),
    ({"env": {"K": 5}}, "config.env.K"),
    ({"modle": {}}, "config.modle"),
    ({"model": {"provider": "echo", "model": "m", "params": {"temprature": 1}}}, "config.model.params.temprature"),
])
@pytest.mark.django_db  # provider names are looked up among the provider rows
def test_invalid_configs(raw, path):
    with pytest.raises(ValidationFailed) as exc:
        normalize_config(raw)
    assert path in exc.value.errors, exc.value.errors


def test_secret_round_trip_keeps_ciphertext():
    stored = normalize_config({"env": {"K": {"value": "v", "secret": True}, "P": "plain"}})
    assert public_config(stored)["env"] == {"K": {"secret": True}, "P": "plain"}
    again = normalize_config(public_config(stored), previous=stored)
    assert again["env"]["K"] == stored["env"]["K"]


def test_non_object_config_is_rejected():
    with pytest.raises(ValidationFailed):
        normalize_config(["x"])
