"""An agent document's shape (``agents.inputs.portability``) as the importing
service reads it: the envelope first, then each agent's keys, skills,
schedules and secret names, every problem at its path with its one message."""

import pytest

from accounts.actor import Actor
from agents.models import Agent
from agents.services.importing import agents_import, document_items, read_item
from core.errors import ApiError, ValidationFailed

FORMAT = 'Must be "agentry.agent" or "agentry.bundle".'
VERSION = "Must be 1, the only version this server reads."
NOT_A_LIST = "Must be a list."
SKILL_OBJECT = "Must be an object with name, description, content and tags."
SCHEDULE_OBJECT = "Must be an object with name, cron, timezone, input, enabled and primary."
TAGS = "Must be a list of at most 20 strings of at most 50 characters."
SECRET_ENV = "Must be a list of environment variable names."
FIVE_FIELDS = "Must have five fields: minute hour day-of-month month day-of-week."
SKILL_TWICE = "Duplicate skill name in this agent."


def problems(check, value) -> list[tuple[str, list[str]]]:
    """The errors ``check(value)`` refuses ``value`` with, in order."""
    with pytest.raises(ValidationFailed) as caught:
        check(value)
    return list(caught.value.errors.items())


def document(**keys):
    return {"format": "agentry.agent", "format_version": 1, **keys}


def bundle(*agents, **keys):
    return {"format": "agentry.bundle", "format_version": 1, "agents": list(agents), **keys}


@pytest.mark.parametrize("value, errors", [
    ([1, 2], [("non_field_errors", ["The document must be an object."])]),
    (None, [("non_field_errors", ["The document must be an object."])]),
    ({}, [("format", [FORMAT]), ("format_version", [VERSION])]),
    ({"format": ["agentry.agent"], "format_version": 1}, [("format", [FORMAT])]),
    (document(format_version=True, agent={}), [("format_version", [VERSION])]),
    (document(format_version="1", agent={}), [("format_version", [VERSION])]),
    (document(format_version=2, extra=1), [("format_version", [VERSION])]),  # the format first, alone
    (document(), [("agent", ["Required: an object."])]),
    (document(agent=[]), [("agent", ["Required: an object."])]),
    (document(agent=None, extra=1, alpha=2),
     [("alpha", ["Unknown field."]), ("extra", ["Unknown field."]), ("agent", ["Required: an object."])]),
    (document(agent={}, counts={}), [("counts", ["Unknown field."])]),
    (bundle(template={}), [("template", ["Unknown field."])]),
    ({"format": "agentry.bundle", "format_version": 1, "agents": None}, [("agents", ["Required: a list."])]),
    (bundle(*[{}] * 501), [("agents", ["At most 500 agents per import."])]),
])
def test_the_envelope_is_checked_format_first(value, errors):
    assert problems(document_items, value) == errors


def test_the_agents_come_as_sent_with_their_paths():
    agent, catalog = {"slug": "a", "anything": 1}, {"id": "x"}
    assert document_items(document(agent=agent, template=catalog, format_version=1.0)) == [("agent", agent)]
    assert document_items(bundle(agent, None, counts={})) == [("agents[0]", agent), ("agents[1]", None)]


