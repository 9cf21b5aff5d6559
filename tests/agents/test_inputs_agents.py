"""The agent's own fields (agents.inputs.agents): each rule sees the value as
sent, so null and wrong types get the rule's words, not DRF's coercion."""

import pytest

from agents.inputs.agents import agent_name_is_valid
from agents.services.agents import agent_fields_validate
from core.errors import ValidationFailed


@pytest.mark.parametrize(("fields", "errors"), [
    ({"name": None}, {"name": ["This field is required."]}),
    ({"name": 42}, {"name": ["Must be a string."]}),
    ({"name": "   "}, {"name": ["This field may not be blank."]}),
    ({"name": "x" * 101}, {"name": ["Ensure this field has no more than 100 characters."]}),
    ({"slug": 7}, {"slug": ["Must be 1–64 characters."]}),
    ({"slug": "a--b"}, {"slug": ["Use letters, digits and single hyphens, not at the start or end."]}),
    ({"slug": "Templates"}, {"slug": ["'Templates' is reserved."]}),
    ({"tags": "a,b"}, {"tags": ["Must be a list of strings."]}),
    ({"tags": [" "]}, {"tags": ["Each tag is 1–50 characters."]}),
    ({"description": None}, {"description": ["Must be a string."]}),
    ({"status": "gone"}, {"status": ["Must be one of active, paused, disabled."]}),
])
def test_each_field_says_what_is_wrong_in_its_own_words(fields, errors):
    with pytest.raises(ValidationFailed) as caught:
        agent_fields_validate(fields)
    assert caught.value.errors == errors


def test_every_problem_is_reported_together_in_field_order():
    with pytest.raises(ValidationFailed) as caught:
        agent_fields_validate({"status": "x", "description": 1, "name": ""})
    assert list(caught.value.errors) == ["name", "description", "status"]
    assert caught.value.detail == "name: This field may not be blank."


def test_valid_fields_come_back_normalised():
    clean = agent_fields_validate({"name": "  Iris ", "tags": [" a", "b", "a "], "slug": "iris"})
    assert clean == {"name": "Iris", "tags": ["a", "b"], "slug": "iris"}


def test_check_name_uses_the_same_rule():
    assert agent_name_is_valid("Iris")
    assert not agent_name_is_valid("")
    assert not agent_name_is_valid(None)