@pytest.mark.parametrize("value, errors", [
    (None, [("non_field_errors", ["Must be an object."])]),
    ([], [("non_field_errors", ["Must be an object."])]),
    ({"owner": "x", "zeta": 1, "alpha": 2, "name": 5},
     [("alpha", ["Unknown field."]), ("owner", ["Unknown field."]), ("zeta", ["Unknown field."])]),
    ({"secret_env": None}, [("secret_env", [SECRET_ENV])]),
    ({"secret_env": ["API_KEY", "1BAD"]}, [("secret_env", [SECRET_ENV])]),
    ({"secret_env": ["a" * 65]}, [("secret_env", [SECRET_ENV])]),
    ({"skills": None}, [("skills", [NOT_A_LIST])]),
    ({"skills": {}}, [("skills", [NOT_A_LIST])]),
    ({"skills": ["x", {"name": "ok"}, None]}, [("skills[0]", [SKILL_OBJECT]), ("skills[2]", [SKILL_OBJECT])]),
    ({"skills": [{}]}, [("skills[0].name", ["Must be a string."])]),
    ({"skills": [{"name": 5}]}, [("skills[0].name", ["Must be a string."])]),
    ({"skills": [{"name": "  "}]}, [("skills[0].name", ["This field may not be blank."])]),
    ({"skills": [{"name": "x" * 101}]}, [("skills[0].name", ["At most 100 characters."])]),
    ({"skills": [{"name": "a", "description": None}]}, [("skills[0].description", ["Must be a string."])]),
    ({"skills": [{"name": "a", "description": "d" * 501}]}, [("skills[0].description", ["At most 500 characters."])]),
    ({"skills": [{"name": "a", "content": "c" * 200_001}]}, [("skills[0].content", ["At most 200000 characters."])]),
    ({"skills": [{"name": "a", "tags": "x"}]}, [("skills[0].tags", [TAGS])]),
    ({"skills": [{"name": "a", "tags": ["t"] * 21}]}, [("skills[0].tags", [TAGS])]),
    ({"skills": [{"name": "a", "tags": ["t" * 51]}]}, [("skills[0].tags", [TAGS])]),
    ({"skills": [{"name": "a", "tags": [5]}]}, [("skills[0].tags", [TAGS])]),
    ({"skills": [{"name": "", "zeta": 1, "alpha": 2}]},
     [("skills[0].alpha", ["Unknown field."]), ("skills[0].zeta", ["Unknown field."]),
      ("skills[0].name", ["This field may not be blank."])]),
    ({"schedules": "many"}, [("schedules", [NOT_A_LIST])]),
    ({"schedules": [1, None]}, [("schedules[0]", [SCHEDULE_OBJECT]), ("schedules[1]", [SCHEDULE_OBJECT])]),
    ({"schedules": [{}]}, [("schedules[0].cron", ["This field is required."])]),
    ({"schedules": [{"cron": "0 9 * * *", "primary": "yes"}]}, [("schedules[0].primary", ["Must be true or false."])]),
    ({"schedules": [{"cron": "0 9 * * *", "primary": None}]}, [("schedules[0].primary", ["Must be true or false."])]),
    ({"schedules": [{"cron": "bad", "primary": 1}]},
     [("schedules[0].primary", ["Must be true or false."]), ("schedules[0].cron", [FIVE_FIELDS])]),
    ({"schedules": [{"cron": "bad", "colour": "red"}]}, [("schedules[0].colour", ["Unknown field."])]),
    ({"schedules": [{"cron": "0 9 * * *", "timezone": "Mars/Base"}]},
     [("schedules[0].timezone", ["Unknown IANA time zone 'Mars/Base'."])]),
])
def test_each_problem_of_an_agent_has_its_path_and_message(value, errors):
    assert problems(read_item, value) == errors


def test_every_problem_of_an_agent_in_one_answer():
    # when
    errors = problems(read_item, {"zeta": 1, "secret_env": ["1BAD"], "skills": [{"name": ""}],
                                  "schedules": [{"cron": "bad"}]})

    # then
    assert errors == [("zeta", ["Unknown field."]), ("secret_env", [SECRET_ENV]),
                      ("skills[0].name", ["This field may not be blank."]), ("schedules[0].cron", [FIVE_FIELDS])]


@pytest.mark.parametrize("skills, errors", [
    ([{"name": "a"}, {"name": " a "}], [("skills[1].name", [SKILL_TWICE])]),
    ([{"name": ""}, {"name": "  "}],
     [("skills[0].name", ["This field may not be blank."]), ("skills[1].name", [SKILL_TWICE])]),
    ([{"name": "a", "description": 5}, {"name": "a", "q": 1}],
     [("skills[0].description", ["Must be a string."]), ("skills[1].q", ["Unknown field."]),
      ("skills[1].name", [SKILL_TWICE])]),
    ([{"name": 5}, {"name": 5}],
     [("skills[0].name", ["Must be a string."]), ("skills[1].name", ["Must be a string."])]),
])
def test_a_skill_name_twice_is_named_with_the_other_problems(skills, errors):
    assert problems(read_item, {"skills": skills}) == errors


@pytest.mark.parametrize("schedules, errors", [
    ([{"cron": "0 9 * * *", "name": "n"}, {"cron": "0 8 * * *", "name": "n"}],
     [("schedules[1].name", ["Duplicate schedule name in this agent."])]),
    ([{"cron": "0 9 * * *", "name": "a", "colour": 1}, {"cron": "0 8 * * *", "name": "a"}],
     [("schedules[0].colour", ["Unknown field."]), ("schedules[1].name", ["Duplicate schedule name in this agent."])]),
    ([{"cron": "0 9 * * *", "primary": True}, {"cron": "0 8 * * *", "primary": True}],
     [("schedules", ["At most one schedule can be primary."])]),
    ([{"cron": "bad", "primary": True}, {"cron": "bad", "primary": True}],
     [("schedules[0].cron", [FIVE_FIELDS]), ("schedules[1].cron", [FIVE_FIELDS]),
      ("schedules", ["At most one schedule can be primary."])]),
])
def test_schedule_rules_across_items_are_named_with_the_other_problems(schedules, errors):
    assert problems(read_item, {"schedules": schedules}) == errors


def test_an_agent_reads_as_the_services_take_it():
    # given
    config = {"model": {"provider": "nope"}}
    raw = {"slug": "a", "name": 5, "config": config, "pipeline": None, "secret_env": ["B", "A", "B"],
           "skills": [{"name": " Tone ", "description": "  "}, {"name": "Refunds", "content": "c", "tags": ["t"]}],
           "schedules": [{"cron": " 0 9 * * * ", "name": "Morning", "primary": True}, {"cron": "0 8 * * *"}]}

    # when
    item = read_item(raw)

    # then: the agent's own fields as sent, for the agent services to check
    assert item.fields == {"slug": "a", "name": 5, "config": config, "pipeline": None}
    assert item.fields["config"] is config
    assert item.secret_env == ["B", "A"]
    assert item.skills == [{"name": "Tone", "description": "  ", "content": "", "tags": []},
                           {"name": "Refunds", "description": "", "content": "c", "tags": ["t"]}]
    assert item.schedules == [
        {"primary": True, "name": "Morning", "cron": "0 9 * * *", "timezone": "UTC", "input": {}, "enabled": True},
        {"primary": False, "cron": "0 8 * * *", "timezone": "UTC", "input": {}, "enabled": True}]


def test_nothing_but_the_envelope_is_required():
    item = read_item({})
    assert (item.fields, item.secret_env, item.skills, item.schedules) == ({}, [], [], [])


@pytest.mark.django_db
def test_an_import_names_each_bad_item_and_writes_nothing(user):
    # given a bundle with a good agent, a non-object, a bad skill and an unknown provider
    items = [{"slug": "a", "name": "A"}, 1, {"slug": "b", "name": "B", "skills": [{"name": ""}]},
             {"slug": "c", "name": "C", "config": {"model": {"provider": "nope", "model": "m"}}}]

    # when
    with pytest.raises(ApiError) as caught:
        agents_import(actor=Actor(user=user), document=bundle(*items))

    # then
    assert (caught.value.status, caught.value.code) == (400, "validation_error")
    assert list(caught.value.errors) == ["agents[1]", "agents[2].skills[0].name", "agents[3].config.model.provider"]
    assert caught.value.errors["agents[1]"] == ["Must be an object."]
    assert not Agent.objects.exists()
